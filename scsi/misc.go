package scsi

import "encoding/binary"

func (d *Disk) testUnitReady(*Command, *initiatorState) senseData { return good }

// requestSense reports a pending unit attention (and clears it), else a
// sanitize in progress (with its progress) or failed, else NO SENSE: every
// other condition was already returned with its command.
func (d *Disk) requestSense(cmd *Command, st *initiatorState) senseData {
	descriptor := cmd.CDB[1]&0x01 != 0
	alloc := int(cmd.CDB[4])
	s, ok := st.take()
	if !ok {
		s, ok = d.sanitizer.pending()
	}
	if !ok {
		s = newSense(SenseKeyNoSense, 0, 0)
	}
	var buf [descriptorSenseMaxLen]byte
	n := s.encode(buf[:], descriptor)
	d.dataIn(cmd, buf[:n], alloc)
	return good
}

// startStopUnit accepts START and STOP with power condition START_VALID;
// stopping writes the cache back unless NO_FLUSH. The medium cannot be
// ejected.
func (d *Disk) startStopUnit(cmd *Command, _ *initiatorState) senseData {
	flags := cmd.CDB[4]
	if flags&0x02 != 0 { // LOEJ: no removable medium
		return invalidCDB(4, 1)
	}
	if flags&0x01 == 0 && flags&0x04 == 0 {
		if err := d.backend.Flush(); err != nil {
			return mapBackendError(err, senseWriteError, 0)
		}
	}
	return good
}

// preventAllow is accepted and has nothing to do: the medium is not
// removable.
func (d *Disk) preventAllow(*Command, *initiatorState) senseData { return good }

func (d *Disk) readCapacity10(cmd *Command, _ *initiatorState) senseData {
	var buf [8]byte
	var last uint64
	if blocks := d.blocks.Load(); blocks > 0 {
		last = blocks - 1
	}
	binary.BigEndian.PutUint32(buf[0:], uint32(min(last, 0xffffffff)))
	binary.BigEndian.PutUint32(buf[4:], uint32(d.blockSize))
	d.dataIn(cmd, buf[:], len(buf))
	return good
}

func (d *Disk) readCapacity16(cmd *Command, _ *initiatorState) senseData {
	alloc := int(binary.BigEndian.Uint32(cmd.CDB[10:14]))
	var buf [32]byte
	blocks := d.blocks.Load()
	var last uint64
	if blocks > 0 {
		last = blocks - 1
	}
	binary.BigEndian.PutUint64(buf[0:], last)
	binary.BigEndian.PutUint32(buf[8:], uint32(d.blockSize))
	if d.unmapper != nil {
		buf[14] |= 0x80 // LBPME
		if d.caps.UnmapZeroes {
			buf[14] |= 0x40 // LBPRZ
		}
	}
	d.dataIn(cmd, buf[:], alloc)
	return good
}

// GET LBA STATUS parameter data: an 8-byte header, then 16-byte descriptors.
const (
	lbaStatusHeaderLen = 8
	lbaStatusDescLen   = 16
	// lbaStatusMaxQueries bounds the backend queries of one command; the
	// descriptors then end where the queries did, and the initiator asks
	// again from there.
	lbaStatusMaxQueries = 4096
	// lbaStatusMaxDescs bounds the descriptors of one answer (64 KiB).
	lbaStatusMaxDescs = 4096
)

// Provisioning status of an LBA status descriptor.
const (
	provisionMapped      = 0x0
	provisionDeallocated = 0x1
)

// getLBAStatus describes the blocks from the requested one on: with a
// backend that can tell (a Mapper, on a thin-provisioned disk), as runs of
// mapped and deallocated blocks, as many descriptors as the allocation
// length holds; otherwise every block to the end as mapped.
func (d *Disk) getLBAStatus(cmd *Command, _ *initiatorState) senseData {
	lba := binary.BigEndian.Uint64(cmd.CDB[2:10])
	alloc := int64(binary.BigEndian.Uint32(cmd.CDB[10:14]))
	if d.mapper == nil {
		blocks := d.blocks.Load()
		if lba >= blocks {
			return senseLBAOutOfRange
		}
		var buf [lbaStatusHeaderLen + lbaStatusDescLen]byte
		putLBAStatus(buf[:], 1, 0, lba, blocks-lba, provisionMapped)
		d.dataIn(cmd, buf[:], int(alloc))
		return good
	}
	// A resize waits for this, so the capacity holds for the whole walk.
	d.locks.rlockAll()
	defer d.locks.runlockAll()
	blocks := d.blocks.Load()
	if lba >= blocks {
		return senseLBAOutOfRange
	}
	room := min(alloc, int64(totalLen(cmd.Data)))
	maxDescs := int(min(max((room-lbaStatusHeaderLen)/lbaStatusDescLen, 1), lbaStatusMaxDescs))
	buf := make([]byte, lbaStatusHeaderLen+maxDescs*lbaStatusDescLen)
	n := 0                  // descriptors done, the last one possibly still growing
	var start, count uint64 // the last descriptor
	var status byte
	pos := lba
	for queries := 0; pos < blocks && queries < lbaStatusMaxQueries; queries++ {
		mapped, run, err := d.blockExtent(pos, blocks)
		if err != nil {
			return mapBackendError(err, senseUnrecoveredReadError, pos)
		}
		st := byte(provisionDeallocated)
		if mapped {
			st = provisionMapped
		}
		for run > 0 {
			if n > 0 && st == status && count < 0xffffffff {
				k := min(run, 0xffffffff-count)
				count += k
				run -= k
				pos += k
				putLBAStatus(buf, n, n-1, start, count, status)
				continue
			}
			if n == maxDescs {
				break
			}
			start, count, status = pos, 0, st
			n++
		}
		if run > 0 {
			break // no room for another descriptor
		}
	}
	d.dataIn(cmd, buf[:lbaStatusHeaderLen+n*lbaStatusDescLen], int(alloc))
	return good
}

// putLBAStatus writes descriptor i of n into GET LBA STATUS parameter data,
// and the parameter data length for n descriptors.
func putLBAStatus(buf []byte, n, i int, lba, blocks uint64, status byte) {
	binary.BigEndian.PutUint32(buf[0:], uint32(lbaStatusHeaderLen-4+n*lbaStatusDescLen))
	desc := buf[lbaStatusHeaderLen+i*lbaStatusDescLen:][:lbaStatusDescLen]
	binary.BigEndian.PutUint64(desc[0:], lba)
	binary.BigEndian.PutUint32(desc[8:], uint32(min(blocks, 0xffffffff)))
	desc[12] = status
}

// blockExtent asks the backend about block lba: whether it is mapped and
// how many blocks from it (at least one, within blocks) share that state. A
// block is deallocated only when all of it is; one mapped byte maps it.
func (d *Disk) blockExtent(lba, blocks uint64) (mapped bool, run uint64, err error) {
	off := int64(lba << d.blockShift)
	mapped, length, err := d.mapper.MappedExtent(off)
	if err != nil {
		return false, 0, err
	}
	end := uint64(off) + uint64(max(length, 1))
	if mapped {
		run = (end+uint64(d.blockSize)-1)>>d.blockShift - lba
	} else {
		run = end>>d.blockShift - lba
		if run == 0 {
			// The hole ends inside the block: the rest of it is data.
			mapped, run = true, 1
		}
	}
	return mapped, min(run, blocks-lba), nil
}

// rangeOf10or16 reads the LBA and block count of a command whose 10-byte
// form (opcode op10) has them at bytes 2-5 and 7-8 and whose 16-byte form at
// bytes 2-9 and 10-13: SYNCHRONIZE CACHE and PRE-FETCH.
func rangeOf10or16(cdb []byte, op10 byte) (lba, n uint64) {
	if cdb[0] == op10 {
		return uint64(binary.BigEndian.Uint32(cdb[2:6])), uint64(binary.BigEndian.Uint16(cdb[7:9]))
	}
	return binary.BigEndian.Uint64(cdb[2:10]), uint64(binary.BigEndian.Uint32(cdb[10:14]))
}

func (d *Disk) synchronizeCache(cmd *Command, _ *initiatorState) senseData {
	lba, n := rangeOf10or16(cmd.CDB, opSynchronizeCache10)
	if !d.inRange(lba, n) {
		return senseLBAOutOfRange
	}
	if err := d.backend.Flush(); err != nil {
		return mapBackendError(err, senseWriteError, lba)
	}
	return good
}

// formatUnit accepts a format without a parameter list or with a header
// that asks for nothing beyond the defaults, and leaves every block reading
// as zeroes (deallocated when the backend can unmap into zeroes).
func (d *Disk) formatUnit(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	if cdb[1]&0x10 != 0 { // FMTDATA: a parameter list follows
		long := cdb[1]&0x20 != 0
		hdrLen := 4
		if long {
			hdrLen = 8
		}
		var hdr [8]byte
		if gather(hdr[:hdrLen], cmd.Data) < hdrLen {
			return senseParamListLength
		}
		if hdr[0] != 0 { // protection field usage: no protection information
			return invalidParam(0, highestBit(hdr[0]))
		}
		// FOV and the bits it enables (DPRY, DCRT, STPF, IP, IMMED) ask for
		// nothing this disk could do differently; IMMED is honoured by
		// finishing before returning.
		if bad := hdr[1] &^ (0x80 | 0x02); bad != 0 && hdr[1]&0x80 != 0 {
			return invalidParam(1, highestBit(bad))
		}
		if hdr[1]&0x80 == 0 && hdr[1] != 0 {
			return invalidParam(1, highestBit(hdr[1]))
		}
		var defects uint32
		if long {
			defects = binary.BigEndian.Uint32(hdr[4:8])
		} else {
			defects = uint32(binary.BigEndian.Uint16(hdr[2:4]))
		}
		if defects != 0 {
			if long {
				return invalidParam(4, 7)
			}
			return invalidParam(2, 7)
		}
	}
	d.locks.rlockAll()
	defer d.locks.runlockAll()
	blocks := d.blocks.Load()
	if blocks == 0 {
		return good
	}
	if s := d.zeroRange(cmd, 0, blocks, true); s.failed() {
		return s
	}
	if err := d.backend.Flush(); err != nil {
		return mapBackendError(err, senseWriteError, 0)
	}
	return good
}
