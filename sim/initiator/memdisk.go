package initiator

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/tcmsh/tcmsh/scsi"
)

// MemDisk is a minimal in-memory scsi.Handler for simulations, tests and
// benchmarks of the ring: READ/WRITE(10)/(16) copy between the iovecs and
// a byte slice, TEST UNIT READY and SYNCHRONIZE CACHE succeed, anything
// else is ILLEGAL REQUEST. It is no disk emulation (that is package scsi);
// concurrent writes to the same blocks race like on a real disk, and
// callers (the workload generator) keep such I/Os apart.
type MemDisk struct {
	Store     []byte
	BlockSize int
	// Executed counts the commands executed.
	Executed atomic.Uint64
}

// NewMemDisk returns a disk of size bytes with blockSize-byte blocks.
func NewMemDisk(size, blockSize int) *MemDisk {
	return &MemDisk{Store: make([]byte, size), BlockSize: blockSize}
}

func checkCondition(cmd *scsi.Command, key, asc byte) {
	cmd.SetCheckCondition(key, asc, 0)
}

// Execute runs one command.
func (m *MemDisk) Execute(cmd *scsi.Command) {
	m.Executed.Add(1)
	cdb := cmd.CDB
	if len(cdb) == 0 {
		checkCondition(cmd, 0x5, 0x20)
		return
	}
	var lba, blocks uint64
	write := false
	switch cdb[0] {
	case 0x00, 0x35, 0x91: // TEST UNIT READY, SYNCHRONIZE CACHE(10)/(16)
		cmd.Status = scsi.StatusGood
		return
	case 0x28, 0x2a: // READ(10), WRITE(10)
		if len(cdb) < 10 {
			checkCondition(cmd, 0x5, 0x24)
			return
		}
		lba = uint64(binary.BigEndian.Uint32(cdb[2:]))
		blocks = uint64(binary.BigEndian.Uint16(cdb[7:]))
		write = cdb[0] == 0x2a
	case 0x88, 0x8a: // READ(16), WRITE(16)
		if len(cdb) < 16 {
			checkCondition(cmd, 0x5, 0x24)
			return
		}
		lba = binary.BigEndian.Uint64(cdb[2:])
		blocks = uint64(binary.BigEndian.Uint32(cdb[10:]))
		write = cdb[0] == 0x8a
	default:
		checkCondition(cmd, 0x5, 0x20) // INVALID COMMAND OPERATION CODE
		return
	}
	bs := uint64(m.BlockSize)
	size := uint64(len(m.Store))
	if lba > size/bs || blocks > size/bs-lba {
		checkCondition(cmd, 0x5, 0x21) // LBA OUT OF RANGE
		return
	}
	if cmd.Aborted() {
		cmd.Status = scsi.StatusTaskAborted
		return
	}
	region := m.Store[lba*bs : (lba+blocks)*bs]
	n := 0
	for _, iov := range cmd.Data {
		if write {
			n += copy(region[n:], iov)
		} else {
			n += copy(iov, region[n:])
		}
		if n == len(region) {
			break
		}
	}
	if !write {
		cmd.ReadLen = n
	}
	cmd.Status = scsi.StatusGood
}
