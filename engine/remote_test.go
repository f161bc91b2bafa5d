package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/engine/control"
	"github.com/tcmsh/tcmsh/serve"
	"github.com/tcmsh/tcmsh/serve/servetest"
)

// startFake runs a daemon around a fake engine that the test's own uid may
// use, and dials it.
func startFake(t testing.TB) (*servetest.Fake, *servetest.Daemon, engine.Engine) {
	t.Helper()
	fake := servetest.NewFake()
	d := servetest.Start(t, serve.Options{
		NewEngine:  func(*slog.Logger) (engine.Engine, error) { return fake, nil },
		AllowedUID: os.Getuid(),
	})
	eng, err := engine.Dial(d.Listening.Socket)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { eng.Close() })
	return fake, d, eng
}

func sampleStats(path string) engine.DeviceStats {
	return engine.DeviceStats{
		Path: "/backstores/user:ram/r1", ConfigPath: path, UIO: "uio0", Subtype: "ram", Up: true,
		Commands: 42, ReadBytes: 4096, WriteBytes: 8192, Errors: 1,
		Inflight: 3, InflightMax: 9, RingUsedBytes: 1 << 10, RingUsedMaxBytes: 1 << 12, RingSizeBytes: 8 << 20,
		DataUsedBytes: 1 << 16, DataUsedMaxBytes: 1 << 18, DataSizeBytes: 1 << 30,
		LatP50us: 12.5, LatP99us: 80, LatMaxus: 131,
		LatencyBuckets: []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 30, 9, 1},
		ByOpcode: []engine.OpcodeStats{
			{Opcode: 0x28, Name: "READ(10)", Commands: 1, Bytes: 4096},
			{Opcode: 0x2a, Name: "WRITE(10)", Commands: 2, Bytes: 8192},
		},
		CheckConditions: map[string]uint64{"ILLEGAL REQUEST": 1},
		Recent: []engine.RecentCommand{{Opcode: 0x2a, Name: "WRITE(10)", LBA: 8, Length: 4096, LatencyUs: 14,
			Finished: time.Date(2026, 11, 25, 9, 30, 0, 123456789, time.UTC)}},
		Time: time.Date(2026, 11, 25, 9, 30, 1, 0, time.UTC),
	}
}

// Every method answers through the socket what the engine answers in the
// daemon: callers cannot tell the difference.
func TestRemoteMatchesTheEngineBehindIt(t *testing.T) {
	fake, _, eng := startFake(t)
	ctx := context.Background()

	if eng.InProcess() {
		t.Error("a remote engine reports InProcess")
	}
	if got, want := eng.Subtypes(), fake.Subtypes(); !reflect.DeepEqual(got, want) {
		t.Errorf("Subtypes = %v, want %v", got, want)
	}
	if err := eng.Validate("ram/", 1<<20); err != nil {
		t.Errorf("Validate of a good config: %v", err)
	}
	err := eng.Validate("qcow/x", 1<<20)
	if want := fake.Validate("qcow/x", 1<<20); err == nil || err.Error() != want.Error() {
		t.Errorf("Validate of a bad config = %v, want the engine's own words %q", err, want)
	}

	const p = "target/core/user_0/r1"
	if err := eng.Serve(ctx, p); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := eng.Serve(ctx, p); err != nil {
		t.Errorf("Serve of a served device: %v", err)
	}
	if got := fake.Served(); !reflect.DeepEqual(got, []string{p}) {
		t.Errorf("served in the daemon = %v", got)
	}
	fake.SetStats(sampleStats(p))
	stats, err := eng.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	local, _ := fake.Stats(ctx)
	if !reflect.DeepEqual(stats, local) {
		t.Errorf("Stats through the socket differ from the engine's:\n got %+v\nwant %+v", stats, local)
	}
	if err := eng.Serve(ctx, "target/core/fileio_0/f"); err == nil || !strings.Contains(err.Error(), "not a user backstore") {
		t.Errorf("Serve of a fileio backstore = %v", err)
	}

	res, err := eng.Workload(ctx, "target/loopback/naa.5001405aaaaaaaaa/tpgt_1/lun/lun_0", engine.WorkloadSpec{RW: "randread", BlockSize: 4096, QueueDepth: 4, Count: 1000})
	if err != nil || res.Ops != 1000 || res.IOPS <= 0 {
		t.Errorf("Workload = %+v, %v; want 1000 ops", res, err)
	}

	if err := eng.Release(ctx, p); err != nil {
		t.Errorf("Release: %v", err)
	}
	if err := eng.Release(ctx, p); err == nil || !strings.Contains(err.Error(), "is not served") {
		t.Errorf("second Release = %v, want the engine's error", err)
	}
	if stats, err := eng.Stats(ctx); err != nil || stats != nil {
		t.Errorf("Stats with nothing served = %v, %v; want nil, nil as the engine returns", stats, err)
	}
}

// Cancelling a workload's context cancels it in the daemon; the caller
// gets the cancelled run's result and an error that is context.Canceled.
func TestRemoteWorkloadCancelledByContext(t *testing.T) {
	fake, _, eng := startFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	const lun = "target/loopback/naa.5001405aaaaaaaaa/tpgt_1/lun/lun_0"
	go func() {
		<-fake.WorkloadStarted()
		cancel()
	}()
	res, err := eng.Workload(ctx, lun, engine.WorkloadSpec{RW: "read", BlockSize: 4096, QueueDepth: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Workload error = %v, want one that is context.Canceled", err)
	}
	if got := <-fake.WorkloadCanceled(); got != lun {
		t.Errorf("cancelled in the daemon: %q", got)
	}
	if res.Seconds <= 0 {
		t.Errorf("cancelled workload result = %+v, want the partial run's figures", res)
	}
}

// Closing the client cancels its workload in the daemon, and the devices
// it asked to serve stay served for the next client.
func TestRemoteCloseCancelsWorkloadKeepsDevices(t *testing.T) {
	fake, d, eng := startFake(t)
	ctx := context.Background()
	const p = "target/core/user_3/keep"
	if err := eng.Serve(ctx, p); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() {
		defer wg.Done()
		_, werr = eng.Workload(ctx, "target/loopback/naa.5001405aaaaaaaaa/tpgt_1/lun/lun_0", engine.WorkloadSpec{RW: "write"})
	}()
	<-fake.WorkloadStarted()
	eng.Close()
	<-fake.WorkloadCanceled()
	wg.Wait()
	if werr == nil {
		t.Error("a workload whose client hung up returned no error")
	}
	if err := eng.Serve(ctx, p); !errors.Is(err, net.ErrClosed) {
		t.Errorf("call after Close = %v, want a closed-connection error", err)
	}

	again, err := engine.Dial(d.Listening.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	stats, err := again.Stats(ctx)
	if err != nil || len(stats) != 1 || stats[0].ConfigPath != p {
		t.Errorf("Stats from a new client = %+v, %v; want %s still served", stats, err, p)
	}
}

// Calls run concurrently on one connection.
func TestRemoteConcurrentCalls(t *testing.T) {
	fake, _, eng := startFake(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := "target/core/user_" + string(rune('a'+i%26)) + "/d"
			if err := eng.Serve(ctx, p); err != nil {
				errs <- err
			}
			if _, err := eng.Stats(ctx); err != nil {
				errs <- err
			}
		}()
	}
	// A long workload on the same connection does not hold the others up.
	wctx, cancel := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		eng.Workload(wctx, "target/loopback/x/tpgt_1/lun/lun_0", engine.WorkloadSpec{})
	}()
	<-fake.WorkloadStarted()
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(fake.Served()); n != 26 {
		t.Errorf("%d devices served, want 26", n)
	}
}

// The daemon restarting does not strand a long-lived client: calls in
// flight fail, and the next call dials again.
func TestRemoteRedialsAfterDaemonRestart(t *testing.T) {
	fake, d, eng := startFake(t)
	socket := d.Listening.Socket
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if !fake.Closed() {
		t.Error("the daemon did not close its engine on shutdown")
	}
	if _, err := eng.Stats(context.Background()); err == nil {
		t.Fatal("Stats with the daemon stopped succeeded")
	}
	if engine.DaemonRunning(socket) {
		t.Error("DaemonRunning after the daemon stopped")
	}
	servetest.Start(t, serve.Options{
		Socket:     socket,
		NewEngine:  func(*slog.Logger) (engine.Engine, error) { return servetest.NewFake(), nil },
		AllowedUID: os.Getuid(),
	})
	if !engine.DaemonRunning(socket) {
		t.Error("DaemonRunning = false with a daemon up")
	}
	if _, err := eng.Stats(context.Background()); err != nil {
		t.Errorf("Stats after the daemon came back: %v", err)
	}
}

// Dial says plainly when nothing listens.
func TestRemoteDialNoDaemon(t *testing.T) {
	socket := servetest.ShortSocketPath(t)
	_, err := engine.Dial(socket)
	if err == nil || !strings.Contains(err.Error(), "no tcmsh serve daemon answers at "+socket) {
		t.Errorf("Dial with no daemon = %v", err)
	}
	if engine.DaemonRunning(socket) {
		t.Error("DaemonRunning with no daemon")
	}
}

// A peer whose uid is not the allowed one is refused with a reason, and
// DaemonRunning still sees the daemon (the shell must not serve its
// devices itself).
func TestRemoteRefusedPeer(t *testing.T) {
	fake := servetest.NewFake()
	other := os.Getuid() + 4242
	d := servetest.Start(t, serve.Options{
		NewEngine:  func(*slog.Logger) (engine.Engine, error) { return fake, nil },
		AllowedUID: other,
	})
	_, err := engine.Dial(d.Listening.Socket)
	if err == nil {
		t.Fatal("Dial by a uid that is not allowed succeeded")
	}
	for _, want := range []string{"refused", "may not use this socket"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if !engine.DaemonRunning(d.Listening.Socket) {
		t.Error("DaemonRunning = false for a daemon that refuses us")
	}
	if len(fake.Served()) != 0 {
		t.Error("a refused peer reached the engine")
	}
}

// Errors that mean a well-known cause keep it across the socket.
func TestRemoteErrorCodes(t *testing.T) {
	for _, cause := range []error{context.Canceled, context.DeadlineExceeded, os.ErrNotExist, os.ErrPermission, control.ErrBadRequest} {
		code := engine.ErrorCode(errors.Join(errors.New("context"), cause))
		if code == "" {
			t.Errorf("%v has no code", cause)
		}
	}
	if code := engine.ErrorCode(errors.New("plain")); code != "" {
		t.Errorf("a plain error has code %q", code)
	}
}

// BenchmarkRemoteStats is one Stats round trip through the socket, one
// device with a full snapshot.
func BenchmarkRemoteStats(b *testing.B) {
	fake, _, eng := startFake(b)
	const p = "target/core/user_0/r1"
	eng.Serve(context.Background(), p)
	fake.SetStats(sampleStats(p))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eng.Stats(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoteValidate is the smallest round trip: the protocol's
// overhead.
func BenchmarkRemoteValidate(b *testing.B) {
	_, _, eng := startFake(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := eng.Validate("ram/", 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoteValidateParallel is round trips from many goroutines
// sharing the client's one connection.
func BenchmarkRemoteValidateParallel(b *testing.B) {
	_, _, eng := startFake(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := eng.Validate("ram/", 1<<20); err != nil {
				b.Fatal(err)
			}
		}
	})
}
