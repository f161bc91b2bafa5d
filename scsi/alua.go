package scsi

import (
	"encoding/binary"
	"fmt"
)

// Asymmetric access states (SPC-4 6.37).
const (
	ALUAActiveOptimized    = 0x0
	ALUAActiveNonOptimized = 0x1
	ALUAStandby            = 0x2
	ALUAUnavailable        = 0x3
	ALUALBADependent       = 0x4
	ALUAOffline            = 0xe
	ALUATransitioning      = 0xf
)

// Supported asymmetric access states, as the REPORT TARGET PORT GROUPS
// descriptor's second byte holds them.
const (
	ALUASupportsTransitioning      = 0x80
	ALUASupportsOffline            = 0x40
	ALUASupportsLBADependent       = 0x10
	ALUASupportsUnavailable        = 0x08
	ALUASupportsStandby            = 0x04
	ALUASupportsActiveNonOptimized = 0x02
	ALUASupportsActiveOptimized    = 0x01
)

// Status codes of a target port group (why its state last changed).
const (
	ALUAStatusNone         = 0x0
	ALUAStatusExplicitSTPG = 0x1
	ALUAStatusImplicit     = 0x2
)

// PortGroup is one target port group of a logical unit, as the kernel
// holds it (configfs core/<hba>/<device>/alua/<group>).
type PortGroup struct {
	ID        uint16
	State     byte // an asymmetric access state
	Supported byte // ALUASupports… bits
	Status    byte // ALUAStatus…
	Preferred bool
	// Implicit and Explicit are the access type (alua_access_type): the
	// INQUIRY TPGS field; Explicit allows SET TARGET PORT GROUPS.
	Implicit, Explicit bool
	// TransitionSecs is implicit_trans_secs, reported in the extended
	// header of REPORT TARGET PORT GROUPS.
	TransitionSecs byte
	// Ports are the relative target port identifiers of the group's
	// members.
	Ports []uint16
}

// ALUA gives a disk its logical unit's target port groups. TCMU passes
// INQUIRY and MAINTENANCE IN/OUT to the handler, so the handler answers
// REPORT TARGET PORT GROUPS and SET TARGET PORT GROUPS from what the kernel
// holds; the kernel itself refuses I/O through ports in standby,
// unavailable or offline states and queues the unit attentions of a state
// change.
type ALUA interface {
	// PortGroups lists the groups, those without member ports included.
	PortGroups() ([]PortGroup, error)
	// SetPortGroupStates moves groups (by ID) to new primary states, as
	// SET TARGET PORT GROUPS asked.
	SetPortGroupStates(states map[uint16]byte) error
}

const (
	opMaintenanceOut   = 0xa4
	saReportTargetPGs  = 0x0a
	saSetTargetPGs     = 0x0a
	tpgsImplicit       = 0x10 // INQUIRY byte 5 TPGS 01b
	tpgsExplicit       = 0x20 // TPGS 10b
	rtpgExtendedHeader = 0x20 // PARAMETER DATA FORMAT 001b
)

var (
	senseSTPGFailed    = newSense(SenseKeyHardwareError, 0x67, 0x0a)
	senseLUCommFailure = newSense(SenseKeyNotReady, 0x08, 0x00)
)

// portGroups reads the groups, or nil when the disk has no ALUA or they
// cannot be read.
func (d *Disk) portGroups() []PortGroup {
	if d.alua == nil {
		return nil
	}
	groups, err := d.alua.PortGroups()
	if err != nil {
		return nil
	}
	return groups
}

// tpgs is the INQUIRY TPGS field: the access types of the groups that
// have ports (the kernel reports its LUN's group's; the handler does not
// learn the port a command came through).
func tpgs(groups []PortGroup) byte {
	var b byte
	for _, g := range groups {
		if len(g.Ports) == 0 {
			continue
		}
		if g.Implicit {
			b |= tpgsImplicit
		}
		if g.Explicit {
			b |= tpgsExplicit
		}
	}
	return b
}

// onlyPort reports the one target port of the logical unit and its
// group, when it has exactly one: only then do the relative target port
// and target port group designators of VPD 0x83 hold for every command.
func onlyPort(groups []PortGroup) (port, group uint16, ok bool) {
	n := 0
	for _, g := range groups {
		for _, p := range g.Ports {
			port, group = p, g.ID
			n++
		}
	}
	return port, group, n == 1
}

// reportTargetPortGroups answers REPORT TARGET PORT GROUPS (SPC-4 6.36):
// every group with member ports, in the kernel's layout.
func (d *Disk) reportTargetPortGroups(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	alloc := int(binary.BigEndian.Uint32(cdb[6:10]))
	if alloc < 4 {
		return invalidCDB(6, 7)
	}
	groups, err := d.alua.PortGroups()
	if err != nil {
		return senseLUCommFailure
	}
	extended := cdb[1]&rtpgExtendedHeader != 0
	resp := make([]byte, 4, 64)
	if extended {
		resp = append(resp, 0x10, 0, 0, 0) // format 001b, then the transition time
		for _, g := range groups {
			if len(g.Ports) > 0 {
				resp[5] = g.TransitionSecs
				break
			}
		}
	}
	for _, g := range groups {
		if len(g.Ports) == 0 {
			continue
		}
		var desc [8]byte
		desc[0] = g.State & 0x0f
		if g.Preferred {
			desc[0] |= 0x80
		}
		desc[1] = g.Supported
		binary.BigEndian.PutUint16(desc[2:], g.ID)
		desc[5] = g.Status
		desc[7] = byte(min(len(g.Ports), 255))
		resp = append(resp, desc[:]...)
		for _, p := range g.Ports[:desc[7]] {
			resp = append(resp, 0, 0, byte(p>>8), byte(p))
		}
	}
	binary.BigEndian.PutUint32(resp[0:], uint32(len(resp)-4))
	d.dataIn(cmd, resp, alloc)
	return good
}

// setTargetPortGroups serves SET TARGET PORT GROUPS (SPC-4 6.46): every
// descriptor is checked before any group moves, as the kernel checks them
// for its own backstores: a primary state the group supports (not
// LBA DEPENDENT or TRANSITIONING, which only the device chooses), a group
// the logical unit has, explicit transitions allowed.
func (d *Disk) setTargetPortGroups(cmd *Command, _ *initiatorState) senseData {
	length := int(binary.BigEndian.Uint32(cmd.CDB[6:10]))
	if length == 0 {
		return good
	}
	if length < 4 {
		return senseParamListLength
	}
	groups, err := d.alua.PortGroups()
	if err != nil {
		return senseLUCommFailure
	}
	explicit := false
	for _, g := range groups {
		explicit = explicit || len(g.Ports) > 0 && g.Explicit
	}
	if !explicit {
		// The kernel refuses STPG where only implicit ALUA is allowed.
		return senseInvalidOpcode
	}
	params := make([]byte, length)
	if gather(params, cmd.Data) < length {
		return senseParamListLength
	}
	states := map[uint16]byte{}
	for off := 4; off+4 <= length; off += 4 {
		state := params[off] & 0x0f
		id := binary.BigEndian.Uint16(params[off+2:])
		var g *PortGroup
		for i := range groups {
			if groups[i].ID == id && len(groups[i].Ports) > 0 {
				g = &groups[i]
			}
		}
		if g == nil {
			return invalidParam(off+2, 7)
		}
		if !supportsExplicit(state, g.Supported) {
			return invalidParam(off, 3)
		}
		states[id] = state
	}
	if len(states) == 0 {
		return good
	}
	if err := d.alua.SetPortGroupStates(states); err != nil {
		return senseSTPGFailed
	}
	return good
}

// supportsExplicit reports whether SET TARGET PORT GROUPS may move a group
// that supports sup to state.
func supportsExplicit(state, sup byte) bool {
	switch state {
	case ALUAActiveOptimized:
		return sup&ALUASupportsActiveOptimized != 0
	case ALUAActiveNonOptimized:
		return sup&ALUASupportsActiveNonOptimized != 0
	case ALUAStandby:
		return sup&ALUASupportsStandby != 0
	case ALUAUnavailable:
		return sup&ALUASupportsUnavailable != 0
	}
	return false
}

// ParseALUAState reads an asymmetric access state as configfs shows it
// (alua_access_state: a number).
func ParseALUAState(s string) (byte, error) {
	var v int
	if _, err := fmt.Sscanf(s, "%d", &v); err != nil {
		return 0, fmt.Errorf("asymmetric access state %q: %w", s, err)
	}
	switch v {
	case ALUAActiveOptimized, ALUAActiveNonOptimized, ALUAStandby, ALUAUnavailable,
		ALUALBADependent, ALUAOffline, ALUATransitioning:
		return byte(v), nil
	}
	return 0, fmt.Errorf("asymmetric access state %d: not one SPC-4 defines", v)
}
