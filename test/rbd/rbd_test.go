//go:build rbd

package rbd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/cli"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/sim/initiator"
	"github.com/tcmsh/tcmsh/test/cephtest"
)

func TestMain(m *testing.M) { os.Exit(cephtest.Main(m)) }

const backstore = "/backstores/user:rbd/r1"

// TestEndToEnd writes a whole RBD image through a user:rbd backstore and a
// loopback LUN with the initiator's verifying workload, checks `stats`, and
// reads the image back with `rbd export`: at queue depth 1 a sequential
// write gives chunk c generation c+1, so the export must equal, byte for
// byte, the pattern computed here. Then random I/O at queue depth 16 on the
// same image, verified by the workload, and an export in which every block
// still holds the pattern of its own LBA.
func TestEndToEnd(t *testing.T) {
	c := cephtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const size, bs, blockSize = 64 << 20, 64 << 10, 512
	if err := c.CreateImage("e2e", size); err != nil {
		t.Fatal(err)
	}
	x := newTcmsh(t)
	x.must(ctx, "/backstores/user:rbd", "create", "r1", "64M", c.CfgString("e2e"))
	x.loopback(ctx, backstore)

	x.clean(ctx, "rw=write", fmt.Sprintf("bs=%d", bs), "qd=1", fmt.Sprintf("count=%d", size/bs), "time=10m", "verify=true")
	st := x.stats(ctx, backstore)
	t.Logf("stats: commands=%d read=%d written=%d errors=%d p99=%.0fus", st.Commands, st.ReadBytes, st.WriteBytes, st.Errors, st.LatP99us)
	if st.Subtype != "rbd" || !st.Up || st.BackendError != "" {
		t.Errorf("stats: subtype %q, up %v, backend error %q", st.Subtype, st.Up, st.BackendError)
	}
	// The writes, then the verify pass reading every chunk back.
	if st.WriteBytes < size || st.ReadBytes < size || st.Commands < 2*size/bs || st.Errors != 0 {
		t.Errorf("stats after writing and reading back %d bytes: commands %d, read %d, written %d, errors %d",
			size, st.Commands, st.ReadBytes, st.WriteBytes, st.Errors)
	}

	// Deleting the backstore closes the image (anything cached is flushed).
	x.must(ctx, "/loopback", "delete", wwn)
	x.must(ctx, "/backstores/user:rbd", "delete", "r1")
	img, err := c.ExportImage("e2e")
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	for off := 0; off < size; off += blockSize {
		initiator.FillPattern(want[off:off+blockSize], blockSize, uint64(off/blockSize), uint64(off/bs+1))
	}
	if len(img) != size {
		t.Fatalf("rbd export: %d bytes, want %d", len(img), size)
	}
	if !bytes.Equal(img, want) {
		bad, first := 0, -1
		for off := 0; off < size; off += blockSize {
			if !bytes.Equal(img[off:off+blockSize], want[off:off+blockSize]) {
				if first < 0 {
					first = off
				}
				bad++
			}
		}
		t.Fatalf("rbd export differs from what the workload wrote in %d of %d blocks, first at byte %d: %x…",
			bad, size/blockSize, first, img[first:first+32])
	}

	// Random I/O on the same image through a new backstore.
	x.must(ctx, "/backstores/user:rbd", "create", "r1", "64M", c.CfgString("e2e"))
	x.loopback(ctx, backstore)
	x.clean(ctx, "rw=randwrite", "bs=4k", "qd=16", "time=5s", "verify=true")
	x.clean(ctx, "rw=randrw", "bs=16k", "qd=8", "time=3s", "verify=true")
	x.must(ctx, "/loopback", "delete", wwn)
	x.must(ctx, "/backstores/user:rbd", "delete", "r1")
	img, err = c.ExportImage("e2e")
	if err != nil {
		t.Fatal(err)
	}
	if bad, first := checkBlocks(img, blockSize, false); bad != 0 {
		t.Fatalf("rbd export after random I/O: %d blocks do not hold their own LBA's pattern; first: %s", bad, first)
	}
	changed := 0
	for off := 0; off < size; off += blockSize {
		if !bytes.Equal(img[off:off+blockSize], want[off:off+blockSize]) {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("rbd export after random writes: no block changed")
	}
	t.Logf("random writes changed %d of %d blocks", changed, size/blockSize)
}

// TestRefusals: a backstore that cannot be served is refused when it is
// created, with a message that names what is wrong, and leaves nothing
// behind.
func TestRefusals(t *testing.T) {
	c := cephtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := c.CreateImage("refuse", 32<<20); err != nil {
		t.Fatal(err)
	}
	// A conf whose monitor address nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadMon := l.Addr().String()
	l.Close()
	badConf := filepath.Join(t.TempDir(), "dead-mon.conf")
	if err := os.WriteFile(badConf, []byte("[global]\nmon host = "+deadMon+"\nkeyring = "+c.Keyring+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missingConf := filepath.Join(t.TempDir(), "missing.conf")

	for _, tc := range []struct {
		name, size, cfg string
		want            []string // each must be in the error
	}{
		{"larger than the image", "64M", c.CfgString("refuse"), []string{"size"}},
		{"smaller than the image", "16M", c.CfgString("refuse"), []string{"size"}},
		{"missing image", "32M", c.CfgString("nosuchimage"), []string{"nosuchimage"}},
		{"missing pool", "32M", "nosuchpool/refuse;conf=" + c.Conf + ";id=" + c.ID, []string{"nosuchpool"}},
		{"missing snapshot", "32M", c.Pool + "/refuse@nosuchsnap;conf=" + c.Conf + ";id=" + c.ID, []string{"nosuchsnap"}},
		{"dead monitor", "32M", c.Pool + "/refuse;conf=" + badConf + ";id=" + c.ID + ";osd_op_timeout=3", []string{badConf}},
		{"missing conf", "32M", c.Pool + "/refuse;conf=" + missingConf + ";id=" + c.ID, []string{missingConf}},
		{"unknown id", "32M", c.Pool + "/refuse;conf=" + c.Conf + ";id=nosuchclient;osd_op_timeout=3", []string{"nosuchclient"}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			x := newTcmsh(t)
			_, err := x.exec(ctx, "/backstores/user:rbd", "create", "r1", tc.size, tc.cfg)
			if err == nil {
				t.Fatalf("create r1 %s %s succeeded", tc.size, tc.cfg)
			}
			t.Logf("refused: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %q: %v", w, err)
				}
			}
			if so, err := x.lio.FindStorageObject("user", "r1"); err == nil {
				t.Errorf("refused backstore left %s behind", so.Path())
			}
		})
	}
	// The image is untouched and can still be served.
	x := newTcmsh(t)
	x.must(ctx, "/backstores/user:rbd", "create", "r1", "32M", c.CfgString("refuse"))
	x.loopback(ctx, backstore)
	x.clean(ctx, "rw=randwrite", "bs=4k", "qd=4", "count=200", "verify=true")
}

// TestOSDLoss loses the cluster's only OSD in the middle of a workload at
// queue depth 16 with osd_op_timeout=5, once stopped (SIGTERM: it tells the
// monitor) and once killed (SIGKILL: with no peer to report it, the monitor
// keeps it up in its map): commands must fail after the timeout, so the
// workload ends on its own with errors instead of hanging, and stats must
// say the backend is down from the first failure until the OSD is back,
// without a moment's "healthy" in between (sampled during the workload and
// while the device is idle after it). With the OSD back, the backend must
// recover by itself and I/O verify again. The cluster is this test's own,
// since it loses its OSD.
func TestOSDLoss(t *testing.T) {
	c := cephtest.Start(t)
	t.Run("stop", func(t *testing.T) { osdLoss(t, c, "stopped", c.StopOSD) })
	t.Run("kill", func(t *testing.T) { osdLoss(t, c, "killed", c.KillOSD) })
}

func osdLoss(t *testing.T, c *cephtest.Cluster, image string, lose func() error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	const opTimeout = 5 * time.Second
	const runTime = 30 * time.Second
	if err := c.CreateImage(image, 64<<20); err != nil {
		t.Fatal(err)
	}
	x := newTcmsh(t)
	x.must(ctx, "/backstores/user:rbd", "create", "r1", "64M", c.CfgString(image, fmt.Sprintf("osd_op_timeout=%d", opTimeout/time.Second)))
	x.loopback(ctx, backstore)
	x.clean(ctx, "rw=randwrite", "bs=4k", "qd=8", "count=500", "verify=true")
	before, _ := x.engineStats(ctx, backstore)

	// A bound against hanging, not a measure of speed: the workload's own
	// time, then three timeouts for the commands in flight, and slack.
	bound := runTime + 3*opTimeout + time.Minute
	wctx, wcancel := context.WithTimeout(ctx, bound)
	defer wcancel()
	done := make(chan error, 1)
	var errs, verifyErrs, ops int64
	var firstErr string
	go func() {
		res, err := x.workload(wctx, "rw=randrw", "bs=4k", "qd=16", "time="+runTime.String(), "verify=true")
		errs, verifyErrs, ops, firstErr = res.Errors, res.VerifyErrors, res.Ops, res.FirstError
		done <- err
	}()

	// Stop the OSD once the workload is under way (the engine has served
	// another 300 commands of it).
	for {
		s, ok := x.engineStats(ctx, backstore)
		if ok && s.Commands >= before.Commands+300 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the workload ended before the OSD was stopped (%v; %d ops)", err, ops)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := lose(); err != nil {
		t.Fatal(err)
	}
	t.Log("OSD " + image)

	// While the OSD is down, stats must say so: the backend error may
	// appear only once a command or a probe has run out of the timeout,
	// but from then on it must stay until the OSD is back (every change
	// is logged; a return to "" is a false "healthy").
	hang := time.After(bound + time.Minute)
	var downSeen string
	last := ""
	samples, falseUp := 0, 0
	sample := func() {
		s, ok := x.engineStats(ctx, backstore)
		if !ok {
			return
		}
		if downSeen != "" {
			samples++
		}
		if s.BackendError == last {
			return
		}
		last = s.BackendError
		t.Logf("stats: backend error %q", last)
		switch {
		case downSeen == "":
			downSeen = last
		case last == "":
			falseUp++
		}
	}
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("workload: %v", err)
			}
			running = false
		case <-hang:
			t.Fatalf("the workload has not returned %v after it started (osd_op_timeout %v): it hangs", bound+time.Minute, opTimeout)
		case <-time.After(100 * time.Millisecond):
		}
		sample()
	}
	if wctx.Err() != nil {
		t.Fatalf("the workload only returned when the test's deadline (%v) cancelled it", bound)
	}
	if errs == 0 {
		t.Fatalf("the workload reports no errors with the OSD stopped (%d ops)", ops)
	}
	if verifyErrs != 0 {
		t.Errorf("%d verify errors across the OSD's loss (first: %s)", verifyErrs, firstErr)
	}
	down, _ := x.engineStats(ctx, backstore)
	t.Logf("OSD down: workload errors %d (first: %s); stats errors %d, backend error %q, check conditions %v",
		errs, firstErr, down.Errors, down.BackendError, down.CheckConditions)
	if down.Errors == 0 {
		t.Errorf("stats counts no failed commands")
	}
	if downSeen == "" {
		t.Fatalf("stats never said the backend was down while the OSD was")
	}
	// The device idle with the OSD still down: the background probes
	// (and the size polls) must not make it look healthy either. Sampled
	// over a probe's timeout and the interval of the probes of an idle
	// connection (backends/rbd's probeEvery, 5 s), twice.
	idle := time.After(2 * (opTimeout + 5*time.Second))
idling:
	for {
		select {
		case <-idle:
			break idling
		case <-time.After(100 * time.Millisecond):
		}
		sample()
	}
	if falseUp != 0 || last == "" {
		t.Errorf("stats reported the backend healthy %d times while the OSD was %s (of %d samples since it first said %q); last %q",
			falseUp, image, samples, downSeen, last)
	}

	if err := c.StartOSD(); err != nil {
		t.Fatal(err)
	}
	t.Log("OSD started, pool takes writes")
	// The backend reconnects in the background: wait until stats say so.
	for {
		s, ok := x.engineStats(ctx, backstore)
		if ok && s.BackendError == "" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the backend did not recover after the OSD came back: %q", s.BackendError)
		case <-time.After(100 * time.Millisecond):
		}
	}
	x.clean(ctx, "rw=randwrite", "bs=4k", "qd=16", "time=5s", "verify=true")
	x.clean(ctx, "rw=randrw", "bs=8k", "qd=8", "time=3s", "verify=true")
	after := x.stats(ctx, backstore)
	if !after.Up || after.BackendError != "" {
		t.Errorf("stats after recovery: up %v, backend error %q", after.Up, after.BackendError)
	}

	x.must(ctx, "/loopback", "delete", wwn)
	x.must(ctx, "/backstores/user:rbd", "delete", "r1")
	img, err := c.ExportImage(image)
	if err != nil {
		t.Fatal(err)
	}
	if bad, first := checkBlocks(img, 512, true); bad != 0 {
		t.Fatalf("rbd export after the OSD's loss: %d blocks hold neither zeros nor their own LBA's pattern; first: %s", bad, first)
	}
}

// TestCommandLine drives the same through tcmsh's command line in batch
// mode (cli.Run, in this process), as `tcmsh --kernel sim --json < script`
// of a binary built with -tags rbd,pacific would: one engine serves the
// backstore for the whole script, and the workload verifies.
func TestCommandLine(t *testing.T) {
	c := cephtest.Shared(t)
	if err := c.CreateImage("cli", 32<<20); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := strings.Join([]string{
		cli.QuoteWords([]string{"/backstores/user:rbd", "create", "r1", "32M", c.CfgString("cli")}),
		"/loopback create " + wwn,
		"/loopback/" + wwn + "/luns create " + backstore,
		"workload " + lunPath + " rw=randwrite bs=4k qd=8 count=2000 verify=true",
		"stats " + backstore,
	}, "\n") + "\n"
	var stdout, stderr bytes.Buffer
	code := cli.Run([]string{"--kernel", "sim", "--sim-state", filepath.Join(dir, "sim"), "--prefs", filepath.Join(dir, "prefs.json"), "--json"},
		strings.NewReader(script), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("tcmsh exited %d: %s\nstdout: %s", code, stderr.String(), stdout.String())
	}
	// The output is one JSON document per command that prints one: the
	// workload's report, then the stats.
	// One JSON document per command: three creations, the workload's
	// report, the stats.
	var docs []json.RawMessage
	for dec := json.NewDecoder(&stdout); dec.More(); {
		var d json.RawMessage
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("output: %v", err)
		}
		docs = append(docs, d)
	}
	if len(docs) != 5 {
		t.Fatalf("%d JSON documents, want 5 (3 created, workload, stats): %s", len(docs), docs)
	}
	for i, want := range []string{backstore, "/loopback/" + wwn, lunPath} {
		var created struct{ Created string }
		if err := json.Unmarshal(docs[i], &created); err != nil || created.Created != want {
			t.Errorf("document %d: %s, want created %s", i, docs[i], want)
		}
	}
	var res engine.WorkloadResult
	var st []engine.DeviceStats
	if err := json.Unmarshal(docs[3], &res); err != nil {
		t.Fatalf("workload report %s: %v", docs[3], err)
	}
	if err := json.Unmarshal(docs[4], &st); err != nil {
		t.Fatalf("stats %s: %v", docs[4], err)
	}
	t.Logf("workload: ops=%d iops=%.0f errors=%d verify_errors=%d", res.Ops, res.IOPS, res.Errors, res.VerifyErrors)
	if res.Ops < 2000 || res.Errors != 0 || res.VerifyErrors != 0 {
		t.Errorf("workload: %d ops, %d errors, %d verify errors (first: %s)", res.Ops, res.Errors, res.VerifyErrors, res.FirstError)
	}
	if len(st) != 1 || st[0].Subtype != "rbd" || !st[0].Up || st[0].WriteBytes < 2000*4096 {
		t.Errorf("stats: %+v", st)
	}
}
