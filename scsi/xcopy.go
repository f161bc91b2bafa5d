package scsi

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/tcmsh/tcmsh/backends"
)

// CopyTargets finds the disks EXTENDED COPY may copy between: every logical
// unit the same engine serves, by the NAA designator of its VPD 0x83.
type CopyTargets interface {
	DiskByNAA(naa [16]byte) *Disk
}

// NAA is the disk's NAA IEEE Registered Extended designator (VPD 0x83), or
// false when it has none (no unit serial).
func (d *Disk) NAA() (naa [16]byte, ok bool) {
	if d.serial == "" {
		return naa, false
	}
	naaFromSerial(naa[:], d.serial)
	return naa, true
}

const (
	opExtendedCopy          = 0x83
	opReceiveCopyResults    = 0x84
	saExtendedCopyLID1      = 0x00
	saOperatingParameters   = 0x03
	xcopyHeaderLen          = 16
	cscdLen                 = 32
	cscdIdentification      = 0xe4
	segmentBlockToBlock     = 0x02
	segmentBlockToBlockLen  = 28
	xcopyMaxCSCDs           = 8
	xcopyMaxSegments        = 16
	xcopyMaxDescListLen     = xcopyMaxCSCDs*cscdLen + xcopyMaxSegments*segmentBlockToBlockLen
	xcopyMaxSegmentBytes    = 32 << 20 // what one segment's 16-bit block count holds at 512 bytes
	xcopyChunk              = 1 << 20
	designatorNAA           = 0x03
	designatorCodeSetBinary = 0x01
)

// EXTENDED COPY sense (SPC-4 6.4, annex D).
var (
	senseTooManyCSCDs        = newSense(SenseKeyIllegalRequest, 0x26, 0x06)
	senseUnsupportedCSCD     = newSense(SenseKeyIllegalRequest, 0x26, 0x07)
	senseTooManySegments     = newSense(SenseKeyIllegalRequest, 0x26, 0x08)
	senseUnsupportedSegment  = newSense(SenseKeyIllegalRequest, 0x26, 0x09)
	senseCopyTargetNotReach  = newSense(SenseKeyCopyAborted, 0x0d, 0x02)
	senseCopyReadError       = newSense(SenseKeyCopyAborted, 0x11, 0x00)
	senseCopyWriteError      = newSense(SenseKeyCopyAborted, 0x0c, 0x00)
	senseCopyLBAOutOfRange   = newSense(SenseKeyCopyAborted, 0x21, 0x00)
	senseCopyTargetProtected = newSense(SenseKeyCopyAborted, 0x27, 0x00)
)

// SenseKeyCopyAborted is COPY ABORTED: a copy stopped part way.
const SenseKeyCopyAborted = 0x0a

// copySegment is one block→block segment of an EXTENDED COPY.
type copySegment struct {
	src, dst       *Disk
	srcLBA, dstLBA uint64
	blocks         uint64
}

// extendedCopy serves EXTENDED COPY (LID1) with identification CSCD
// descriptors naming disks by their NAA designator and block→block
// segment descriptors (SPC-4 6.4): the whole parameter list is checked,
// then the segments are copied in order, by the backend's own copy where
// it has one (copy_file_range between image files).
func (d *Disk) extendedCopy(cmd *Command, _ *initiatorState) senseData {
	length := int(binary.BigEndian.Uint32(cmd.CDB[10:14]))
	if length == 0 {
		return good
	}
	if length < xcopyHeaderLen {
		return senseParamListLength
	}
	if length > xcopyHeaderLen+xcopyMaxDescListLen {
		return senseParamListLength
	}
	p := make([]byte, length)
	if gather(p, cmd.Data) < length {
		return senseParamListLength
	}
	cscdLenTotal := int(binary.BigEndian.Uint16(p[2:4]))
	segLenTotal := int(binary.BigEndian.Uint32(p[8:12]))
	if binary.BigEndian.Uint32(p[12:16]) != 0 {
		return invalidParam(12, 7) // no inline data
	}
	if cscdLenTotal%cscdLen != 0 {
		return invalidParam(2, 7)
	}
	if cscdLenTotal/cscdLen > xcopyMaxCSCDs {
		return senseTooManyCSCDs
	}
	if segLenTotal > xcopyMaxSegments*segmentBlockToBlockLen {
		return senseTooManySegments
	}
	if xcopyHeaderLen+cscdLenTotal+segLenTotal > length {
		return senseParamListLength
	}
	var disks []*Disk
	for off := xcopyHeaderLen; off < xcopyHeaderLen+cscdLenTotal; off += cscdLen {
		target, s := d.copyTarget(p[off:off+cscdLen], off)
		if s.failed() {
			return s
		}
		disks = append(disks, target)
	}
	var segs []copySegment
	end := xcopyHeaderLen + cscdLenTotal + segLenTotal
	for off := xcopyHeaderLen + cscdLenTotal; off < end; {
		if off+4 > end {
			return senseParamListLength
		}
		if p[off] != segmentBlockToBlock {
			return senseUnsupportedSegment.withFieldPointer(false, off, 7)
		}
		if int(binary.BigEndian.Uint16(p[off+2:])) != segmentBlockToBlockLen-4 {
			return invalidParam(off+2, 7)
		}
		if off+segmentBlockToBlockLen > end {
			return senseParamListLength
		}
		if len(segs) == xcopyMaxSegments {
			return senseTooManySegments
		}
		seg := p[off : off+segmentBlockToBlockLen]
		si, di := int(binary.BigEndian.Uint16(seg[4:])), int(binary.BigEndian.Uint16(seg[6:]))
		if si >= len(disks) {
			return invalidParam(off+4, 7)
		}
		if di >= len(disks) {
			return invalidParam(off+6, 7)
		}
		cs := copySegment{src: disks[si], dst: disks[di], blocks: uint64(binary.BigEndian.Uint16(seg[10:])),
			srcLBA: binary.BigEndian.Uint64(seg[12:]), dstLBA: binary.BigEndian.Uint64(seg[20:])}
		if cs.blocks<<cs.src.blockShift > xcopyMaxSegmentBytes {
			return invalidParam(off+10, 7)
		}
		if cs.src.blockSize != cs.dst.blockSize {
			// The count would mean different lengths on each side.
			return invalidParam(off+6, 7)
		}
		segs = append(segs, cs)
		off += segmentBlockToBlockLen
	}
	for i, seg := range segs {
		if s := seg.copy(cmd); s.failed() {
			// COMMAND-SPECIFIC INFORMATION would name the segment; the
			// information field does here.
			return s.withInfo(uint64(i))
		}
	}
	return good
}

// copyTarget resolves an identification CSCD descriptor at offset off of
// the parameter list to a disk.
func (d *Disk) copyTarget(desc []byte, off int) (*Disk, senseData) {
	if desc[0] != cscdIdentification {
		return nil, senseUnsupportedCSCD.withFieldPointer(false, off, 7)
	}
	if desc[1]&0x03 != 0 { // LU ID TYPE: only a designator of the LU itself
		return nil, invalidParam(off+1, 1)
	}
	if desc[4]&0x0f != designatorCodeSetBinary {
		return nil, invalidParam(off+4, 3)
	}
	if desc[5]&0x30 != 0 || desc[5]&0x0f != designatorNAA { // associated with the LU, NAA
		return nil, invalidParam(off+5, 5)
	}
	if desc[7] != 16 {
		return nil, invalidParam(off+7, 7)
	}
	var naa [16]byte
	copy(naa[:], desc[8:24])
	var target *Disk
	if own, ok := d.NAA(); ok && own == naa {
		target = d
	} else if d.copyTargets != nil {
		target = d.copyTargets.DiskByNAA(naa)
	}
	if target == nil {
		return nil, senseCopyTargetNotReach
	}
	// The disk block length of the device type specific parameters, when
	// given, must be the disk's.
	if bl := uint32(desc[29])<<16 | uint32(desc[30])<<8 | uint32(desc[31]); bl != 0 && int64(bl) != target.blockSize {
		return nil, invalidParam(off+29, 7)
	}
	return target, good
}

// copy runs one segment: both ranges checked, the source read under its
// shared range lock and the destination written under its own, in chunks
// (backwards when a disk copies onto an overlapping later range of
// itself), then made stable when the destination writes through.
func (seg copySegment) copy(cmd *Command) senseData {
	src, dst, n := seg.src, seg.dst, seg.blocks
	if n == 0 {
		return good
	}
	if !src.inRange(seg.srcLBA, n) || !dst.inRange(seg.dstLBA, n) {
		return senseCopyLBAOutOfRange
	}
	if dst.caps.ReadOnly {
		return senseCopyTargetProtected
	}
	if s := dst.sanitizer.refuse(opWrite16); s.failed() {
		return s
	}
	if s := src.sanitizer.refuse(opRead16); s.failed() {
		return s
	}
	src.locks.rlock(seg.srcLBA, n)
	defer src.locks.runlock(seg.srcLBA, n)
	if dst != src || !overlaps(seg.srcLBA, seg.dstLBA, n) {
		dst.locks.rlock(seg.dstLBA, n)
		defer dst.locks.runlock(seg.dstLBA, n)
	}
	if !src.inRange(seg.srcLBA, n) || !dst.inRange(seg.dstLBA, n) { // a resize meanwhile
		return senseCopyLBAOutOfRange
	}
	shift := src.blockShift
	srcOff, dstOff, total := int64(seg.srcLBA)<<shift, int64(seg.dstLBA)<<shift, int64(n)<<shift
	overlapping := src == dst && overlaps(seg.srcLBA, seg.dstLBA, n)
	backwards := overlapping && seg.dstLBA > seg.srcLBA
	if c, ok := dst.backend.(backends.Copier); ok && !overlapping {
		err := c.CopyFrom(src.backend, srcOff, dstOff, total)
		switch {
		case err == nil:
			return seg.finish()
		case !errors.Is(err, errors.ErrUnsupported):
			return mapCopyError(err, senseCopyWriteError)
		}
	}
	buf := make([]byte, min(total, xcopyChunk))
	for done := int64(0); done < total; {
		if cmd.Aborted() {
			return senseAborted
		}
		k := min(int64(len(buf)), total-done)
		at := done
		if backwards {
			at = total - done - k
		}
		p := buf[:k]
		if r, err := src.backend.ReadAt(p, srcOff+at); r < len(p) || (err != nil && err != io.EOF) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return mapCopyError(err, senseCopyReadError)
		}
		if w, err := dst.backend.WriteAt(p, dstOff+at); w < len(p) || err != nil {
			if err == nil {
				err = io.ErrShortWrite
			}
			return mapCopyError(err, senseCopyWriteError)
		}
		done += k
	}
	return seg.finish()
}

func (seg copySegment) finish() senseData {
	if !seg.dst.writeCache.Load() {
		if err := seg.dst.backend.Flush(); err != nil {
			return mapCopyError(err, senseCopyWriteError)
		}
	}
	return good
}

// mapCopyError keeps a backend's own sense, otherwise COPY ABORTED.
func mapCopyError(err error, otherwise senseData) senseData {
	var se *backends.SenseError
	if errors.As(err, &se) {
		return newSense(se.Key, se.ASC, se.ASCQ)
	}
	return otherwise
}

// overlaps reports whether [a, a+n) and [b, b+n) share a block.
func overlaps(a, b, n uint64) bool {
	if a > b {
		a, b = b, a
	}
	return b-a < n
}

// receiveCopyResults serves RECEIVE COPY RESULTS with OPERATING PARAMETERS
// (SPC-4 6.18.4): the limits EXTENDED COPY holds to.
func (d *Disk) receiveCopyResults(cmd *Command, _ *initiatorState) senseData {
	alloc := int(binary.BigEndian.Uint32(cmd.CDB[10:14]))
	var b [46]byte
	binary.BigEndian.PutUint32(b[0:], uint32(len(b)-4))
	b[4] = 0x01 // SNLID: LIST ID USAGE 11b (no list identifier) is supported
	binary.BigEndian.PutUint16(b[8:], xcopyMaxCSCDs)
	binary.BigEndian.PutUint16(b[10:], xcopyMaxSegments)
	binary.BigEndian.PutUint32(b[12:], xcopyMaxDescListLen)
	binary.BigEndian.PutUint32(b[16:], xcopyMaxSegmentBytes)
	// No inline or held data, no stream devices.
	b[36] = 1 // maximum concurrent copies
	b[37] = byte(d.blockShift)
	b[38] = byte(d.blockShift)
	b[39] = byte(d.blockShift)
	b[43] = 2 // implemented descriptor codes
	b[44] = segmentBlockToBlock
	b[45] = cscdIdentification
	d.dataIn(cmd, b[:], alloc)
	return good
}
