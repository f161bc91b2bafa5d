package scsi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// fakeALUA is a logical unit's port groups held in memory.
type fakeALUA struct {
	groups []PortGroup
	set    []map[uint16]byte
	setErr error
}

func (f *fakeALUA) PortGroups() ([]PortGroup, error) { return f.groups, nil }
func (f *fakeALUA) SetPortGroupStates(states map[uint16]byte) error {
	if f.setErr != nil {
		return f.setErr
	}
	f.set = append(f.set, states)
	for i := range f.groups {
		if s, ok := states[f.groups[i].ID]; ok {
			f.groups[i].State, f.groups[i].Status = s, ALUAStatusExplicitSTPG
		}
	}
	return nil
}

const allStates = ALUASupportsTransitioning | ALUASupportsOffline | ALUASupportsUnavailable |
	ALUASupportsStandby | ALUASupportsActiveNonOptimized | ALUASupportsActiveOptimized

func twoGroups() *fakeALUA {
	return &fakeALUA{groups: []PortGroup{
		{ID: 0, State: ALUAActiveOptimized, Supported: allStates, Implicit: true, Explicit: true}, // default, no ports
		{ID: 10, State: ALUAActiveOptimized, Supported: allStates, Preferred: true, Implicit: true, Explicit: true, TransitionSecs: 10, Ports: []uint16{1}},
		{ID: 20, State: ALUAStandby, Supported: allStates, Status: ALUAStatusImplicit, Implicit: true, Explicit: true, Ports: []uint16{2, 3}},
	}}
}

func rtpgCDB(extended bool, alloc uint32) []byte {
	c := make([]byte, 12)
	c[0], c[1] = opMaintenanceIn, saReportTargetPGs
	if extended {
		c[1] |= rtpgExtendedHeader
	}
	binary.BigEndian.PutUint32(c[6:], alloc)
	return c
}

func stpgCDB(length uint32) []byte {
	c := make([]byte, 12)
	c[0], c[1] = opMaintenanceOut, saSetTargetPGs
	binary.BigEndian.PutUint32(c[6:], length)
	return c
}

func stpgParams(descs ...[2]uint16) []byte {
	p := make([]byte, 4)
	for _, d := range descs {
		p = append(p, byte(d[1]), 0, byte(d[0]>>8), byte(d[0]))
	}
	return p
}

func newALUADisk(t *testing.T, a ALUA) *Disk {
	t.Helper()
	d, _ := newTestDisk(t, 64, thinCaps, func(c *DiskConfig) { c.ALUA = a })
	return d
}

func TestReportTargetPortGroups(t *testing.T) {
	d := newALUADisk(t, twoGroups())
	cmd, b := runIn(d, rtpgCDB(false, 512), 512)
	wantGood(t, cmd)
	want := []byte{0, 0, 0, 28,
		0x80, allStates, 0, 10, 0, 0, 0, 1, 0, 0, 0, 1,
		0x02, allStates, 0, 20, 0, 2, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3}
	if !bytes.Equal(b, want) {
		t.Fatalf("got\n% x\nwant\n% x", b, want)
	}
	cmd, b = runIn(d, rtpgCDB(true, 512), 512)
	wantGood(t, cmd)
	if len(b) != 36 || b[4] != 0x10 || b[5] != 10 || binary.BigEndian.Uint32(b) != 32 || !bytes.Equal(b[8:], want[4:]) {
		t.Fatalf("extended header: % x", b)
	}
	// Truncated to the allocation length, the length still whole.
	cmd, b = runIn(d, rtpgCDB(false, 8), 512)
	wantGood(t, cmd)
	if len(b) != 8 || binary.BigEndian.Uint32(b) != 28 {
		t.Fatalf("truncated: % x", b)
	}
	wantField(t, wantCheck(t, run(d, 0, rtpgCDB(false, 3), make([]byte, 3)), SenseKeyIllegalRequest, 0x24, 0), true, 6, 7)
	// A reserved parameter data format.
	c := rtpgCDB(false, 512)
	c[1] |= 0x40
	wantField(t, wantCheck(t, run(d, 0, c, make([]byte, 512)), SenseKeyIllegalRequest, 0x24, 0), true, 1, 6)

	// Without ALUA the command is not supported.
	plain, _ := newTestDisk(t, 64, thinCaps, nil)
	wantField(t, wantCheck(t, run(plain, 0, rtpgCDB(false, 512), make([]byte, 512)), SenseKeyIllegalRequest, 0x24, 0), true, 1, 4)
}

func TestALUAInquiry(t *testing.T) {
	a := twoGroups()
	d := newALUADisk(t, a)
	cmd, b := runIn(d, inquiryCDB(false, 0, 96), 96)
	wantGood(t, cmd)
	if b[5]&0x30 != 0x30 {
		t.Fatalf("TPGS %#x, want implicit and explicit", b[5]&0x30)
	}
	// Several ports: no port designators in VPD 0x83.
	_, vpd := runIn(d, inquiryCDB(true, 0x83, 512), 512)
	if hasDesignator(vpd, 0x14) || hasDesignator(vpd, 0x15) {
		t.Fatalf("port designators with several ports: % x", vpd)
	}
	// One port: its relative port and group.
	a.groups[2].Ports = nil
	_, vpd = runIn(d, inquiryCDB(true, 0x83, 512), 512)
	if p, ok := findDesignator(vpd, 0x14); !ok || binary.BigEndian.Uint16(p[2:]) != 1 {
		t.Fatalf("relative port designator % x", vpd)
	}
	if p, ok := findDesignator(vpd, 0x15); !ok || binary.BigEndian.Uint16(p[2:]) != 10 {
		t.Fatalf("target port group designator % x", vpd)
	}
	// Implicit only.
	a.groups[1].Explicit = false
	_, b = runIn(d, inquiryCDB(false, 0, 96), 96)
	if b[5]&0x30 != 0x10 {
		t.Fatalf("TPGS %#x, want implicit", b[5]&0x30)
	}
}

// designator finds a designation descriptor of VPD 0x83 by its
// association and type byte.
func findDesignator(vpd []byte, assocType byte) ([]byte, bool) {
	for off := 4; off+4 <= len(vpd); {
		n := int(vpd[off+3])
		if vpd[off+1]&0x3f == assocType {
			return vpd[off+4 : off+4+n], true
		}
		off += 4 + n
	}
	return nil, false
}

func hasDesignator(vpd []byte, assocType byte) bool {
	_, ok := findDesignator(vpd, assocType)
	return ok
}

func TestSetTargetPortGroups(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*fakeALUA)
		params []byte
		length uint32
		key    byte
		asc    byte
		ascq   byte
		fld    *field
		want   map[uint16]byte
	}{
		{name: "swap", params: stpgParams([2]uint16{10, ALUAStandby}, [2]uint16{20, ALUAActiveOptimized}),
			want: map[uint16]byte{10: ALUAStandby, 20: ALUAActiveOptimized}},
		{name: "non-optimized", params: stpgParams([2]uint16{20, ALUAActiveNonOptimized}), want: map[uint16]byte{20: ALUAActiveNonOptimized}},
		{name: "no descriptors", params: stpgParams()},
		{name: "zero length", params: []byte{}, length: 0},
		{name: "unknown group", params: stpgParams([2]uint16{30, ALUAStandby}), key: SenseKeyIllegalRequest, asc: 0x26, fld: &field{false, 6, 7}},
		{name: "group without ports", params: stpgParams([2]uint16{0, ALUAStandby}), key: SenseKeyIllegalRequest, asc: 0x26, fld: &field{false, 6, 7}},
		{name: "transitioning", params: stpgParams([2]uint16{10, ALUATransitioning}), key: SenseKeyIllegalRequest, asc: 0x26, fld: &field{false, 4, 3}},
		{name: "LBA dependent", params: stpgParams([2]uint16{10, ALUALBADependent}), key: SenseKeyIllegalRequest, asc: 0x26, fld: &field{false, 4, 3}},
		{name: "unsupported state", edit: func(f *fakeALUA) { f.groups[2].Supported &^= ALUASupportsUnavailable },
			params: stpgParams([2]uint16{10, ALUAStandby}, [2]uint16{20, ALUAUnavailable}), key: SenseKeyIllegalRequest, asc: 0x26, fld: &field{false, 8, 3}},
		{name: "implicit only", edit: func(f *fakeALUA) { f.groups[1].Explicit, f.groups[2].Explicit = false, false },
			params: stpgParams([2]uint16{10, ALUAStandby}), key: SenseKeyIllegalRequest, asc: 0x20},
		{name: "short header", params: []byte{0, 0}, key: SenseKeyIllegalRequest, asc: 0x1a},
		{name: "less data than announced", params: stpgParams([2]uint16{10, ALUAStandby}), length: 12, key: SenseKeyIllegalRequest, asc: 0x1a},
		{name: "the kernel refuses", edit: func(f *fakeALUA) { f.setErr = errors.New("EINVAL") },
			params: stpgParams([2]uint16{10, ALUAStandby}), key: SenseKeyHardwareError, asc: 0x67, ascq: 0x0a},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := twoGroups()
			if tc.edit != nil {
				tc.edit(a)
			}
			d := newALUADisk(t, a)
			length := uint32(len(tc.params))
			if tc.length != 0 {
				length = tc.length
			}
			cmd := run(d, 0, stpgCDB(length), tc.params)
			if tc.key != 0 {
				p := wantCheck(t, cmd, tc.key, tc.asc, tc.ascq)
				if tc.fld != nil {
					wantField(t, p, tc.fld.inCDB, tc.fld.byteIndex, tc.fld.bit)
				}
				if len(a.set) != 0 {
					t.Fatalf("states changed: %v", a.set)
				}
				return
			}
			wantGood(t, cmd)
			if tc.want == nil {
				if len(a.set) != 0 {
					t.Fatalf("states changed: %v", a.set)
				}
				return
			}
			if len(a.set) != 1 || len(a.set[0]) != len(tc.want) {
				t.Fatalf("set %v, want %v", a.set, tc.want)
			}
			for id, s := range tc.want {
				if a.set[0][id] != s {
					t.Fatalf("set %v, want %v", a.set, tc.want)
				}
			}
		})
	}
}

func TestParseALUAState(t *testing.T) {
	for in, want := range map[string]byte{"0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "14": 14, "15": 15} {
		if got, err := ParseALUAState(in); err != nil || got != want {
			t.Errorf("ParseALUAState(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "5", "x", "-1"} {
		if _, err := ParseALUAState(in); err == nil {
			t.Errorf("ParseALUAState(%q) accepted", in)
		}
	}
}
