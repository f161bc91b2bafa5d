// Package netlink owns tcmsh's side of the kernel's generic netlink family
// TCM-USER (target_core_user): decoding the device events the kernel
// multicasts on the "config" group (ADDED_DEVICE, REMOVED_DEVICE,
// RECONFIG_DEVICE), a Listener that receives them, and the requests
// userspace sends back (the *_DONE replies and SET_FEATURES).
//
// The reply trap. SET_FEATURES{SUPP_KERN_CMD_REPLY=1} switches the whole
// module into a mode where enabling, removing or reconfiguring any device
// whose nl_reply_supported is not -1 waits, without a timeout, for a *_DONE
// reply. This package never sends it unless Conn.SetFeatures(true) is
// called. Whether the mode is on cannot be read back from the kernel: a
// Listener answers events only when its Config.Reply policy says so (see
// ReplyPolicy for how tcmsh should decide).
package netlink

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/mdlayher/genetlink"
	nl "github.com/mdlayher/netlink"
)

// The family as target_core_user registers it.
const (
	FamilyName = "TCM-USER"
	GroupName  = "config"
	// Version is the family version; events and replies carry it in the
	// generic netlink header.
	Version = 2
)

// Command is a TCM-USER generic netlink command.
type Command uint8

// Commands, as in the kernel's enum tcmu_genl_cmd.
const (
	CmdAddedDevice        Command = 1
	CmdRemovedDevice      Command = 2
	CmdReconfigDevice     Command = 3
	CmdAddedDeviceDone    Command = 4
	CmdRemovedDeviceDone  Command = 5
	CmdReconfigDeviceDone Command = 6
	CmdSetFeatures        Command = 7
)

func (c Command) String() string {
	switch c {
	case CmdAddedDevice:
		return "ADDED_DEVICE"
	case CmdRemovedDevice:
		return "REMOVED_DEVICE"
	case CmdReconfigDevice:
		return "RECONFIG_DEVICE"
	case CmdAddedDeviceDone:
		return "ADDED_DEVICE_DONE"
	case CmdRemovedDeviceDone:
		return "REMOVED_DEVICE_DONE"
	case CmdReconfigDeviceDone:
		return "RECONFIG_DEVICE_DONE"
	case CmdSetFeatures:
		return "SET_FEATURES"
	}
	return fmt.Sprintf("command %d", uint8(c))
}

// Done is the reply command that answers the event command c, or 0 when c
// is not an event.
func (c Command) Done() Command {
	switch c {
	case CmdAddedDevice, CmdRemovedDevice, CmdReconfigDevice:
		return c + 3
	}
	return 0
}

// Attributes, as in the kernel's enum tcmu_genl_attr.
const (
	AttrDevice           uint16 = 1 // string: the uio name
	AttrMinor            uint16 = 2 // u32: the uio minor
	AttrPad              uint16 = 3 // padding for 64-bit values
	AttrDevCfg           uint16 = 4 // string: the new dev_config
	AttrDevSize          uint16 = 5 // u64: the new dev_size
	AttrWriteCache       uint16 = 6 // u8: the new emulate_write_cache
	AttrCmdStatus        uint16 = 7 // s32: a reply's status, 0 or -errno
	AttrDeviceID         uint16 = 8 // u32: the se_device index replies name
	AttrSuppKernCmdReply uint16 = 9 // u8: SET_FEATURES' reply mode switch
)

func attrName(t uint16) string {
	switch t {
	case AttrDevice:
		return "DEVICE"
	case AttrMinor:
		return "MINOR"
	case AttrPad:
		return "PAD"
	case AttrDevCfg:
		return "DEV_CFG"
	case AttrDevSize:
		return "DEV_SIZE"
	case AttrWriteCache:
		return "WRITECACHE"
	case AttrCmdStatus:
		return "CMD_STATUS"
	case AttrDeviceID:
		return "DEVICE_ID"
	case AttrSuppKernCmdReply:
		return "SUPP_KERN_CMD_REPLY"
	}
	return fmt.Sprintf("attribute %d", t)
}

// Change says what a RECONFIG_DEVICE event changes.
type Change uint8

const (
	ChangeNone       Change = iota // not a reconfig, or a reconfig this package does not know
	ChangeDevConfig                // Event.DevConfig holds the new dev_config
	ChangeDevSize                  // Event.DevSize holds the new size in bytes
	ChangeWriteCache               // Event.WriteCache holds the new setting
)

func (c Change) String() string {
	switch c {
	case ChangeDevConfig:
		return "dev_config"
	case ChangeDevSize:
		return "dev_size"
	case ChangeWriteCache:
		return "emulate_write_cache"
	}
	return "none"
}

// Event is one decoded TCM-USER event. Events are plain values, safe to
// copy and to share between goroutines.
type Event struct {
	Command Command // CmdAddedDevice, CmdRemovedDevice or CmdReconfigDevice
	Version uint8   // the generic netlink header's version (2 on current kernels)
	// Device is the uio name, "tcm-user/<hba>/<device>[/<dev_config>]"
	// (parse it with uio.ParseName); Minor is N of /dev/uioN.
	Device string
	Minor  uint32
	// DeviceID identifies the device in a *_DONE reply. Version 1 kernels
	// do not send it (HasDeviceID false); such events cannot be answered.
	DeviceID    uint32
	HasDeviceID bool

	// RECONFIG_DEVICE only: what changes, and the new value.
	Change     Change
	DevConfig  string
	DevSize    uint64
	WriteCache bool
}

func (e Event) String() string {
	s := fmt.Sprintf("%v uio%d %q", e.Command, e.Minor, e.Device)
	if e.HasDeviceID {
		s += fmt.Sprintf(" id %d", e.DeviceID)
	}
	switch e.Change {
	case ChangeDevConfig:
		s += fmt.Sprintf(" dev_config=%q", e.DevConfig)
	case ChangeDevSize:
		s += fmt.Sprintf(" dev_size=%d", e.DevSize)
	case ChangeWriteCache:
		s += fmt.Sprintf(" emulate_write_cache=%v", e.WriteCache)
	}
	return s
}

// ErrUnknownCommand is returned (wrapped) by Decode for a message whose
// command is not one of the three events.
var ErrUnknownCommand = errors.New("not a TCM-USER event")

// ErrMalformed is returned (wrapped) by Decode for an event whose attributes
// are truncated, of the wrong size, or missing DEVICE or MINOR.
var ErrMalformed = errors.New("malformed TCM-USER event")

// Decode decodes a TCM-USER event. Unknown attributes (and PAD) are
// ignored; one of the wrong size fails with an error naming it. On error the
// returned Event holds what could be decoded (Command, and DeviceID when
// seen), so that a caller in reply mode can still answer the kernel.
//
// Decode is safe for concurrent use.
func Decode(m genetlink.Message) (Event, error) {
	ev := Event{Command: Command(m.Header.Command), Version: m.Header.Version}
	fail := func(err error) (Event, error) {
		return ev, &Error{Op: "decode " + ev.Command.String(), Err: err}
	}
	if ev.Command.Done() == 0 {
		return fail(ErrUnknownCommand)
	}
	ad, err := nl.NewAttributeDecoder(m.Data)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", ErrMalformed, err))
	}
	var haveDevice, haveMinor bool
	var problems []error
	size := func(t uint16, want int) bool {
		if n := len(ad.Bytes()); n != want {
			problems = append(problems, fmt.Errorf("%w: attribute %s (%d) has %d bytes, want %d", ErrMalformed, attrName(t), t, n, want))
			return false
		}
		return true
	}
	for ad.Next() {
		t := ad.Type()
		switch t {
		case AttrDevice:
			ev.Device = ad.String()
			haveDevice = true
		case AttrMinor:
			if size(t, 4) {
				ev.Minor = ad.Uint32()
				haveMinor = true
			}
		case AttrDeviceID:
			if size(t, 4) {
				ev.DeviceID = ad.Uint32()
				ev.HasDeviceID = true
			}
		case AttrDevCfg:
			if ev.Command == CmdReconfigDevice {
				ev.DevConfig = ad.String()
				ev.Change = ChangeDevConfig
			}
		case AttrDevSize:
			if ev.Command == CmdReconfigDevice && size(t, 8) {
				ev.DevSize = ad.Uint64()
				ev.Change = ChangeDevSize
			}
		case AttrWriteCache:
			if ev.Command == CmdReconfigDevice && size(t, 1) {
				ev.WriteCache = ad.Uint8() != 0
				ev.Change = ChangeWriteCache
			}
		}
	}
	if err := ad.Err(); err != nil {
		problems = append(problems, fmt.Errorf("%w: %v", ErrMalformed, err))
	}
	if !haveDevice && len(problems) == 0 {
		problems = append(problems, fmt.Errorf("%w: no DEVICE attribute", ErrMalformed))
	}
	if !haveMinor && len(problems) == 0 {
		problems = append(problems, fmt.Errorf("%w: no MINOR attribute", ErrMalformed))
	}
	if len(problems) > 0 {
		return fail(errors.Join(problems...))
	}
	return ev, nil
}

// decodeNetlink checks that a received netlink message is a TCM-USER
// message from the kernel, then decodes it.
func decodeNetlink(m nl.Message, family uint16) (Event, error) {
	if m.Header.Type != nl.HeaderType(family) {
		return Event{}, &Error{Op: "decode", Err: fmt.Errorf("%w: message type %d is not the TCM-USER family (%d)", ErrUnknownCommand, m.Header.Type, family)}
	}
	if m.Header.PID != 0 {
		return Event{}, &Error{Op: "decode", Err: fmt.Errorf("%w: message from port %d, not from the kernel", ErrMalformed, m.Header.PID)}
	}
	var gm genetlink.Message
	if err := gm.UnmarshalBinary(m.Data); err != nil {
		return Event{}, &Error{Op: "decode", Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
	}
	return Decode(gm)
}

// DoneMessage builds the *_DONE reply to ev carrying status (0 for
// success, or a negative errno the kernel hands to the configfs write that
// caused the event). It fails for an event without a DeviceID or a command
// that is not an event.
//
// DoneMessage is safe for concurrent use.
func DoneMessage(ev Event, status int32) (genetlink.Message, error) {
	done := ev.Command.Done()
	if done == 0 {
		return genetlink.Message{}, &Error{Op: "reply", Err: fmt.Errorf("%w: %v", ErrUnknownCommand, ev.Command)}
	}
	if !ev.HasDeviceID {
		return genetlink.Message{}, &Error{Op: "reply to " + ev.Command.String(), Err: errors.New("the event has no DEVICE_ID (a version 1 kernel), so it cannot be answered")}
	}
	ae := nl.NewAttributeEncoder()
	ae.Int32(AttrCmdStatus, status)
	ae.Uint32(AttrDeviceID, ev.DeviceID)
	b, err := ae.Encode()
	if err != nil {
		return genetlink.Message{}, &Error{Op: "reply", Err: err}
	}
	return genetlink.Message{Header: genetlink.Header{Command: uint8(done), Version: Version}, Data: b}, nil
}

// featuresMessage builds SET_FEATURES{SUPP_KERN_CMD_REPLY}.
func featuresMessage(reply bool) (genetlink.Message, error) {
	ae := nl.NewAttributeEncoder()
	var v uint8
	if reply {
		v = 1
	}
	ae.Uint8(AttrSuppKernCmdReply, v)
	b, err := ae.Encode()
	if err != nil {
		return genetlink.Message{}, err
	}
	return genetlink.Message{Header: genetlink.Header{Command: uint8(CmdSetFeatures), Version: Version}, Data: b}, nil
}

// Status turns a handler's error into a reply status: 0 for nil, -errno for
// an error wrapping a syscall.Errno, -EIO for any other error.
func Status(err error) int32 {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && errno != 0 {
		return -int32(errno)
	}
	return -int32(syscall.EIO)
}
