package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/tcmsh/tcmsh/engine/control"
)

// DefaultSocket is where a `tcmsh serve` daemon listens unless told
// otherwise.
const DefaultSocket = control.DefaultSocket

// SimSocket is the control socket of a daemon serving the simulated
// kernel whose state is in stateDir: each simulated kernel has its own
// daemon, and the shell finds it beside the state it opens.
func SimSocket(stateDir string) string { return filepath.Join(stateDir, "control.sock") }

// ErrDaemonShuttingDown is the cause of a remote call's error when the
// daemon was stopping: the call was refused, or (a workload) cut short.
var ErrDaemonShuttingDown = errors.New("tcmsh serve is shutting down")

// handshakeTimeout bounds connecting and reading the daemon's greeting: a
// daemon that accepts but never greets is wedged, and the shell should say
// so instead of hanging at start-up.
const handshakeTimeout = 5 * time.Second

// Remote is an Engine served by a `tcmsh serve` daemon, reached over its
// control socket. It is safe for concurrent use: calls share one
// connection and run concurrently in the daemon.
//
// If the connection is lost (the daemon restarted), calls in flight fail
// and the next call dials again.
type Remote struct {
	socketPath string
	subtypes   []string // the daemon's, read once at Dial: they are fixed at its build

	mu     sync.Mutex
	conn   *remoteConn // nil after a lost connection, until the next call
	nextID uint64
	closed bool
}

var _ Engine = (*Remote)(nil)

// Dial connects to the `tcmsh serve` daemon listening at socketPath
// (DefaultSocket when empty) and returns an Engine that forwards every call
// to it. The error says why when no daemon answers there, when the daemon
// refuses this user, or when it speaks another protocol version.
//
// Close the returned engine to hang up; the daemon's devices stay served.
func Dial(socketPath string) (Engine, error) {
	r, err := dialRemote(socketPath)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func dialRemote(socketPath string) (*Remote, error) {
	if socketPath == "" {
		socketPath = DefaultSocket
	}
	r := &Remote{socketPath: socketPath}
	c, err := r.dial()
	if err != nil {
		return nil, err
	}
	r.conn = c
	var subtypes []string
	if err := r.call(context.Background(), control.MethodSubtypes, nil, &subtypes); err != nil {
		c.close(err)
		return nil, err
	}
	r.subtypes = subtypes
	return r, nil
}

// DaemonRunning reports whether a `tcmsh serve` daemon answers at
// socketPath (DefaultSocket when empty), even one that would refuse this
// user: either way the devices belong to it, and the shell should attach
// (Dial) rather than serve them itself.
func DaemonRunning(socketPath string) bool {
	if socketPath == "" {
		socketPath = DefaultSocket
	}
	conn, err := net.DialTimeout("unix", socketPath, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	sc := bufio.NewScanner(conn)
	if !sc.Scan() {
		return false
	}
	h, err := control.ReadHello(sc.Bytes())
	return err == nil || (h.Protocol == control.Protocol && h.Error != "")
}

// Subtypes lists the subtypes the daemon serves.
func (r *Remote) Subtypes() []string { return slices.Clone(r.subtypes) }

// Validate checks a dev_config in the daemon, whose backends are the ones
// that will serve it.
func (r *Remote) Validate(devConfig string, size int64) error {
	return r.call(context.Background(), control.MethodValidate, control.ValidateParams{DevConfig: devConfig, Size: size}, nil)
}

// Serve asks the daemon to serve a backstore; it stays served after this
// client hangs up.
func (r *Remote) Serve(ctx context.Context, configPath string) error {
	return r.call(ctx, control.MethodServe, control.PathParams{ConfigPath: configPath}, nil)
}

// Release asks the daemon to stop serving a backstore.
func (r *Remote) Release(ctx context.Context, configPath string) error {
	return r.call(ctx, control.MethodRelease, control.PathParams{ConfigPath: configPath}, nil)
}

// Stats returns the daemon's snapshot of every device it serves.
func (r *Remote) Stats(ctx context.Context) ([]DeviceStats, error) {
	var stats []DeviceStats
	err := r.call(ctx, control.MethodStats, nil, &stats)
	return stats, err
}

// Workload runs a workload in the daemon. Cancelling ctx cancels it there
// too; the result is whatever the daemon's engine returned for the
// cancelled run.
func (r *Remote) Workload(ctx context.Context, lunConfigPath string, spec WorkloadSpec) (WorkloadResult, error) {
	var res WorkloadResult
	rawSpec, err := json.Marshal(spec)
	if err != nil {
		return res, fmt.Errorf("workload spec: %w", err)
	}
	err = r.call(ctx, control.MethodWorkload, control.WorkloadParams{LUNConfigPath: lunConfigPath, Spec: rawSpec}, &res)
	return res, err
}

// InProcess is false: the daemon serves the devices, and they outlive this
// process.
func (r *Remote) InProcess() bool { return false }

// Close hangs up. It stops nothing in the daemon: its devices stay served,
// and requests of this client still running there are cancelled.
func (r *Remote) Close() error {
	r.mu.Lock()
	c := r.conn
	r.conn, r.closed = nil, true
	r.mu.Unlock()
	if c != nil {
		c.close(net.ErrClosed)
	}
	return nil
}

// SocketPath is the control socket this client talks to.
func (r *Remote) SocketPath() string { return r.socketPath }

// call sends one request and waits for its response, decoding the result
// into result (when not nil). If ctx ends first, the daemon is told to
// cancel the request and call waits for its answer, so that the caller
// sees what a local engine would have returned for a cancelled call.
func (r *Remote) call(ctx context.Context, method string, params, result any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var raw json.RawMessage
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("%s: encoding the request: %w", method, err)
		}
		raw = b
	}
	c, id, err := r.connection()
	if err != nil {
		return err
	}
	replies := c.register(id, result)
	defer c.unregister(id)
	if err := c.send(control.Request{ID: id, Method: method, Params: raw}); err != nil {
		return err
	}
	var resp reply
	select {
	case resp = <-replies:
	case <-c.readDone:
		return c.err
	case <-ctx.Done():
		cancel, _ := json.Marshal(control.CancelParams{ID: id})
		if err := c.send(control.Request{ID: r.newID(), Method: control.MethodCancel, Params: cancel}); err != nil {
			<-c.readDone // the reader must be done with result before the caller has it back
			return ctx.Err()
		}
		select {
		case resp = <-replies:
		case <-c.readDone:
			return ctx.Err()
		}
	}
	if resp.decodeErr != nil {
		return fmt.Errorf("%s: the daemon at %s sent an answer this tcmsh cannot read: %w", method, r.socketPath, resp.decodeErr)
	}
	if resp.err != nil {
		return remoteError(resp.err)
	}
	return nil
}

// connection returns the live connection, dialling again after a lost one,
// and a fresh request id.
func (r *Remote) connection() (*remoteConn, uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, 0, fmt.Errorf("tcmsh serve at %s: %w", r.socketPath, net.ErrClosed)
	}
	if r.conn != nil {
		select {
		case <-r.conn.done:
			r.conn = nil
		default:
		}
	}
	if r.conn == nil {
		c, err := r.dial()
		if err != nil {
			return nil, 0, err
		}
		r.conn = c
	}
	r.nextID++
	return r.conn, r.nextID, nil
}

func (r *Remote) newID() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	return r.nextID
}

// dial connects, reads the greeting and starts the reader.
func (r *Remote) dial() (*remoteConn, error) {
	conn, err := net.DialTimeout("unix", r.socketPath, handshakeTimeout)
	if err != nil {
		return nil, fmt.Errorf("no tcmsh serve daemon answers at %s (start it with `systemctl start tcmsh` or `tcmsh serve`): %w", r.socketPath, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(handshakeTimeout))
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 64<<10), control.MaxLine)
	if !sc.Scan() {
		conn.Close()
		err := sc.Err()
		if err == nil {
			err = errors.New("it hung up without a greeting")
		}
		return nil, fmt.Errorf("tcmsh serve at %s: %w", r.socketPath, err)
	}
	if _, err := control.ReadHello(sc.Bytes()); err != nil {
		conn.Close()
		return nil, fmt.Errorf("tcmsh serve at %s: %w", r.socketPath, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	c := &remoteConn{socketPath: r.socketPath, conn: conn, pending: make(map[uint64]pendingCall), done: make(chan struct{}), readDone: make(chan struct{})}
	go c.readLoop(sc)
	return c, nil
}

// remoteConn is one connection to the daemon and the calls waiting on it.
type remoteConn struct {
	socketPath string
	conn       net.Conn

	wmu sync.Mutex // one request line at a time

	mu      sync.Mutex
	pending map[uint64]pendingCall

	done     chan struct{} // closed when the connection is lost or closed
	readDone chan struct{} // closed when the reader has stopped (after done)
	doneOnce sync.Once
	err      error // why; set before done is closed
}

// pendingCall is a call waiting for its answer: where the answer goes,
// and what its result decodes into (nil: discard it).
type pendingCall struct {
	replies chan reply
	result  any
}

// reply is a decoded answer: the daemon's error, or why the answer could
// not be decoded (the result is already in the call's result value).
type reply struct {
	err       *control.Error
	decodeErr error
}

func (c *remoteConn) register(id uint64, result any) chan reply {
	ch := make(chan reply, 1)
	c.mu.Lock()
	c.pending[id] = pendingCall{replies: ch, result: result}
	c.mu.Unlock()
	return ch
}

func (c *remoteConn) unregister(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

func (c *remoteConn) send(req control.Request) error {
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%s: encoding the request: %w", req.Method, err)
	}
	line = append(line, '\n')
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.conn.Write(line); err != nil {
		err = fmt.Errorf("tcmsh serve at %s: sending %s: %w", c.socketPath, req.Method, err)
		c.close(err)
		return err
	}
	return nil
}

// readLoop hands each response to the call waiting for it, until the
// connection ends.
func (c *remoteConn) readLoop(sc *bufio.Scanner) {
	defer close(c.readDone)
	for sc.Scan() {
		line := sc.Bytes()
		// The daemon writes the id first (control.AppendResponse): find
		// the call from it, then decode the answer once, straight into
		// the call's result.
		id, ok := responseID(line)
		if !ok {
			var resp control.Response
			if err := json.Unmarshal(line, &resp); err != nil {
				c.close(fmt.Errorf("tcmsh serve at %s sent an unreadable response: %w", c.socketPath, err))
				return
			}
			id = resp.ID
		}
		c.mu.Lock()
		call, found := c.pending[id]
		delete(c.pending, id) // one answer per call: a duplicate must not write into a result the caller has back
		c.mu.Unlock()
		if !found {
			continue
		}
		var rep reply
		answer := struct {
			Result any            `json:"result"`
			Error  *control.Error `json:"error"`
		}{Result: call.result}
		if call.result == nil {
			answer.Result = new(json.RawMessage)
		}
		if err := json.Unmarshal(line, &answer); err != nil {
			rep.decodeErr = err
		}
		rep.err = answer.Error
		call.replies <- rep // buffered, and only this answer is ever sent
	}
	err := sc.Err()
	if err == nil {
		err = errors.New("the daemon hung up (stopped or restarted?)")
	}
	c.close(fmt.Errorf("connection to tcmsh serve at %s lost: %w", c.socketPath, err))
}

// responseID reads the id at the start of a response line, `{"id":N`.
func responseID(line []byte) (uint64, bool) {
	const prefix = `{"id":`
	if len(line) < len(prefix)+1 || string(line[:len(prefix)]) != prefix {
		return 0, false
	}
	var id uint64
	i := len(prefix)
	for ; i < len(line) && line[i] >= '0' && line[i] <= '9'; i++ {
		d := uint64(line[i] - '0')
		if id > (1<<64-1-d)/10 {
			return 0, false // overflows: let encoding/json say so
		}
		id = id*10 + d
	}
	if i == len(prefix) || i == len(line) || (line[i] != ',' && line[i] != '}') {
		return 0, false
	}
	return id, true
}

// close ends the connection once, recording why for the calls waiting.
func (c *remoteConn) close(err error) {
	c.doneOnce.Do(func() {
		c.err = err
		close(c.done)
		c.conn.Close()
	})
}

// remoteErr is an error the daemon's engine returned. Its text is the
// engine's, unchanged; Unwrap gives back the sentinel its code names, so
// that errors.Is(err, context.Canceled) holds as it would locally.
type remoteErr struct {
	msg   string
	cause error
}

func (e *remoteErr) Error() string { return e.msg }
func (e *remoteErr) Unwrap() error { return e.cause }

// remoteErrorCodes map the codes of the protocol to the sentinels they
// stand for, both ways (ErrorCode is the daemon's side).
var remoteErrorCodes = []struct {
	code string
	err  error
}{
	{control.CodeCanceled, context.Canceled},
	{control.CodeDeadlineExceeded, context.DeadlineExceeded},
	{control.CodeNotExist, fs.ErrNotExist},
	{control.CodePermission, fs.ErrPermission},
	{control.CodeBadRequest, control.ErrBadRequest},
	{control.CodeShuttingDown, ErrDaemonShuttingDown},
}

func remoteError(e *control.Error) error {
	re := &remoteErr{msg: e.Message}
	for _, c := range remoteErrorCodes {
		if c.code == e.Code {
			re.cause = c.err
		}
	}
	return re
}

// ErrorCode is the protocol's code for an engine error, "" for none of the
// well-known causes. The daemon puts it on the wire beside the message.
func ErrorCode(err error) string {
	for _, c := range remoteErrorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}
