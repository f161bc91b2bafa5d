package shell

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestSaveconfigFileAndBackups(t *testing.T) {
	sh, _, _ := newTestShell(t, false)
	dir := t.TempDir()
	file := filepath.Join(dir, "saveconfig.json")
	sh.opts.SaveFile = file
	sh.prefs.Values["max_backup_files"] = "2"
	if err := os.WriteFile(file, []byte("{\"storage_objects\": [], \"targets\": [], \"fabric_modules\": []}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Three old backups: after the next save only the two newest are kept.
	if err := os.MkdirAll(filepath.Join(dir, "backup"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"saveconfig-20200101-00:00:00-json.gz", "saveconfig-20200102-00:00:00-json.gz", "saveconfig-20200103-00:00:00-json.gz"} {
		if err := os.WriteFile(filepath.Join(dir, "backup", name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := sh.SaveConfig(file, false); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(file)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	// Sorted keys, indent 2, trailing newline: what Python's json.dump
	// (sort_keys=True, indent=2) writes, and encoding/json of a map.
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	enc := json.NewEncoder(&again)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	if again.String() != string(data) {
		t.Errorf("not in canonical form:\n%s", data)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "backup"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "saveconfig-20200103-00:00:00-json.gz" {
		t.Fatalf("backups %v, want the newest old one and the new one", names)
	}
	// The new backup holds the previous content.
	f, _ := os.Open(filepath.Join(dir, "backup", names[1]))
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := io.ReadAll(zr)
	f.Close()
	if !strings.Contains(string(old), `"storage_objects": []`) {
		t.Errorf("backup content %q", old)
	}
	// A save to another file keeps no backup.
	other := filepath.Join(dir, "other.json")
	if err := sh.SaveConfig(other, false); err != nil {
		t.Fatal(err)
	}
	if err := sh.SaveConfig(other, false); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "backup")); len(ents) != 2 {
		t.Errorf("%d backups after saving elsewhere", len(ents))
	}
	// An empty configuration does not replace the saved one, unless forced.
	if err := sh.store().Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := sh.SaveConfig(file, false); err == nil || !strings.Contains(err.Error(), "force=true") {
		t.Errorf("empty save: %v", err)
	}
	if err := sh.SaveConfig(file, true); err != nil {
		t.Errorf("forced empty save: %v", err)
	}
}
