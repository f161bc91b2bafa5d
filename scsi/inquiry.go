package scsi

import "encoding/binary"

// VPD page codes.
const (
	vpdSupportedPages           = 0x00
	vpdUnitSerial               = 0x80
	vpdDeviceID                 = 0x83
	vpdExtendedInquiry          = 0x86
	vpdBlockLimits              = 0xb0
	vpdBlockCharacteristics     = 0xb1
	vpdLogicalBlockProvisioning = 0xb2
)

// maxDesignatorLen is the most a designation descriptor's length byte holds.
const maxDesignatorLen = 255

// ieeeCompanyID is the OUI LIO puts in its NAA designators (Linux-IO).
const ieeeCompanyID = 0x001405

// standardInquiryLen is the length of the standard INQUIRY data returned:
// through the version descriptors, rounded up as LIO does.
const standardInquiryLen = 96

func (d *Disk) inquiry(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	evpd := cdb[1]&0x01 != 0
	page := cdb[2]
	alloc := int(binary.BigEndian.Uint16(cdb[3:5]))
	if !evpd {
		if page != 0 {
			return invalidCDB(2, 7)
		}
		var buf [standardInquiryLen]byte
		d.standardInquiry(buf[:])
		buf[5] |= tpgs(d.portGroups())
		if d.copyTargets != nil {
			buf[5] |= 0x08 // 3PC: EXTENDED COPY
		}
		d.dataIn(cmd, buf[:], alloc)
		return good
	}
	var buf [512]byte
	n, ok := d.vpdPage(page, buf[:])
	if !ok {
		return invalidCDB(2, 7)
	}
	d.dataIn(cmd, buf[:n], alloc)
	return good
}

func (d *Disk) standardInquiry(buf []byte) {
	buf[0] = 0x00 // peripheral qualifier 0, direct-access block device
	buf[1] = 0x00 // not removable
	buf[2] = 0x06 // SPC-4
	buf[3] = 0x02 // response data format 2
	buf[4] = byte(len(buf) - 5)
	buf[7] = 0x02 // CMDQUE
	copy(buf[8:16], d.vendor[:])
	copy(buf[16:32], d.product[:])
	copy(buf[32:36], d.revision[:])
	// Version descriptors: SAM-5, SPC-4, SBC-3.
	binary.BigEndian.PutUint16(buf[58:], 0x00a0)
	binary.BigEndian.PutUint16(buf[60:], 0x0460)
	binary.BigEndian.PutUint16(buf[62:], 0x04c0)
}

// supportedVPDPages lists the pages in ascending order, as VPD 0x00 must.
func (d *Disk) supportedVPDPages(buf []byte) []byte {
	buf = append(buf, vpdSupportedPages)
	if d.serial != "" {
		buf = append(buf, vpdUnitSerial)
	}
	return append(buf, vpdDeviceID, vpdExtendedInquiry, vpdBlockLimits,
		vpdBlockCharacteristics, vpdLogicalBlockProvisioning)
}

// vpdPage writes a VPD page into buf (512 bytes) and returns its length, or
// false when the page is not supported.
func (d *Disk) vpdPage(page byte, buf []byte) (int, bool) {
	buf[0] = 0x00 // direct-access block device
	buf[1] = page
	n := 4
	switch page {
	case vpdSupportedPages:
		n += len(d.supportedVPDPages(buf[4:4]))
	case vpdUnitSerial:
		if d.serial == "" {
			return 0, false
		}
		n += copy(buf[4:], d.serial)
	case vpdDeviceID:
		n = d.deviceIdentification(buf)
	case vpdExtendedInquiry:
		n = 64
		buf[5] = 0x07 // HEADSUP, ORDSUP, SIMPSUP
		if d.writeCache.Load() {
			buf[6] = 0x01 // V_SUP: a volatile cache exists
		}
		buf[7] = 0x01 // LUICLR
	case vpdBlockLimits:
		n = d.blockLimits(buf)
	case vpdBlockCharacteristics:
		n = 64
		binary.BigEndian.PutUint16(buf[4:], 0x0001) // non-rotating medium
	case vpdLogicalBlockProvisioning:
		n = 8
		if d.unmapper != nil {
			buf[5] = 0x80 | 0x40 | 0x20 // LBPU, LBPWS, LBPWS10
			if d.caps.UnmapZeroes {
				buf[5] |= 0x04 // LBPRZ 001b
			}
			buf[6] = 0x02 // thin provisioned
		}
	default:
		return 0, false
	}
	binary.BigEndian.PutUint16(buf[2:], uint16(n-4))
	return n, true
}

// deviceIdentification builds VPD 0x83 and returns its length.
func (d *Disk) deviceIdentification(buf []byte) int {
	n := 4
	if d.serial != "" {
		// NAA IEEE Registered Extended (type 6), binary, logical unit.
		buf[n] = 0x01
		buf[n+1] = 0x03
		buf[n+3] = 16
		naaFromSerial(buf[n+4:n+20], d.serial)
		n += 20
	}
	// T10 vendor identification, ASCII, as LIO builds it: the padded
	// vendor, then (with a serial) product ":" serial, then a NUL that the
	// length counts. The length is one byte: a very long serial is cut.
	buf[n] = 0x02
	buf[n+1] = 0x01
	id := buf[n+4 : n+4]
	id = append(id, d.vendor[:]...)
	if d.serial != "" {
		id = append(id, d.model...)
		id = append(id, ':')
		id = append(id, d.serial...)
	}
	id = append(id, 0)
	if len(id) > maxDesignatorLen {
		id = id[:maxDesignatorLen]
	}
	buf[n+3] = byte(len(id))
	n += 4 + len(id)
	relativePort, group, hasGroup := d.relativePort, d.targetPortGroup, d.hasTargetPortGroup
	if d.alua != nil {
		// The handler does not learn which port a command came through:
		// the port designators are given only when there is one port.
		relativePort, group, hasGroup = onlyPort(d.portGroups())
		if !hasGroup {
			relativePort = 0
		}
	}
	if relativePort != 0 {
		// Relative target port identifier, associated with the target port.
		buf[n] = 0x01
		buf[n+1] = 0x14
		buf[n+3] = 4
		binary.BigEndian.PutUint16(buf[n+6:], relativePort)
		n += 8
	}
	if hasGroup {
		buf[n] = 0x01
		buf[n+1] = 0x15
		buf[n+3] = 4
		binary.BigEndian.PutUint16(buf[n+6:], group)
		n += 8
	}
	return n
}

// naaFromSerial fills a 16-byte NAA 6 designator the way LIO derives it: NAA
// 6, the 24-bit company id, then the hex digits of the unit serial (other
// characters skipped) filling the remaining 100 bits.
func naaFromSerial(dst []byte, serial string) {
	clear(dst)
	company := uint32(ieeeCompanyID)
	dst[0] = 0x60 | byte(company>>20)&0x0f
	dst[1] = byte(company >> 12)
	dst[2] = byte(company >> 4)
	dst[3] = byte(company&0x0f) << 4
	nibble := 7 // next free nibble: the low half of byte 3
	for i := 0; i < len(serial) && nibble < 32; i++ {
		v, ok := hexValue(serial[i])
		if !ok {
			continue
		}
		if nibble%2 == 0 {
			dst[nibble/2] |= v << 4
		} else {
			dst[nibble/2] |= v
		}
		nibble++
	}
}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// blockLimits builds VPD 0xb0 (SBC-3 6.5.3) and returns its length.
func (d *Disk) blockLimits(buf []byte) int {
	// WSNZ is 0: WRITE SAME with zero blocks writes to the last block.
	buf[5] = byte(d.maxCAWBlocks)
	binary.BigEndian.PutUint16(buf[6:], 1) // optimal transfer length granularity
	binary.BigEndian.PutUint32(buf[8:], d.maxTransfer)
	binary.BigEndian.PutUint32(buf[12:], d.optimalTransfer)
	if d.unmapper != nil {
		binary.BigEndian.PutUint32(buf[20:], d.maxUnmapBlocks)
		binary.BigEndian.PutUint32(buf[24:], d.maxUnmapDescs)
		if g := d.caps.UnmapGranularity >> d.blockShift; g > 1 && g <= 0xffffffff {
			binary.BigEndian.PutUint32(buf[28:], uint32(g))
		}
	}
	binary.BigEndian.PutUint64(buf[36:], uint64(d.maxWriteSameBlocks))
	// WRITE ATOMIC: the largest atomic write, its alignment and
	// granularity; no atomic boundaries.
	binary.BigEndian.PutUint32(buf[44:], d.maxAtomicBlocks)
	binary.BigEndian.PutUint32(buf[48:], d.maxAtomicBlocks)
	binary.BigEndian.PutUint32(buf[52:], 1)
	return 64
}
