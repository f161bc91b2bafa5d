package shell

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
)

// The configfs operations a command makes are what its cost carries from
// the simulated kernel to the real one (where each costs a path walk and a
// call into configfs, and a quadratic walk at 200 objects takes minutes).
// These tests count them on the simulated kernel and hold every listing
// and change to O(objects touched): a quadratic walk fails here on any
// machine.

const (
	opTarget    = "iqn.2003-01.org.example.tcmsh:ops"
	opInitiator = "iqn.1994-05.com.example:ops"
)

// opWorld is a simulated kernel shared by shells that stand for separate
// tcmsh processes (each with a model of its own, as a one-shot command has).
type opWorld struct {
	t   *testing.T
	dir string
	k   *sim.Kernel
}

func newOpWorld(t *testing.T) *opWorld {
	t.Helper()
	dir := t.TempDir()
	k, err := sim.Open(filepath.Join(dir, "sim"), sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return &opWorld{t: t, dir: dir, k: k}
}

// process returns a shell as a new tcmsh process would have it, and the
// counter of its configfs operations.
func (w *opWorld) process() (*Shell, *configfs.CountingFS) {
	w.t.Helper()
	cfs := configfs.NewCountingFS(w.k)
	l, err := configfs.Open(cfs, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(w.dir, "hba.lock")})
	if err != nil {
		w.t.Fatal(err)
	}
	sh := New(Env{LIO: l, Kind: "sim", AvailableFabrics: sim.DefaultFabrics, UserSubtypes: []string{"ram"}},
		Options{Out: io.Discard, Err: io.Discard, SaveFile: filepath.Join(w.dir, "saveconfig.json"), PrefsPath: filepath.Join(w.dir, "prefs")})
	return sh, cfs
}

// bulkScript is the benchmark's batch: n fileio backstores, one iSCSI
// target, n LUNs and one ACL that maps them all.
func (w *opWorld) bulkScript(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "/backstores/fileio create f%d %s 1M\n", i, filepath.Join(w.dir, fmt.Sprintf("f%d.img", i)))
	}
	fmt.Fprintf(&b, "/iscsi create %s\n", opTarget)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "/iscsi/%s/tpg1/luns create /backstores/fileio/f%d\n", opTarget, i)
	}
	fmt.Fprintf(&b, "/iscsi/%s/tpg1/acls create %s\n", opTarget, opInitiator)
	return b.String()
}

// oneShotEntries runs one command line in a new process and returns its
// operations and the directory entries its listings returned.
func (w *opWorld) oneShotEntries(line string) (configfs.Counts, int64) {
	w.t.Helper()
	sh, cfs := w.process()
	if err := sh.Exec(context.Background(), line); err != nil {
		w.t.Fatalf("%s: %v", line, err)
	}
	return cfs.Counts(), cfs.Entries()
}

// stepCounts builds the benchmark's tree of n objects step by step, as the
// benchmark does, and returns each step's operations and the directory
// entries its listings returned.
func stepCounts(t *testing.T, n int) (map[string]configfs.Counts, map[string]int64) {
	w := newOpWorld(t)
	out, entries := map[string]configfs.Counts{}, map[string]int64{}
	sh, cfs := w.process()
	if err := sh.RunBatch(context.Background(), strings.NewReader(w.bulkScript(n)), BatchOptions{}); err != nil {
		t.Fatalf("bulk: %v", err)
	}
	out["bulk"], entries["bulk"] = cfs.Counts(), cfs.Entries()
	save := filepath.Join(w.dir, "save.json")
	for _, s := range [][2]string{
		{"ls", "ls"},
		{"ls-backstores", "ls /backstores"},
		{"saveconfig", "saveconfig " + save},
		{"clearconfig", "clearconfig confirm=true"},
		{"restoreconfig", "restoreconfig " + save},
	} {
		out[s[0]], entries[s[0]] = w.oneShotEntries(s[1])
	}
	return out, entries
}

var benchSteps = []string{"bulk", "ls", "ls-backstores", "saveconfig", "clearconfig", "restoreconfig"}

// maxOpsPerObject is each step's budget of configfs operations per object
// of the benchmark's tree (one fileio backstore, its LUN and its mapped
// LUN), besides a fixed cost. The real kernel charges a path walk and a
// call into configfs for each, so these are the figures to lower.
var maxOpsPerObject = map[string]float64{
	"bulk":          18,
	"ls":            11,
	"ls-backstores": 5,
	"saveconfig":    63,
	"clearconfig":   10,
	"restoreconfig": 67,
}

// TestConfigStepsOpsLinear holds each step of the benchmark to a fixed
// number of configfs operations per object, and checks that the number per
// object does not grow with the tree (a quadratic walk's does).
func TestConfigStepsOpsLinear(t *testing.T) {
	sizes := []int{10, 20, 40}
	counts := make([]map[string]configfs.Counts, len(sizes))
	entries := make([]map[string]int64, len(sizes))
	for i, n := range sizes {
		counts[i], entries[i] = stepCounts(t, n)
	}
	const fixed = 40 // start-up reads and the target, whatever the size
	for _, step := range benchSteps {
		for i, n := range sizes {
			t.Logf("%-14s n=%-3d %.1f/object  %v", step, n, float64(counts[i][step].Total())/float64(n), counts[i][step])
		}
		total := func(i int) float64 { return float64(counts[i][step].Total()) }
		last := len(sizes) - 1
		if limit := fixed + maxOpsPerObject[step]*float64(sizes[last]); total(last) > limit {
			t.Errorf("%s of %d objects: %v, more than %v + %v per object", step, sizes[last], counts[last][step], fixed, maxOpsPerObject[step])
		}
		// Linear: each object added costs what the ones before did.
		// A walk over every object for each object makes the cost of
		// the next ones grow.
		first := (total(1) - total(0)) / float64(sizes[1]-sizes[0])
		second := (total(2) - total(1)) / float64(sizes[2]-sizes[1])
		if second > first+0.5 {
			t.Errorf("%s: each object from %d to %d costs %.1f operations, from %d to %d %.1f: the cost per object grows with the tree",
				step, sizes[0], sizes[1], first, sizes[1], sizes[2], second)
		}
		// The same for what the listings return: configfs makes each
		// entry of a listing, so listing a directory of every object
		// once per object is quadratic at a linear number of operations.
		listed := func(i int) float64 { return float64(entries[i][step]) }
		t.Logf("%-14s directory entries listed %d/%d/%d", step, entries[0][step], entries[1][step], entries[2][step])
		firstE := (listed(1) - listed(0)) / float64(sizes[1]-sizes[0])
		secondE := (listed(2) - listed(1)) / float64(sizes[2]-sizes[1])
		if secondE > firstE+1 {
			t.Errorf("%s: each object from %d to %d adds %.1f directory entries to the listings, from %d to %d %.1f: a directory of every object is listed per object",
				step, sizes[0], sizes[1], firstE, sizes[1], sizes[2], secondE)
		}
	}
}

// TestOneChangeOpsConstant: a change to one object, and a listing of one
// object, cost the same number of configfs operations in a batch whatever
// the size of the configuration around it.
func TestOneChangeOpsConstant(t *testing.T) {
	lines := func(w *opWorld, n int) [][2]string {
		tpg := "/iscsi/" + opTarget + "/tpg1"
		return [][2]string{
			{"backstore create", fmt.Sprintf("/backstores/fileio create extra %s 1M", filepath.Join(w.dir, "extra.img"))},
			{"LUN create (mapped into the ACL)", tpg + "/luns create /backstores/fileio/extra"},
			{"ls of one LUN", fmt.Sprintf("ls %s/luns/lun%d", tpg, n)},
			{"ls of one mapped LUN", fmt.Sprintf("ls %s/acls/%s/mapped_lun%d", tpg, opInitiator, n)},
			{"ls of one backstore", "ls /backstores/fileio/extra"},
			{"mapped LUN delete", fmt.Sprintf("%s/acls/%s delete %d", tpg, opInitiator, n)},
			{"mapped LUN create", fmt.Sprintf("%s/acls/%s create %d %d", tpg, opInitiator, n, n)},
			{"LUN delete", fmt.Sprintf("%s/luns delete %d", tpg, n)},
			{"backstore delete", "/backstores/fileio delete extra"},
		}
	}
	measure := func(n int) map[string]configfs.Counts {
		w := newOpWorld(t)
		sh, cfs := w.process()
		if err := sh.RunBatch(context.Background(), strings.NewReader(w.bulkScript(n)), BatchOptions{}); err != nil {
			t.Fatalf("bulk: %v", err)
		}
		out := map[string]configfs.Counts{}
		for _, l := range lines(w, n) {
			before := cfs.Counts()
			if err := sh.Exec(context.Background(), l[1]); err != nil {
				t.Fatalf("%s: %v", l[1], err)
			}
			out[l[0]] = cfs.Counts().Sub(before)
		}
		return out
	}
	small, large := measure(10), measure(40)
	for _, l := range lines(&opWorld{}, 0) {
		t.Logf("%-32s %v", l[0], large[l[0]])
		if l[0] == "LUN delete" {
			// configfs keeps no list of a LUN's mappings: each mapping
			// of the TPG's ACLs is read (a listing and its link), no more.
			if grow := large[l[0]].Total() - small[l[0]].Total(); grow > 2*(40-10) {
				t.Errorf("LUN delete: %v among 10 objects, %v among 40: more than 2 operations per mapping", small[l[0]], large[l[0]])
			}
			continue
		}
		if small[l[0]] != large[l[0]] {
			t.Errorf("%s: %v among 10 objects, %v among 40", l[0], small[l[0]], large[l[0]])
		}
	}
}
