package shell

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// atomicRun runs script as `tcmsh --atomic` and wants it to fail and be
// undone; it returns what the shell wrote.
func atomicRun(t *testing.T, sh *Shell, out *bytes.Buffer, script string) string {
	t.Helper()
	out.Reset()
	err := sh.RunBatch(context.Background(), strings.NewReader(script+"/nope\n"), BatchOptions{Atomic: true})
	var le *LineError
	if !errors.As(err, &le) {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "--atomic: undid every change of this run") {
		t.Fatalf("no rollback:\n%s", out)
	}
	return out.String()
}

func configJSON(t *testing.T, sh *Shell) string {
	t.Helper()
	cfg, err := sh.store().Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := cfg.MarshalSaveconfig()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAtomicRemovesTheImagesItMade(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	dir := t.TempDir()
	pre := filepath.Join(dir, "pre.img")
	empty := filepath.Join(dir, "empty.img")
	if err := os.WriteFile(pre, []byte("precious data"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	before := configJSON(t, sh)
	msg := atomicRun(t, sh, out, "/backstores/fileio create fnew "+filepath.Join(dir, "new.img")+" 1M\n"+
		"/backstores/fileio create fpre "+pre+"\n"+
		"/backstores/fileio create fempty "+empty+" 1M\n")
	if _, err := os.Stat(filepath.Join(dir, "new.img")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the image the run made is still there: %v", err)
	}
	if b, err := os.ReadFile(pre); err != nil || string(b) != "precious data" {
		t.Errorf("the image that was there: %q %v", b, err)
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Errorf("the empty image is not empty again: %v %v", fi, err)
	}
	if got := configJSON(t, sh); got != before {
		t.Errorf("configuration after the rollback:\n%s\nwant\n%s", got, before)
	}
	for _, want := range []string{"removed " + filepath.Join(dir, "new.img") + ", made by the run", "cut " + empty + " back to its 0 bytes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, pre) {
		t.Errorf("the message names the image that was there:\n%s", msg)
	}
	if sh.undo != nil {
		t.Error("still recording after the run")
	}
}

// fileEngine serves user:file backstores the way the file backend does:
// serving makes a missing image file.
type fileEngine struct {
	fakeEngine
	image            string
	existedAtRelease bool
}

func (f *fileEngine) Serve(ctx context.Context, p string) error {
	if _, err := os.Stat(f.image); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(f.image, make([]byte, 4096), 0o600); err != nil {
			return err
		}
	}
	return f.fakeEngine.Serve(ctx, p)
}

func (f *fileEngine) Release(ctx context.Context, p string) error {
	_, err := os.Stat(f.image)
	f.existedAtRelease = err == nil
	return f.fakeEngine.Release(ctx, p)
}

func TestAtomicReleasesUserBackstoresAndRemovesTheirImages(t *testing.T) {
	sh, out, l := newTestShell(t, false)
	image := filepath.Join(t.TempDir(), "u.img")
	fe := &fileEngine{fakeEngine: fakeEngine{lio: l}, image: image}
	sh.env.Engine = fe
	before := configJSON(t, sh)
	msg := atomicRun(t, sh, out, "/backstores/user:file create u1 1M "+image+"\n")
	if len(fe.calls) != 2 || !strings.HasPrefix(fe.calls[0], "serve ") || !strings.HasPrefix(fe.calls[1], "release ") {
		t.Errorf("engine calls %q, want serve then release", fe.calls)
	}
	if !fe.existedAtRelease {
		t.Error("the image was removed before the engine released it")
	}
	if _, err := os.Stat(image); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the image serving made is still there: %v", err)
	}
	if !strings.Contains(msg, "removed "+image+", made by the run") {
		t.Errorf("message:\n%s", msg)
	}
	if got := configJSON(t, sh); got != before {
		t.Errorf("configuration after the rollback:\n%s", got)
	}

	// An image that was there stays, with its content.
	if err := os.WriteFile(image, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	fe.calls = nil
	atomicRun(t, sh, out, "/backstores/user:file create u1 1M "+image+"\n")
	if b, err := os.ReadFile(image); err != nil || string(b) != "keep me" {
		t.Errorf("the image that was there: %q %v", b, err)
	}
}

func TestAtomicPutsPrefsAndBookmarksBack(t *testing.T) {
	for _, existed := range []bool{true, false} {
		dir := t.TempDir()
		file := filepath.Join(dir, "conf", "tcmsh", "prefs.json")
		sh, out, _ := newTestShell(t, false)
		sh.prefs.path = file
		if existed {
			sh.prefs.Bookmarks["b0"] = "/iscsi"
			if err := sh.prefs.Save(); err != nil {
				t.Fatal(err)
			}
		}
		old, _ := os.ReadFile(file)
		values := map[string]string{}
		for k, v := range sh.prefs.Values {
			values[k] = v
		}
		msg := atomicRun(t, sh, out, "set global auto_cd_after_create=true max_backup_files=3\nbookmarks add b1\nbookmarks del b0\n")
		if !strings.Contains(msg, "put the global preferences and bookmarks back") {
			t.Errorf("message:\n%s", msg)
		}
		if existed {
			if now, err := os.ReadFile(file); err != nil || !bytes.Equal(now, old) {
				t.Errorf("prefs.json %q %v, want %q", now, err, old)
			}
			if sh.prefs.Bookmarks["b0"] != "/iscsi" || len(sh.prefs.Bookmarks) != 1 {
				t.Errorf("bookmarks %v", sh.prefs.Bookmarks)
			}
		} else {
			if _, err := os.Stat(filepath.Join(dir, "conf")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the run's preferences directory is still there: %v", err)
			}
			if len(sh.prefs.Bookmarks) != 0 {
				t.Errorf("bookmarks %v", sh.prefs.Bookmarks)
			}
		}
		for k, v := range values {
			if sh.prefs.Values[k] != v {
				t.Errorf("existed=%v: %s=%s, want %s", existed, k, sh.prefs.Values[k], v)
			}
		}
		// What is loaded from the file is what the shell has.
		if p, _ := LoadPrefs(file); p.Values["auto_cd_after_create"] != "false" || p.Bookmarks["b1"] != "" {
			t.Errorf("prefs.json holds %v %v", p.Values, p.Bookmarks)
		}
	}
}

func TestAtomicPutsSaveconfigFilesBack(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	dir := t.TempDir()
	def := filepath.Join(dir, "saveconfig.json")
	sh.opts.SaveFile = def
	sh.prefs.Values["max_backup_files"] = "1"
	old := []byte("{\"storage_objects\": [], \"targets\": [], \"fabric_modules\": []}\n")
	if err := os.WriteFile(def, old, 0o640); err != nil {
		t.Fatal(err)
	}
	// An old backup that a save with max_backup_files=1 prunes.
	backups := filepath.Join(dir, "backup")
	oldBackup := filepath.Join(backups, "saveconfig-20200101-00:00:00-json.gz")
	if err := os.MkdirAll(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldBackup, []byte("old backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	newFile := filepath.Join(dir, "sub", "new.json")
	msg := atomicRun(t, sh, out, "saveconfig\nsaveconfig savefile="+newFile+"\n")
	if now, err := os.ReadFile(def); err != nil || !bytes.Equal(now, old) {
		t.Errorf("saveconfig.json %q %v, want %q", now, err, old)
	}
	if fi, _ := os.Stat(def); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 as before", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(backups)
	if len(ents) != 1 || ents[0].Name() != filepath.Base(oldBackup) {
		t.Errorf("backups %v, want the old one only", ents)
	}
	if b, _ := os.ReadFile(oldBackup); string(b) != "old backup" {
		t.Errorf("old backup %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the new file's directory is still there: %v", err)
	}
	for _, want := range []string{"put " + def + " back as it was", "removed " + newFile + ", written by the run", "removed the directory " + filepath.Join(dir, "sub")} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message does not say %q:\n%s", want, msg)
		}
	}
}
