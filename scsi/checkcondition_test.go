package scsi

import (
	"bytes"
	"testing"
)

// The ring answers entries it cannot hand to a handler with this sense; an
// initiator must read it like the disk's own fixed-format sense.
func TestSetCheckConditionIsFixedSense(t *testing.T) {
	var cmd Command
	cmd.SetCheckCondition(SenseKeyHardwareError, ASCInternalTargetFailure, 0)
	if cmd.Status != StatusCheckCondition {
		t.Fatalf("status %#x, want CHECK CONDITION", cmd.Status)
	}
	want := make([]byte, 18)
	want[0], want[2], want[7], want[12] = 0x70, SenseKeyHardwareError, 10, ASCInternalTargetFailure
	if cmd.SenseLen != 18 || !bytes.Equal(cmd.Sense[:18], want) {
		t.Fatalf("sense % x (len %d), want % x", cmd.Sense[:cmd.SenseLen], cmd.SenseLen, want)
	}
	var d Disk
	var fromDisk Command
	d.setSense(&fromDisk, newSense(SenseKeyHardwareError, ASCInternalTargetFailure, 0), false)
	if fromDisk.SenseLen != cmd.SenseLen || !bytes.Equal(fromDisk.Sense[:18], cmd.Sense[:18]) {
		t.Fatalf("the ring's sense % x differs from the disk's % x", cmd.Sense[:18], fromDisk.Sense[:18])
	}
}

func TestSenseASC(t *testing.T) {
	fixed := make([]byte, 18)
	FixedSense(fixed, SenseKeyIllegalRequest, 0x21, 0x01)
	for _, tc := range []struct {
		name      string
		sense     []byte
		asc, ascq byte
	}{
		{"fixed", fixed, 0x21, 0x01},
		{"fixed, deferred", append([]byte{0x71}, fixed[1:]...), 0x21, 0x01},
		{"fixed, cut short", fixed[:13], 0, 0},
		{"descriptor", []byte{0x72, 0x06, 0x2a, 0x09, 0, 0, 0, 0}, 0x2a, 0x09},
		{"descriptor, cut short", []byte{0x72, 0x06, 0x2a}, 0, 0},
		{"neither", []byte{0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x21, 0x01}, 0, 0},
		{"empty", nil, 0, 0},
	} {
		if asc, ascq := SenseASC(tc.sense); asc != tc.asc || ascq != tc.ascq {
			t.Errorf("%s: %#x/%#x, want %#x/%#x", tc.name, asc, ascq, tc.asc, tc.ascq)
		}
	}
}
