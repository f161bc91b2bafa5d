package shell

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
)

func TestDumpText(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	if err := sh.Exec(context.Background(), "dump"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	byPath := map[string][]string{}
	prev := ""
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 4 {
			t.Fatalf("line %q has %d fields, want 4", l, len(f))
		}
		if f[0] <= prev {
			t.Errorf("not sorted: %q after %q", f[0], prev)
		}
		prev = f[0]
		byPath[f[0]] = f[1:]
	}
	want := map[string][]string{
		"target": {"dir", "0755", ""},
	}
	if g := byPath["target"]; strings.Join(g, "|") != strings.Join(want["target"], "|") {
		t.Errorf("target: %q", g)
	}
	if g := byPath["target/version"]; len(g) != 3 || g[0] != "attr" || g[1] != "0444" || !strings.HasPrefix(g[2], "Target Engine Core") || !strings.HasSuffix(g[2], `\n`) {
		t.Errorf("target/version: %q (want a one-line value with the newline escaped)", g)
	}
	// The LUN's link to its storage object.
	var link []string
	for p, v := range byPath {
		if strings.HasPrefix(p, "target/iscsi/") && strings.Contains(p, "/lun/lun_0/") && v[0] == "link" {
			link = v
		}
	}
	if len(link) != 3 || link[1] != "0777" || !strings.HasPrefix(link[2], "target/core/fileio_") || !strings.HasSuffix(link[2], "/disk1") {
		t.Errorf("LUN link: %q", link)
	}
	// A write-only attribute (the ACL's cmd_reset… or the storage
	// object's control) shows "-" and why.
	if g := byPath[findPath(byPath, "/control")]; len(g) != 3 || g[1] != "0200" || g[2] != "- write-only" {
		t.Errorf("control: %q", g)
	}
	// An attribute of the fileio object.
	if g := byPath[findPath(byPath, "/disk1/attrib/block_size")]; len(g) != 3 || g[2] != `512\n` {
		t.Errorf("block_size: %q", g)
	}
}

func findPath(m map[string][]string, suffix string) string {
	for p := range m {
		if strings.HasSuffix(p, suffix) {
			return p
		}
	}
	return ""
}

func TestDumpSubtreeAndJSON(t *testing.T) {
	for _, cmd := range []string{"dump target/core --json", "dump /sys/kernel/config/target/core --json", "dump core --json"} {
		sh, out, _ := newTestShell(t, false)
		if err := sh.Exec(context.Background(), cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		var es []configfs.DumpEntry
		if err := json.Unmarshal(out.Bytes(), &es); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		if len(es) == 0 || es[0].Path != "target/core" || es[0].Kind != "dir" {
			t.Fatalf("%s: first entry %+v", cmd, es[0])
		}
		wo := 0
		for _, e := range es {
			if !strings.HasPrefix(e.Path, "target/core") {
				t.Errorf("%s: %s is outside target/core", cmd, e.Path)
			}
			if !e.Readable {
				wo++
				if !strings.HasPrefix(e.Value, "- ") {
					t.Errorf("%s: unreadable %s has value %q", cmd, e.Path, e.Value)
				}
			}
		}
		if wo == 0 {
			t.Errorf("%s: no write-only attribute below target/core", cmd)
		}
	}
}

func TestDumpErrors(t *testing.T) {
	sh, _, _ := newTestShell(t, false)
	if err := sh.Exec(context.Background(), "dump target/nosuch"); err == nil || !strings.Contains(err.Error(), "target/nosuch") {
		t.Errorf("missing path: %v", err)
	}
	if err := sh.Exec(context.Background(), "dump target --bogus"); err == nil {
		t.Error("dump --bogus: no error")
	}
}
