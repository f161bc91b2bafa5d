package shell

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
)

// readsMeet is an FS whose reads of the files (or links) that match wait,
// each, until another one is in flight: a listing that reads them one
// after another makes every such read wait out the bound.
type readsMeet struct {
	configfs.FS
	match    func(p string) bool
	mu       sync.Mutex
	inFlight int
	met      chan struct{}
	once     sync.Once
	alone    int // reads that gave up waiting for a second one
}

func newReadsMeet(fsys configfs.FS, match func(p string) bool) *readsMeet {
	return &readsMeet{FS: fsys, match: match, met: make(chan struct{})}
}

func (f *readsMeet) meet(p string) {
	if !f.match(p) {
		return
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
}

func (f *readsMeet) ReadFile(p string) ([]byte, error) {
	f.meet(p)
	return f.FS.ReadFile(p)
}

func (f *readsMeet) Readlink(p string) (string, error) {
	f.meet(p)
	return f.FS.Readlink(p)
}

func isInfo(p string) bool { return strings.HasSuffix(p, "/info") && strings.Contains(p, "/core/") }

// TestListingReadsStorageObjectsSideBySide: ls reads the storage objects
// of a backstore type side by side, and shows the same tree as a listing
// that reads them one by one (ls of a single object).
func TestListingReadsStorageObjectsSideBySide(t *testing.T) {
	w := newOpWorld(t)
	sh, _ := w.process()
	if err := sh.RunBatch(context.Background(), strings.NewReader(w.bulkScript(6)), BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	fsys := newReadsMeet(w.k, isInfo)
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

// TestListingReadsLUNsSideBySide: ls of a TPG reads its ACL's mapped LUNs
// side by side, and the LUNs they name too, and shows each mapped LUN as
// a listing of it alone (which reads its LUN by itself) does.
func TestListingReadsLUNsSideBySide(t *testing.T) {
	w := newOpWorld(t)
	sh, _ := w.process()
	if err := sh.RunBatch(context.Background(), strings.NewReader(w.bulkScript(6)), BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what  string
		match func(p string) bool
	}{
		{"mapped LUNs", func(p string) bool { return strings.Contains(p, "/acls/") && strings.Contains(p, "/lun_") }},
		{"LUNs", func(p string) bool { return strings.Contains(p, "/tpgt_1/lun/lun_") }},
	} {
		fsys := newReadsMeet(w.k, c.match)
		l, err := configfs.Open(fsys, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: w.dir + "/hba.lock"})
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		lister := New(Env{LIO: l, Kind: "sim"}, Options{Out: &out, Err: &out, SaveFile: w.dir + "/s.json", PrefsPath: w.dir + "/prefs"})
		if err := lister.Exec(context.Background(), "ls /iscsi/"+opTarget+"/tpg1"); err != nil {
			t.Fatal(err)
		}
		if fsys.alone > 1 { // the last read may find nobody left
			t.Errorf("%s: %d reads were made alone: the listing reads them one after another", c.what, fsys.alone)
		}
		if c.what != "mapped LUNs" {
			continue
		}
		for i := range 6 {
			var one strings.Builder
			single := New(Env{LIO: l, Kind: "sim"}, Options{Out: &one, Err: &one, SaveFile: w.dir + "/s.json", PrefsPath: w.dir + "/prefs"})
			p := "/iscsi/" + opTarget + "/tpg1/acls/" + opInitiator + "/mapped_lun" + string(rune('0'+i))
			if err := single.Exec(context.Background(), "ls "+p+" 0"); err != nil {
				t.Fatal(err)
			}
			want := bracketOf(one.String(), "mapped_lun"+string(rune('0'+i)))
			if got := bracketOf(out.String(), "mapped_lun"+string(rune('0'+i))); want == "" || got != want {
				t.Errorf("ls of the TPG shows mapped LUN %d as %q, ls of it alone as %q", i, got, want)
			}
		}
	}
}

// bracketOf is the summary ("[…]") on the line of node name in a listing.
func bracketOf(listing, name string) string {
	for _, l := range strings.Split(listing, "\n") {
		if strings.Contains(l, "o- "+name+" ") {
			if i := strings.Index(l, "["); i >= 0 {
				return l[i:]
			}
		}
	}
	return ""
}
