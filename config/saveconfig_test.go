package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseSaveconfigErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[]`, "$: expected an object, found an array"},
		{`{"storage_objects": {}}`, "storage_objects: expected an array"},
		{`{"storage_objects": [{"name": "a/b", "plugin": "fileio", "dev": "/x"}]}`, `storage_objects[0].name: storage object name "a/b" contains '/'`},
		{`{"storage_objects": [{"name": "a", "plugin": "fileio"}]}`, `storage_objects[0]: missing "dev"`},
		{`{"storage_objects": [{"name": "a", "plugin": "fileio", "dev": "rel"}]}`, `storage_objects[0].dev: "rel" is not an absolute path`},
		{`{"storage_objects": [{"name": "a", "plugin": "ramdisk", "size": 1, "wwn": "x"}]}`, `storage_objects[0].wwn: "x" is not a unit serial`},
		{`{"storage_objects": [{"name": "a", "plugin": "ramdisk", "size": 1, "attributes": {"../x": 1}}]}`, `attribute name "../x" is not allowed`},
		{`{"targets": [{"fabric": "iscsi", "wwn": "iqn.2003-01.org.example:a", "tpgs": [{"tag": 0}]}]}`, `targets[0].tpgs[0].tag: 0 is not an integer from 1 to 65535`},
		{`{"targets": [{"fabric": "iscsi", "wwn": "iqn.2003-01.org.example:a", "tpgs": [{"tag": 1}, {"tag": 1}]}]}`, `targets[0].tpgs[1].tag: a second TPG with tag 1`},
		{`{"targets": [{"fabric": "../x", "wwn": "w"}]}`, `targets[0].fabric: fabric name "../x" contains '/'`},
		{`{"targets": [{"fabric": "iscsi", "wwn": "iqn.2003-01.org.example:a", "tpgs": [{"tag": 1, "luns": [{"index": 0, "storage_object": "/backstores/fileio/x", "alias": ".."}]}]}]}`, `luns[0].alias`},
		{`{"fabric_modules": [{"name": "iscsi", "discovery_enable_auth": "yes"}]}`, `fabric_modules[0].discovery_enable_auth: expected true or false`},
		{`{"storage_objects": [], "extra": 1}`, `$: unknown key "extra"`},
		{`{"storage_objects": [{"name": "a", "plugin": "ramdisk", "size": -1}]}`, `storage_objects[0].size: -1 is not an integer of 0 or more`},
		{`{"storage_objects": [{"name": "a", "plugin": "ramdisk", "size": 1.5}]}`, `storage_objects[0].size: 1.5 is not an integer (write it without a fraction or an exponent)`},
		{`{"storage_objects": [{"name": "a", "plugin": "ramdisk", "size": 1e3}]}`, `storage_objects[0].size: 1e3 is not an integer (write it without`},
		{`{"storage_objects": [{"name": "a", "plugin": "ramdisk", "size": 99999999999999999999}]}`, `storage_objects[0].size: 99999999999999999999 is too large (at most 9223372036854775807)`},
		{`{"storage_objects": [{"name": "a", "plugin": "ramdisk", "size": 1, "hw_max_sectors": 0.5}]}`, `hw_max_sectors: 0.5 is not an integer from 0 to 1048576`},
	}
	for _, tt := range tests {
		_, err := ParseSaveconfig([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSaveconfig(%s): %v, want %q", tt.in, err, tt.want)
		}
	}
}

// Fibre Channel targets in rtslib's names (fabric tcm_fc, naa. WWNs for the
// port and the initiators) are read as configfs names them (fc, colon form),
// colon forms are read too, and the file written uses rtslib's names again.
func TestSaveconfigFibreChannelNames(t *testing.T) {
	in := `{"storage_objects": [{"name": "r", "plugin": "ramdisk", "size": 1048576}],
 "targets": [
  {"fabric": "tcm_fc", "wwn": "naa.20000024ff314c48", "tpgs": [{"tag": 1, "luns": [{"index": 0, "storage_object": "/backstores/ramdisk/r"}],
    "node_acls": [{"node_wwn": "naa.21000024ff314c49", "mapped_luns": [{"index": 0, "tpg_lun": 0}]}]}]},
  {"fabric": "qla2xxx", "wwn": "21:00:00:24:FF:31:4C:4A", "tpgs": [{"tag": 1, "enable": true,
    "node_acls": [{"node_wwn": "naa.21:00:00:24:ff:31:4c:4b"}]}]}]}`
	cfg, err := ParseSaveconfig([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, tc := range cfg.Targets {
		got = append(got, tc.Fabric+" "+tc.WWN+" "+tc.TPGs[0].ACLs[0].WWN)
	}
	want := "[fc 20:00:00:24:ff:31:4c:48 21:00:00:24:ff:31:4c:49 qla2xxx 21:00:00:24:ff:31:4c:4a 21:00:00:24:ff:31:4c:4b]"
	if fmt.Sprint(got) != want {
		t.Fatalf("read %v, want %s", got, want)
	}
	out, err := cfg.MarshalSaveconfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"fabric": "tcm_fc"`, `"wwn": "naa.20000024ff314c48"`, `"node_wwn": "naa.21000024ff314c49"`,
		`"fabric": "qla2xxx"`, `"wwn": "naa.21000024ff314c4a"`, `"node_wwn": "naa.21000024ff314c4b"`} {
		if !strings.Contains(string(out), w) {
			t.Errorf("written file lacks %s:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), `"fabric": "fc"`) {
		t.Errorf("written file names the fabric fc:\n%s", out)
	}
}
