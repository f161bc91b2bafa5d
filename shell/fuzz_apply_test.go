package shell

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/config"
	"github.com/tcmsh/tcmsh/internal/guard"
)

// The fuzz targets below go past parsing: they run what they are given on
// a simulated kernel holding objects (newTestShell's fileio object, iSCSI
// target with a LUN, ACL and portal, loopback target) and check that a
// failure changed nothing. Files they may touch are kept inside the
// iteration's directory: "@DIR@" in an input stands for it, and a command
// naming a file elsewhere is not run.

// fuzzDirMark stands for the iteration's directory in fuzz inputs.
const fuzzDirMark = "@DIR@"

// insideDir reports whether p is dir or below it.
func insideDir(dir, p string) bool {
	rel, err := filepath.Rel(dir, filepath.Clean(p))
	return err == nil && filepath.IsAbs(p) && rel != ".." && !strings.HasPrefix(rel, "../")
}

// dirState is what a directory holds: each file's path, size and content
// hash, for "nothing left behind".
func dirState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() == "hba.lock" || strings.HasPrefix(p, filepath.Join(dir, "state")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b.WriteString(p + " " + string(rune(len(data))) + " ")
		sum := sha256.Sum256(data)
		b.Write(sum[:])
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// fuzzShell is newTestShell with its saveconfig file and image files in
// dir.
func fuzzShell(t *testing.T) (*Shell, *bytes.Buffer, string) {
	sh, out, _ := newTestShell(t, false)
	dir := t.TempDir()
	sh.opts.SaveFile = filepath.Join(dir, "saveconfig.json")
	return sh, out, dir
}

func noPanic(t *testing.T, what string, err error) {
	t.Helper()
	var pe *guard.PanicError
	if errors.As(err, &pe) {
		t.Fatalf("%s: %v\n%s", what, err, pe.Stack)
	}
}

// FuzzSaveconfigApply gives arbitrary bytes as a saveconfig file to diff,
// apply, restoreconfig and restoreconfig clear_existing=true: no panic;
// diff changes nothing; a refused or failed file changed nothing; an
// applied file is there whole (applying it again would change nothing; a
// restore has each of its objects).

func FuzzSaveconfigApply(f *testing.F) {
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"storage_objects": [], "targets": [], "fabric_modules": []}`))
	f.Add([]byte(`{"storage_objects": [{"plugin": "ramdisk", "name": "r0", "size": 1048576, "nullio": false}]}`))
	f.Add([]byte(`{"storage_objects": [{"plugin": "fileio", "name": "f0", "dev": "@DIR@/f0.img", "size": 1048576, "write_back": true,
	  "attributes": {"block_size": 4096}}],
	  "targets": [{"fabric": "loopback", "wwn": "naa.5001405ccccccccc", "tpgs": [{"tag": 1,
	  "luns": [{"index": 0, "storage_object": "/backstores/fileio/f0"}]}]}]}`))
	f.Add([]byte(`{"storage_objects": [{"plugin": "ramdisk", "name": "r0", "size": 1048576}],
	  "targets": [{"fabric": "iscsi", "wwn": "iqn.2003-01.org.example:t1", "tpgs": [{"tag": 1, "enable": true,
	  "luns": [{"index": 0, "storage_object": "/backstores/ramdisk/r0"}, {"index": 1, "storage_object": "/backstores/fileio/disk1"}],
	  "portals": [{"ip_address": "0.0.0.0", "port": 3261}],
	  "node_acls": [{"node_wwn": "iqn.1994-05.com.redhat:c", "mapped_luns": [{"index": 0, "tpg_lun": 0}]}]}]}]}`))
	// A LUN on a storage object that is neither in the file nor the kernel.
	f.Add([]byte(`{"targets": [{"fabric": "loopback", "wwn": "naa.5001405ccccccccc", "tpgs": [{"tag": 1,
	  "luns": [{"index": 0, "storage_object": "/backstores/ramdisk/nope"}]}]}]}`))
	// Fails in the kernel after earlier steps succeeded: a block_size the
	// kernel refuses on the second object.
	f.Add([]byte(`{"storage_objects": [{"plugin": "ramdisk", "name": "r0", "size": 1048576},
	  {"plugin": "ramdisk", "name": "r1", "size": 1048576, "attributes": {"block_size": 3}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, line := range []string{"diff", "apply", "restoreconfig", "restoreconfig clear_existing=true"} {
			sh, out, dir := fuzzShell(t)
			file := filepath.Join(dir, "in.json")
			data := bytes.ReplaceAll(data, []byte(fuzzDirMark), []byte(dir))
			cfg, perr := config.ParseSaveconfig(data)
			if perr == nil {
				for _, s := range cfg.StorageObjects {
					if s.Dev != "" && (s.Plugin == "fileio" || s.Plugin == "block") && !insideDir(dir, s.Dev) {
						return // a file outside the iteration's directory
					}
				}
			}
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
			before, files := configJSON(t, sh), dirState(t, dir)
			err := sh.Exec(context.Background(), line+" "+file)
			noPanic(t, line, err)
			after := configJSON(t, sh)
			switch {
			case line == "diff" || err != nil:
				if after != before {
					t.Fatalf("%s (err %v) changed the configuration:\n%s\n%s", line, err, after, out)
				}
				if now := dirState(t, dir); now != files {
					t.Fatalf("%s (err %v) left files behind:\n%s", line, err, now)
				}
			case perr != nil:
				t.Fatalf("%s took a file ParseSaveconfig refuses (%v)", line, perr)
			case line == "restoreconfig":
				have, serr := sh.store().Snapshot()
				if serr != nil {
					t.Fatal(serr)
				}
				for _, s := range cfg.StorageObjects {
					if !hasSO(have, s) {
						t.Fatalf("restoreconfig succeeded without %s/%s:\n%s", s.Plugin, s.Name, after)
					}
				}
			default:
				// The whole file is there: applying it again changes
				// nothing (attributes the kernel lacks are skipped with a
				// warning, as targetcli does, so the plan is not compared).
				if err := sh.Exec(context.Background(), "apply "+file); err != nil {
					t.Fatalf("%s succeeded but apply after it failed: %v", line, err)
				}
				if again := configJSON(t, sh); again != after {
					t.Fatalf("%s succeeded but the file was not all there: apply after it changed\n%s\nto\n%s", line, after, again)
				}
			}
		}
	})
}

func hasSO(c *config.Config, s *config.SOConf) bool {
	for _, h := range c.StorageObjects {
		if h.Plugin == s.Plugin && h.Name == s.Name {
			return true
		}
	}
	return false
}

// gatedLines feeds a batch one line per read, so that each line is looked
// at after the one before it ran (the shell's current node decides what
// a word means): lines that would touch files outside dir, or sleep, are
// replaced by a comment.
type gatedLines struct {
	sh    *Shell
	dir   string
	lines []string
}

func (g *gatedLines) Read(p []byte) (int, error) {
	if len(g.lines) == 0 {
		return 0, io.EOF
	}
	line := g.lines[0]
	if !g.safe(line) {
		line = "# not run by the fuzzer"
	}
	if len(line)+1 > len(p) {
		line = "# too long"
	}
	g.lines = g.lines[1:]
	return copy(p, line+"\n"), nil
}

func (g *gatedLines) safe(line string) bool {
	c, err := g.sh.Parse(line)
	if err != nil || c == nil {
		return true // refused before anything runs
	}
	if c.Cmd.Name == "sleep" || c.Cmd.Name == "workload" {
		return false
	}
	for _, p := range c.Cmd.Params {
		v := c.Args.Str(p.Name)
		switch {
		case v == "":
		case p.Type == TypePath && !insideDir(g.dir, v):
			return false
		case p.Type == TypeNode:
			if _, err := g.sh.Resolve(v); err != nil && !insideDir(g.dir, v) {
				return false
			}
		}
	}
	return true
}

// FuzzAtomicBatch runs arbitrary lines as `tcmsh --atomic` on a simulated
// kernel holding objects: no panic, and when the run fails, the
// configuration and the files are as before it.
func FuzzAtomicBatch(f *testing.F) {
	f.Add("/backstores/ramdisk create a1 8M\nrestoreconfig @DIR@/none.json\n")
	f.Add("/backstores/fileio create f1 @DIR@/f1.img 1M\n/loopback/naa.5001405aaaaaaaaa/tpg1/luns create /backstores/fileio/f1\n/nope\n")
	f.Add("/backstores/ramdisk create a1 8M\n/backstores/ramdisk/a1 set attribute block_size=4096\nsaveconfig\n/iscsi delete nope\n")
	f.Add("/iscsi create iqn.2003-01.org.example:x\ncd /iscsi/iqn.2003-01.org.example:x/tpg1\nportals create 0.0.0.0 3262\nacls create iqn.1994-05.com.redhat:c\nluns create /backstores/fileio/disk1\nset global auto_cd_after_create=true\nbookmarks add b1\nexit 2\n")
	f.Add("/backstores/fileio/disk1 set attribute emulate_tpu=1 emulate_3pc=0\n/backstores/fileio delete disk1\n/loopback delete naa.5001405aaaaaaaaa\nclearconfig confirm=true\n/nope\n")
	f.Add("saveconfig @DIR@/s.json\nrestoreconfig @DIR@/s.json clear_existing=true\nexport @DIR@/e.img size=1M\n/nope\n")
	f.Fuzz(func(t *testing.T, input string) {
		sh, out, dir := fuzzShell(t)
		input = strings.ReplaceAll(input, fuzzDirMark, dir)
		before, files := configJSON(t, sh), dirState(t, dir)
		err := sh.RunBatch(context.Background(), &gatedLines{sh: sh, dir: dir, lines: strings.Split(input, "\n")}, BatchOptions{Atomic: true})
		noPanic(t, "batch", err)
		if err == nil {
			return
		}
		if after := configJSON(t, sh); after != before {
			t.Fatalf("a failed --atomic run (%v) left a change behind:\n%s\n%s", err, after, out)
		}
		if now := dirState(t, dir); now != files {
			t.Fatalf("a failed --atomic run (%v) left files behind:\n%s", err, now)
		}
	})
}
