package shell

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A preferences file that cannot be read whole is kept beside itself
// before the next save replaces it, and the message says where.
func TestDamagedPrefsFileIsKept(t *testing.T) {
	for _, content := range []string{`{"preferences": {"auto_cd_after_create": "true"`, `{"preferences": {"max_backup_files": "many", "colour": "1"}, "bookmarks": {"b": "/iscsi"}}`} {
		dir := t.TempDir()
		file := filepath.Join(dir, "prefs.json")
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		sh := New(Env{}, Options{Out: &out, Err: &out, PrefsPath: file})
		copies, _ := filepath.Glob(file + ".bad-*")
		if len(copies) != 1 {
			t.Fatalf("%s: copies %q; message %q", content, copies, out.String())
		}
		if b, err := os.ReadFile(copies[0]); err != nil || string(b) != content {
			t.Errorf("the copy holds %q (%v)", b, err)
		}
		if !strings.Contains(out.String(), "the file is kept as "+copies[0]) {
			t.Errorf("the message does not say where the copy is: %q", out.String())
		}
		if strings.Contains(content, "many") && (!strings.Contains(out.String(), `max_backup_files="many"`) || !strings.Contains(out.String(), `unknown preference "colour"`)) {
			t.Errorf("the message does not say what was ignored: %q", out.String())
		}
		sh.prefs.Bookmarks["x"] = "/"
		if err := sh.prefs.Save(); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(copies[0]); string(b) != content {
			t.Errorf("the copy changed on save: %q", b)
		}
	}
}
