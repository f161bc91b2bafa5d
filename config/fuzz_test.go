package config

import (
	"bytes"
	"testing"
)

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
