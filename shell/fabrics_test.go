package shell

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
)

// TestLoadableFabricsOnlyWhenNeeded: the module list behind the fabrics
// shown at the root is read once, and not at all by a command below the
// root (a one-shot `ls /backstores` does without it).
func TestLoadableFabricsOnlyWhenNeeded(t *testing.T) {
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	var out bytes.Buffer
	sh := New(Env{LIO: l, Kind: "sim", LoadableFabrics: func() []string { calls++; return []string{"vhost"} }},
		Options{Out: &out, Err: &out, SaveFile: filepath.Join(dir, "s.json"), PrefsPath: filepath.Join(dir, "prefs")})
	if err := sh.Exec(context.Background(), "ls /backstores"); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("ls /backstores read the module list %d times", calls)
	}
	for i := 0; i < 2; i++ {
		out.Reset()
		if err := sh.Exec(context.Background(), "ls / 1"); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "vhost") {
			t.Errorf("ls / does not show the loadable fabric:\n%s", out.String())
		}
	}
	if calls != 1 {
		t.Errorf("the module list was read %d times, want once", calls)
	}
}
