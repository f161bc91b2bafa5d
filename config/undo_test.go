package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file the run made but that a storage object of the configuration put
// back uses is left.
func TestUndoLeavesFilesInUse(t *testing.T) {
	st, _, dir := newStore(t)
	img := filepath.Join(dir, "disk1.img")
	if _, _, err := st.CreateBackstore(context.Background(), BackstoreSpec{Plugin: "fileio", Name: "disk1", Dev: img, Size: 1 << 20, Sparse: true}); err != nil {
		t.Fatal(err)
	}
	u := &Undo{}
	u.MadeImage(img)
	done, errs := u.undo(0, st.BackingFiles())
	if len(errs) > 0 || len(done) != 1 || !strings.Contains(done[0], "the backing file of /backstores/fileio/disk1") {
		t.Errorf("undo: %q %v", done, errs)
	}
	if _, err := os.Stat(img); err != nil {
		t.Errorf("a file in use was removed: %v", err)
	}
	// Nor is a file that is not the one the run made.
	other := filepath.Join(t.TempDir(), "other.img")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	u.MadeImage(other)
	if err := os.WriteFile(other+".new", []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other+".new", other); err != nil {
		t.Fatal(err)
	}
	if done, _ := u.undo(0, nil); len(done) != 1 || !strings.Contains(done[0], "not the file the run made") {
		t.Errorf("undo: %q", done)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file was removed: %v", err)
	}
}
