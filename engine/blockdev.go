package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim/ring"
)

// directAlign is the buffer and offset alignment O_DIRECT needs; a page
// satisfies every logical block size up to 4 KiB.
const directAlign = 4096

// blockTarget runs the initiator's READ and WRITE CDBs as preads and
// pwrites on a block device (the /dev/sdX a tcm_loop LUN presents), so
// that the same workload engine drives the simulated ring and a real
// disk. With O_DIRECT each I/O reaches the device; the initiator's
// buffers are copied through aligned bounce buffers because O_DIRECT
// needs aligned memory. Submit is safe for concurrent use.
type blockTarget struct {
	f         *os.File
	blockSize int
	size      int64
	bufs      sync.Pool // *[]byte, aligned to directAlign
}

// openBlockTarget opens path for reading and writing; direct selects
// O_DIRECT. blockSize is the device's logical block size.
func openBlockTarget(path string, blockSize int, direct bool) (*blockTarget, error) {
	flags := os.O_RDWR
	if direct {
		flags |= unix.O_DIRECT
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, fmt.Errorf("engine: open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("engine: stat %s: %w", path, err)
	}
	size := fi.Size()
	if fi.Mode()&os.ModeDevice != 0 {
		// A block device's size is not in its stat; ask the kernel.
		n, err := unix.IoctlGetUint64(int(f.Fd()), unix.BLKGETSIZE64)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("engine: size of %s: %w", path, err)
		}
		size = int64(n)
	}
	return &blockTarget{f: f, blockSize: blockSize, size: size}, nil
}

// buffer returns an aligned buffer of n bytes.
func (t *blockTarget) buffer(n int) *[]byte {
	if p, ok := t.bufs.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	raw := make([]byte, n+directAlign)
	off := 0
	if rem := int(uintptr(unsafe.Pointer(&raw[0])) % directAlign); rem != 0 {
		off = directAlign - rem
	}
	b := raw[off : off+n : off+n]
	return &b
}

// Submit executes one READ or WRITE (10 or 16) CDB.
func (t *blockTarget) Submit(ctx context.Context, req *ring.Request) (ring.Result, error) {
	var res ring.Result
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("engine: block device: %w", err)
	}
	cdb := req.CDB
	var lba, blocks uint64
	write := false
	switch {
	case len(cdb) >= 10 && (cdb[0] == 0x28 || cdb[0] == 0x2a):
		lba = uint64(binary.BigEndian.Uint32(cdb[2:]))
		blocks = uint64(binary.BigEndian.Uint16(cdb[7:]))
		write = cdb[0] == 0x2a
	case len(cdb) >= 16 && (cdb[0] == 0x88 || cdb[0] == 0x8a):
		lba = binary.BigEndian.Uint64(cdb[2:])
		blocks = uint64(binary.BigEndian.Uint32(cdb[10:]))
		write = cdb[0] == 0x8a
	default:
		senseResult(&res, 0x5, 0x20, 0x00) // INVALID COMMAND OPERATION CODE
		return res, nil
	}
	bs := uint64(t.blockSize)
	n := blocks * bs
	if lba > uint64(t.size)/bs || blocks > uint64(t.size)/bs-lba {
		senseResult(&res, 0x5, 0x21, 0x00) // LOGICAL BLOCK ADDRESS OUT OF RANGE
		return res, nil
	}
	off := int64(lba * bs)
	bp := t.buffer(int(n))
	defer t.bufs.Put(bp)
	buf := *bp
	if write {
		copy(buf, req.DataOut)
		if _, err := t.f.WriteAt(buf, off); err != nil {
			senseResult(&res, 0x3, 0x0c, 0x00) // WRITE ERROR
			return res, nil
		}
		return res, nil
	}
	// ReadAt reports any short read as an error.
	if _, err := t.f.ReadAt(buf, off); err != nil {
		senseResult(&res, 0x3, 0x11, 0x00) // UNRECOVERED READ ERROR
		return res, nil
	}
	res.DataIn = copy(req.DataIn, buf)
	return res, nil
}

// senseResult fills a fixed-format CHECK CONDITION.
func senseResult(res *ring.Result, key, asc, ascq byte) {
	*res = ring.Result{Status: scsi.StatusCheckCondition}
	res.SenseLen = scsi.FixedSense(res.Sense[:], key, asc, ascq)
}

func (t *blockTarget) Close() error { return t.f.Close() }
