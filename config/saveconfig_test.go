package config

import (
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
