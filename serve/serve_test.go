package serve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/engine/control"
	"github.com/tcmsh/tcmsh/serve"
	"github.com/tcmsh/tcmsh/serve/servetest"
)

func fakeOptions(fake *servetest.Fake) serve.Options {
	return serve.Options{
		NewEngine:  func(*slog.Logger) (engine.Engine, error) { return fake, nil },
		AllowedUID: os.Getuid(),
	}
}

// rawConn is a client speaking the protocol by hand.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	sc   *bufio.Scanner
}

func dialRaw(t *testing.T, socket string) (*rawConn, control.Hello) {
	t.Helper()
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rc := &rawConn{t: t, conn: conn, sc: bufio.NewScanner(conn)}
	rc.sc.Buffer(nil, control.MaxLine)
	if !rc.sc.Scan() {
		t.Fatalf("no greeting: %v", rc.sc.Err())
	}
	var h control.Hello
	if err := json.Unmarshal(rc.sc.Bytes(), &h); err != nil {
		t.Fatalf("greeting %q: %v", rc.sc.Bytes(), err)
	}
	return rc, h
}

func (rc *rawConn) send(line string) {
	rc.t.Helper()
	if _, err := rc.conn.Write([]byte(line + "\n")); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) recv() control.Response {
	rc.t.Helper()
	if !rc.sc.Scan() {
		rc.t.Fatalf("no response: %v", rc.sc.Err())
	}
	var r control.Response
	if err := json.Unmarshal(rc.sc.Bytes(), &r); err != nil {
		rc.t.Fatalf("response %q: %v", rc.sc.Bytes(), err)
	}
	return r
}

func TestGreeting(t *testing.T) {
	d := servetest.Start(t, fakeOptions(servetest.NewFake()))
	_, h := dialRaw(t, d.Listening.Socket)
	if h.Protocol != control.Protocol || h.Version != control.Version || h.PID != os.Getpid() || h.Error != "" {
		t.Errorf("greeting = %+v", h)
	}
}

// Malformed requests get an answer naming the problem, and the connection
// stays usable.
func TestBadRequestsAnsweredConnectionSurvives(t *testing.T) {
	fake := servetest.NewFake()
	d := servetest.Start(t, fakeOptions(fake))
	rc, _ := dialRaw(t, d.Listening.Socket)
	for _, tc := range []struct{ line, want string }{
		{`not json`, "not a JSON request object"},
		{`{"method":"stats"}`, "missing request id"},
		{`{"id":1,"method":"format_disk"}`, `unknown method "format_disk"`},
		{`{"id":2,"method":"serve","params":[1]}`, "params must be a JSON object"},
		{`{"id":3,"method":"serve","params":{"configfs":7}}`, "serve params"},
		{`{"id":4,"method":"serve","params":{}}`, "needs a backstore's configfs path"},
		{`{"id":5,"method":"workload","params":{"lun_configfs":"target/x","spec":{"qd":"deep"}}}`, "workload spec"},
		{`{"id":-1,"method":"stats"}`, "not a JSON request object"},
	} {
		rc.send(tc.line)
		r := rc.recv()
		if r.Error == nil || !strings.Contains(r.Error.Message, tc.want) || r.Error.Code != control.CodeBadRequest {
			t.Errorf("%s → %+v, want a bad_request error saying %q", tc.line, r.Error, tc.want)
		}
	}
	rc.send(`{"id":9,"method":"serve","params":{"configfs":"target/core/user_1/ok"}}`)
	if r := rc.recv(); r.ID != 9 || r.Error != nil {
		t.Errorf("good request after bad ones: %+v", r)
	}
	if got := fake.Served(); len(got) != 1 {
		t.Errorf("served = %v", got)
	}
}

// A request line past the limit closes the connection with a reason
// instead of buffering without bound.
func TestOverlongLineClosesConnection(t *testing.T) {
	d := servetest.Start(t, fakeOptions(servetest.NewFake()))
	rc, _ := dialRaw(t, d.Listening.Socket)
	go func() {
		chunk := []byte(strings.Repeat("x", 1<<20))
		for range control.MaxLine>>20 + 2 {
			if _, err := rc.conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	r := rc.recv()
	if r.Error == nil || !strings.Contains(r.Error.Message, "longer than") {
		t.Errorf("overlong line answered %+v", r)
	}
	if rc.sc.Scan() {
		t.Errorf("connection still open after an overlong line: %q", rc.sc.Text())
	}
}

// A duplicate id among requests in flight is refused, and a cancel of an
// unknown id is ignored.
func TestDuplicateIDAndStrayCancel(t *testing.T) {
	fake := servetest.NewFake()
	d := servetest.Start(t, fakeOptions(fake))
	rc, _ := dialRaw(t, d.Listening.Socket)
	rc.send(`{"id":7,"method":"workload","params":{"lun_configfs":"target/l","spec":{}}}`)
	<-fake.WorkloadStarted()
	rc.send(`{"id":7,"method":"stats"}`)
	if r := rc.recv(); r.ID != 7 || r.Error == nil || !strings.Contains(r.Error.Message, "already in flight") {
		t.Errorf("duplicate id answered %+v", r)
	}
	rc.send(`{"id":8,"method":"cancel","params":{"id":12345}}`)
	rc.send(`{"id":9,"method":"cancel","params":{"id":7}}`)
	r := rc.recv()
	if r.ID != 7 || r.Error == nil || r.Error.Code != control.CodeCanceled {
		t.Errorf("cancelled workload answered %+v", r)
	}
	var res engine.WorkloadResult
	if err := json.Unmarshal(r.Result, &res); err != nil || res.Seconds <= 0 {
		t.Errorf("cancelled workload result %s (%v), want the partial figures", r.Result, err)
	}
}

// A second daemon on the same socket refuses to start, names the first,
// and never creates its engine; the first keeps serving.
func TestSecondDaemonRefuses(t *testing.T) {
	first := servetest.Start(t, fakeOptions(servetest.NewFake()))
	created := false
	opts := serve.Options{
		Socket:     first.Listening.Socket,
		AllowedUID: os.Getuid(),
		NewEngine: func(*slog.Logger) (engine.Engine, error) {
			created = true
			return servetest.NewFake(), nil
		},
		LogFile: filepath.Join(t.TempDir(), "second.log"),
	}
	err := serve.Run(context.Background(), opts)
	if !errors.Is(err, serve.ErrAlreadyRunning) {
		t.Fatalf("second Run = %v, want ErrAlreadyRunning", err)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("refusal %q does not name the running daemon (%s)", err, want)
	}
	if created {
		t.Error("the refused daemon created an engine (it could have grabbed the first one's devices)")
	}
	if !engine.DaemonRunning(first.Listening.Socket) {
		t.Error("the first daemon stopped answering")
	}
}

// A socket file left by a crashed daemon (nobody listening, lock free) is
// replaced.
func TestStaleSocketReplaced(t *testing.T) {
	socket := servetest.ShortSocketPath(t)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(socket); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	opts := fakeOptions(servetest.NewFake())
	opts.Socket = socket
	servetest.Start(t, opts)
	if !engine.DaemonRunning(socket) {
		t.Error("no daemon answers on the replaced socket")
	}
}

// The socket is the daemon's only, from the start.
func TestSocketMode(t *testing.T) {
	d := servetest.Start(t, fakeOptions(servetest.NewFake()))
	st, err := os.Stat(d.Listening.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", st.Mode())
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
		t.Errorf("socket owned by uid %d, want %d", uid, os.Geteuid())
	}
}

// Root handing the socket to another allowed uid chowns it to that uid.
func TestSocketHandedToAllowedUID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown the socket")
	}
	opts := fakeOptions(servetest.NewFake())
	opts.AllowedUID = 4242
	d := servetest.Start(t, opts)
	st, err := os.Stat(d.Listening.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 4242 {
		t.Errorf("socket owned by uid %d, want 4242", uid)
	}
}

// Shutdown mid-workload: the workload is cancelled and answered, the
// engine is closed after it, the socket disappears, Run returns nil.
func TestShutdownMidWorkload(t *testing.T) {
	fake := servetest.NewFake()
	d := servetest.Start(t, fakeOptions(fake))
	eng, err := engine.Dial(d.Listening.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	werr := make(chan error, 1)
	go func() {
		_, err := eng.Workload(context.Background(), "target/loopback/x/tpgt_1/lun/lun_0", engine.WorkloadSpec{})
		werr <- err
	}()
	<-fake.WorkloadStarted()
	if err := d.Stop(); err != nil {
		t.Fatalf("Run after shutdown = %v, want nil (exit 0)", err)
	}
	if err := <-werr; err == nil {
		t.Error("a workload interrupted by shutdown reported success")
	}
	<-fake.WorkloadCanceled()
	if !fake.Closed() {
		t.Error("engine not closed")
	}
	if _, err := os.Stat(d.Listening.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after shutdown: %v", err)
	}
}

// SIGHUP reopens the log file (logrotate renamed the old one) and calls
// Reload.
func TestSIGHUPReopensLogAndReloads(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "serve.log")
	reloaded := make(chan struct{}, 1)
	opts := fakeOptions(servetest.NewFake())
	opts.LogFile = logFile
	opts.Reload = func(context.Context) error { reloaded <- struct{}{}; return nil }
	servetest.Start(t, opts)
	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	<-reloaded
	// The reload line is written right after Reload returns.
	for {
		b, err := os.ReadFile(logFile)
		if err == nil && strings.Contains(string(b), "SIGHUP: log reopened") {
			break
		}
		time.Sleep(time.Millisecond)
	}
	old, _ := os.ReadFile(logFile + ".1")
	if !strings.Contains(string(old), "tcmsh serve ready") {
		t.Errorf("rotated log lacks the start-up line:\n%s", old)
	}
}

// JSON logs are one object a line.
func TestJSONLogs(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "serve.log")
	opts := fakeOptions(servetest.NewFake())
	opts.LogFile, opts.LogFormat = logFile, "json"
	d := servetest.Start(t, opts)
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil || m["level"] == nil {
			t.Errorf("log line %q is not a slog JSON record: %v", l, err)
		}
	}
	if !strings.Contains(string(b), `"msg":"tcmsh serve stopped"`) {
		t.Errorf("no stop record in:\n%s", b)
	}
}

// Restore runs before the socket opens, with the engine and the file; a
// failed restore is logged and the daemon serves on.
func TestRestoreAtStart(t *testing.T) {
	for _, fail := range []bool{false, true} {
		fake := servetest.NewFake()
		var gotFile string
		var gotEngine engine.Engine
		opts := fakeOptions(fake)
		opts.RestoreFile = "/etc/target/saveconfig.json"
		opts.Restore = func(ctx context.Context, eng engine.Engine, file string) error {
			gotFile, gotEngine = file, eng
			if engine.DaemonRunning(opts.Socket) {
				t.Error("the socket answers before the restore is done")
			}
			if fail {
				return errors.New("storage object r1: no such file")
			}
			return eng.Serve(ctx, "target/core/user_0/r1")
		}
		opts.Socket = servetest.ShortSocketPath(t)
		servetest.Start(t, opts)
		if gotFile != opts.RestoreFile || gotEngine != engine.Engine(fake) {
			t.Errorf("Restore got %q, %v", gotFile, gotEngine)
		}
		if !fail && len(fake.Served()) != 1 {
			t.Error("restored device not served")
		}
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	ctx := context.Background()
	if err := serve.Run(ctx, serve.Options{}); err == nil {
		t.Error("Run without NewEngine succeeded")
	}
	opts := fakeOptions(servetest.NewFake())
	opts.RestoreFile = "x.json"
	if err := serve.Run(ctx, opts); err == nil || !strings.Contains(err.Error(), "Restore") {
		t.Errorf("RestoreFile without Restore = %v", err)
	}
	opts = fakeOptions(servetest.NewFake())
	opts.Socket = servetest.ShortSocketPath(t)
	opts.LogFormat = "xml"
	if err := serve.Run(ctx, opts); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("log format xml = %v", err)
	}
	opts = fakeOptions(servetest.NewFake())
	opts.Socket = servetest.ShortSocketPath(t)
	opts.NewEngine = func(*slog.Logger) (engine.Engine, error) { return nil, errors.New("no LIO") }
	if err := serve.Run(ctx, opts); err == nil || !strings.Contains(err.Error(), "starting the engine: no LIO") {
		t.Errorf("failing engine = %v", err)
	}
}

func TestBindFlags(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		restoreFile string
	}{
		{nil, ""},
		{[]string{"--restore"}, serve.DefaultRestoreFile},
		{[]string{"--restore=/srv/lio.json"}, "/srv/lio.json"},
		{[]string{"--stats=false"}, ""},
		{[]string{"--stats"}, ""},
	} {
		var opts serve.Options
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		serve.BindFlags(fs, &opts)
		args := append([]string{"--socket", "/run/x.sock", "--metrics", "9500", "--log-format", "json", "--log-level", "debug", "--allow-uid", "7"}, tc.args...)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if opts.RestoreFile != tc.restoreFile || opts.Socket != "/run/x.sock" || opts.MetricsAddr != "9500" ||
			opts.LogFormat != "json" || opts.LogLevel != slog.LevelDebug || opts.AllowedUID != 7 {
			t.Errorf("%v → %+v", args, opts)
		}
		if want := slices.Contains(tc.args, "--stats=false"); opts.NoStats != want {
			t.Errorf("%v: NoStats %v, want %v", args, opts.NoStats, want)
		}
	}
}

// A socket path too long for sun_path is refused with the reason.
func TestSocketPathTooLong(t *testing.T) {
	opts := fakeOptions(servetest.NewFake())
	opts.Socket = filepath.Join(t.TempDir(), strings.Repeat("s", 100)+".sock")
	opts.LogFile = filepath.Join(t.TempDir(), "log")
	err := serve.Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "path too long for a unix socket") {
		t.Errorf("Run with a long socket path: %v", err)
	}
}

// Requests beyond the per-connection bound are refused, not queued.
func TestInflightBound(t *testing.T) {
	fake := servetest.NewFake()
	d := servetest.Start(t, fakeOptions(fake))
	rc, _ := dialRaw(t, d.Listening.Socket)
	const bound = 1024
	var b strings.Builder
	for i := 1; i <= bound+1; i++ {
		fmt.Fprintf(&b, `{"id":%d,"method":"workload","params":{"lun_configfs":"target/l","spec":{}}}`+"\n", i)
	}
	rc.send(strings.TrimSuffix(b.String(), "\n"))
	r := rc.recv()
	if r.ID != bound+1 || r.Error == nil || !strings.Contains(r.Error.Message, "already in flight") {
		t.Errorf("request past the bound answered %+v", r)
	}
}

// A real SIGTERM stops the daemon cleanly: Run returns nil (exit 0), the
// engine is closed, the socket is gone.
func TestSIGTERMStopsCleanly(t *testing.T) {
	fake := servetest.NewFake()
	d := servetest.Start(t, fakeOptions(fake))
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(); err != nil {
		t.Fatalf("Run after SIGTERM = %v, want nil", err)
	}
	if !fake.Closed() {
		t.Error("engine not closed after SIGTERM")
	}
	if engine.DaemonRunning(d.Listening.Socket) {
		t.Error("daemon still answers after SIGTERM")
	}
}
