package serve

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcmsh/tcmsh/engine/control"
)

// socketLock is the exclusive lock a running daemon holds on
// "<socket>.lock". The kernel drops it when the daemon dies, however it
// dies, so a lock that can be taken means no live daemon holds it.
type socketLock struct {
	f *os.File
}

// acquireLock takes the lock of the socket at socketPath, or says which
// daemon holds it. The lock alone is not trusted: a daemon answering on
// the socket (one whose lock file was deleted) also refuses the start.
func acquireLock(socketPath string) (*socketLock, error) {
	lockPath := socketPath + ".lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file of the control socket: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := readPID(f)
		f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("locking %s: %w", lockPath, err)
		}
		if h, ok := probeSocket(socketPath); ok {
			return nil, fmt.Errorf("%w on %s (pid %d, version %q): stop it first (systemctl stop tcmsh), or give this one another --socket", ErrAlreadyRunning, socketPath, h.PID, h.Daemon)
		}
		return nil, fmt.Errorf("%w: pid %s holds %s but nothing answers on %s yet (starting, or wedged: check that process)", ErrAlreadyRunning, holder, lockPath, socketPath)
	}
	if h, ok := probeSocket(socketPath); ok {
		f.Close()
		return nil, fmt.Errorf("%w on %s (pid %d, version %q) without holding %s: stop it first", ErrAlreadyRunning, socketPath, h.PID, h.Daemon, lockPath)
	}
	// The pid is for the messages above; the lock is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(pidSelf)+"\n"), 0)
	}
	return &socketLock{f: f}, nil
}

// release drops the lock. The file stays: removing it would let a daemon
// that opened it just before lock a file no later daemon looks at.
func (l *socketLock) release() {
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
}

func readPID(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	if s := strings.TrimSpace(string(b[:n])); s != "" {
		return s
	}
	return "(unknown)"
}

// probeSocket reports whether a tcmsh daemon answers at socketPath, and
// its greeting. A daemon that refuses us still answers.
func probeSocket(socketPath string) (control.Hello, bool) {
	conn, err := net.DialTimeout("unix", socketPath, time.Second)
	if err != nil {
		return control.Hello{}, false
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	sc := bufio.NewScanner(conn)
	if !sc.Scan() {
		return control.Hello{}, false
	}
	h, err := control.ReadHello(sc.Bytes())
	return h, err == nil || (h.Protocol == control.Protocol && h.Error != "")
}

func clockGettimeMonotonic(ts *unix.Timespec) error {
	return unix.ClockGettime(unix.CLOCK_MONOTONIC, ts)
}
