// Package control is the wire protocol of the `tcmsh serve` control
// socket, shared by the daemon (package serve) and its client
// (engine.Dial). It carries every method of engine.Engine.
//
// The protocol is JSON lines over a unix stream socket. On accepting a
// connection the daemon writes one Hello line; if it refuses the peer, that
// line carries the reason in Error and the daemon hangs up. The client then
// writes Request lines and reads Response lines; requests on one connection
// run concurrently and their responses come back in completion order,
// matched by ID. A request is cancelled by a Cancel request naming its ID,
// or by the client closing the connection (which cancels every request of
// that connection, long-running workloads included). Devices a request
// started serving stay served: they belong to the daemon, not to the
// connection.
//
// The payloads of Request.Params and Response.Result are the JSON forms of
// the engine package's types; this package only frames them, so that it
// needs no import of engine (engine's client imports it).
package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Protocol names the protocol in Hello, so that a client that connects to
// some other socket by mistake says so instead of failing to decode.
const Protocol = "tcmsh-control"

// Version is the protocol version this build speaks. A change that an older
// peer would misread bumps it; adding a method or an optional field does
// not (unknown fields are ignored, unknown methods answer an error).
const Version = 1

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/tcmsh/control.sock"

// MaxLine bounds one request or response line. A Stats response of many
// devices with their recent-command logs stays far below it; the bound
// exists so that a peer cannot make the other side buffer without limit.
const MaxLine = 16 << 20

// Methods, one per engine.Engine method (Close excepted: a client closing
// its connection does not stop the daemon's devices) plus Cancel.
const (
	MethodSubtypes = "subtypes" // no params; result []string
	MethodValidate = "validate" // ValidateParams; no result
	MethodServe    = "serve"    // PathParams; no result
	MethodRelease  = "release"  // PathParams; no result
	MethodStats    = "stats"    // no params; result []engine.DeviceStats
	MethodWorkload = "workload" // WorkloadParams; result engine.WorkloadResult
	MethodCancel   = "cancel"   // CancelParams; no response
)

// methods lists the methods a request may name.
var methods = map[string]bool{
	MethodSubtypes: true, MethodValidate: true, MethodServe: true, MethodRelease: true,
	MethodStats: true, MethodWorkload: true, MethodCancel: true,
}

// Hello is the daemon's first line on every connection.
type Hello struct {
	Protocol string `json:"protocol"`
	Version  int    `json:"version"`
	// Daemon is the daemon's build version, for diagnostics only.
	Daemon string `json:"daemon,omitempty"`
	PID    int    `json:"pid,omitempty"`
	// Error, when set, is why the daemon refuses this connection (a peer
	// uid that is not allowed, a daemon shutting down); it hangs up next.
	Error string `json:"error,omitempty"`
}

// Request is one call.
type Request struct {
	// ID is chosen by the client, unique among its requests in flight on
	// the connection, and never 0.
	ID     uint64          `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Response answers the Request with the same ID: Error set, or Result
// (absent for methods without a result).
type Response struct {
	ID     uint64          `json:"id"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// Error is a failed call. Message is the engine's error text, unchanged,
// so that the shell prints the same words whether the engine runs in the
// daemon or in the shell. Code, when set, names a well-known cause the
// client turns back into a sentinel error (errors.Is keeps working).
type Error struct {
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
}

// Error codes.
const (
	CodeCanceled         = "canceled"          // context.Canceled
	CodeDeadlineExceeded = "deadline_exceeded" // context.DeadlineExceeded
	CodeNotExist         = "not_exist"         // fs.ErrNotExist
	CodePermission       = "permission"        // fs.ErrPermission
	CodeBadRequest       = "bad_request"       // the request itself was malformed
	CodeShuttingDown     = "shutting_down"     // the daemon is stopping
)

// ValidateParams are Validate's arguments.
type ValidateParams struct {
	DevConfig string `json:"dev_config"`
	Size      int64  `json:"size"`
}

// PathParams name a backstore by its configfs path (Serve, Release).
type PathParams struct {
	ConfigPath string `json:"configfs"`
}

// WorkloadParams are Workload's arguments; Spec is an engine.WorkloadSpec.
type WorkloadParams struct {
	LUNConfigPath string          `json:"lun_configfs"`
	Spec          json.RawMessage `json:"spec"`
}

// CancelParams name the request to cancel.
type CancelParams struct {
	ID uint64 `json:"id"`
}

// ErrBadRequest is the cause of every DecodeRequest error.
var ErrBadRequest = errors.New("bad control request")

// DecodeRequest parses one request line and checks what can be checked
// without knowing the method's parameter types: an ID, a known method,
// params that are a JSON object when present. It never panics, whatever
// the input.
func DecodeRequest(line []byte) (Request, error) {
	var req Request
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return req, fmt.Errorf("%w: empty line", ErrBadRequest)
	}
	if len(line) > MaxLine {
		return req, fmt.Errorf("%w: line of %d bytes exceeds the limit of %d", ErrBadRequest, len(line), MaxLine)
	}
	if err := json.Unmarshal(line, &req); err != nil {
		return Request{}, fmt.Errorf("%w: not a JSON request object: %w", ErrBadRequest, err)
	}
	if req.ID == 0 {
		return req, fmt.Errorf("%w: missing request id (it must be a positive integer)", ErrBadRequest)
	}
	if !methods[req.Method] {
		return req, fmt.Errorf("%w: unknown method %q (this daemon speaks protocol version %d)", ErrBadRequest, req.Method, Version)
	}
	if p := bytes.TrimSpace(req.Params); len(p) > 0 && !bytes.Equal(p, []byte("null")) && p[0] != '{' {
		return req, fmt.Errorf("%w: %s: params must be a JSON object", ErrBadRequest, req.Method)
	}
	return req, nil
}

// DecodeParams decodes a request's params into v; absent params leave v
// at its zero value.
func DecodeParams(req Request, v any) error {
	if len(bytes.TrimSpace(req.Params)) == 0 {
		return nil
	}
	if err := json.Unmarshal(req.Params, v); err != nil {
		return fmt.Errorf("%w: %s params: %w", ErrBadRequest, req.Method, err)
	}
	return nil
}

// ReadHello reads the daemon's greeting from a fresh connection and checks
// that it speaks this protocol at a version this build understands. A
// refusal (Hello.Error) is returned as the Hello and an error carrying the
// daemon's reason.
func ReadHello(line []byte) (Hello, error) {
	var h Hello
	if err := json.Unmarshal(bytes.TrimSpace(line), &h); err != nil {
		return h, fmt.Errorf("not a tcmsh control socket (unreadable greeting): %w", err)
	}
	if h.Protocol != Protocol {
		return h, fmt.Errorf("not a tcmsh control socket (greeting names protocol %q)", h.Protocol)
	}
	if h.Error != "" {
		return h, fmt.Errorf("the daemon refused the connection: %s", h.Error)
	}
	if h.Version != Version {
		return h, fmt.Errorf("the daemon speaks control protocol version %d and this tcmsh speaks %d: run the same tcmsh version as the daemon (its build is %q)", h.Version, Version, h.Daemon)
	}
	return h, nil
}

// AppendResponse appends resp as one line. Result must be valid JSON (the
// output of json.Marshal): it is copied as is, where json.Marshal of a
// Response would scan and compact it again — for a Stats answer, most of
// the daemon's encoding work. The id comes first, so that a reader can
// route the line before decoding the rest.
func AppendResponse(dst []byte, resp Response) ([]byte, error) {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, resp.ID, 10)
	if len(resp.Result) > 0 {
		dst = append(dst, `,"result":`...)
		dst = append(dst, resp.Result...)
	}
	if resp.Error != nil {
		e, err := json.Marshal(resp.Error)
		if err != nil {
			return dst, err
		}
		dst = append(dst, `,"error":`...)
		dst = append(dst, e...)
	}
	return append(dst, '}', '\n'), nil
}
