package netlink

import (
	"encoding/binary"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/mdlayher/genetlink"
	nl "github.com/mdlayher/netlink"
)

// attrs encodes attributes the way the kernel's nla_put_* does.
func attrs(t testing.TB, fn func(ae *nl.AttributeEncoder)) []byte {
	t.Helper()
	ae := nl.NewAttributeEncoder()
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// base adds what tcmu_netlink_event_init puts in every event.
func base(name string, minor, id uint32) func(ae *nl.AttributeEncoder) {
	return func(ae *nl.AttributeEncoder) {
		ae.String(AttrDevice, name)
		ae.Uint32(AttrMinor, minor)
		ae.Uint32(AttrDeviceID, id)
	}
}

func msg(cmd Command, data []byte) genetlink.Message {
	return genetlink.Message{Header: genetlink.Header{Command: uint8(cmd), Version: Version}, Data: data}
}

func TestDecode(t *testing.T) {
	const name = "tcm-user/0/disk/file//var/lib/d.img"
	for _, tc := range []struct {
		what string
		m    genetlink.Message
		want Event
	}{
		{"added", msg(CmdAddedDevice, attrs(t, base(name, 3, 17))),
			Event{Command: CmdAddedDevice, Version: 2, Device: name, Minor: 3, DeviceID: 17, HasDeviceID: true}},
		{"removed", msg(CmdRemovedDevice, attrs(t, base(name, 3, 17))),
			Event{Command: CmdRemovedDevice, Version: 2, Device: name, Minor: 3, DeviceID: 17, HasDeviceID: true}},
		{"reconfig dev_config", msg(CmdReconfigDevice, attrs(t, func(ae *nl.AttributeEncoder) {
			base(name, 3, 17)(ae)
			ae.String(AttrDevCfg, "file//var/lib/e.img")
		})), Event{Command: CmdReconfigDevice, Version: 2, Device: name, Minor: 3, DeviceID: 17, HasDeviceID: true,
			Change: ChangeDevConfig, DevConfig: "file//var/lib/e.img"}},
		{"reconfig dev_size with PAD", msg(CmdReconfigDevice, attrs(t, func(ae *nl.AttributeEncoder) {
			base(name, 3, 17)(ae)
			ae.Bytes(AttrPad, nil) // nla_put_u64_64bit's alignment pad
			ae.Uint64(AttrDevSize, 1<<40)
		})), Event{Command: CmdReconfigDevice, Version: 2, Device: name, Minor: 3, DeviceID: 17, HasDeviceID: true,
			Change: ChangeDevSize, DevSize: 1 << 40}},
		{"reconfig write cache", msg(CmdReconfigDevice, attrs(t, func(ae *nl.AttributeEncoder) {
			base(name, 3, 17)(ae)
			ae.Uint8(AttrWriteCache, 1)
		})), Event{Command: CmdReconfigDevice, Version: 2, Device: name, Minor: 3, DeviceID: 17, HasDeviceID: true,
			Change: ChangeWriteCache, WriteCache: true}},
		{"reconfig of something new", msg(CmdReconfigDevice, attrs(t, base(name, 3, 17))),
			Event{Command: CmdReconfigDevice, Version: 2, Device: name, Minor: 3, DeviceID: 17, HasDeviceID: true}},
		{"unknown attributes ignored", msg(CmdAddedDevice, attrs(t, func(ae *nl.AttributeEncoder) {
			ae.Bytes(42, []byte{1, 2, 3})
			base(name, 3, 17)(ae)
			ae.Uint64(99, 7)
			ae.String(AttrDevCfg, "ignored outside reconfig")
		})), Event{Command: CmdAddedDevice, Version: 2, Device: name, Minor: 3, DeviceID: 17, HasDeviceID: true}},
		{"version 1 without DEVICE_ID", genetlink.Message{Header: genetlink.Header{Command: 1, Version: 1},
			Data: attrs(t, func(ae *nl.AttributeEncoder) { ae.String(AttrDevice, "tcm-user/1/a"); ae.Uint32(AttrMinor, 0) })},
			Event{Command: CmdAddedDevice, Version: 1, Device: "tcm-user/1/a"}},
	} {
		got, err := Decode(tc.m)
		if err != nil {
			t.Errorf("%s: %v", tc.what, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.what, got, tc.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	const name = "tcm-user/0/d/ram"
	for _, tc := range []struct {
		what string
		m    genetlink.Message
		is   error
		want string
	}{
		{"short MINOR", msg(CmdAddedDevice, attrs(t, func(ae *nl.AttributeEncoder) {
			ae.String(AttrDevice, name)
			ae.Uint16(AttrMinor, 3)
			ae.Uint32(AttrDeviceID, 9)
		})), ErrMalformed, "MINOR (2) has 2 bytes, want 4"},
		{"long DEVICE_ID", msg(CmdRemovedDevice, attrs(t, func(ae *nl.AttributeEncoder) {
			ae.String(AttrDevice, name)
			ae.Uint32(AttrMinor, 3)
			ae.Uint64(AttrDeviceID, 9)
		})), ErrMalformed, "DEVICE_ID (8) has 8 bytes"},
		{"short DEV_SIZE", msg(CmdReconfigDevice, attrs(t, func(ae *nl.AttributeEncoder) {
			base(name, 3, 9)(ae)
			ae.Uint32(AttrDevSize, 9)
		})), ErrMalformed, "DEV_SIZE (5)"},
		{"wide WRITECACHE", msg(CmdReconfigDevice, attrs(t, func(ae *nl.AttributeEncoder) {
			base(name, 3, 9)(ae)
			ae.Uint32(AttrWriteCache, 1)
		})), ErrMalformed, "WRITECACHE (6)"},
		{"no DEVICE", msg(CmdAddedDevice, attrs(t, func(ae *nl.AttributeEncoder) { ae.Uint32(AttrMinor, 1) })),
			ErrMalformed, "no DEVICE"},
		{"no MINOR", msg(CmdAddedDevice, attrs(t, func(ae *nl.AttributeEncoder) { ae.String(AttrDevice, name) })),
			ErrMalformed, "no MINOR"},
		{"truncated attributes", msg(CmdAddedDevice, []byte{8, 0, 2, 0, 1}), ErrMalformed, "ADDED_DEVICE"},
		{"attribute longer than the message", msg(CmdAddedDevice, []byte{200, 0, 1, 0, 'a', 'b', 'c', 0}), ErrMalformed, "ADDED_DEVICE"},
		{"a reply", msg(CmdAddedDeviceDone, nil), ErrUnknownCommand, "ADDED_DEVICE_DONE"},
		{"command 0", msg(0, nil), ErrUnknownCommand, "command 0"},
		{"command 200", msg(200, nil), ErrUnknownCommand, "command 200"},
	} {
		_, err := Decode(tc.m)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %v mentioning %q", tc.what, err, tc.is, tc.want)
		}
	}
}

func TestDecodeKeepsWhatCanBeAnswered(t *testing.T) {
	ev, err := Decode(msg(CmdAddedDevice, attrs(t, func(ae *nl.AttributeEncoder) {
		ae.String(AttrDevice, "tcm-user/0/d/ram")
		ae.Uint16(AttrMinor, 3)
		ae.Uint32(AttrDeviceID, 77)
	})))
	if err == nil || ev.Command != CmdAddedDevice || !ev.HasDeviceID || ev.DeviceID != 77 {
		t.Fatalf("Decode = %+v, %v", ev, err)
	}
}

func TestDoneMessage(t *testing.T) {
	for _, tc := range []struct {
		cmd, done Command
	}{
		{CmdAddedDevice, CmdAddedDeviceDone},
		{CmdRemovedDevice, CmdRemovedDeviceDone},
		{CmdReconfigDevice, CmdReconfigDeviceDone},
	} {
		m, err := DoneMessage(Event{Command: tc.cmd, DeviceID: 0xdeadbeef, HasDeviceID: true}, -int32(syscall.ENOENT))
		if err != nil {
			t.Fatal(err)
		}
		if Command(m.Header.Command) != tc.done || m.Header.Version != Version {
			t.Errorf("%v: header %+v", tc.cmd, m.Header)
		}
		as, err := nl.UnmarshalAttributes(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		got := map[uint16][]byte{}
		for _, a := range as {
			got[a.Type] = a.Data
		}
		if len(got) != 2 || int32(binary.NativeEndian.Uint32(got[AttrCmdStatus])) != -2 ||
			binary.NativeEndian.Uint32(got[AttrDeviceID]) != 0xdeadbeef {
			t.Errorf("%v: attributes %v", tc.cmd, got)
		}
	}
	if _, err := DoneMessage(Event{Command: CmdAddedDevice}, 0); err == nil || !strings.Contains(err.Error(), "no DEVICE_ID") {
		t.Errorf("no device id: %v", err)
	}
	if _, err := DoneMessage(Event{Command: CmdSetFeatures, HasDeviceID: true}, 0); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("not an event: %v", err)
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int32
	}{
		{nil, 0},
		{syscall.ENOENT, -2},
		{&Error{Op: "x", Err: syscall.EOPNOTSUPP}, -int32(syscall.EOPNOTSUPP)},
		{errors.New("handler broke"), -int32(syscall.EIO)},
	} {
		if got := Status(tc.err); got != tc.want {
			t.Errorf("Status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestCommandNames(t *testing.T) {
	if CmdReconfigDeviceDone.String() != "RECONFIG_DEVICE_DONE" || Command(9).String() != "command 9" {
		t.Error("command names")
	}
	if CmdAddedDevice.Done() != CmdAddedDeviceDone || CmdSetFeatures.Done() != 0 || CmdAddedDeviceDone.Done() != 0 {
		t.Error("Done mapping")
	}
}
