package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/engine/control"
	"github.com/tcmsh/tcmsh/internal/guard"
)

// maxInflightPerConn bounds the requests one connection runs at once: a
// client looping without reading its answers must not grow the daemon
// without bound.
const maxInflightPerConn = 1024

// server answers the control socket's connections with an engine.
type server struct {
	eng        engine.Engine
	log        *slog.Logger
	allowedUID int
	version    string

	// base is cancelled when the daemon starts shutting down: every
	// request's context derives from it.
	base     context.Context
	shutdown context.CancelFunc

	mu    sync.Mutex
	conns map[*net.UnixConn]struct{}
	wg    sync.WaitGroup // one per connection
}

func newServer(eng engine.Engine, log *slog.Logger, allowedUID int, version string) *server {
	base, cancel := context.WithCancel(context.Background())
	return &server{eng: eng, log: log, allowedUID: allowedUID, version: version,
		base: base, shutdown: cancel, conns: make(map[*net.UnixConn]struct{})}
}

// acceptLoop serves connections until the listener is closed.
func (s *server) acceptLoop(l *net.UnixListener) {
	for {
		conn, err := l.AcceptUnix()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("control socket: accept failed; no more connections are taken", "err", err)
			}
			return
		}
		s.mu.Lock()
		if s.base.Err() != nil {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.handleConn(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
		}()
	}
}

// stop cancels every request and wakes every connection's reader, then
// waits (at most grace) for the connections to finish answering.
func (s *server) stop(grace time.Duration) {
	s.mu.Lock()
	s.shutdown()
	for c := range s.conns {
		// Wake the reader; the connection answers what is in flight
		// (cancelled) and then closes.
		_ = c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		s.log.Warn("control socket: requests still running after the shutdown grace period; closing their connections", "grace", grace)
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	}
}

// peerUID is the uid of the process at the other end, from SO_PEERCRED
// (the kernel's word, not the peer's).
func peerUID(conn *net.UnixConn) (uid, pid int, err error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return -1, 0, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return -1, 0, err
	}
	if credErr != nil {
		return -1, 0, fmt.Errorf("SO_PEERCRED: %w", credErr)
	}
	return int(cred.Uid), int(cred.Pid), nil
}

// connState is one connection: its writer and the requests in flight.
type connState struct {
	conn *net.UnixConn
	log  *slog.Logger

	wmu sync.Mutex

	mu       sync.Mutex
	inflight map[uint64]context.CancelFunc
	wg       sync.WaitGroup
}

func (c *connState) write(v any) {
	var line []byte
	var err error
	if resp, ok := v.(control.Response); ok {
		line, err = control.AppendResponse(nil, resp)
	} else {
		line, err = json.Marshal(v)
		line = append(line, '\n')
	}
	if err != nil {
		c.log.Error("control socket: an answer could not be encoded", "err", err)
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.conn.Write(line); err != nil {
		c.log.Debug("control socket: answer not delivered (client gone)", "err", err)
	}
}

func (s *server) handleConn(conn *net.UnixConn) {
	defer conn.Close()
	uid, pid, err := peerUID(conn)
	log := s.log.With("peer_uid", uid, "peer_pid", pid)
	c := &connState{conn: conn, log: log, inflight: make(map[uint64]context.CancelFunc)}
	hello := control.Hello{Protocol: control.Protocol, Version: control.Version, Daemon: s.version, PID: pidSelf}
	switch {
	case err != nil:
		log.Warn("control socket: connection refused: peer credentials unreadable", "err", err)
		hello.Error = fmt.Sprintf("cannot read the peer's credentials: %v", err)
		c.write(hello)
		return
	case uid != s.allowedUID:
		log.Warn("control socket: connection refused: uid not allowed", "allowed_uid", s.allowedUID)
		hello.Error = fmt.Sprintf("uid %d may not use this socket (only uid %d may): run the command as that user (usually with sudo)", uid, s.allowedUID)
		c.write(hello)
		return
	case s.base.Err() != nil:
		hello.Error = "the daemon is shutting down"
		c.write(hello)
		return
	}
	c.write(hello)
	log.Debug("control socket: client connected")

	connCtx, cancelAll := context.WithCancel(s.base)
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 64<<10), control.MaxLine)
	for sc.Scan() {
		s.handleLine(connCtx, c, sc.Bytes())
	}
	if err := sc.Err(); err != nil && s.base.Err() == nil {
		if errors.Is(err, bufio.ErrTooLong) {
			c.write(control.Response{Error: &control.Error{Code: control.CodeBadRequest,
				Message: fmt.Sprintf("request line longer than %d bytes; closing the connection", control.MaxLine)}})
		}
		log.Debug("control socket: connection read ended", "err", err)
	}
	// The client hung up (or the daemon is stopping): its requests, a
	// workload included, have nobody left to answer, so cancel them. The
	// devices they started serving stay served.
	cancelAll()
	c.wg.Wait()
	log.Debug("control socket: client disconnected")
}

// handleLine decodes one request and runs it in its own goroutine.
func (s *server) handleLine(connCtx context.Context, c *connState, line []byte) {
	req, err := control.DecodeRequest(line)
	if err != nil {
		c.log.Debug("control socket: bad request", "err", err)
		c.write(control.Response{ID: req.ID, Error: &control.Error{Message: err.Error(), Code: control.CodeBadRequest}})
		return
	}
	if req.Method == control.MethodCancel {
		var p control.CancelParams
		if err := control.DecodeParams(req, &p); err != nil {
			c.write(control.Response{ID: req.ID, Error: &control.Error{Message: err.Error(), Code: control.CodeBadRequest}})
			return
		}
		c.mu.Lock()
		if cancel := c.inflight[p.ID]; cancel != nil {
			cancel()
		}
		c.mu.Unlock()
		return // a cancel has no answer of its own: the cancelled request answers
	}
	if s.base.Err() != nil {
		c.write(control.Response{ID: req.ID, Error: &control.Error{Message: "the daemon is shutting down: request not started", Code: control.CodeShuttingDown}})
		return
	}
	ctx, cancel := context.WithCancel(connCtx)
	c.mu.Lock()
	if len(c.inflight) >= maxInflightPerConn {
		c.mu.Unlock()
		cancel()
		c.write(control.Response{ID: req.ID, Error: &control.Error{Code: control.CodeBadRequest,
			Message: fmt.Sprintf("%v: %d requests already in flight on this connection; wait for some to finish", control.ErrBadRequest, maxInflightPerConn)}})
		return
	}
	if _, dup := c.inflight[req.ID]; dup {
		c.mu.Unlock()
		cancel()
		c.write(control.Response{ID: req.ID, Error: &control.Error{Code: control.CodeBadRequest,
			Message: fmt.Sprintf("%v: request id %d is already in flight on this connection", control.ErrBadRequest, req.ID)}})
		return
	}
	c.inflight[req.ID] = cancel
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		resp := s.call(ctx, c.log, req)
		c.mu.Lock()
		delete(c.inflight, req.ID)
		c.mu.Unlock()
		cancel()
		c.write(resp)
	}()
}

// call runs one request against the engine. A panic in the engine is
// turned into an error answer: one bad request must not take down the
// daemon and every device it serves.
func (s *server) call(ctx context.Context, log *slog.Logger, req control.Request) (resp control.Response) {
	resp.ID = req.ID
	start := time.Now()
	var result any
	err := guard.Run(fmt.Sprintf("the daemon's engine (%s request)", req.Method), func() (err error) {
		result, err = s.dispatch(ctx, req)
		return err
	})
	if pe := (*guard.PanicError)(nil); errors.As(err, &pe) {
		log.Error("control socket: engine panicked on a request", "method", req.Method, "panic", pe.Value, "stack", string(pe.Stack))
		return control.Response{ID: req.ID, Error: &control.Error{Message: pe.Error() + "; see the daemon's log"}}
	}
	if err == nil && req.Method == control.MethodWorkload && ctx.Err() != nil && s.base.Err() != nil {
		// The engine reports a cancelled workload's partial result as a
		// success (what an interrupted run in the shell shows). A client
		// whose workload the daemon's shutdown cut short must not take it
		// for a full run.
		err = fmt.Errorf("the daemon shut down during the workload; the result covers the part that ran: %w", engine.ErrDaemonShuttingDown)
	}
	if result != nil {
		raw, merr := json.Marshal(result)
		if merr != nil {
			err = errors.Join(err, fmt.Errorf("the daemon could not encode its %s answer: %w", req.Method, merr))
		} else {
			resp.Result = raw
		}
	}
	if err != nil {
		resp.Error = &control.Error{Message: err.Error(), Code: engine.ErrorCode(err)}
	}
	level := slog.LevelDebug
	if req.Method == control.MethodServe || req.Method == control.MethodRelease || req.Method == control.MethodWorkload {
		level = slog.LevelInfo // they change what runs: worth a line by default
	}
	attrs := []any{"method", req.Method, "id", req.ID, "duration", time.Since(start)}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	log.Log(ctx, level, "control request", attrs...)
	return resp
}

// dispatch decodes a request's parameters and calls the engine. The
// result, if not nil, is what goes on the wire (even beside an error: a
// cancelled workload reports what it did, as it would locally).
func (s *server) dispatch(ctx context.Context, req control.Request) (any, error) {
	switch req.Method {
	case control.MethodSubtypes:
		return s.eng.Subtypes(), nil
	case control.MethodValidate:
		var p control.ValidateParams
		if err := control.DecodeParams(req, &p); err != nil {
			return nil, err
		}
		return nil, s.eng.Validate(p.DevConfig, p.Size)
	case control.MethodServe, control.MethodRelease:
		var p control.PathParams
		if err := control.DecodeParams(req, &p); err != nil {
			return nil, err
		}
		if p.ConfigPath == "" {
			return nil, fmt.Errorf("%w: %s needs a backstore's configfs path", control.ErrBadRequest, req.Method)
		}
		if req.Method == control.MethodServe {
			return nil, s.eng.Serve(ctx, p.ConfigPath)
		}
		return nil, s.eng.Release(ctx, p.ConfigPath)
	case control.MethodStats:
		return s.eng.Stats(ctx)
	case control.MethodWorkload:
		var p control.WorkloadParams
		if err := control.DecodeParams(req, &p); err != nil {
			return nil, err
		}
		var spec engine.WorkloadSpec
		if len(p.Spec) > 0 {
			if err := json.Unmarshal(p.Spec, &spec); err != nil {
				return nil, fmt.Errorf("%w: workload spec: %w", control.ErrBadRequest, err)
			}
		}
		if p.LUNConfigPath == "" {
			return nil, fmt.Errorf("%w: workload needs a LUN's configfs path", control.ErrBadRequest)
		}
		res, err := s.eng.Workload(ctx, p.LUNConfigPath, spec)
		return res, err
	}
	// DecodeRequest lets only known methods through.
	return nil, fmt.Errorf("%w: unknown method %q", control.ErrBadRequest, req.Method)
}
