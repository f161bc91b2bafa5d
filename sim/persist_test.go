package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
)

func openAt(t testing.TB, dir string, opts Options) *Kernel {
	t.Helper()
	k, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// dump renders the whole tree (names, kinds, permissions, readable
// values, link targets) for comparing two kernels.
func dump(t testing.TB, k *Kernel) string {
	t.Helper()
	var b strings.Builder
	var walk func(p string)
	walk = func(p string) {
		es, err := k.ReadDir(p)
		if err != nil {
			t.Fatalf("readdir %s: %v", p, err)
		}
		for _, e := range es {
			q := p + "/" + e.Name
			fmt.Fprintf(&b, "%s %v %o", q, e.Kind, e.Perm)
			switch {
			case e.Kind == configfs.KindDir:
				b.WriteString("\n")
				walk(q)
				continue
			case e.Kind == configfs.KindLink:
				l, _ := k.Readlink(q)
				b.WriteString(" -> " + l)
			case e.Readable():
				v, err := k.ReadFile(q)
				fmt.Fprintf(&b, " %q %v", v, configfs.Errno(err))
			}
			b.WriteString("\n")
		}
	}
	walk("target")
	return b.String()
}

func buildConfig(t *testing.T) []step {
	lt := "target/loopback/" + loopWWN + "/tpgt_1"
	return append(fileioSteps(t, "fileio_0", "disk1"),
		step{op: "mkdir", a: "target/loopback"},
		step{op: "mkdir", a: "target/loopback/" + loopWWN},
		step{op: "mkdir", a: lt},
		step{op: "write", a: lt + "/nexus", b: "naa.5001405abcdef099"},
		step{op: "mkdir", a: lt + "/lun/lun_0"},
		step{op: "link", a: "target/core/fileio_0/disk1", b: lt + "/lun/lun_0/disk1"},
		step{op: "write", a: "target/core/fileio_0/disk1/wwn/vendor_id", b: "ACME", want: syscall.EINVAL},
		step{op: "mkdir", a: "target/core/user_1"},
		step{op: "mkdir", a: "target/core/user_1/u"},
		step{op: "write", a: "target/core/user_1/u/control", b: "dev_config=file/x,dev_size=1048576"},
		step{op: "write", a: "target/core/user_1/u/enable", b: "1"},
	)
}

func TestPersistenceAcrossReopen(t *testing.T) {
	for _, compact := range []int64{0, 1} { // default, and a snapshot after every operation
		t.Run(fmt.Sprintf("compact=%d", compact), func(t *testing.T) {
			dir := t.TempDir()
			k := openAt(t, dir, Options{CompactBytes: compact})
			run(t, k, buildConfig(t))
			want := dump(t, k)
			k.Close()
			k2 := openAt(t, dir, Options{})
			if got := dump(t, k2); got != want {
				t.Fatalf("state after reopen differs:\n%s", diff(want, got))
			}
			// The link count survived: the object is still busy.
			if err := k2.Rmdir("target/core/fileio_0/disk1"); configfs.Errno(err) != syscall.EBUSY {
				t.Fatalf("rmdir of an exported object after reopen: %v, want EBUSY", err)
			}
			if d := k2.LoopbackDisks(); len(d) != 1 {
				t.Fatalf("loopback disks after reopen: %+v", d)
			}
			if u := k2.UIODevices(); len(u) != 1 || u[0].Name != "tcm-user/1/u/file/x" {
				t.Fatalf("uio devices after reopen: %+v", u)
			}
		})
	}
}

func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n want %s\n got  %s", i, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d lines", len(al), len(bl))
}

// TestTwoKernelsInterleave runs two instances on one state directory:
// each sees the other's changes before its own next operation.
func TestTwoKernelsInterleave(t *testing.T) {
	dir := t.TempDir()
	a := openAt(t, dir, Options{CompactBytes: 2048})
	b := openAt(t, dir, Options{CompactBytes: 2048})
	for i := 0; i < 40; i++ {
		k, other := a, b
		if i%2 == 1 {
			k, other = b, a
		}
		hba := fmt.Sprintf("target/core/rd_mcp_%d", i)
		if err := k.Mkdir(hba); err != nil {
			t.Fatal(err)
		}
		if err := other.Mkdir(hba); configfs.Errno(err) != syscall.EEXIST {
			t.Fatalf("the other instance did not see %s: %v", hba, err)
		}
		if err := other.Mkdir(hba + "/r"); err != nil {
			t.Fatal(err)
		}
		if err := k.WriteFile(hba+"/r/control", []byte("rd_pages=16")); err != nil {
			t.Fatal(err)
		}
		if got := read(t, other, hba+"/r/info"); !strings.Contains(got, "PAGES/PAGE_SIZE: 16*4096") {
			t.Fatalf("other instance reads %q", got)
		}
	}
	if da, db := dump(t, a), dump(t, b); da != db {
		t.Fatalf("instances disagree:\n%s", diff(da, db))
	}
	// HBA indexes were handed out once each, across both instances.
	seen := map[string]bool{}
	for i := 0; i < 40; i++ {
		v := read(t, a, fmt.Sprintf("target/core/rd_mcp_%d/hba_info", i))
		if seen[v[:14]] {
			t.Fatalf("duplicate HBA index: %q", v)
		}
		seen[v[:14]] = true
	}
}

// TestTwoProcesses re-executes the test binary as two workers that make
// and remove HBAs in the same state directory; every successful mkdir is
// counted and must be in the final state.
func TestTwoProcesses(t *testing.T) {
	if dir := os.Getenv("SIM_WORKER_DIR"); dir != "" {
		worker(dir, os.Getenv("SIM_WORKER_ID"))
		return
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcesses$")
			cmd.Env = append(os.Environ(), "SIM_WORKER_DIR="+dir, "SIM_WORKER_ID="+strconv.Itoa(w))
			outs[w], errs[w] = cmd.CombinedOutput()
		}(w)
	}
	wg.Wait()
	for w := range errs {
		if errs[w] != nil {
			t.Fatalf("worker %d: %v\n%s", w, errs[w], outs[w])
		}
	}
	k := openAt(t, dir, Options{})
	es, err := k.ReadDir("target/core")
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for _, e := range es {
		if strings.HasPrefix(e.Name, "fileio_") {
			kept[e.Name] = true
		}
	}
	want := 0
	for w := 0; w < 2; w++ {
		for _, line := range strings.Split(string(outs[w]), "\n") {
			name, ok := strings.CutPrefix(line, "KEPT ")
			if !ok {
				continue
			}
			want++
			if !kept[name] {
				t.Errorf("worker %d made %s, which is lost", w, name)
			}
			if es, err := k.ReadDir("target/core/" + name); err != nil || len(es) != 3 {
				t.Errorf("%s: %v %v, want its object", name, es, err)
			}
		}
	}
	if want != len(kept) || want != 2*workerRounds/2 {
		t.Fatalf("%d kept HBAs reported, %d in the state; want %d", want, len(kept), workerRounds)
	}
}

const workerRounds = 150

// worker makes HBA+object pairs, racing the other worker for the same
// names, and removes every other one it made.
func worker(dir, id string) {
	k, err := Open(dir, Options{CompactBytes: 16 << 10})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	defer k.Close()
	made := 0
	for n := 0; made < workerRounds; n++ {
		hba := fmt.Sprintf("fileio_%d", n)
		err := k.Mkdir("target/core/" + hba)
		if errors.Is(err, syscall.EEXIST) {
			continue // the other worker got this index first
		}
		if err != nil {
			fmt.Println("mkdir:", err)
			os.Exit(1)
		}
		if err := k.Mkdir("target/core/" + hba + "/so" + id); err != nil {
			fmt.Println("mkdir object:", err)
			os.Exit(1)
		}
		made++
		if made%2 == 0 {
			if err := k.Rmdir("target/core/" + hba + "/so" + id); err != nil {
				fmt.Println("rmdir object:", err)
				os.Exit(1)
			}
			if err := k.Rmdir("target/core/" + hba); err != nil {
				fmt.Println("rmdir:", err)
				os.Exit(1)
			}
			continue
		}
		fmt.Println("KEPT " + hba)
	}
}

func TestTornJournal(t *testing.T) {
	dir := t.TempDir()
	k := openAt(t, dir, Options{})
	run(t, k, []step{{op: "mkdir", a: "target/core/rd_mcp_0"}, {op: "mkdir", a: "target/core/rd_mcp_0/a"}})
	want := dump(t, k)
	k.Close()
	j := filepath.Join(dir, "journal")
	good, err := os.ReadFile(j)
	if err != nil {
		t.Fatal(err)
	}
	rec := encodeRecord(op{kind: opMkdir, now: 1, a: "target/core/rd_mcp_0/b"})
	for cut := 1; cut < len(rec); cut++ {
		if err := os.WriteFile(j, append(append([]byte{}, good...), rec[:cut]...), 0o600); err != nil {
			t.Fatal(err)
		}
		k := openAt(t, dir, Options{})
		if got := dump(t, k); got != want {
			t.Fatalf("cut at %d: state changed by a torn record:\n%s", cut, diff(want, got))
		}
		// The next writer cuts the torn end off and appends after it.
		if err := k.Mkdir("target/core/rd_mcp_0/c"); err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		k.Close()
		k = openAt(t, dir, Options{})
		if _, err := k.Stat("target/core/rd_mcp_0/c"); err != nil {
			t.Fatalf("cut at %d: record after a torn one lost: %v", cut, err)
		}
		if err := k.Rmdir("target/core/rd_mcp_0/c"); err != nil {
			t.Fatal(err)
		}
		k.Close()
		good, _ = os.ReadFile(j)
	}
	// A torn tail of zeros (a crash after the file grew) is torn too.
	os.WriteFile(j, append(append([]byte{}, good...), make([]byte, 100)...), 0o600)
	k = openAt(t, dir, Options{})
	k.Close()
}

func TestCorruptJournalNamesFileAndOffset(t *testing.T) {
	dir := t.TempDir()
	k := openAt(t, dir, Options{})
	run(t, k, []step{{op: "mkdir", a: "target/core/rd_mcp_0"}, {op: "mkdir", a: "target/core/rd_mcp_0/a"}})
	k.Close()
	j := filepath.Join(dir, "journal")
	b, _ := os.ReadFile(j)
	b[headerSize+recordHeader+2] ^= 0xff // inside the first record's payload
	os.WriteFile(j, b, 0o600)
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), j) || !strings.Contains(err.Error(), "offset 16") {
		t.Fatalf("Open = %v; want a corruption error naming %s and offset 16", err, j)
	}
}

func TestCorruptSnapshot(t *testing.T) {
	dir := t.TempDir()
	k := openAt(t, dir, Options{CompactBytes: 1})
	run(t, k, []step{{op: "mkdir", a: "target/core/rd_mcp_0"}})
	k.Close()
	s := filepath.Join(dir, "snapshot")
	b, err := os.ReadFile(s)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	os.WriteFile(s, b, 0o600)
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), s) {
		t.Fatalf("Open = %v; want a corruption error naming %s", err, s)
	}
}

// TestInterruptedCompaction: a snapshot of generation G+1 with the journal
// of generation G left behind (a crash between the two renames) loads as
// the snapshot, and the next write starts a fresh journal.
func TestInterruptedCompaction(t *testing.T) {
	dir := t.TempDir()
	k := openAt(t, dir, Options{})
	run(t, k, []step{{op: "mkdir", a: "target/core/rd_mcp_0"}})
	oldJournal, _ := os.ReadFile(filepath.Join(dir, "journal"))
	run(t, k, []step{{op: "mkdir", a: "target/core/rd_mcp_1"}})
	want := dump(t, k)
	if err := k.store.compact(encodeTree(k.root)); err != nil {
		t.Fatal(err)
	}
	k.Close()
	os.WriteFile(filepath.Join(dir, "journal"), oldJournal, 0o600)
	k = openAt(t, dir, Options{})
	if got := dump(t, k); got != want {
		t.Fatalf("state differs:\n%s", diff(want, got))
	}
	run(t, k, []step{{op: "mkdir", a: "target/core/rd_mcp_2"}})
	k.Close()
	k = openAt(t, dir, Options{})
	if _, err := k.Stat("target/core/rd_mcp_2"); err != nil {
		t.Fatal(err)
	}
}

func TestClosedKernel(t *testing.T) {
	k, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := k.Mkdir("target/core/rd_mcp_0"); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("mkdir after Close: %v", err)
	}
	if _, err := k.ReadDir("target"); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("readdir after Close: %v", err)
	}
	if err := k.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestReplayIgnoresHostChanges: replaying an enable must not look at the
// host again (the backing file or device may be gone by then); it reuses
// what the original operation learned.
func TestReplayIgnoresHostChanges(t *testing.T) {
	dir := t.TempDir()
	backing := filepath.Join(t.TempDir(), "gone")
	if err := os.MkdirAll(backing, 0o700); err != nil {
		t.Fatal(err)
	}
	a := openAt(t, dir, Options{})
	run(t, a, []step{
		{op: "mkdir", a: "target/core/fileio_0"}, {op: "mkdir", a: "target/core/fileio_0/f"},
		{op: "write", a: "target/core/fileio_0/f/control", b: "fd_dev_name=" + backing + "/img,fd_dev_size=4096"},
		{op: "write", a: "target/core/fileio_0/f/enable", b: "1"},
	})
	want := read(t, a, "target/core/fileio_0/f/info")
	if err := os.RemoveAll(backing); err != nil {
		t.Fatal(err)
	}
	b := openAt(t, dir, Options{})
	if got := read(t, b, "target/core/fileio_0/f/info"); got != want {
		t.Fatalf("replayed info = %q, want %q", got, want)
	}
	if got := read(t, b, "target/core/fileio_0/f/enable"); got != "1\n" {
		t.Fatalf("replayed enable = %q", got)
	}
}

// A journal cut short (here to half its size, with 200 objects in it)
// loads what precedes the cut and says so: a partial load never passes as
// a whole one, and the next change keeps the damaged journal aside.
func TestCutJournalIsReportedWithWhatWasRecovered(t *testing.T) {
	dir := t.TempDir()
	k := openAt(t, dir, Options{})
	if err := k.Mkdir("target/core/rd_mcp_0"); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := k.Mkdir(fmt.Sprintf("target/core/rd_mcp_0/d%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if d := k.Damage(); d != "" {
		t.Fatalf("a whole journal reported as damaged: %s", d)
	}
	k.Close()
	if k := openAt(t, dir, Options{}); k.Damage() != "" {
		t.Fatalf("a whole journal reported as damaged on reopen: %s", k.Damage())
	} else {
		k.Close()
	}
	j := filepath.Join(dir, "journal")
	whole, err := os.ReadFile(j)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(j, whole[:len(whole)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	k = openAt(t, dir, Options{})
	d := k.Damage()
	names, err := k.ReadDir("target/core/rd_mcp_0")
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, n := range names {
		if strings.HasPrefix(n.Name, "d") {
			kept++
		}
	}
	if kept == 0 || kept >= 200 {
		t.Fatalf("kept %d of 200 objects; the test wants a partial load", kept)
	}
	for _, want := range []string{j, "not a whole record", fmt.Sprintf("%d operations replayed", kept+1), fmt.Sprintf("d%03d", kept-1)} {
		if !strings.Contains(d, want) {
			t.Errorf("damage report %q does not say %q", d, want)
		}
	}
	if err := k.Mkdir("target/core/rd_mcp_0/after"); err != nil {
		t.Fatal(err)
	}
	kept2, err := os.ReadFile(filepath.Join(dir, "journal.damaged"))
	if err != nil || !bytes.Equal(kept2, whole[:len(whole)/2]) {
		t.Fatalf("the damaged journal was not kept aside before the cut (%v)", err)
	}
}
