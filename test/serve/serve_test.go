// Package serve_test runs `tcmsh serve` end to end on the simulated
// kernel: a daemon in the test's process owning an engine.Local with
// AutoServe, user backstores and loopback LUNs made through the configfs
// model, clients reaching the daemon only through its control socket
// (engine.Dial) and its metrics endpoint.
package serve_test

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/serve"
	"github.com/tcmsh/tcmsh/serve/servetest"
	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/sim/ring"
)

// env is a simulated kernel, its configfs model, and a daemon serving it.
type env struct {
	t      testing.TB
	dir    string
	k      *sim.Kernel
	lio    *configfs.LIO
	local  *engine.Local // the daemon's engine, for what a client cannot see (the rings)
	daemon *servetest.Daemon
}

// newEnv opens a simulated kernel and starts a daemon on it with opts
// (NewEngine and Socket are filled in; AllowedUID defaults to the test's
// uid unless opts sets another).
func newEnv(t testing.TB, opts serve.Options, allowSelf bool) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	k, err := sim.Open(filepath.Join(e.dir, "sim"), sim.Options{})
	if err != nil {
		t.Fatalf("sim.Open: %v", err)
	}
	t.Cleanup(func() { k.Close() }) // after the daemon's own cleanup
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		t.Fatalf("configfs.Open: %v", err)
	}
	e.k, e.lio = k, lio
	opts.NewEngine = func(log *slog.Logger) (engine.Engine, error) {
		l, err := engine.NewLocal(engine.Options{LIO: lio, Sim: k, AutoServe: true, Logf: serve.Logf(log)})
		e.local = l
		return l, err
	}
	if allowSelf {
		opts.AllowedUID = os.Getuid()
	}
	e.daemon = servetest.Start(t, opts)
	return e
}

func (e *env) dial() engine.Engine {
	e.t.Helper()
	eng, err := engine.Dial(e.daemon.Listening.Socket)
	if err != nil {
		e.t.Fatalf("Dial: %v", err)
	}
	e.t.Cleanup(func() { eng.Close() })
	return eng
}

// userBackstore creates and enables a user backstore as tcmsh does (the
// daemon serves it on its own: AutoServe), then asks the daemon to serve
// it, as the shell does after a create.
func (e *env) userBackstore(eng engine.Engine, name, devConfig string, size int64) configfs.StorageObject {
	e.t.Helper()
	if err := eng.Validate(devConfig, size); err != nil {
		e.t.Fatalf("Validate %s: %v", devConfig, err)
	}
	so, err := e.lio.CreateStorageObject(configfs.StorageSpec{
		Plugin: "user", Name: name,
		Control: []configfs.KV{
			{Key: "dev_config", Value: devConfig},
			{Key: "dev_size", Value: strconv.FormatInt(size, 10)},
			{Key: "nl_reply_supported", Value: "-1"},
		},
	})
	if err != nil {
		e.t.Fatalf("create user backstore %s: %v", name, err)
	}
	if err := eng.Serve(context.Background(), so.Path()); err != nil {
		e.t.Fatalf("Serve %s through the socket: %v", so.Path(), err)
	}
	return so
}

// loopbackLUN exports so as a disk through a new loopback target (nexus
// first, then the LUN, as tcm_loop requires).
func (e *env) loopbackLUN(so configfs.StorageObject) string {
	e.t.Helper()
	tgt, err := e.lio.CreateTarget("loopback", "")
	if err != nil {
		e.t.Fatal(err)
	}
	tpg, err := e.lio.CreateTPG(tgt, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.lio.SetNexus(tpg, ""); err != nil {
		e.t.Fatal(err)
	}
	lun, err := e.lio.CreateLUN(tpg, 0, so, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return lun.Path()
}

func statsOf(t testing.TB, eng engine.Engine, configPath string) engine.DeviceStats {
	t.Helper()
	all, err := eng.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	for _, s := range all {
		if s.ConfigPath == configPath {
			return s
		}
	}
	t.Fatalf("Stats has no %s (%d devices)", configPath, len(all))
	return engine.DeviceStats{}
}

// statsAfter is statsOf once the device counts at least ops commands: the
// ring accounts a command just after it notifies the kernel, so a client
// can see its last completions a moment before Stats does.
func statsAfter(t testing.TB, eng engine.Engine, configPath string, ops uint64) engine.DeviceStats {
	t.Helper()
	st := statsOf(t, eng, configPath)
	for deadline := time.Now().Add(5 * time.Second); st.Commands < ops && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		st = statsOf(t, eng, configPath)
	}
	return st
}

// A backstore created through configfs is served by the daemon; a verified
// workload runs through the socket; closing one client does not disturb
// another client's I/O or the device.
func TestDaemonServesWorkloadsThroughSocket(t *testing.T) {
	e := newEnv(t, serve.Options{}, true)
	first := e.dial()
	if first.InProcess() {
		t.Error("Dial returned an engine that says it is in-process")
	}
	so := e.userBackstore(first, "r1", "ram/", 16<<20)
	lun := e.loopbackLUN(so)

	res, err := first.Workload(context.Background(), lun, engine.WorkloadSpec{RW: "randrw", BlockSize: 4096, QueueDepth: 8, Count: 2000, Verify: true})
	if err != nil || res.Ops < 2000 || res.Errors != 0 || res.VerifyErrors != 0 {
		t.Fatalf("verified workload through the socket = %+v, %v", res, err)
	}
	st := statsAfter(t, first, so.Path(), 2000)
	if !st.Up || st.Commands < 2000 || st.WriteBytes == 0 || st.ReadBytes == 0 {
		t.Errorf("device after the workload: %+v", st)
	}

	// A second client runs a long workload; the first hangs up meanwhile.
	second := e.dial()
	done := make(chan struct{})
	var res2 engine.WorkloadResult
	var err2 error
	go func() {
		defer close(done)
		res2, err2 = second.Workload(context.Background(), lun, engine.WorkloadSpec{RW: "randwrite", BlockSize: 4096, QueueDepth: 4, Count: 20000, Verify: true})
	}()
	before := statsOf(t, second, so.Path()).Commands
	for statsOf(t, second, so.Path()).Commands == before {
		time.Sleep(time.Millisecond) // until the second workload's I/O is under way
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	if err2 != nil || res2.Ops < 20000 || res2.Errors != 0 || res2.VerifyErrors != 0 {
		t.Errorf("workload of a client that stayed, while another hung up: %+v, %v", res2, err2)
	}
	if st := statsAfter(t, second, so.Path(), 22000); !st.Up || st.Commands < 22000 {
		t.Errorf("device after the first client left: up %v, %d commands", st.Up, st.Commands)
	}

	// Release and Serve again through the socket.
	if err := second.Release(context.Background(), so.Path()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if all, _ := second.Stats(context.Background()); len(all) != 0 {
		t.Errorf("still served after Release: %+v", all)
	}
	if err := second.Serve(context.Background(), so.Path()); err != nil {
		t.Fatalf("Serve again: %v", err)
	}
	if res, err := second.Workload(context.Background(), lun, engine.WorkloadSpec{RW: "read", Count: 100}); err != nil || res.Ops < 100 {
		t.Errorf("workload after serving again: %+v, %v", res, err)
	}
}

// Errors of the daemon's engine reach the client in the engine's words.
func TestDaemonEngineErrorsReachClient(t *testing.T) {
	e := newEnv(t, serve.Options{}, true)
	eng := e.dial()
	if err := eng.Validate("nosuch/x", 1<<20); err == nil || !strings.Contains(err.Error(), `unknown subtype "nosuch"`) {
		t.Errorf("Validate of an unknown subtype: %v", err)
	}
	if err := eng.Serve(context.Background(), "target/core/fileio_0/f"); err == nil || !strings.Contains(err.Error(), "only user backstores are served") {
		t.Errorf("Serve of a fileio path: %v", err)
	}
	if _, err := eng.Workload(context.Background(), "target/loopback/naa.5001405000000000/tpgt_1/lun/lun_0", engine.WorkloadSpec{Count: 1}); err == nil || !strings.Contains(err.Error(), "no LUN at") {
		t.Errorf("Workload on a missing LUN: %v", err)
	}
	if got, want := eng.Subtypes(), e.local.Subtypes(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Subtypes through the socket %v, the daemon's engine %v", got, want)
	}
}

// writeCDB is WRITE(10) of blocks 512-byte blocks at lba.
func writeCDB(lba uint32, blocks uint16) []byte {
	cdb := make([]byte, 10)
	cdb[0] = 0x2a
	binary.BigEndian.PutUint32(cdb[2:], lba)
	binary.BigEndian.PutUint16(cdb[7:], blocks)
	return cdb
}

// SIGTERM (the daemon's context cancelled) in the middle of I/O: the
// workload running through the socket is cancelled and answered, Run
// returns nil, and every write the target acknowledged before the end is
// in the backing file.
func TestShutdownMidWorkloadLosesNoAcknowledgedWrite(t *testing.T) {
	e := newEnv(t, serve.Options{}, true)
	eng := e.dial()
	img := filepath.Join(e.dir, "disk.img")
	const size = 32 << 20
	so := e.userBackstore(eng, "f1", "file/"+img, size)
	// A second device carries a workload through the socket meanwhile.
	ramLUN := e.loopbackLUN(e.userBackstore(eng, "r1", "ram/", 8<<20))

	st := statsOf(t, eng, so.Path())
	minor, err := strconv.Atoi(strings.TrimPrefix(st.UIO, "uio"))
	if err != nil {
		t.Fatalf("uio name %q: %v", st.UIO, err)
	}
	dev, ok := e.local.SimRing().Device(minor)
	if !ok {
		t.Fatalf("no simulated ring for %s", st.UIO)
	}

	// Writers: each 4 KiB chunk is written once, with a pattern naming
	// it; acknowledged[c] is set when the target answered GOOD.
	const chunk = 4096
	const chunks = size / chunk
	var acknowledged [chunks]atomic.Bool
	var next, acks atomic.Int64
	wctx, stopWriters := context.WithCancel(context.Background())
	defer stopWriters()
	var writers sync.WaitGroup
	for range 8 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			buf := make([]byte, chunk)
			for wctx.Err() == nil {
				c := next.Add(1) - 1
				if c >= chunks {
					return
				}
				for i := 0; i < chunk; i += 8 {
					binary.LittleEndian.PutUint64(buf[i:], uint64(c)<<20|uint64(i))
				}
				res, err := dev.Submit(wctx, &ring.Request{CDB: writeCDB(uint32(c*chunk/512), chunk/512), DataOut: buf})
				if err != nil {
					return // the device is gone: the daemon stopped
				}
				if res.Status == scsi.StatusGood {
					acknowledged[c].Store(true)
					acks.Add(1)
				}
			}
		}()
	}
	remote := make(chan error, 1)
	go func() {
		_, err := eng.Workload(context.Background(), ramLUN, engine.WorkloadSpec{RW: "randrw", QueueDepth: 4, Duration: time.Hour})
		remote <- err
	}()
	for acks.Load() < 500 {
		time.Sleep(time.Millisecond)
	}

	if err := e.daemon.Stop(); err != nil {
		t.Fatalf("Run after SIGTERM = %v, want nil (exit 0)", err)
	}
	if err := <-remote; !errors.Is(err, engine.ErrDaemonShuttingDown) {
		t.Errorf("the workload running through the socket when the daemon stopped: %v, want ErrDaemonShuttingDown", err)
	}
	stopWriters()
	writers.Wait()

	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	checked, lost := 0, 0
	for c := range int64(chunks) {
		if !acknowledged[c].Load() {
			continue
		}
		checked++
		off := c * chunk
		for i := 0; i < chunk; i += 8 {
			if got := binary.LittleEndian.Uint64(data[off+int64(i):]); got != uint64(c)<<20|uint64(i) {
				lost++
				if lost <= 3 {
					t.Errorf("acknowledged chunk %d: word %d reads %#x after shutdown", c, i/8, got)
				}
				break
			}
		}
	}
	t.Logf("%d acknowledged writes checked after shutdown, %d lost; %d chunks written in all", checked, lost, min(next.Load(), chunks))
	if checked < 500 {
		t.Errorf("only %d acknowledged writes to check", checked)
	}
	if _, err := os.Stat(e.daemon.Listening.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket left after shutdown: %v", err)
	}
}

// A second daemon on the same socket (same machine, same kernel) refuses
// to start and never touches the devices; the first goes on serving.
func TestSecondDaemonRefusesToStart(t *testing.T) {
	e := newEnv(t, serve.Options{}, true)
	eng := e.dial()
	so := e.userBackstore(eng, "r1", "ram/", 8<<20)
	engineCreated := false
	err := serve.Run(context.Background(), serve.Options{
		Socket:     e.daemon.Listening.Socket,
		AllowedUID: os.Getuid(),
		LogFile:    filepath.Join(e.dir, "second.log"),
		NewEngine: func(*slog.Logger) (engine.Engine, error) {
			engineCreated = true
			return nil, errors.New("must not be reached")
		},
	})
	if !errors.Is(err, serve.ErrAlreadyRunning) || !strings.Contains(err.Error(), "already running on "+e.daemon.Listening.Socket) {
		t.Fatalf("second daemon: %v", err)
	}
	if engineCreated {
		t.Error("the second daemon created an engine")
	}
	if st := statsOf(t, eng, so.Path()); !st.Up {
		t.Errorf("first daemon's device after the refused start: %+v", st)
	}
}

// The socket refuses a peer whose uid is not the allowed one; the shell
// still learns that a daemon runs there.
func TestSocketRefusesOtherUID(t *testing.T) {
	e := newEnv(t, serve.Options{AllowedUID: os.Getuid() + 1000}, false)
	_, err := engine.Dial(e.daemon.Listening.Socket)
	if err == nil || !strings.Contains(err.Error(), "uid "+strconv.Itoa(os.Getuid())+" may not use this socket") {
		t.Fatalf("Dial by a uid that is not allowed: %v", err)
	}
	if !engine.DaemonRunning(e.daemon.Listening.Socket) {
		t.Error("DaemonRunning = false for a daemon that refuses us")
	}
}

// The daemon reattaches backstores that exist when it starts (a restart
// after a crash or an upgrade): a fresh daemon on the same simulated
// kernel state serves them with no Serve call.
func TestDaemonRestartReattaches(t *testing.T) {
	e := newEnv(t, serve.Options{}, true)
	eng := e.dial()
	so := e.userBackstore(eng, "r1", "ram/", 8<<20)
	lun := e.loopbackLUN(so)
	socket := e.daemon.Listening.Socket
	if err := e.daemon.Stop(); err != nil {
		t.Fatal(err)
	}
	k, lio := e.k, e.lio
	servetest.Start(t, serve.Options{
		Socket: socket, AllowedUID: os.Getuid(),
		NewEngine: func(log *slog.Logger) (engine.Engine, error) {
			return engine.NewLocal(engine.Options{LIO: lio, Sim: k, AutoServe: true, Logf: serve.Logf(log)})
		},
	})
	var st engine.DeviceStats
	for {
		all, err := eng.Stats(context.Background()) // the old client dials again by itself
		if err != nil {
			t.Fatalf("Stats after the restart: %v", err)
		}
		if len(all) == 1 && all[0].Up {
			st = all[0]
			break
		}
		time.Sleep(time.Millisecond) // reattaching runs in the background
	}
	if st.ConfigPath != so.Path() {
		t.Errorf("reattached %s, want %s", st.ConfigPath, so.Path())
	}
	if res, err := eng.Workload(context.Background(), lun, engine.WorkloadSpec{RW: "randrw", Count: 500, Verify: true}); err != nil || res.Errors != 0 {
		t.Errorf("workload after the restart: %+v, %v", res, err)
	}
}
