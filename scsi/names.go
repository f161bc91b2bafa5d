package scsi

import "fmt"

// The names people read for SCSI numbers — operation codes, sense keys,
// status bytes — and the length of a CDB from its first byte: the one
// place the monitor, the engine's statistics and the ring look them up.

// opcodeNames are the SPC/SBC names of the commands a TCMU handler sees.
var opcodeNames = map[byte]string{
	0x00: "TEST UNIT READY",
	0x03: "REQUEST SENSE",
	0x04: "FORMAT UNIT",
	0x08: "READ(6)",
	0x0a: "WRITE(6)",
	0x12: "INQUIRY",
	0x15: "MODE SELECT(6)",
	0x16: "RESERVE(6)",
	0x17: "RELEASE(6)",
	0x1a: "MODE SENSE(6)",
	0x1b: "START STOP UNIT",
	0x1c: "RECEIVE DIAGNOSTIC RESULTS",
	0x1d: "SEND DIAGNOSTIC",
	0x1e: "PREVENT ALLOW MEDIUM REMOVAL",
	0x25: "READ CAPACITY(10)",
	0x28: "READ(10)",
	0x2a: "WRITE(10)",
	0x2b: "SEEK(10)",
	0x2e: "WRITE AND VERIFY(10)",
	0x2f: "VERIFY(10)",
	0x34: "PRE-FETCH(10)",
	0x35: "SYNCHRONIZE CACHE(10)",
	0x37: "READ DEFECT DATA(10)",
	0x3b: "WRITE BUFFER",
	0x3c: "READ BUFFER",
	0x41: "WRITE SAME(10)",
	0x42: "UNMAP",
	0x4d: "LOG SENSE",
	0x55: "MODE SELECT(10)",
	0x56: "RESERVE(10)",
	0x57: "RELEASE(10)",
	0x5a: "MODE SENSE(10)",
	0x5e: "PERSISTENT RESERVE IN",
	0x5f: "PERSISTENT RESERVE OUT",
	0x7f: "VARIABLE LENGTH",
	0x83: "EXTENDED COPY",
	0x84: "RECEIVE COPY RESULTS",
	0x88: "READ(16)",
	0x89: "COMPARE AND WRITE",
	0x8a: "WRITE(16)",
	0x8e: "WRITE AND VERIFY(16)",
	0x8f: "VERIFY(16)",
	0x90: "PRE-FETCH(16)",
	0x91: "SYNCHRONIZE CACHE(16)",
	0x93: "WRITE SAME(16)",
	0x9e: "SERVICE ACTION IN(16)",
	0xa0: "REPORT LUNS",
	0xa3: "MAINTENANCE IN",
	0xa4: "MAINTENANCE OUT",
	0xa8: "READ(12)",
	0xaa: "WRITE(12)",
	0xaf: "VERIFY(12)",
}

// OpcodeName returns the SCSI name of an operation code ("READ(10)"), or
// "OPCODE 0xNN" for one without a name here.
func OpcodeName(op byte) string {
	if n, ok := opcodeNames[op]; ok {
		return n
	}
	return fmt.Sprintf("OPCODE 0x%02x", op)
}

// senseKeyNames are SPC's sense key names in the form the JSON output
// uses as map keys.
var senseKeyNames = [16]string{
	"no_sense", "recovered_error", "not_ready", "medium_error",
	"hardware_error", "illegal_request", "unit_attention", "data_protect",
	"blank_check", "vendor_specific", "copy_aborted", "aborted_command",
	"key_0xc", "volume_overflow", "miscompare", "completed",
}

// SenseKeyName returns the name of a sense key ("illegal_request").
func SenseKeyName(key byte) string { return senseKeyNames[key&0xf] }

// StatusName is SAM's name of a SCSI status byte ("CHECK CONDITION").
func StatusName(s byte) string {
	switch s {
	case 0x00:
		return "GOOD"
	case 0x02:
		return "CHECK CONDITION"
	case 0x04:
		return "CONDITION MET"
	case 0x08:
		return "BUSY"
	case 0x18:
		return "RESERVATION CONFLICT"
	case 0x28:
		return "TASK SET FULL"
	case 0x30:
		return "ACA ACTIVE"
	case 0x40:
		return "TASK ABORTED"
	}
	return fmt.Sprintf("STATUS 0x%02x", s)
}

// SenseKeyOf extracts the sense key from fixed or descriptor format sense
// data (0 when there is none).
func SenseKeyOf(sense []byte) byte {
	if len(sense) < 3 {
		return 0
	}
	switch sense[0] & 0x7f {
	case 0x70, 0x71:
		return sense[2] & 0xf
	case 0x72, 0x73:
		return sense[1] & 0xf
	}
	return 0
}

// SenseASC returns the additional sense code and qualifier of fixed or
// descriptor sense data (0, 0 when it holds neither).
func SenseASC(sense []byte) (asc, ascq byte) {
	if len(sense) < 1 {
		return 0, 0
	}
	switch sense[0] & 0x7f {
	case 0x70, 0x71:
		if len(sense) >= 14 {
			return sense[12], sense[13]
		}
	case 0x72, 0x73:
		if len(sense) >= 4 {
			return sense[2], sense[3]
		}
	}
	return 0, 0
}

// CDBLength returns the length of the CDB that starts with opcode op, from its
// group code (SAM-5 5.2); 0x7f variable-length CDBs carry their additional
// length in byte 7, read through more. It returns 0 for lengths it cannot
// determine (reserved and vendor-specific groups).
func CDBLength(op byte, more func() (byte, bool)) int {
	switch op >> 5 {
	case 0:
		return 6
	case 1, 2:
		return 10
	case 3:
		if op == 0x7f {
			if add, ok := more(); ok {
				return 8 + int(add)
			}
		}
		return 0
	case 4:
		return 16
	case 5:
		return 12
	}
	return 0
}
