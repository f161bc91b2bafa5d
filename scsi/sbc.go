package scsi

import (
	"encoding/binary"
	"io"
	"sync"

	"github.com/tcmsh/tcmsh/backends"
)

// atomicWriteBytes is the most WRITE ATOMIC writes at once, aligned to its
// size: one page. The disk holds the blocks exclusively for the write, so
// no other command sees part of it, and the data goes to the backend in
// one call; a single aligned page is what a Linux file system and the page
// cache write all-or-nothing.
const atomicWriteBytes = 4096

// preFetch serves PRE-FETCH (10/16): a length of 0 means to the last block
// (SBC-4 5.10). With a backend that has a cache the blocks are read into it
// and the answer is CONDITION MET; without one there is nothing to do and
// the answer is GOOD, as SBC-4 says for a cache that cannot hold them.
func (d *Disk) preFetch(cmd *Command, _ *initiatorState) senseData {
	lba, n := rangeOf10or16(cmd.CDB, opPreFetch10)
	if !d.inRange(lba, n) {
		return senseLBAOutOfRange
	}
	if n == 0 {
		n = d.blocks.Load() - lba
	}
	p, ok := d.backend.(backends.Prefetcher)
	if !ok || n == 0 {
		return good
	}
	cached, err := p.Prefetch(int64(lba)<<d.blockShift, int64(n)<<d.blockShift)
	if err != nil {
		return mapBackendError(err, senseUnrecoveredReadError, lba)
	}
	if cached {
		cmd.Status = StatusConditionMet
	}
	return good
}

// readDefectData serves READ DEFECT DATA (10/12): the disk has no defects,
// so both lists are empty, in the format asked for (SBC-4 5.19, 5.20).
// The vendor-specific (110b) and reserved (111b) formats are refused.
func (d *Disk) readDefectData(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	flags := cdb[2]
	if cdb[0] == opReadDefectData12 {
		flags = cdb[1]
	}
	format := flags & 0x07
	if format >= 6 {
		if cdb[0] == opReadDefectData12 {
			return invalidCDB(1, 2)
		}
		return invalidCDB(2, 2)
	}
	// PLISTV and GLISTV: the lists asked for are valid (and empty).
	head := flags & 0x18
	if cdb[0] == opReadDefectData10 {
		resp := []byte{0, head | format, 0, 0}
		d.dataIn(cmd, resp, int(binary.BigEndian.Uint16(cdb[7:9])))
		return good
	}
	resp := []byte{0, head | format, 0, 0, 0, 0, 0, 0}
	d.dataIn(cmd, resp, int(binary.BigEndian.Uint32(cdb[6:10])))
	return good
}

// orWrite serves ORWRITE(16): each block becomes the OR of itself and the
// data-out block, atomically against every other command on those blocks
// (SBC-4 5.13).
func (d *Disk) orWrite(cmd *Command, _ *initiatorState) senseData {
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
		return invalidCDB(lengthField, 7)
	}
	d.locks.lock(lba, n)
	defer d.locks.unlock(lba, n)
	if !d.inRange(lba, n) { // the capacity shrank meanwhile
		return senseLBAOutOfRange
	}
	off := int64(lba) << d.blockShift
	buf := make([]byte, length)
	if k, err := d.backend.ReadAt(buf, off); k < len(buf) || (err != nil && err != io.EOF) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return mapBackendError(err, senseUnrecoveredReadError, lba)
	}
	c := cursor{bufs: cmd.Data}
	for i := 0; i < len(buf); {
		p := c.next(len(buf) - i)
		for j, b := range p {
			buf[i+j] |= b
		}
		i += len(p)
	}
	return d.writeFrom(&cursor{bufs: [][]byte{buf}}, off, length, d.writeThrough(cdb))
}

// writeAtomic serves WRITE ATOMIC(16) (SBC-4 5.48): at most the maximum
// atomic transfer length, starting at a multiple of the atomic alignment,
// written while the blocks are held exclusively and in one backend call.
func (d *Disk) writeAtomic(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	lba := binary.BigEndian.Uint64(cdb[2:10])
	n := uint64(binary.BigEndian.Uint16(cdb[12:14]))
	if !d.inRange(lba, n) {
		return senseLBAOutOfRange
	}
	if n > uint64(d.maxAtomicBlocks) {
		return invalidCDB(12, 7)
	}
	if lba%uint64(d.maxAtomicBlocks) != 0 {
		return invalidCDB(2, 7)
	}
	if n == 0 {
		return good
	}
	length := int64(n) << d.blockShift
	if int64(totalLen(cmd.Data)) < length {
		return invalidCDB(12, 7)
	}
	buf := make([]byte, length)
	gather(buf, cmd.Data)
	d.locks.lock(lba, n)
	defer d.locks.unlock(lba, n)
	if !d.inRange(lba, n) { // the capacity shrank meanwhile
		return senseLBAOutOfRange
	}
	return d.writeFrom(&cursor{bufs: [][]byte{buf}}, int64(lba)<<d.blockShift, length, d.writeThrough(cdb))
}

// Sanitize (SBC-4 4.11, 5.30).
var (
	// senseSanitizing carries the progress in its sense-key-specific field.
	senseSanitizing     = newSense(SenseKeyNotReady, 0x04, 0x1b)
	senseSanitizeFailed = newSense(SenseKeyMediumError, 0x31, 0x03)
)

// sanitizeChunk is how much one step of a sanitize writes; progress is
// reported between steps.
const sanitizeChunk = 64 << 20

// sanitizeState is the disk's sanitize operation: none, in progress (with
// its progress), or failed (the disk is in sanitize failure mode until a
// sanitize succeeds or, when the failed one allowed it, EXIT FAILURE MODE).
type sanitizeState struct {
	mu        sync.Mutex
	running   bool
	done, all uint64 // blocks, for the progress indication
	failed    bool
	ause      bool // the failed sanitize allowed EXIT FAILURE MODE
}

// refuse answers a command that the sanitize state does not allow: while a
// sanitize runs, everything but INQUIRY, REPORT LUNS and REQUEST SENSE is
// NOT READY, SANITIZE IN PROGRESS; in failure mode, commands that reach the
// medium are MEDIUM ERROR, SANITIZE COMMAND FAILED.
func (s *sanitizeState) refuse(opcode byte) senseData {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.running:
		switch opcode {
		case opInquiry, opReportLUNs, opRequestSense:
			return good
		}
		return s.progressLocked()
	case s.failed:
		switch opcode {
		case opInquiry, opReportLUNs, opRequestSense, opSanitize, opMaintenanceIn,
			opTestUnitReady, opModeSense6, opModeSense10, opReadCapacity10, opServiceActionIn16:
			return good
		}
		return senseSanitizeFailed
	}
	return good
}

// pending is what REQUEST SENSE reports for the sanitize, if anything.
func (s *sanitizeState) pending() (senseData, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.running:
		return s.progressLocked(), true
	case s.failed:
		return senseSanitizeFailed, true
	}
	return good, false
}

func (s *sanitizeState) progressLocked() senseData {
	sd := senseSanitizing
	var p uint64
	if s.all > 0 {
		p = min(s.done*65536/s.all, 65535)
	}
	sd.sks[0] = 0x80
	binary.BigEndian.PutUint16(sd.sks[1:], uint16(p))
	return sd
}

func (s *sanitizeState) step(done uint64) {
	s.mu.Lock()
	s.done = done
	s.mu.Unlock()
}

// sanitize serves SANITIZE with OVERWRITE, BLOCK ERASE and EXIT FAILURE
// MODE. CRYPTO ERASE is not supported (nothing is encrypted). With IMMED
// the command returns once its parameters are checked and the sanitize
// goes on in the background, REQUEST SENSE reporting its progress.
func (d *Disk) sanitize(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	immed := cdb[1]&0x80 != 0
	ause := cdb[1]&0x20 != 0
	sa := cdb[1] & 0x1f
	paramLen := int(binary.BigEndian.Uint16(cdb[7:9]))
	var pattern []byte
	switch sa {
	case saSanitizeExitFailure:
		if paramLen != 0 {
			return invalidCDB(7, 7)
		}
		d.sanitizer.mu.Lock()
		defer d.sanitizer.mu.Unlock()
		if d.sanitizer.failed && !d.sanitizer.ause {
			// Only a sanitize that completes ends this failure mode.
			return invalidCDB(1, 4)
		}
		d.sanitizer.failed = false
		return good
	case saSanitizeBlockErase:
		if paramLen != 0 {
			return invalidCDB(7, 7)
		}
	case saSanitizeOverwrite:
		if paramLen < 5 || paramLen > int(d.blockSize)+4 {
			return invalidCDB(7, 7)
		}
		params := make([]byte, paramLen)
		if gather(params, cmd.Data) < paramLen {
			return senseParamListLength
		}
		if params[0]&0x60 != 0 { // TEST: no test modes
			return invalidParam(0, 6)
		}
		passes := int(params[0] & 0x1f)
		if passes == 0 {
			return invalidParam(0, 4)
		}
		patLen := int(binary.BigEndian.Uint16(params[2:4]))
		if patLen == 0 || patLen > int(d.blockSize) {
			return invalidParam(2, 7)
		}
		if patLen+4 != paramLen {
			return senseParamListLength
		}
		// Only the last pass stays on the medium: with INVERT, passes
		// alternate between the pattern and its inverse, and an even
		// count ends inverted.
		block := make([]byte, d.blockSize)
		for i := range block {
			block[i] = params[4+i%patLen]
		}
		if params[0]&0x80 != 0 && passes%2 == 0 {
			for i := range block {
				block[i] = ^block[i]
			}
		}
		pattern = block
	default:
		return invalidCDB(1, 4)
	}
	d.sanitizer.mu.Lock()
	if d.sanitizer.running {
		d.sanitizer.mu.Unlock()
		return d.sanitizer.refuse(opSanitize)
	}
	d.sanitizer.running = true
	d.sanitizer.done, d.sanitizer.all = 0, d.blocks.Load()
	d.sanitizer.mu.Unlock()
	if immed {
		go d.runSanitize(pattern, ause)
		return good
	}
	return d.runSanitize(pattern, ause)
}

// runSanitize overwrites every block with pattern, or erases it (pattern
// nil: deallocated where the backend reads unmapped blocks as zeroes,
// otherwise zeroed), then makes it stable. Task management does not stop
// it: a sanitize that stopped halfway would leave the failure mode.
func (d *Disk) runSanitize(pattern []byte, ause bool) senseData {
	work := &Command{}
	d.locks.lockAll()
	blocks := d.blocks.Load()
	var s senseData
	for lba := uint64(0); lba < blocks && !s.failed(); {
		n := min(blocks-lba, uint64(sanitizeChunk>>d.blockShift))
		if pattern == nil {
			s = d.zeroRange(work, lba, n, true)
		} else {
			s = d.writePattern(work, pattern, lba, n)
		}
		lba += n
		d.sanitizer.step(lba)
	}
	if !s.failed() {
		if err := d.backend.Flush(); err != nil {
			s = mapBackendError(err, senseWriteError, 0)
		}
	}
	d.locks.unlockAll()
	d.sanitizer.mu.Lock()
	d.sanitizer.running = false
	d.sanitizer.failed = s.failed()
	d.sanitizer.ause = ause
	d.sanitizer.mu.Unlock()
	return s
}
