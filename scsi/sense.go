package scsi

import "encoding/binary"

// Sense keys (SPC-4 table 52).
const (
	SenseKeyNoSense        = 0x00
	SenseKeyRecoveredError = 0x01
	SenseKeyNotReady       = 0x02
	SenseKeyMediumError    = 0x03
	SenseKeyHardwareError  = 0x04
	SenseKeyIllegalRequest = 0x05
	SenseKeyUnitAttention  = 0x06
	SenseKeyDataProtect    = 0x07
	SenseKeyAbortedCommand = 0x0b
	SenseKeyMiscompare     = 0x0e
)

// senseData is the outcome of a command: the zero value means GOOD, anything
// else is reported as CHECK CONDITION. It is a plain value so that building
// and returning it never allocates.
type senseData struct {
	key, asc, ascq byte
	hasInfo        bool
	info           uint64
	// sks is the sense-key-specific field; sks[0]&0x80 (SKSV) marks it valid.
	sks [3]byte
}

var good senseData

func (s senseData) failed() bool { return s != good }

func newSense(key, asc, ascq byte) senseData {
	return senseData{key: key, asc: asc, ascq: ascq}
}

func (s senseData) withInfo(info uint64) senseData {
	s.hasInfo = true
	s.info = info
	return s
}

// withFieldPointer sets the field pointer of INVALID FIELD IN CDB / IN
// PARAMETER LIST: the byte, and the most significant bit of the field (bit <
// 0 when the whole byte is meant).
func (s senseData) withFieldPointer(inCDB bool, byteIndex int, bit int) senseData {
	s.sks[0] = 0x80
	if inCDB {
		s.sks[0] |= 0x40
	}
	if bit >= 0 && bit <= 7 {
		s.sks[0] |= 0x08 | byte(bit)
	}
	if byteIndex < 0 {
		byteIndex = 0
	}
	if byteIndex > 0xffff {
		byteIndex = 0xffff
	}
	binary.BigEndian.PutUint16(s.sks[1:], uint16(byteIndex))
	return s
}

// Additional sense codes this package reports.
var (
	senseInvalidOpcode         = newSense(SenseKeyIllegalRequest, 0x20, 0x00)
	senseLBAOutOfRange         = newSense(SenseKeyIllegalRequest, 0x21, 0x00)
	senseParamListLength       = newSense(SenseKeyIllegalRequest, 0x1a, 0x00)
	senseSavingNotSupported    = newSense(SenseKeyIllegalRequest, 0x39, 0x00)
	senseWriteProtected        = newSense(SenseKeyDataProtect, 0x27, 0x00)
	senseSpaceAllocationFailed = newSense(SenseKeyDataProtect, 0x27, 0x07)
	senseUnrecoveredReadError  = newSense(SenseKeyMediumError, 0x11, 0x00)
	senseWriteError            = newSense(SenseKeyMediumError, 0x0c, 0x00)
	senseMiscompare            = newSense(SenseKeyMiscompare, 0x1d, 0x00)
	senseCapacityChanged       = newSense(SenseKeyUnitAttention, 0x2a, 0x09)
	senseModeParamsChanged     = newSense(SenseKeyUnitAttention, 0x2a, 0x01)
	// senseAborted ends a long command (WRITE SAME, FORMAT UNIT, VERIFY)
	// that task management aborted while it ran.
	senseAborted = newSense(SenseKeyAbortedCommand, 0x00, 0x00)
)

// invalidCDB is ILLEGAL REQUEST, INVALID FIELD IN CDB pointing at a field.
func invalidCDB(byteIndex, bit int) senseData {
	return newSense(SenseKeyIllegalRequest, 0x24, 0x00).withFieldPointer(true, byteIndex, bit)
}

// invalidParam is ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST pointing at
// a field of the parameter list.
func invalidParam(byteIndex, bit int) senseData {
	return newSense(SenseKeyIllegalRequest, 0x26, 0x00).withFieldPointer(false, byteIndex, bit)
}

// Additional sense codes callers outside this package report themselves
// (the TCMU ring, for an entry it cannot hand to a handler).
const (
	ASCInvalidOpcode         = 0x20
	ASCInvalidFieldInCDB     = 0x24
	ASCInternalTargetFailure = 0x44
)

// FixedSense writes fixed-format sense (SPC-4 4.5.3) for key, asc and ascq
// into buf, which must hold 18 bytes, and returns its length.
func FixedSense(buf []byte, key, asc, ascq byte) int {
	return newSense(key, asc, ascq).encode(buf, false)
}

// SetCheckCondition answers cmd with CHECK CONDITION and fixed-format sense
// (SPC-4 4.5.3) built like the disk's own, for a command that never reached
// a Disk.
func (c *Command) SetCheckCondition(key, asc, ascq byte) {
	c.Status = StatusCheckCondition
	c.SenseLen = newSense(key, asc, ascq).encode(c.Sense[:], false)
}

// Sizes of the two sense formats as this package builds them.
const (
	fixedSenseLen = 18
	// descriptor header, information descriptor, sense-key-specific descriptor
	descriptorSenseMaxLen = 8 + 12 + 8
)

// encode writes the sense data into buf in fixed (0x70) or descriptor (0x72)
// format and returns its length. buf must hold descriptorSenseMaxLen bytes.
func (s senseData) encode(buf []byte, descriptor bool) int {
	if descriptor {
		clear(buf[:descriptorSenseMaxLen])
		buf[0] = 0x72
		buf[1] = s.key & 0x0f
		buf[2] = s.asc
		buf[3] = s.ascq
		n := 8
		if s.hasInfo {
			buf[n] = 0x00 // information descriptor
			buf[n+1] = 0x0a
			buf[n+2] = 0x80 // VALID
			binary.BigEndian.PutUint64(buf[n+4:], s.info)
			n += 12
		}
		if s.sks[0]&0x80 != 0 {
			buf[n] = 0x02 // sense key specific descriptor
			buf[n+1] = 0x06
			copy(buf[n+4:n+7], s.sks[:])
			n += 8
		}
		buf[7] = byte(n - 8)
		return n
	}
	clear(buf[:fixedSenseLen])
	buf[0] = 0x70
	buf[2] = s.key & 0x0f
	// The fixed format's information field has 32 bits; a larger value
	// (an LBA above 2^32) is left out with VALID clear.
	if s.hasInfo && s.info <= 0xffffffff {
		buf[0] |= 0x80
		binary.BigEndian.PutUint32(buf[3:], uint32(s.info))
	}
	buf[7] = fixedSenseLen - 8
	buf[12] = s.asc
	buf[13] = s.ascq
	copy(buf[15:18], s.sks[:])
	return fixedSenseLen
}
