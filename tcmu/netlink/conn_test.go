package netlink

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	nl "github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

var testFamily = genetlink.Family{
	ID: 0x1d, Version: Version, Name: FamilyName,
	Groups: []genetlink.MulticastGroup{{ID: 7, Name: GroupName}},
}

// fakeKernel answers requests on the request connection and records them.
type fakeKernel struct {
	mu    sync.Mutex
	reqs  []genetlink.Message
	flags []nl.HeaderFlags
	errno int // answer every request with this errno when non-zero
}

func (k *fakeKernel) conn(t *testing.T) *Conn {
	t.Helper()
	gc := genltest.Dial(genltest.ServeFamily(testFamily, func(greq genetlink.Message, nreq nl.Message) ([]genetlink.Message, error) {
		if nreq.Header.Length == 0 {
			return nil, io.EOF // nothing more to receive
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		k.reqs = append(k.reqs, greq)
		k.flags = append(k.flags, nreq.Header.Flags)
		if nreq.Header.Type != nl.HeaderType(testFamily.ID) {
			return nil, genltest.Error(int(syscall.EINVAL))
		}
		if k.errno != 0 {
			return nil, genltest.Error(k.errno)
		}
		return []genetlink.Message{greq}, nil
	}))
	c, err := NewConn(gc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (k *fakeKernel) requests() []genetlink.Message {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]genetlink.Message(nil), k.reqs...)
}

// attrMap decodes a request's attributes.
func attrMap(t *testing.T, m genetlink.Message) map[uint16][]byte {
	t.Helper()
	as, err := nl.UnmarshalAttributes(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint16][]byte{}
	for _, a := range as {
		out[a.Type] = a.Data
	}
	return out
}

func TestFamilyAbsent(t *testing.T) {
	gc := genltest.Dial(func(genetlink.Message, nl.Message) ([]genetlink.Message, error) {
		return nil, genltest.Error(int(syscall.ENOENT))
	})
	_, err := NewConn(gc)
	if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("err = %v, want os.ErrNotExist and ErrNotLoaded", err)
	}
	if !strings.Contains(err.Error(), "target_core_user is not loaded") {
		t.Errorf("message %q", err)
	}
}

func TestReplyAndSetFeatures(t *testing.T) {
	k := &fakeKernel{}
	c := k.conn(t)
	if c.Family().ID != testFamily.ID {
		t.Fatalf("family %+v", c.Family())
	}
	ev := Event{Command: CmdRemovedDevice, Device: "tcm-user/0/d/ram", Minor: 1, DeviceID: 4, HasDeviceID: true}
	if err := c.Reply(ev, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.SetFeatures(true); err != nil {
		t.Fatal(err)
	}
	if err := c.SetFeatures(false); err != nil {
		t.Fatal(err)
	}
	reqs := k.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, f := range k.flags {
		if f != nl.Request|nl.Acknowledge {
			t.Errorf("request %d flags %v, want request|ack", i, f)
		}
	}
	if Command(reqs[0].Header.Command) != CmdRemovedDeviceDone || reqs[0].Header.Version != Version {
		t.Errorf("reply header %+v", reqs[0].Header)
	}
	a := attrMap(t, reqs[0])
	if len(a[AttrCmdStatus]) != 4 || a[AttrDeviceID][0] != 4 {
		t.Errorf("reply attrs %v", a)
	}
	for i, want := range []byte{1, 0} {
		m := reqs[1+i]
		if Command(m.Header.Command) != CmdSetFeatures {
			t.Errorf("features header %+v", m.Header)
		}
		if a := attrMap(t, m); len(a[AttrSuppKernCmdReply]) != 1 || a[AttrSuppKernCmdReply][0] != want {
			t.Errorf("SetFeatures: attrs %v, want SUPP_KERN_CMD_REPLY=%d", a, want)
		}
	}
}

func TestReplyRefused(t *testing.T) {
	k := &fakeKernel{errno: int(syscall.EPERM)}
	c := k.conn(t)
	err := c.Reply(Event{Command: CmdAddedDevice, Device: "tcm-user/0/d/ram", DeviceID: 1, HasDeviceID: true}, 0)
	if !errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), "CAP_NET_ADMIN") || !strings.Contains(err.Error(), "tcm-user/0/d/ram") {
		t.Fatalf("err = %v", err)
	}
	if err := c.SetFeatures(true); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("SetFeatures err = %v", err)
	}
}

// eventSource scripts the kernel's multicast messages on an nltest
// connection: each Receive gets the next batch.
type eventSource struct {
	batches chan []nl.Message
	stop    chan struct{}
}

func newEventSource() *eventSource {
	return &eventSource{batches: make(chan []nl.Message, 16), stop: make(chan struct{})}
}

func (s *eventSource) conn() *nl.Conn {
	return nltest.Dial(func(req []nl.Message) ([]nl.Message, error) {
		if len(req) > 0 {
			return nil, errors.New("unexpected request on the events connection")
		}
		select {
		case b := <-s.batches:
			if len(b) == 1 && b[0].Header.Type == 0 {
				return nil, syscall.ENOBUFS
			}
			return b, nil
		case <-s.stop:
			return nil, io.EOF
		}
	})
}

// kernelMsg wraps a generic netlink message as the kernel multicasts it.
func kernelMsg(t *testing.T, family uint16, pid uint32, m genetlink.Message) nl.Message {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return nl.Message{Header: nl.Header{Type: nl.HeaderType(family), PID: pid}, Data: b}
}

func TestListener(t *testing.T) {
	src := newEventSource()
	k := &fakeKernel{}
	var mu sync.Mutex
	var got []Event
	var problems []error
	l := newListener(src.conn(), testFamily, k.conn(t), Config{
		Handler: func(ev Event) error {
			mu.Lock()
			got = append(got, ev)
			mu.Unlock()
			if ev.Command == CmdAddedDevice && strings.HasSuffix(ev.Device, "/nohandler") {
				return syscall.ENOENT
			}
			return nil
		},
		Reply: ReplyAlways,
		Errors: func(err error) {
			mu.Lock()
			problems = append(problems, err)
			mu.Unlock()
		},
	})

	added := msg(CmdAddedDevice, attrs(t, base("tcm-user/0/a/ram", 0, 10)))
	other := msg(CmdAddedDevice, attrs(t, base("tcm-user/0/b/nohandler", 1, 11)))
	garbled := msg(CmdAddedDevice, attrs(t, func(ae *nl.AttributeEncoder) {
		ae.String(AttrDevice, "tcm-user/0/c/ram")
		ae.Uint8(AttrMinor, 2)
		ae.Uint32(AttrDeviceID, 12)
	}))
	reconfig := msg(CmdReconfigDevice, attrs(t, func(ae *nl.AttributeEncoder) {
		base("tcm-user/0/a/ram", 0, 10)(ae)
		ae.Uint64(AttrDevSize, 4096)
	}))
	removed := msg(CmdRemovedDevice, attrs(t, base("tcm-user/0/a/ram", 0, 10)))

	src.batches <- []nl.Message{kernelMsg(t, testFamily.ID, 0, added), kernelMsg(t, testFamily.ID, 0, other)}
	src.batches <- []nl.Message{
		kernelMsg(t, testFamily.ID, 4242, removed), // not from the kernel
		kernelMsg(t, testFamily.ID+1, 0, removed),  // not our family
		kernelMsg(t, testFamily.ID, 0, garbled),
		{Header: nl.Header{Type: nl.HeaderType(testFamily.ID)}, Data: []byte{1, 2}}, // no genl header
	}
	src.batches <- []nl.Message{{}} // ENOBUFS
	src.batches <- []nl.Message{kernelMsg(t, testFamily.ID, 0, reconfig), kernelMsg(t, testFamily.ID, 0, removed)}

	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handled %d events", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.Close()
	close(src.stop)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}

	mu.Lock()
	defer mu.Unlock()
	wantCmds := []Command{CmdAddedDevice, CmdAddedDevice, CmdReconfigDevice, CmdRemovedDevice}
	for i, ev := range got {
		if ev.Command != wantCmds[i] {
			t.Errorf("event %d: %v, want %v", i, ev.Command, wantCmds[i])
		}
	}
	if got[2].Change != ChangeDevSize || got[2].DevSize != 4096 {
		t.Errorf("reconfig event %+v", got[2])
	}

	// Replies: one per event, in order, with the handler's status; the
	// garbled event (it has a DEVICE_ID) is answered with EINVAL.
	type reply struct {
		cmd    Command
		id     uint32
		status int32
	}
	var replies []reply
	for _, r := range k.requests() {
		a := attrMap(t, r)
		replies = append(replies, reply{Command(r.Header.Command),
			nlUint32(a[AttrDeviceID]), int32(nlUint32(a[AttrCmdStatus]))})
	}
	want := []reply{
		{CmdAddedDeviceDone, 10, 0},
		{CmdAddedDeviceDone, 11, -int32(syscall.ENOENT)},
		{CmdAddedDeviceDone, 12, -int32(syscall.EINVAL)},
		{CmdReconfigDeviceDone, 10, 0},
		{CmdRemovedDeviceDone, 10, 0},
	}
	if len(replies) != len(want) {
		t.Fatalf("replies %+v, want %+v", replies, want)
	}
	for i := range want {
		if replies[i] != want[i] {
			t.Errorf("reply %d = %+v, want %+v", i, replies[i], want[i])
		}
	}

	// Problems: spoofed sender, foreign family, garbled MINOR, no genl
	// header, lost events.
	if len(problems) != 5 {
		t.Fatalf("problems: %v", problems)
	}
	for i, want := range []string{"port 4242", "not the TCM-USER family", "MINOR (2)", "decode", "events were lost"} {
		if !strings.Contains(problems[i].Error(), want) {
			t.Errorf("problem %d = %v, want it to mention %q", i, problems[i], want)
		}
	}
	if !errors.Is(problems[4], ErrEventsLost) || !errors.Is(problems[4], syscall.ENOBUFS) {
		t.Errorf("lost events error %v", problems[4])
	}
}

func nlUint32(b []byte) uint32 {
	if len(b) != 4 {
		return 0xffffffff
	}
	return binary.NativeEndian.Uint32(b)
}

func TestListenerNeverRepliesByDefault(t *testing.T) {
	src := newEventSource()
	k := &fakeKernel{}
	handled := make(chan Event, 4)
	l := newListener(src.conn(), testFamily, k.conn(t), Config{
		Handler: func(ev Event) error { handled <- ev; return nil },
	})
	src.batches <- []nl.Message{kernelMsg(t, testFamily.ID, 0, msg(CmdAddedDevice, attrs(t, base("tcm-user/0/a/ram", 0, 10))))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	select {
	case <-handled:
	case <-time.After(5 * time.Second):
		t.Fatal("event not handled")
	}
	cancel()
	close(src.stop)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if n := len(k.requests()); n != 0 {
		t.Fatalf("%d requests sent with no reply policy", n)
	}
}

func TestListenerReceiveFailure(t *testing.T) {
	events := nltest.Dial(func([]nl.Message) ([]nl.Message, error) { return nil, syscall.EBADF })
	l := newListener(events, testFamily, (&fakeKernel{}).conn(t), Config{Handler: func(Event) error { return nil }})
	err := l.Run(context.Background())
	if !errors.Is(err, syscall.EBADF) {
		t.Fatalf("Run = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestListenNeedsHandler(t *testing.T) {
	if _, err := Listen(Config{}); err == nil {
		t.Fatal("Listen without a handler succeeded")
	}
}
