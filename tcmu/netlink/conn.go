package netlink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	nl "github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Conn is a request connection to the TCM-USER family: it sends *_DONE
// replies and SET_FEATURES and waits for the kernel's acknowledgement. Its
// methods are safe for concurrent use (requests are serialised).
type Conn struct {
	c      *genetlink.Conn
	family genetlink.Family
}

// Dial opens a request connection and looks the family up. When
// target_core_user is not loaded the error wraps both ErrNotLoaded and
// os.ErrNotExist.
func Dial() (*Conn, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, &Error{Op: "dial", Err: err, Hint: "generic netlink is not available"}
	}
	conn, err := NewConn(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return conn, nil
}

// NewConn looks the family up on an existing generic netlink connection
// (tests pass one from genltest) and takes ownership of c.
func NewConn(c *genetlink.Conn) (*Conn, error) {
	fam, err := lookupFamily(c)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, family: fam}, nil
}

// lookupFamily resolves TCM-USER, turning "no such family" into the
// message tcmsh shows.
func lookupFamily(c *genetlink.Conn) (fam genetlink.Family, err error) {
	defer func() {
		// genetlink panics when the kernel answers with several
		// families; no kernel answer may crash tcmsh.
		if r := recover(); r != nil {
			err = &Error{Op: "get family " + FamilyName, Err: fmt.Errorf("%w: unexpected answer: %v", ErrMalformed, r)}
		}
	}()
	fam, err = c.GetFamily(FamilyName)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fam, &Error{Op: "get family " + FamilyName, Err: fmt.Errorf("%w (%w)", ErrNotLoaded, err),
				Hint: "load it with `modprobe target_core_user`; without it tcmsh can only scan existing devices"}
		}
		return fam, &Error{Op: "get family " + FamilyName, Err: err}
	}
	return fam, nil
}

// Family returns the family as the kernel described it (ID, version,
// multicast groups).
func (c *Conn) Family() genetlink.Family { return c.family }

// Reply answers ev with its *_DONE message carrying status (see Status)
// and waits for the kernel's acknowledgement. The kernel refuses with
// EPERM without CAP_NET_ADMIN, and with ENODEV or EINVAL when it was not
// waiting for this reply (reply mode off, or answered already).
func (c *Conn) Reply(ev Event, status int32) error {
	m, err := DoneMessage(ev, status)
	if err != nil {
		return err
	}
	if _, err := c.c.Execute(m, c.family.ID, nl.Request|nl.Acknowledge); err != nil {
		e := &Error{Op: "reply to " + ev.Command.String() + " of " + ev.Device, Err: err}
		if errors.Is(err, syscall.EPERM) {
			e.Hint = "replies need CAP_NET_ADMIN"
		}
		return e
	}
	return nil
}

// SetFeatures sends SET_FEATURES{SUPP_KERN_CMD_REPLY}. reply=true switches
// the module into reply mode: from then on every enable, removal and
// reconfiguration of a device whose nl_reply_supported is not -1 blocks
// until some process answers with *_DONE, with no timeout, even if no one
// listens (tcmu-runner does this at start). reply=false switches the
// module back for devices enabled afterwards; devices enabled while the
// mode was on keep waiting for replies. Call it only when the user asks.
func (c *Conn) SetFeatures(reply bool) error {
	m, err := featuresMessage(reply)
	if err != nil {
		return &Error{Op: "set features", Err: err}
	}
	if _, err := c.c.Execute(m, c.family.ID, nl.Request|nl.Acknowledge); err != nil {
		e := &Error{Op: "set features", Err: err}
		if errors.Is(err, syscall.EPERM) {
			e.Hint = "needs CAP_NET_ADMIN"
		}
		return e
	}
	return nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// ReplyPolicy decides whether the Listener answers an event with *_DONE.
// The kernel's reply mode cannot be queried, so the caller supplies what it
// knows:
//
//   - nil (the default): never answer. Right when tcmsh never turned the
//     mode on, and for devices tcmsh creates (it sets nl_reply_supported=-1
//     before enable, so they never wait).
//   - ReplyAlways: answer everything. Right when this process turned the
//     mode on with SetFeatures(true), or the user says it is on and no other
//     handler runs.
//   - a function that answers while no tcmu-runner is running (for example
//     built on uio.FindRunners): tcmu-runner turns the mode on at start and
//     answers events itself; once it has gone the mode stays on and enable
//     writes hang, so tcmsh answers in its place. Answering while the mode
//     is off costs only a refused reply (reported to Config.Errors).
//
// A policy is called from the Listener's goroutine, one event at a time.
type ReplyPolicy func(Event) bool

// ReplyAlways answers every event.
func ReplyAlways(Event) bool { return true }

// Config configures a Listener.
type Config struct {
	// Handler is called for each event, in the kernel's order, from the
	// Listener's goroutine. When the event is answered, its error becomes
	// the reply status (see Status): an error for ADDED_DEVICE makes the
	// kernel fail the enable write. Required.
	Handler func(Event) error
	// Reply decides which events are answered; nil answers none.
	Reply ReplyPolicy
	// Errors, when set, receives the problems that do not stop the
	// Listener: malformed messages, lost events (ErrEventsLost) and failed
	// replies. It is called from the Listener's goroutine.
	Errors func(error)
}

// Listener receives TCM-USER events on one connection (joined to the
// "config" group) and sends replies on a second one, so that a reply is
// never queued behind a blocked receive. Run and Close may be called from
// different goroutines.
type Listener struct {
	events *nl.Conn
	family genetlink.Family
	req    *Conn
	cfg    Config

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Listen dials both connections, looks the family up and joins its
// "config" group. When target_core_user is not loaded the error wraps
// ErrNotLoaded and os.ErrNotExist; the caller can go on by scanning.
func Listen(cfg Config) (*Listener, error) {
	if cfg.Handler == nil {
		return nil, &Error{Op: "listen", Err: errors.New("no Handler")}
	}
	events, err := nl.Dial(unix.NETLINK_GENERIC, nil)
	if err != nil {
		return nil, &Error{Op: "dial", Err: err, Hint: "generic netlink is not available"}
	}
	fam, err := lookupFamily(genetlink.NewConn(events))
	if err != nil {
		events.Close()
		return nil, err
	}
	var group *genetlink.MulticastGroup
	for i := range fam.Groups {
		if fam.Groups[i].Name == GroupName {
			group = &fam.Groups[i]
		}
	}
	if group == nil {
		events.Close()
		return nil, &Error{Op: "join group", Err: fmt.Errorf("family %s has no %q multicast group", FamilyName, GroupName)}
	}
	if err := events.JoinGroup(group.ID); err != nil {
		events.Close()
		return nil, &Error{Op: "join group " + GroupName, Err: err}
	}
	req, err := Dial()
	if err != nil {
		events.Close()
		return nil, err
	}
	return newListener(events, fam, req, cfg), nil
}

// newListener assembles a Listener from connections already set up; tests
// pass nltest connections here.
func newListener(events *nl.Conn, fam genetlink.Family, req *Conn, cfg Config) *Listener {
	return &Listener{events: events, family: fam, req: req, cfg: cfg}
}

// Run receives and handles events until ctx is done or Close is called
// (both return nil) or receiving fails for good (that error). Call it from
// one goroutine.
func (l *Listener) Run(ctx context.Context) error {
	if l.cfg.Handler == nil {
		return &Error{Op: "listen", Err: errors.New("no Handler")}
	}
	stop := context.AfterFunc(ctx, func() {
		// Interrupt a blocked receive; a connection without deadlines
		// is closed instead.
		if err := l.events.SetReadDeadline(time.Unix(1, 0)); err != nil {
			l.Close()
		}
	})
	defer stop()
	for {
		if l.closed.Load() || ctx.Err() != nil {
			return nil
		}
		msgs, err := l.events.Receive()
		if err != nil {
			if l.closed.Load() || ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, syscall.ENOBUFS) {
				l.report(&Error{Op: "receive", Err: fmt.Errorf("%w (%w)", ErrEventsLost, err),
					Hint: "rescan /sys/class/uio to learn the current devices"})
				continue
			}
			return &Error{Op: "receive", Err: err}
		}
		for _, m := range msgs {
			l.handle(m)
		}
	}
}

// handle decodes, handles and (by policy) answers one message.
func (l *Listener) handle(m nl.Message) {
	ev, err := decodeNetlink(m, l.family.ID)
	if err != nil {
		l.report(err)
		// The kernel may be waiting on a message it sent, however
		// garbled: answer what can be answered, with EINVAL.
		if ev.Command.Done() != 0 && ev.HasDeviceID && l.cfg.Reply != nil && l.cfg.Reply(ev) {
			if rerr := l.req.Reply(ev, -int32(syscall.EINVAL)); rerr != nil {
				l.report(rerr)
			}
		}
		return
	}
	status := Status(l.cfg.Handler(ev))
	if l.cfg.Reply == nil || !l.cfg.Reply(ev) {
		return
	}
	if err := l.req.Reply(ev, status); err != nil {
		l.report(err)
	}
}

func (l *Listener) report(err error) {
	if l.cfg.Errors != nil {
		l.cfg.Errors(err)
	}
}

// Requests returns the request connection (for SetFeatures). It is closed
// with the Listener.
func (l *Listener) Requests() *Conn { return l.req }

// Close closes both connections; a Run in progress returns nil. Close is
// idempotent and safe for concurrent use.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		l.closeErr = errors.Join(l.events.Close(), l.req.Close())
	})
	return l.closeErr
}
