package netlink

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/mdlayher/genetlink"
	nl "github.com/mdlayher/netlink"
)

// FuzzDecode feeds arbitrary bytes to the decoder as a buffer of netlink
// messages (what one receive returns), both through the listener's path
// (header checks, generic netlink header, attributes) and straight to
// Decode as a generic netlink message. Nothing may panic; whatever decodes
// must be answerable or be refused cleanly.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var gm genetlink.Message
		if gm.UnmarshalBinary(b) == nil {
			check(t, gm)
		}
		for len(b) >= 16 {
			n := int(binary.NativeEndian.Uint32(b))
			if n < 16 || n > len(b) {
				break
			}
			aligned := (n + 3) &^ 3
			if aligned > len(b) {
				aligned = len(b)
			}
			var m nl.Message
			if m.UnmarshalBinary(b[:aligned]) == nil {
				// As the kernel's family, and as a stranger's.
				if ev, err := decodeNetlink(m, uint16(m.Header.Type)); err == nil {
					checkEvent(t, ev)
				}
				decodeNetlink(m, uint16(m.Header.Type)+1)
			}
			b = b[aligned:]
		}
	})
}

func check(t *testing.T, m genetlink.Message) {
	ev, err := Decode(m)
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownCommand) {
			t.Fatalf("Decode error of an unexpected kind: %v", err)
		}
		return
	}
	checkEvent(t, ev)
}

func checkEvent(t *testing.T, ev Event) {
	if ev.Command.Done() == 0 {
		t.Fatalf("decoded a non-event: %+v", ev)
	}
	if ev.Change != ChangeNone && ev.Command != CmdReconfigDevice {
		t.Fatalf("a change outside RECONFIG_DEVICE: %+v", ev)
	}
	_ = ev.String()
	m, err := DoneMessage(ev, -5)
	if ev.HasDeviceID != (err == nil) {
		t.Fatalf("DoneMessage(%+v) = %v", ev, err)
	}
	if err == nil && Command(m.Header.Command) != ev.Command.Done() {
		t.Fatalf("reply %v to %v", Command(m.Header.Command), ev.Command)
	}
}
