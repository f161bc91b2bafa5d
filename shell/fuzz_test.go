package shell

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
)

// readOnly are the commands FuzzBatch runs; the others are parsed and
// bound only, so that fuzzing never writes files outside its directory.
var readOnly = map[string]bool{"ls": true, "cd": true, "pwd": true, "info": true, "get": true, "status": true, "help": true, "version": true, "refresh": true}

// FuzzBatch feeds arbitrary batch input to the grammar, path resolution,
// parameter binding and completion, and runs the read-only commands: no
// input may panic.
func FuzzBatch(f *testing.F) {
	f.Add("ls / 1\ncd /backstores\npwd\n")
	f.Add("/backstores/fileio create d1 x.img 1M write_back=false\n# comment\n\n")
	f.Add("cd ..\ncd -\ncd <\ncd >\ncd @nope\n")
	f.Add("'unterminated\nls \"a b\" 2\n\\\n")
	f.Add("/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1 get auth userid\n")
	f.Add("set global max_backup_files=x\nhelp create\n/backstores/ramdisk create a 12Q\n")
	dir := f.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer k.Close()
	l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, input string) {
		var out bytes.Buffer
		sh := New(Env{LIO: l, Kind: "sim", AvailableFabrics: sim.DefaultFabrics}, Options{Out: &out, Err: &out})
		for _, line := range strings.Split(input, "\n") {
			_ = sh.Complete(line)
			c, err := sh.Parse(line)
			if err != nil || c == nil {
				continue
			}
			if readOnly[c.Cmd.Name] {
				if _, err := sh.Run(context.Background(), c, IO{Out: &out, Err: &out}); errors.Is(err, ErrExit) {
					return
				}
			}
		}
	})
}
