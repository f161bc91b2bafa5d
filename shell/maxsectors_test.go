package shell

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
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

// saveconfig keeps what a user backstore was created with that only the
// control file sets (hw_max_sectors, max_data_area_mb, hw_block_size,
// data_pages_per_blk, cmd_ring_size_mb), in rtslib's keys, and a restore
// from the file makes the same device.
func TestSaveconfigKeepsUserGeometry(t *testing.T) {
	sh, l := userShell(t)
	ctx := context.Background()
	if err := sh.Exec(ctx, "/backstores/user:ram create g 64M hw_max_sectors=1024 control=max_data_area_mb=64,hw_block_size=4096,cmd_ring_size_mb=2"); err != nil {
		t.Fatal(err)
	}
	if err := sh.Exec(ctx, "/backstores/user:ram create d 64M"); err != nil {
		t.Fatal(err)
	}
	attrs := func(name string) map[string]string {
		so, err := l.FindStorageObject("user", name)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, a := range []string{"hw_max_sectors", "max_data_area_mb", "hw_block_size", "data_pages_per_blk", "cmd_ring_size_mb"} {
			v, err := l.ReadAttr(so.Path() + "/attrib/" + a)
			if err != nil {
				t.Fatal(err)
			}
			out[a] = strings.TrimSpace(v)
		}
		return out
	}
	before := map[string]map[string]string{"g": attrs("g"), "d": attrs("d")}
	file := t.TempDir() + "/saveconfig.json"
	if err := sh.SaveConfig(file, false); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var saved struct {
		StorageObjects []struct {
			Name         string `json:"name"`
			HwMaxSectors int    `json:"hw_max_sectors"`
			Control      string `json:"control"`
		} `json:"storage_objects"`
	}
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"g": "1024 max_data_area_mb=64,hw_block_size=4096,data_pages_per_blk=1,cmd_ring_size_mb=2",
		"d": "16384 max_data_area_mb=1024,hw_block_size=512,data_pages_per_blk=1",
	}
	for _, so := range saved.StorageObjects {
		if want[so.Name] == "" {
			continue // the test shell's other backstores
		}
		if got := fmt.Sprintf("%d %s", so.HwMaxSectors, so.Control); got != want[so.Name] {
			t.Errorf("%s: saved hw_max_sectors and control %q, want %q", so.Name, got, want[so.Name])
		}
	}
	if err := sh.Exec(ctx, "clearconfig confirm=true"); err != nil {
		t.Fatal(err)
	}
	if err := sh.Exec(ctx, "restoreconfig "+file); err != nil {
		t.Fatal(err)
	}
	for name, w := range before {
		if got := attrs(name); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s after restore: %v, want %v", name, got, w)
		}
	}
}
