package scsi

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/tcmsh/tcmsh/backends"
)

// rwFields decodes the LBA and transfer length of READ, WRITE, WRITE AND
// VERIFY and VERIFY, and says which CDB byte holds the length (for field
// pointers).
func rwFields(cdb []byte) (lba, blocks uint64, lengthField int) {
	switch cdb[0] {
	case opRead6, opWrite6:
		lba = uint64(cdb[1]&0x1f)<<16 | uint64(cdb[2])<<8 | uint64(cdb[3])
		blocks = uint64(cdb[4])
		if blocks == 0 {
			blocks = 256 // SBC: a length of 0 means 256 blocks in the 6-byte CDBs
		}
		return lba, blocks, 4
	case opRead10, opWrite10, opWriteAndVerify10, opVerify10:
		return uint64(binary.BigEndian.Uint32(cdb[2:6])), uint64(binary.BigEndian.Uint16(cdb[7:9])), 7
	case opRead12, opWrite12, opWriteAndVerify12, opVerify12:
		return uint64(binary.BigEndian.Uint32(cdb[2:6])), uint64(binary.BigEndian.Uint32(cdb[6:10])), 6
	default:
		return binary.BigEndian.Uint64(cdb[2:10]), uint64(binary.BigEndian.Uint32(cdb[10:14])), 10
	}
}

// checkTransfer checks a data command's LBA range, then its transfer
// length, in that order (SBC-4 4.5: an LBA range past the capacity is LOGICAL
// BLOCK ADDRESS OUT OF RANGE whatever the length; the kernel's sbc_parse_cdb
// checks the range before its backends see the length).
func (d *Disk) checkTransfer(lba, n uint64, lengthField int) senseData {
	if !d.inRange(lba, n) {
		return senseLBAOutOfRange
	}
	if n > uint64(d.maxTransfer) {
		return invalidCDB(lengthField, 7)
	}
	return good
}

// inRange reports whether blocks [lba, lba+n) are within the capacity.
func (d *Disk) inRange(lba, n uint64) bool {
	capacity := d.blocks.Load()
	return lba <= capacity && n <= capacity-lba
}

func (d *Disk) read(cmd *Command, _ *initiatorState) senseData {
	lba, n, lengthField := rwFields(cmd.CDB)
	if s := d.checkTransfer(lba, n, lengthField); s.failed() {
		return s
	}
	if n == 0 {
		return good
	}
	d.locks.rlock(lba, n)
	defer d.locks.runlock(lba, n)
	if !d.inRange(lba, n) { // the capacity shrank meanwhile
		return senseLBAOutOfRange
	}
	c := cursor{bufs: cmd.Data}
	// Buffers smaller than the transfer get what fits; ReadLen tells the
	// transport the residual.
	done, s := d.readInto(&c, int64(lba)<<d.blockShift, int64(n)<<d.blockShift)
	cmd.ReadLen = int(done)
	return s
}

// vectorFor returns the buffers of a cursor that has not moved when they
// hold exactly length bytes and the backend takes buffer lists (VectorIO):
// then one call does what a call per buffer would.
func (d *Disk) vectorFor(c *cursor, length int64) ([][]byte, bool) {
	if d.vector == nil || c.i != 0 || c.off != 0 || int64(totalLen(c.bufs)) != length {
		return nil, false
	}
	return c.bufs, true
}

// readInto reads length bytes at off into the buffers at the cursor and
// returns how many it read.
func (d *Disk) readInto(c *cursor, off, length int64) (int64, senseData) {
	if bufs, ok := d.vectorFor(c, length); ok {
		c.i = len(bufs)
		k, err := d.vector.ReadvAt(bufs, off)
		if int64(k) < length || (err != nil && err != io.EOF) {
			return int64(k), d.readFailed(err, off+int64(k))
		}
		return length, good
	}
	var done int64
	for done < length {
		p := c.next(int(min(length-done, maxChunk)))
		if len(p) == 0 {
			break
		}
		k, err := d.backend.ReadAt(p, off+done)
		if k < len(p) || (err != nil && err != io.EOF) {
			return done, d.readFailed(err, off+done)
		}
		done += int64(k)
	}
	return done, good
}

// readFailed is the sense of a read that fell short at byte at.
func (d *Disk) readFailed(err error, at int64) senseData {
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return mapBackendError(err, senseUnrecoveredReadError, uint64(at>>d.blockShift))
}

// maxChunk bounds one backend call (and keeps int conversions safe).
const maxChunk = 1 << 30

// writeFrom writes length bytes at off from the buffers at the cursor; the
// caller has checked that the buffers hold them. With fua the data is
// stable when it returns.
func (d *Disk) writeFrom(c *cursor, off, length int64, fua bool) senseData {
	if bufs, ok := d.vectorFor(c, length); ok {
		c.i = len(bufs)
		k, err := d.vector.WritevAt(bufs, off, fua && d.fuaWriter != nil)
		if err == nil && int64(k) < length {
			err = io.ErrShortWrite
		}
		if err != nil {
			return mapBackendError(err, senseWriteError, uint64((off+int64(k))>>d.blockShift))
		}
		return d.flushFUA(off, fua)
	}
	var done int64
	for done < length {
		p := c.next(int(min(length-done, maxChunk)))
		if len(p) == 0 {
			return invalidCDB(0, -1)
		}
		var k int
		var err error
		if fua && d.fuaWriter != nil {
			k, err = d.fuaWriter.WriteAtFUA(p, off+done)
		} else {
			k, err = d.backend.WriteAt(p, off+done)
		}
		if err == nil && k < len(p) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return mapBackendError(err, senseWriteError, uint64((off+done)>>d.blockShift))
		}
		done += int64(k)
	}
	return d.flushFUA(off, fua)
}

// flushFUA makes a write at off stable when fua asks for it and the
// backend could not write it stable itself.
func (d *Disk) flushFUA(off int64, fua bool) senseData {
	if fua && d.fuaWriter == nil {
		if err := d.backend.Flush(); err != nil {
			return mapBackendError(err, senseWriteError, uint64(off>>d.blockShift))
		}
	}
	return good
}

// writeThrough reports whether a write must be stable on completion: FUA
// asked for it, or the write cache is off.
func (d *Disk) writeThrough(cdb []byte) bool {
	return cdb[1]&0x08 != 0 && cdb[0] != opWrite6 || !d.writeCache.Load()
}

// write serves WRITE (6/10/12/16) and WRITE AND VERIFY (10/12/16).
func (d *Disk) write(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	lba, n, lengthField := rwFields(cdb)
	if s := d.checkTransfer(lba, n, lengthField); s.failed() {
		return s
	}
	if n == 0 {
		return good
	}
	length := int64(n) << d.blockShift
	if int64(totalLen(cmd.Data)) < length {
		// Less data than the CDB announces: refused, as LIO refuses it.
		return invalidCDB(lengthField, 7)
	}
	verify := cdb[0] == opWriteAndVerify10 || cdb[0] == opWriteAndVerify12 || cdb[0] == opWriteAndVerify16
	// WRITE AND VERIFY puts the data on the medium before verifying it.
	fua := verify || d.writeThrough(cdb)
	off := int64(lba) << d.blockShift
	d.locks.rlock(lba, n)
	defer d.locks.runlock(lba, n)
	if !d.inRange(lba, n) { // the capacity shrank meanwhile
		return senseLBAOutOfRange
	}
	c := cursor{bufs: cmd.Data}
	if s := d.writeFrom(&c, off, length, fua); s.failed() {
		return s
	}
	if verify && cdb[1]&0x02 != 0 { // BYTCHK 01b: compare the medium with the data
		c = cursor{bufs: cmd.Data}
		return d.compare(&c, nil, lba, n)
	}
	return good
}

// scratchPool holds buffers for reading back blocks to compare or verify.
var scratchPool = sync.Pool{New: func() any {
	b := make([]byte, scratchSize)
	return &b
}}

const scratchSize = 128 << 10

// compare reads blocks [lba, lba+n) and compares them with the data at the
// cursor, or with block repeated when block is not nil (VERIFY BYTCHK 11b).
// A difference is MISCOMPARE DURING VERIFY OPERATION with the offset of the
// first differing byte of the data-out buffer in the information field.
func (d *Disk) compare(c *cursor, block []byte, lba, n uint64) senseData {
	bufp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(bufp)
	scratch := *bufp
	off := int64(lba) << d.blockShift
	total := int64(n) << d.blockShift
	for done := int64(0); done < total; {
		chunk := scratch[:min(int64(len(scratch)), total-done)]
		if k, err := d.backend.ReadAt(chunk, off+done); k < len(chunk) || (err != nil && err != io.EOF) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return mapBackendError(err, senseUnrecoveredReadError, uint64((off+done)>>d.blockShift))
		}
		for i := 0; i < len(chunk); {
			var want []byte
			pos := done + int64(i)
			if block != nil {
				want = block[pos%int64(len(block)):]
				want = want[:min(len(want), len(chunk)-i)]
			} else {
				want = c.next(len(chunk) - i)
			}
			if len(want) == 0 {
				return invalidCDB(0, -1)
			}
			if j := firstDifference(chunk[i:i+len(want)], want); j >= 0 {
				at := pos + int64(j)
				if block != nil {
					at %= int64(len(block))
				}
				return senseMiscompare.withInfo(uint64(at))
			}
			i += len(want)
		}
		done += int64(len(chunk))
	}
	return good
}

func (d *Disk) verify(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	lba, n, lengthField := rwFields(cdb)
	bytchk := cdb[1] >> 1 & 0x03
	if bytchk == 2 {
		return invalidCDB(1, 2)
	}
	if !d.inRange(lba, n) {
		return senseLBAOutOfRange
	}
	if bytchk == 1 && n > uint64(d.maxTransfer) {
		// Only a byte-by-byte comparison transfers the blocks.
		return invalidCDB(lengthField, 7)
	}
	if n == 0 {
		return good
	}
	d.locks.rlock(lba, n)
	defer d.locks.runlock(lba, n)
	if !d.inRange(lba, n) { // the capacity shrank meanwhile
		return senseLBAOutOfRange
	}
	switch bytchk {
	case 0: // medium verification: every block must be readable
		bufp := scratchPool.Get().(*[]byte)
		defer scratchPool.Put(bufp)
		off := int64(lba) << d.blockShift
		total := int64(n) << d.blockShift
		for done := int64(0); done < total; {
			if cmd.Aborted() {
				return senseAborted
			}
			chunk := (*bufp)[:min(int64(len(*bufp)), total-done)]
			if k, err := d.backend.ReadAt(chunk, off+done); k < len(chunk) || (err != nil && err != io.EOF) {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return mapBackendError(err, senseUnrecoveredReadError, uint64((off+done)>>d.blockShift))
			}
			done += int64(len(chunk))
		}
		return good
	case 1:
		if int64(totalLen(cmd.Data)) < int64(n)<<d.blockShift {
			return invalidCDB(lengthField, 7)
		}
		c := cursor{bufs: cmd.Data}
		return d.compare(&c, nil, lba, n)
	default: // 11b: one block of data-out compared with each block
		block := make([]byte, d.blockSize)
		if gather(block, cmd.Data) < len(block) {
			return invalidCDB(lengthField, 7)
		}
		return d.compare(nil, block, lba, n)
	}
}

// compareAndWrite is atomic against every other command on the same blocks:
// it holds their stripes exclusively from the read to the end of the write.
func (d *Disk) compareAndWrite(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	lba := binary.BigEndian.Uint64(cdb[2:10])
	n := uint64(cdb[13])
	if n == 0 {
		return good
	}
	if n > uint64(d.maxCAWBlocks) {
		return invalidCDB(13, 7)
	}
	if !d.inRange(lba, n) {
		return senseLBAOutOfRange
	}
	half := int64(n) << d.blockShift
	if int64(totalLen(cmd.Data)) < 2*half {
		return invalidCDB(13, 7)
	}
	d.locks.lock(lba, n)
	defer d.locks.unlock(lba, n)
	if !d.inRange(lba, n) { // the capacity shrank meanwhile
		return senseLBAOutOfRange
	}
	if d.caw != nil {
		if s, done := d.compareAndWriteInBackend(cmd, lba, half); done {
			return s
		}
	}
	c := cursor{bufs: cmd.Data}
	if s := d.compare(&c, nil, lba, n); s.failed() {
		return s
	}
	// The cursor now stands at the start of the write half.
	return d.writeFrom(&c, int64(lba)<<d.blockShift, half, d.writeThrough(cdb))
}

// compareAndWriteInBackend hands COMPARE AND WRITE to the backend, which
// makes it atomic for every host of the storage. done is false when the
// backend cannot do this request (errors.ErrUnsupported): the caller then
// compares and writes under the disk's lock, which it holds.
func (d *Disk) compareAndWriteInBackend(cmd *Command, lba uint64, half int64) (senseData, bool) {
	buf := make([]byte, 2*half)
	gather(buf, cmd.Data)
	off := int64(lba) << d.blockShift
	err := d.caw.CompareAndWrite(buf[:half], buf[half:], off)
	var miscompare *backends.MiscompareError
	switch {
	case err == nil:
	case errors.Is(err, errors.ErrUnsupported):
		return good, false
	case errors.As(err, &miscompare):
		return senseMiscompare.withInfo(uint64(miscompare.Offset)), true
	default:
		return mapBackendError(err, senseWriteError, lba), true
	}
	if d.writeThrough(cmd.CDB) {
		if err := d.backend.Flush(); err != nil {
			return mapBackendError(err, senseWriteError, lba), true
		}
	}
	return good, true
}

// writeSame serves WRITE SAME (10/16), with UNMAP and (16) NDOB.
func (d *Disk) writeSame(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	var lba, n uint64
	lengthField := 7
	ndob := false
	if cdb[0] == opWriteSame10 {
		lba = uint64(binary.BigEndian.Uint32(cdb[2:6]))
		n = uint64(binary.BigEndian.Uint16(cdb[7:9]))
	} else {
		lba = binary.BigEndian.Uint64(cdb[2:10])
		n = uint64(binary.BigEndian.Uint32(cdb[10:14]))
		lengthField = 10
		ndob = cdb[1]&0x01 != 0
	}
	unmapBit := cdb[1]&0x08 != 0
	if n == 0 {
		// To the last block (SBC-4 5.49, WSNZ is 0 in the block limits).
		if capacity := d.blocks.Load(); lba < capacity {
			n = capacity - lba
		} else {
			return senseLBAOutOfRange
		}
	}
	if n > uint64(d.maxWriteSameBlocks) {
		return invalidCDB(lengthField, 7)
	}
	if !d.inRange(lba, n) {
		return senseLBAOutOfRange
	}
	zero := true
	var block []byte
	if !ndob {
		block = make([]byte, d.blockSize)
		if gather(block, cmd.Data) < len(block) {
			// The data-out buffer must hold the one block.
			return newSense(SenseKeyIllegalRequest, 0x24, 0x00)
		}
		zero = allZero(block)
	}
	d.locks.rlock(lba, n)
	defer d.locks.runlock(lba, n)
	if !d.inRange(lba, n) { // the capacity shrank meanwhile
		return senseLBAOutOfRange
	}
	var s senseData
	if zero {
		s = d.zeroRange(cmd, lba, n, unmapBit)
	} else {
		s = d.writePattern(cmd, block, lba, n)
	}
	if s.failed() {
		return s
	}
	if !d.writeCache.Load() {
		if err := d.backend.Flush(); err != nil {
			return mapBackendError(err, senseWriteError, lba)
		}
	}
	return good
}

// zeroBuffer is written when a backend cannot write zeroes by itself. It
// is never modified.
var zeroBuffer = make([]byte, scratchSize)

// zeroRange makes blocks [lba, lba+n) read as zeroes: by deallocating them
// when allowed and the backend reads unmapped blocks as zeroes, else by the
// backend's WriteZeroes, else by writing zeroes.
func (d *Disk) zeroRange(cmd *Command, lba, n uint64, mayUnmap bool) senseData {
	off := int64(lba) << d.blockShift
	length := int64(n) << d.blockShift
	if mayUnmap && d.unmapper != nil && d.caps.UnmapZeroes {
		if err := d.unmapper.Unmap(off, length); err != nil {
			return mapBackendError(err, senseWriteError, lba)
		}
		return good
	}
	if d.zeroWriter != nil {
		if err := d.zeroWriter.WriteZeroes(off, length); err != nil {
			return mapBackendError(err, senseWriteError, lba)
		}
		return good
	}
	return d.writeRepeated(cmd, zeroBuffer, off, length)
}

// writePattern writes block to each of blocks [lba, lba+n): by the
// backend's SameWriter when it has one, else by writing the repeated block.
func (d *Disk) writePattern(cmd *Command, block []byte, lba, n uint64) senseData {
	length := int64(n) << d.blockShift
	if d.sameWriter != nil {
		if err := d.sameWriter.WriteSame(block, int64(lba)<<d.blockShift, length); err != nil {
			return mapBackendError(err, senseWriteError, lba)
		}
		return good
	}
	reps := max(1, min(int64(scratchSize)/d.blockSize, int64(n)))
	pattern := make([]byte, 0, reps*d.blockSize)
	for range reps {
		pattern = append(pattern, block...)
	}
	return d.writeRepeated(cmd, pattern, int64(lba)<<d.blockShift, length)
}

// writeRepeated writes length bytes at off, repeating src (a whole number of
// blocks), stopping early if the command is aborted.
func (d *Disk) writeRepeated(cmd *Command, src []byte, off, length int64) senseData {
	for done := int64(0); done < length; {
		if cmd.Aborted() {
			return senseAborted
		}
		p := src[:min(int64(len(src)), length-done)]
		k, err := d.backend.WriteAt(p, off+done)
		if err == nil && k < len(p) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return mapBackendError(err, senseWriteError, uint64((off+done)>>d.blockShift))
		}
		done += int64(k)
	}
	return good
}

// unmap serves UNMAP: the parameter list is validated in full against the
// advertised limits before any block is deallocated.
func (d *Disk) unmap(cmd *Command, _ *initiatorState) senseData {
	length := int(binary.BigEndian.Uint16(cmd.CDB[7:9]))
	if length == 0 {
		return good
	}
	if length < 8 {
		return senseParamListLength
	}
	params := make([]byte, length)
	if gather(params, cmd.Data) < length {
		return senseParamListLength
	}
	dataLen := int(binary.BigEndian.Uint16(params[0:2]))
	descLen := int(binary.BigEndian.Uint16(params[2:4]))
	if dataLen > length-2 {
		return senseParamListLength
	}
	if descLen > length-8 {
		return senseParamListLength
	}
	// A trailing partial descriptor is ignored (SBC-3 5.28.2).
	count := descLen / 16
	if count > int(d.maxUnmapDescs) {
		return invalidParam(2, 7)
	}
	var total uint64
	for i := 0; i < count; i++ {
		desc := params[8+16*i:]
		lba := binary.BigEndian.Uint64(desc[0:8])
		n := uint64(binary.BigEndian.Uint32(desc[8:12]))
		if !d.inRange(lba, n) {
			return senseLBAOutOfRange
		}
		total += n
		if total > uint64(d.maxUnmapBlocks) {
			return invalidParam(8+16*i+8, 7)
		}
	}
	for i := 0; i < count; i++ {
		desc := params[8+16*i:]
		lba := binary.BigEndian.Uint64(desc[0:8])
		n := uint64(binary.BigEndian.Uint32(desc[8:12]))
		if n == 0 {
			continue
		}
		d.locks.rlock(lba, n)
		if !d.inRange(lba, n) { // the capacity shrank meanwhile
			d.locks.runlock(lba, n)
			return senseLBAOutOfRange
		}
		err := d.unmapper.Unmap(int64(lba)<<d.blockShift, int64(n)<<d.blockShift)
		d.locks.runlock(lba, n)
		if err != nil {
			return mapBackendError(err, senseWriteError, lba)
		}
	}
	return good
}
