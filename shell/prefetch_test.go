package shell

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
)

// infoReadsMeet is an FS whose reads of storage objects' info wait, each,
// until another one is in flight: a listing that reads the objects one
// after another makes every such read wait out the bound.
type infoReadsMeet struct {
	configfs.FS
	mu       sync.Mutex
	inFlight int
	met      chan struct{}
	once     sync.Once
	alone    int // reads that gave up waiting for a second one
}

func (f *infoReadsMeet) ReadFile(p string) ([]byte, error) {
	if !strings.HasSuffix(p, "/info") || !strings.Contains(p, "/core/") {
		return f.FS.ReadFile(p)
	}
	f.mu.Lock()
	f.inFlight++
	if f.inFlight >= 2 {
		f.once.Do(func() { close(f.met) })
	}
	f.mu.Unlock()
	select {
	case <-f.met:
	case <-time.After(2 * time.Second): // a serial listing's bound, not a speed limit
		f.mu.Lock()
		f.alone++
		f.mu.Unlock()
	}
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
	return f.FS.ReadFile(p)
}

// TestListingReadsStorageObjectsSideBySide: ls reads the storage objects
// of a backstore type side by side, and shows the same tree as a listing
// that reads them one by one (ls of a single object).
func TestListingReadsStorageObjectsSideBySide(t *testing.T) {
	w := newOpWorld(t)
	sh, _ := w.process()
	if err := sh.RunBatch(context.Background(), strings.NewReader(w.bulkScript(6)), BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	fsys := &infoReadsMeet{FS: w.k, met: make(chan struct{})}
	l, err := configfs.Open(fsys, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: w.dir + "/hba.lock"})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	lister := New(Env{LIO: l, Kind: "sim", UserSubtypes: []string{"ram"}}, Options{Out: &out, Err: &out, SaveFile: w.dir + "/s.json", PrefsPath: w.dir + "/prefs"})
	if err := lister.Exec(context.Background(), "ls /backstores/fileio"); err != nil {
		t.Fatal(err)
	}
	if fsys.alone > 1 { // the last read may find nobody left
		t.Errorf("%d of 6 storage objects were read alone: the listing reads them one after another", fsys.alone)
	}
	for i := range 6 {
		var one strings.Builder
		single := New(Env{LIO: l, Kind: "sim", UserSubtypes: []string{"ram"}}, Options{Out: &one, Err: &one, SaveFile: w.dir + "/s.json", PrefsPath: w.dir + "/prefs"})
		name := "f" + string(rune('0'+i))
		if err := single.Exec(context.Background(), "ls /backstores/fileio/"+name+" 0"); err != nil {
			t.Fatal(err)
		}
		line := strings.TrimSpace(strings.TrimPrefix(one.String(), "o- "))
		if !strings.Contains(out.String(), line) {
			t.Errorf("ls of the type does not show %s as ls of the object does: %q\n%s", name, line, out.String())
		}
	}
}
