package shell

import (
	"context"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
)

// userShell is a test shell whose (fake) engine serves user backstores.
func userShell(t *testing.T) (*Shell, *configfs.LIO) {
	sh, _, l := newTestShell(t, false)
	fe := &fakeEngine{lio: l}
	sh.env.Engine = fe
	sh.env.UserSubtypes = fe.Subtypes()
	return sh, l
}

// A user backstore tcmsh creates accepts 8 MiB transfers (hw_max_sectors
// sized for its block size and data area) unless told otherwise.
func TestUserBackstoreMaxSectors(t *testing.T) {
	cases := []struct {
		name, create, want string
	}{
		{"default", "/backstores/user:ram create d 64M", "16384"},
		{"4k blocks", "/backstores/user:ram create b 64M control=hw_block_size=4096", "2048"},
		{"small data area", "/backstores/user:ram create s 64M control=max_data_area_mb=2", "1024"},
		{"given", "/backstores/user:ram create g 64M hw_max_sectors=256", "256"},
		{"control token", "/backstores/user:ram create c 64M control=hw_max_sectors=512", "512"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sh, l := userShell(t)
			if err := sh.Exec(context.Background(), tc.create); err != nil {
				t.Fatal(err)
			}
			so, err := l.FindStorageObject("user", strings.Fields(tc.create)[2])
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.ReadAttr(so.Path() + "/attrib/hw_max_sectors")
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(got) != tc.want {
				t.Fatalf("hw_max_sectors = %q, want %s", got, tc.want)
			}
		})
	}
	sh, _ := userShell(t)
	err := sh.Exec(context.Background(), "/backstores/user:ram create x 64M control=max_data_area_mb=lots")
	if err == nil || !strings.Contains(err.Error(), "max_data_area_mb") {
		t.Fatalf("bad max_data_area_mb: %v", err)
	}
}
