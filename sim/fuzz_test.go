package sim

import (
	"fmt"

	"github.com/tcmsh/tcmsh/configfs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// seedState builds a small real state and returns its journal and
// snapshot images.
func seedState(t testing.TB) (journal, snapshot []byte) {
	dir := t.TempDir()
	k, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"target/core/rd_mcp_0", "target/core/rd_mcp_0/r", "target/loopback",
		"target/loopback/" + loopWWN, "target/loopback/" + loopWWN + "/tpgt_1"} {
		if err := k.Mkdir(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.WriteFile("target/core/rd_mcp_0/r/control", []byte("rd_pages=16")); err != nil {
		t.Fatal(err)
	}
	journal, _ = os.ReadFile(filepath.Join(dir, "journal"))
	if err := k.store.compact(encodeTree(k.root)); err != nil {
		t.Fatal(err)
	}
	snapshot, _ = os.ReadFile(filepath.Join(dir, "snapshot"))
	k.Close()
	return journal, snapshot
}

// FuzzJournal feeds arbitrary journal images to the record scanner and
// replays what it accepts on a fresh kernel: no panic, no hang.
func FuzzJournal(f *testing.F) {
	j, _ := seedState(f)
	f.Add(j)
	f.Add(j[:len(j)-3])
	f.Add(journalHeader(0))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ReadState(b)
		if err != nil {
			return
		}
		ops, _, err := scanJournal(b[headerSize:], headerSize, "journal")
		if err != nil || len(ops) != n {
			t.Fatalf("ReadState accepted %d records, scan says %d, %v", n, len(ops), err)
		}
		k, _ := Open("", Options{})
		k.replaying = true
		for _, o := range ops {
			_, _ = k.apply(o)
		}
		_ = encodeTree(k.root)
	})
}

// FuzzSnapshot feeds arbitrary snapshot images to the snapshot and tree
// decoders; what decodes must encode back to the same bytes.
func FuzzSnapshot(f *testing.F) {
	_, s := seedState(f)
	f.Add(s)
	f.Add(encodeSnapshot(1, encodeTree(newDir("configfs", "", true))))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, tree, err := parseSnapshot(b, "snapshot")
		if err != nil {
			return
		}
		root, err := decodeTree(tree)
		if err != nil {
			return
		}
		if again := encodeTree(root); string(again) != string(tree) {
			// Maps re-sort entries; a decodable tree must be canonical.
			root2, err := decodeTree(again)
			if err != nil || string(encodeTree(root2)) != string(again) {
				t.Fatalf("re-encoding is not stable: %v", err)
			}
		}
	})
}

// TestWriteFuzzSeeds regenerates the committed seed corpus
// (SIM_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds ./sim).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("SIM_WRITE_SEEDS") == "" {
		t.Skip("set SIM_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	j, s := seedState(t)
	write := func(fuzz, name string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzJournal", "real", j)
	write("FuzzJournal", "torn", j[:len(j)-5])
	bad := append([]byte{}, j...)
	bad[headerSize+recordHeader+1] ^= 0x55
	write("FuzzJournal", "corrupt-first-record", bad)
	write("FuzzJournal", "header-only", journalHeader(3))
	write("FuzzSnapshot", "real", s)
	write("FuzzSnapshot", "truncated", s[:len(s)/2])
	write("FuzzTree", "real", s[headerSize+recordHeader:])
	write("FuzzTree", "full", encodeTree(fullTree(t).root))
	write("FuzzOp", "mkdir", encodeRecord(op{kind: opMkdir, a: "target/core/rd_mcp_0/x"})[recordHeader:])
	write("FuzzOp", "link", encodeRecord(op{kind: opSymlink, a: "target/core/rd_mcp_0/r", b: "target/loopback/" + loopWWN + "/tpgt_1/lun/lun_0/r"})[recordHeader:])
}

// FuzzTree feeds arbitrary bytes to the tree decoder directly (past the
// snapshot checksum that stops most mutations in FuzzSnapshot).
func FuzzTree(f *testing.F) {
	_, s := seedState(f)
	f.Add(s[headerSize+recordHeader:])
	f.Fuzz(func(t *testing.T, b []byte) {
		root, err := decodeTree(b)
		if err != nil {
			return
		}
		k, _ := Open("", Options{})
		k.root = root
		k.recountLinks()
		_ = k.UIODevices()
		_ = k.LoopbackDisks()
		// Every attribute of a decodable tree can be read without a panic.
		var walk func(p string, depth int)
		walk = func(p string, depth int) {
			es, err := k.ReadDir(p)
			if err != nil || depth > 12 {
				return
			}
			for _, e := range es {
				q := p + "/" + e.Name
				if e.Kind == configfs.KindDir {
					walk(q, depth+1)
				} else {
					_, _ = k.ReadFile(q)
				}
			}
		}
		walk("target", 0)
	})
}

// FuzzOp decodes one record payload and applies it to a configured
// kernel: whatever the bytes, the kernel answers with an error or a
// change, never a panic.
func FuzzOp(f *testing.F) {
	for _, o := range []op{
		{kind: opMkdir, a: "target/core/fileio_0/x"},
		{kind: opWrite, a: "target/core/rd_mcp_0/r/control", b: "rd_pages=1,rd_nullio=1"},
		{kind: opSymlink, a: "target/core/rd_mcp_0/r", b: "target/loopback/" + loopWWN + "/tpgt_1/lun/lun_0/r"},
		{kind: opWrite, a: "target/loopback/" + loopWWN + "/tpgt_1/nexus", b: "naa.5001405abcdef099"},
		{kind: opRmdir, a: "target/loopback/" + loopWWN + "/tpgt_1"},
	} {
		f.Add(encodeRecord(o)[recordHeader:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := decodePayload(b)
		if err != nil {
			return
		}
		k, _ := Open("", Options{})
		for _, p := range []string{"target/core/rd_mcp_0", "target/core/rd_mcp_0/r", "target/loopback",
			"target/loopback/" + loopWWN, "target/loopback/" + loopWWN + "/tpgt_1",
			"target/loopback/" + loopWWN + "/tpgt_1/lun/lun_0"} {
			if err := k.Mkdir(p); err != nil {
				t.Fatal(err)
			}
		}
		if o.kind == opWrite && len(o.b) > maxWrite {
			o.b = o.b[:maxWrite]
		}
		if o.kind == opWrite || o.kind == opRestore {
			// Writes reach the host only through fileio's backing file and
			// iblock's device path: keep fuzzed paths off the host.
			if bytesContains(o.b, "fd_dev_name") || bytesContains(o.b, "udev_path") || bytesContains(o.a, "dbroot") {
				return
			}
		}
		_, _ = k.apply(o)
		_ = encodeTree(k.root)
	})
}

func bytesContains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// fullTree is a kernel holding one of nearly every object type (no host
// paths, so that it can be committed as a seed).
func fullTree(t testing.TB) *Kernel {
	k, _ := Open("", Options{})
	it := "target/iscsi/" + iqn + "/tpgt_1"
	acl := it + "/acls/iqn.1994-05.com.redhat:c"
	lt := "target/loopback/" + loopWWN + "/tpgt_1"
	steps := []step{
		{op: "mkdir", a: "target/core/rd_mcp_0"}, {op: "mkdir", a: "target/core/rd_mcp_0/r"},
		{op: "write", a: "target/core/rd_mcp_0/r/control", b: "rd_pages=16"},
		{op: "write", a: "target/core/rd_mcp_0/r/enable", b: "1"},
		{op: "mkdir", a: "target/core/rd_mcp_0/r/alua/g"},
		{op: "write", a: "target/core/rd_mcp_0/r/alua/g/tg_pt_gp_id", b: "3"},
		{op: "mkdir", a: "target/core/user_1"}, {op: "mkdir", a: "target/core/user_1/u"},
		{op: "write", a: "target/core/user_1/u/control", b: "dev_config=demo/x,dev_size=1048576"},
		{op: "write", a: "target/core/user_1/u/enable", b: "1"},
		{op: "mkdir", a: "target/core/pscsi_2"}, {op: "mkdir", a: "target/core/pscsi_2/p"},
		{op: "mkdir", a: "target/core/alua/lu_gps/lg"},
		{op: "mkdir", a: "target/iscsi"}, {op: "mkdir", a: "target/iscsi/" + iqn}, {op: "mkdir", a: it},
		{op: "mkdir", a: it + "/lun/lun_0"}, {op: "link", a: "target/core/rd_mcp_0/r", b: it + "/lun/lun_0/r"},
		{op: "write", a: it + "/lun/lun_0/alua_tg_pt_gp", b: "g"},
		{op: "mkdir", a: it + "/lun/lun_1"}, {op: "link", a: "target/core/user_1/u", b: it + "/lun/lun_1/u"},
		{op: "mkdir", a: acl}, {op: "mkdir", a: acl + "/lun_0"}, {op: "link", a: it + "/lun/lun_0", b: acl + "/lun_0/m"},
		{op: "mkdir", a: it + "/np/0.0.0.0:3260"},
		{op: "mkdir", a: "target/loopback"}, {op: "mkdir", a: "target/loopback/" + loopWWN}, {op: "mkdir", a: lt},
		{op: "write", a: lt + "/nexus", b: "naa.5001405abcdef099"},
		{op: "mkdir", a: lt + "/lun/lun_0"}, {op: "link", a: "target/core/rd_mcp_0/r", b: lt + "/lun/lun_0/r"},
		{op: "mkdir", a: "target/vhost"}, {op: "mkdir", a: "target/vhost/naa.5001405abcdef013"},
		{op: "mkdir", a: "target/vhost/naa.5001405abcdef013/tpgt_1"},
	}
	tt, ok := t.(*testing.T)
	if !ok {
		t.Fatal("fullTree needs a *testing.T")
	}
	run(tt, k, steps)
	return k
}

// FuzzStateJournal puts arbitrary bytes in a state directory as its
// journal (beside a good snapshot) and opens it as a process would: the
// kernel refuses the state, or loads it whole, or loads it in part and
// says so (Damage). A silent partial load is a failure.
func FuzzStateJournal(f *testing.F) {
	j, _ := seedState(f)
	f.Add(j, false)
	f.Add(j[:len(j)/2], false)
	f.Add(j[:len(j)-3], true)
	f.Add(append(append([]byte{}, j...), make([]byte, 40)...), false)
	f.Add(journalHeader(0), true)
	f.Add(journalHeader(1), true)
	_, snap := seedState(f)
	f.Fuzz(func(t *testing.T, b []byte, withSnapshot bool) {
		dir := t.TempDir()
		if withSnapshot {
			if err := os.WriteFile(filepath.Join(dir, "snapshot"), snap, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "journal"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := Open(dir, Options{})
		if err != nil {
			return // refused
		}
		defer k.Close()
		k.mu.Lock()
		used, stale := k.store.off, k.store.journalStale
		k.mu.Unlock()
		if !stale && used != int64(len(b)) && k.Damage() == "" {
			t.Fatalf("loaded %d of the journal's %d bytes and reported no damage", used, len(b))
		}
		// What loaded is a usable state: it can be changed and read back.
		if err := k.Mkdir("target/core/rd_mcp_9"); err == nil {
			if _, err := k.Stat("target/core/rd_mcp_9"); err != nil {
				t.Fatalf("a change to the loaded state is lost: %v", err)
			}
		}
		_ = dump(t, k)
	})
}
