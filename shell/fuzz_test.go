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
				if err := sh.Run(context.Background(), c); errors.Is(err, ErrExit) {
					return
				}
			}
		}
	})
}

// FuzzParseSaveconfig: any bytes give a Config or errors, never a panic,
// and a Config that parses renders to JSON that parses to the same JSON.
func FuzzParseSaveconfig(f *testing.F) {
	f.Add([]byte(`{"storage_objects": [], "targets": [], "fabric_modules": []}`))
	f.Add([]byte(`{"storage_objects": [{"name": "d", "plugin": "fileio", "dev": "/x", "size": 1, "attributes": {"block_size": 512}}],
	  "targets": [{"fabric": "iscsi", "wwn": "iqn.2003-01.org.example:a", "tpgs": [{"tag": 1, "enable": true,
	  "luns": [{"index": 0, "storage_object": "/backstores/fileio/d"}], "portals": [{"ip_address": "0.0.0.0", "port": 3260}],
	  "node_acls": [{"node_wwn": "iqn.1994-05.com.redhat:c", "mapped_luns": [{"index": 0, "tpg_lun": 0}]}]}]}]}`))
	f.Add([]byte(`{"targets": [{"fabric": "loopback", "wwn": "naa.5001405000000001", "tpgs": [{"tag": 1}]}], "colour": 1}`))
	f.Add([]byte(`[1, 2`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseSaveconfig(data)
		if err != nil {
			return
		}
		out, err := cfg.MarshalSaveconfig()
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		again, err := ParseSaveconfig(out)
		if err != nil {
			t.Fatalf("re-read of rendered file: %v\n%s", err, out)
		}
		out2, err := again.MarshalSaveconfig()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("render is not stable:\n%s\n---\n%s", out, out2)
		}
	})
}
