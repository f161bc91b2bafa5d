// Package serve is `tcmsh serve`: the headless daemon that owns the TCMU
// engine, so that user backstores stay served when no shell runs, and that
// shells (engine.Dial) and Prometheus reach over a control socket and an
// HTTP endpoint.
//
// The entry point is Run with Options; BindFlags registers the command
// line flags that fill Options:
//
//	opts := serve.Options{NewEngine: ..., Restore: ...}
//	serve.BindFlags(fs, &opts)
//	fs.Parse(args)
//	err := serve.Run(ctx, opts) // returns nil after SIGTERM: exit 0
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcmsh/tcmsh/backends"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/engine/control"
	"github.com/tcmsh/tcmsh/serve/tcmuservice"
)

// DefaultRestoreFile is the saveconfig file `--restore` reads when it is
// given no file, the one targetcli and target.service use.
const DefaultRestoreFile = "/etc/target/saveconfig.json"

// ErrAlreadyRunning is the cause of Run's error when another daemon owns
// the socket.
var ErrAlreadyRunning = errors.New("another tcmsh serve is already running")

// pidSelf is this process's pid, reported in the greeting.
var pidSelf = os.Getpid()

// Options configure Run. NewEngine is required; every other field has a
// working zero value.
type Options struct {
	// NewEngine creates the engine the daemon serves with (the lead's
	// engine.Local with AutoServe on). Run calls it only once it holds the
	// socket's lock, so that a second daemon started by mistake never
	// touches the devices of the first; Run closes the engine on exit.
	// The logger is the daemon's: engine background messages belong in it
	// (see Logf).
	NewEngine func(log *slog.Logger) (engine.Engine, error)

	// Socket is the control socket's path; "" means
	// control.DefaultSocket (/run/tcmsh/control.sock). The lock file is
	// the same path with ".lock" appended.
	Socket string
	// AllowedUID is the only uid whose processes may use the control
	// socket (checked with SO_PEERCRED); 0, root, by default. When the
	// daemon runs as root and AllowedUID is another uid, the socket is
	// handed to that uid.
	AllowedUID int

	// MetricsAddr, when set, serves Prometheus metrics at
	// http://MetricsAddr/metrics. A bare port ("9500" or ":9500") means
	// 127.0.0.1:9500; say 0.0.0.0:9500 or [::]:9500 to listen on every
	// interface.
	MetricsAddr string

	// RestoreFile, when set, is a saveconfig.json to restore before the
	// socket opens, through Restore (the shell owns restoreconfig). A
	// failed restore is logged and the daemon goes on serving what exists,
	// as target.service failing does not stop tcmu-runner.
	RestoreFile string
	// RestoreWait is how long the restore waits for block devices the
	// file names that are not there yet (--restore-wait); the caller's
	// Restore reads it.
	RestoreWait time.Duration
	// Restore restores a saveconfig file; required when RestoreFile is set.
	Restore func(ctx context.Context, eng engine.Engine, file string) error

	// DBus is where tcmu-runner's D-Bus service (org.kernel.TCMUService1,
	// which targetcli-fb asks about user backstores) is offered:
	// tcmuservice.SystemBus, a D-Bus address, or "" for nowhere. A bus that
	// cannot be reached or a name another process owns (tcmu-runner) is
	// logged and the daemon serves on without it.
	DBus string

	// Reload, when set, is called on SIGHUP after the log file has been
	// reopened: the caller re-reads whatever configuration it owns.
	Reload func(ctx context.Context) error

	// LogFile is where logs go; "" means stderr (the journal under
	// systemd). SIGHUP reopens it, for logrotate.
	LogFile string
	// LogFormat is "text" (default) or "json".
	LogFormat string
	// LogLevel is the lowest level logged (slog.LevelInfo by default).
	LogLevel slog.Level
	// LogLevelSet says LogLevel was given (--log-level): it then wins over
	// tcmu.conf's log_level.
	LogLevelSet bool
	// TCMUConf is tcmu-runner's configuration file (DefaultTCMUConf with
	// BindFlags; "" reads none). Its log_level sets the level unless
	// LogLevelSet, its log_dir puts the log in log_dir/tcmsh.log unless
	// LogFile is set, and both follow changes to the file at run time, as
	// tcmu-runner's do. A missing file is no error.
	TCMUConf string

	// NoStats turns the engine's per-command statistics off (--stats=false);
	// the caller's NewEngine reads it (engine.Options.NoStats).
	NoStats bool

	// Version is this build's version, reported to clients and in logs.
	Version string
	// ShutdownGrace bounds how long shutdown waits for control requests
	// to answer once cancelled before closing their connections; 0 means
	// 10s. The engine's own Close is not bounded: it finishes in-flight
	// SCSI commands.
	ShutdownGrace time.Duration

	// Ready, when set, is called once the daemon takes requests, with the
	// addresses it listens on (the metrics address is the bound one, so a
	// port 0 shows the port chosen). Under systemd, READY=1 is also sent.
	Ready func(Listening)
}

// Listening is where a ready daemon listens.
type Listening struct {
	Socket      string
	MetricsAddr string // "" when metrics are off
}

// BindFlags registers the daemon's flags on fs, storing into opts:
// --socket, --allow-uid, --metrics, --restore[=FILE], --dbus, --log-file,
// --log-format, --log-level, --stats. The caller still sets NewEngine, Restore and
// Version, and for the simulated kernel points Socket at
// engine.SimSocket(stateDir) unless --socket was given.
func BindFlags(fs *flag.FlagSet, opts *Options) {
	fs.StringVar(&opts.Socket, "socket", control.DefaultSocket, "control socket path")
	// The default is the daemon's own uid: root (0) for the real
	// kernel's daemon, the user running a simulated kernel's daemon.
	fs.IntVar(&opts.AllowedUID, "allow-uid", os.Geteuid(), "the only uid allowed to use the control socket (default: the daemon's own, root for the real kernel)")
	fs.StringVar(&opts.MetricsAddr, "metrics", "", "serve Prometheus metrics on this address (a bare port means 127.0.0.1:PORT); off when empty")
	fs.Var(&restoreFlag{opts}, "restore", "restore a saveconfig file at start: --restore alone reads "+DefaultRestoreFile+", --restore=FILE another")
	fs.DurationVar(&opts.RestoreWait, "restore-wait", 0, "with --restore: wait up to this long (e.g. 30s) for block devices the file names that are not there yet")
	fs.StringVar(&opts.DBus, "dbus", tcmuservice.SystemBus, "offer tcmu-runner's D-Bus service org.kernel.TCMUService1 (targetcli-fb's user: backstores) on this bus: system, a D-Bus address, or empty for none")
	fs.StringVar(&opts.LogFile, "log-file", "", "log to this file instead of stderr (reopened on SIGHUP)")
	fs.StringVar(&opts.LogFormat, "log-format", "text", "log format: text or json")
	fs.Func("log-level", "lowest level logged: debug, info, warn or error (default: tcmu.conf's log_level, else info)", func(v string) error {
		opts.LogLevelSet = true
		return opts.LogLevel.UnmarshalText([]byte(v))
	})
	fs.BoolFunc("stats", "per-command statistics (latency, throughput, ring occupancy) for the monitor and the metrics (default true); --stats=false saves their cost", func(v string) error {
		on, err := strconv.ParseBool(v)
		opts.NoStats = !on
		return err
	})
	fs.StringVar(&opts.TCMUConf, "tcmu-conf", DefaultTCMUConf, "tcmu-runner's configuration file: its log_level and log_dir apply, and changes to it at run time; empty for none")
}

// restoreFlag is --restore, which takes an optional value: as a boolean
// flag, "--restore" alone is accepted and "--restore=FILE" names the file.
type restoreFlag struct{ opts *Options }

func (f *restoreFlag) IsBoolFlag() bool { return true }
func (f *restoreFlag) String() string {
	if f == nil || f.opts == nil {
		return ""
	}
	return f.opts.RestoreFile
}
func (f *restoreFlag) Set(v string) error {
	switch v {
	case "true":
		f.opts.RestoreFile = DefaultRestoreFile
	case "false":
		f.opts.RestoreFile = ""
	default:
		f.opts.RestoreFile = v
	}
	return nil
}

// offerTCMUService offers a handler object per subtype the engine serves,
// with its help text as the ConfigDesc targetcli prints.
func offerTCMUService(bus string, eng engine.Engine, log *slog.Logger) (*tcmuservice.Service, error) {
	var handlers []tcmuservice.Handler
	for _, name := range eng.Subtypes() {
		desc, err := backends.Help(name)
		if err != nil {
			return nil, err
		}
		handlers = append(handlers, tcmuservice.Handler{Subtype: name, ConfigDesc: desc})
	}
	return tcmuservice.Offer(bus, tcmuservice.Options{Handlers: handlers, Check: backends.CheckConfig, Log: log})
}

// Logf adapts a slog.Logger to the printf-style hook of engine.Options
// (Logf), logging at warning level: the engine uses it for what went
// wrong in the background.
func Logf(log *slog.Logger) func(format string, args ...any) {
	return func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...), "source", "engine") }
}

// Run is `tcmsh serve`: it takes the control socket's lock, creates the
// engine (NewEngine), restores a saveconfig file if asked, opens the
// control socket and the metrics endpoint, and serves until ctx is
// cancelled or SIGTERM or SIGINT arrives. Then it stops taking requests,
// cancels those in flight, closes the engine (in-flight SCSI commands
// finish, devices are left blocked cleanly), removes the socket and
// returns nil. SIGHUP reopens the log file and calls Reload.
//
// Run returns an error wrapping ErrAlreadyRunning when another daemon
// answers on the socket; a socket left by a crashed daemon is replaced.
func Run(ctx context.Context, opts Options) error {
	if opts.NewEngine == nil {
		return errors.New("serve: Options.NewEngine is required")
	}
	if opts.RestoreFile != "" && opts.Restore == nil {
		return errors.New("serve: Options.RestoreFile is set but Options.Restore is not")
	}
	if opts.Socket == "" {
		opts.Socket = control.DefaultSocket
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 10 * time.Second
	}
	conf := tcmuConf{logLevel: -1}
	var confIgnored []string
	var confErr error
	if opts.TCMUConf != "" {
		conf, confIgnored, confErr = readTCMUConf(opts.TCMUConf)
	}
	level := new(slog.LevelVar)
	level.Set(opts.LogLevel)
	if l, ok := conf.level(); ok && !opts.LogLevelSet {
		level.Set(l)
	}
	logOut, err := openLogOutput(logPath(opts, conf))
	if err != nil {
		return err
	}
	defer logOut.Close()
	log, err := newLogger(logOut, opts.LogFormat, level)
	if err != nil {
		return err
	}
	if confErr != nil {
		log.Error("tcmu.conf not applied", "err", confErr)
	}
	for _, k := range confIgnored {
		log.Debug("tcmu.conf: a setting tcmsh has no use for", "setting", k)
	}
	reloadConf := func(why string) {
		next, _, err := readTCMUConf(opts.TCMUConf)
		if err != nil {
			log.Error("tcmu.conf not reloaded; the previous settings stay", "file", opts.TCMUConf, "err", err)
			return
		}
		if l, ok := next.level(); ok && !opts.LogLevelSet {
			level.Set(l)
		} else if !ok && !opts.LogLevelSet {
			level.Set(opts.LogLevel)
		}
		if p := logPath(opts, next); p != logOut.Path() {
			if err := logOut.SetPath(p); err != nil {
				log.Error("tcmu.conf: log_dir not applied; logging on where it was", "file", opts.TCMUConf, "err", err)
			}
		}
		conf = next
		log.Info("tcmu.conf applied", "why", why, "file", opts.TCMUConf, "level", level.Level(), "log", logOut.Path())
	}
	var confChanged <-chan struct{}
	if opts.TCMUConf != "" {
		if w, err := watchFile(opts.TCMUConf); err != nil {
			log.Debug("tcmu.conf changes are not followed", "err", err)
		} else {
			defer w.Close()
			confChanged = w.Changed
		}
	}

	// Signals first, so that a SIGTERM during start-up is not fatal to a
	// half-started daemon but stops it cleanly.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(signals)

	if err := os.MkdirAll(filepath.Dir(opts.Socket), 0o755); err != nil {
		return fmt.Errorf("control socket directory: %w", err)
	}
	lock, err := acquireLock(opts.Socket)
	if err != nil {
		return err
	}
	defer lock.release()

	eng, err := opts.NewEngine(log)
	if err != nil {
		return fmt.Errorf("starting the engine: %w", err)
	}
	engineClosed := false
	closeEngine := func() error {
		if engineClosed {
			return nil
		}
		engineClosed = true
		start := time.Now()
		err := eng.Close()
		log.Info("engine closed: devices left blocked", "duration", time.Since(start), "err", err)
		return err
	}
	defer closeEngine()

	if opts.RestoreFile != "" {
		start := time.Now()
		if err := opts.Restore(ctx, eng, opts.RestoreFile); err != nil {
			log.Error("restore failed; serving what exists", "file", opts.RestoreFile, "err", err)
		} else {
			log.Info("configuration restored", "file", opts.RestoreFile, "duration", time.Since(start))
		}
	}

	if opts.DBus != "" {
		svc, err := offerTCMUService(opts.DBus, eng, log)
		if err != nil {
			log.Warn("not offering tcmu-runner's D-Bus service: targetcli-fb will not see user backstores through tcmsh", "bus", opts.DBus, "err", err)
		} else {
			defer svc.Close()
			log.Info("offering tcmu-runner's D-Bus service", "bus", opts.DBus, "name", tcmuservice.BusName)
		}
	}

	srv := newServer(eng, log, opts.AllowedUID, opts.Version)
	ln, err := listenControl(opts.Socket, opts.AllowedUID)
	if err != nil {
		return err
	}
	acceptDone := make(chan struct{})
	go func() { defer close(acceptDone); srv.acceptLoop(ln) }()

	listening := Listening{Socket: opts.Socket}
	var metrics *metricsServer
	if opts.MetricsAddr != "" {
		metrics, err = startMetrics(opts.MetricsAddr, eng, log, opts.Version)
		if err != nil {
			ln.Close()
			os.Remove(opts.Socket)
			<-acceptDone
			return err
		}
		listening.MetricsAddr = metrics.addr
	}
	log.Info("tcmsh serve ready", "socket", opts.Socket, "allowed_uid", opts.AllowedUID,
		"metrics", listening.MetricsAddr, "subtypes", eng.Subtypes(), "version", opts.Version, "pid", pidSelf)
	sdNotify("READY=1\nSTATUS=serving\nMAINPID=" + strconv.Itoa(pidSelf))
	if opts.Ready != nil {
		opts.Ready(listening)
	}

	reason := ""
wait:
	for {
		select {
		case <-ctx.Done():
			reason = "context cancelled"
			break wait
		case <-confChanged:
			reloadConf("file changed")
		case sig := <-signals:
			if sig != syscall.SIGHUP {
				reason = sig.String()
				break wait
			}
			sdNotify("RELOADING=1\nMONOTONIC_USEC=" + monotonicUsec())
			if err := logOut.Reopen(); err != nil {
				log.Error("SIGHUP: reopening the log file failed; logging on to the old one", "file", opts.LogFile, "err", err)
			}
			if opts.TCMUConf != "" {
				reloadConf("SIGHUP")
			}
			if opts.Reload != nil {
				if err := opts.Reload(ctx); err != nil {
					log.Error("SIGHUP: reloading the configuration failed", "err", err)
				}
			}
			log.Info("SIGHUP: log reopened, configuration reloaded")
			sdNotify("READY=1")
		}
	}

	log.Info("shutting down: no new requests; cancelling those in flight", "reason", reason)
	sdNotify("STOPPING=1")
	ln.Close()
	<-acceptDone
	if err := os.Remove(opts.Socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("removing the control socket failed", "socket", opts.Socket, "err", err)
	}
	srv.stop(opts.ShutdownGrace)
	if metrics != nil {
		metrics.close()
	}
	if err := closeEngine(); err != nil {
		return fmt.Errorf("closing the engine: %w", err)
	}
	log.Info("tcmsh serve stopped")
	return nil
}

// logPath is where the daemon logs: LogFile, else tcmu.conf's log_dir,
// else "" (stderr).
func logPath(opts Options, conf tcmuConf) string {
	switch {
	case opts.LogFile != "":
		return opts.LogFile
	case conf.logDir != "":
		return filepath.Join(conf.logDir, TCMULogFile)
	}
	return ""
}

// maxSocketPath is the longest path a unix socket can be bound to
// (sun_path is 108 bytes with its terminating NUL).
const maxSocketPath = 107

// listenControl opens the control socket at path, mode 0600 from the
// first moment (it is created under a temporary name, restricted, then
// renamed over path, which also replaces a stale socket atomically).
func listenControl(path string, allowedUID int) (*net.UnixListener, error) {
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%d", filepath.Base(path), pidSelf))
	if len(tmp) > maxSocketPath {
		return nil, fmt.Errorf("control socket %s: path too long for a unix socket (%d bytes with the daemon's temporary name; the kernel allows %d): give --socket a shorter path", path, len(tmp), maxSocketPath)
	}
	os.Remove(tmp) // a leftover of a crashed daemon that had our pid
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	// The socket is removed by Run, by its final name.
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*net.UnixListener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fail(err)
	}
	if os.Geteuid() == 0 && allowedUID != 0 {
		if err := os.Chown(tmp, allowedUID, -1); err != nil {
			return fail(fmt.Errorf("handing the socket to uid %d: %w", allowedUID, err))
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return ln, nil
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, which systemd wants
// beside RELOADING=1 (Type=notify-reload).
func monotonicUsec() string {
	var ts unix.Timespec
	if err := clockGettimeMonotonic(&ts); err != nil {
		return "0"
	}
	return strconv.FormatInt(ts.Sec*1_000_000+ts.Nsec/1000, 10)
}

// sdNotify tells systemd about the daemon's state when it runs under a
// Type=notify unit; it does nothing otherwise.
func sdNotify(state string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = conn.Write([]byte(state))
}
