package scsi

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tcmsh/tcmsh/backends"
)

// DiskConfig describes a disk as the device's configfs attributes do.
type DiskConfig struct {
	// BlockSize is the logical block size in bytes (hw_block_size); 512,
	// 1024, 2048 or 4096. 0 means 512.
	BlockSize uint32
	// Capacity is the size in bytes (dev_size), rounded down to whole
	// blocks; 0 means the backend's size. It may not exceed the backend's.
	Capacity int64
	// MaxSectors is the largest transfer in logical blocks (hw_max_sectors);
	// 0 means 128, the kernel's default.
	MaxSectors uint32
	// OptimalSectors is the optimal transfer length in logical blocks
	// reported in the block limits page; 0 leaves it unreported.
	OptimalSectors uint32
	// WriteCache is emulate_write_cache: the WCE bit of the caching page.
	WriteCache bool
	// DescriptorSense starts the disk with D_SENSE set in the control page.
	DescriptorSense bool

	// VendorID, ProductID and Revision are the standard INQUIRY strings
	// (at most 8, 16 and 4 printable ASCII characters). Empty means
	// "LIO-ORG", "TCMU device" and "0002".
	VendorID, ProductID, Revision string
	// UnitSerial is wwn/vpd_unit_serial (VPD 0x80, and the NAA designator
	// of VPD 0x83 is derived from it). Empty leaves both out.
	UnitSerial string
	// RelativePortID is the relative target port identifier for VPD 0x83
	// (0 means unknown: not reported).
	RelativePortID uint16
	// TargetPortGroup is the target port group reported in VPD 0x83 when
	// HasTargetPortGroup is set.
	TargetPortGroup    uint16
	HasTargetPortGroup bool
	// ALUA, when set, gives the logical unit's target port groups: the
	// INQUIRY TPGS field, REPORT and SET TARGET PORT GROUPS, and (with a
	// single target port) the VPD 0x83 port designators, which then
	// replace RelativePortID and TargetPortGroup.
	ALUA ALUA
	// CopyTargets, when set, are the disks EXTENDED COPY reaches besides
	// this one (the 3PC bit, EXTENDED COPY and RECEIVE COPY RESULTS are
	// offered only then).
	CopyTargets CopyTargets

	// MaxUnmapBlocks, MaxUnmapDescriptors and MaxWriteSameBlocks are the
	// limits advertised in the block limits page and enforced; 0 means a
	// default (32 MiB worth of blocks, 16 descriptors, 1 GiB worth of
	// blocks).
	MaxUnmapBlocks      uint32
	MaxUnmapDescriptors uint32
	MaxWriteSameBlocks  uint32
}

// Defaults of DiskConfig.
const (
	DefaultVendorID   = "LIO-ORG"
	DefaultProductID  = "TCMU device"
	DefaultRevision   = "0002"
	DefaultMaxSectors = 128
	defaultLimitBytes = 1 << 30
	// An UNMAP of 32 MiB is what arrays commonly allow per command: a
	// few of them trim a large extent, and each finishes well within an
	// initiator's timeout even where deallocation is slow (RBD). Linux
	// sends one descriptor; Windows and ESXi send several.
	defaultUnmapBytes = 32 << 20
	defaultUnmapDescs = 16
	// maxCompareAndWriteBlocks is the largest COMPARE AND WRITE accepted.
	maxCompareAndWriteBlocks = 255
)

// DefaultUserMaxTransfer is the largest transfer, in bytes, that tcmsh
// configures a user backstore to accept when it creates one
// (hw_max_sectors): 8 MiB, what the kernel's fileio backstore takes
// (FD_MAX_BYTES). The kernel's own default for user backstores, 128
// sectors (64 KiB), refuses what SG_IO initiators send and halves
// sequential throughput.
const DefaultUserMaxTransfer = 8 << 20

// UserMaxSectors is the hw_max_sectors to give a new user backstore of
// blockSize-byte blocks whose data area holds dataArea bytes: at most
// DefaultUserMaxTransfer, and no more than a quarter of the data area, so
// that a command never waits for the whole area and four of the largest
// fit at once. It is at least one page worth of blocks.
func UserMaxSectors(blockSize uint32, dataArea int64) uint32 {
	if blockSize == 0 {
		blockSize = 512
	}
	limit := min(int64(DefaultUserMaxTransfer), dataArea/4)
	limit = max(limit, 4096, int64(blockSize))
	return uint32(limit / int64(blockSize))
}

// Disk emulates a SCSI direct-access block device (SPC-4/SBC-3) on top of a
// backends.Backend. Execute may be called from many goroutines at once; the
// run-time setters may be called at any time.
type Disk struct {
	backend    backends.Backend
	caps       backends.Caps
	unmapper   backends.Unmapper   // nil unless caps.Unmap
	zeroWriter backends.ZeroWriter // nil unless caps.WriteZeroes
	fuaWriter  backends.FUAWriter  // nil unless caps.FUA
	mapper     backends.Mapper     // nil unless caps.Mapping and unmapper
	sameWriter backends.SameWriter // nil unless the backend writes patterns itself
	vector     backends.VectorIO   // nil unless the backend reads and writes buffer lists in one call
	// caw does COMPARE AND WRITE in the storage, atomically for every
	// host; nil when the disk compares and writes under its own lock.
	caw backends.CompareAndWriter

	blockSize  int64
	blockShift uint

	maxTransfer        uint32
	optimalTransfer    uint32
	maxUnmapBlocks     uint32
	maxUnmapDescs      uint32
	maxWriteSameBlocks uint32
	maxCAWBlocks       uint32
	maxAtomicBlocks    uint32 // WRITE ATOMIC: also its required alignment

	vendor   [8]byte
	product  [16]byte
	model    string // the product id as configured, unpadded (VPD 0x83)
	revision [4]byte
	serial   string

	relativePort       uint16
	targetPortGroup    uint16
	hasTargetPortGroup bool
	alua               ALUA
	copyTargets        CopyTargets

	blocks     atomic.Uint64 // capacity in logical blocks
	writeCache atomic.Bool
	descSense  atomic.Bool

	ops        [256]*operation // commands without service actions
	saOps      []*operation    // commands with service actions
	allOps     []*operation    // every supported command, for REPORT SUPPORTED OPERATION CODES
	locks      rangeLocks
	initiators initiatorTable
	sanitizer  sanitizeState
	resizeMu   sync.Mutex
}

// NewDisk builds a disk over b as cfg describes.
func NewDisk(cfg DiskConfig, b backends.Backend) (*Disk, error) {
	if b == nil {
		return nil, errors.New("scsi: disk without a backend")
	}
	d := &Disk{backend: b, caps: b.Caps()}
	bs := cfg.BlockSize
	if bs == 0 {
		bs = 512
	}
	switch bs {
	case 512:
		d.blockShift = 9
	case 1024:
		d.blockShift = 10
	case 2048:
		d.blockShift = 11
	case 4096:
		d.blockShift = 12
	default:
		return nil, fmt.Errorf("scsi: block size %d: want 512, 1024, 2048 or 4096", bs)
	}
	d.blockSize = int64(bs)

	size := b.Size()
	if cfg.Capacity < 0 {
		return nil, fmt.Errorf("scsi: negative capacity %d", cfg.Capacity)
	}
	if cfg.Capacity > size {
		return nil, fmt.Errorf("scsi: capacity %d is larger than the backend (%d bytes)", cfg.Capacity, size)
	}
	if cfg.Capacity > 0 {
		size = cfg.Capacity
	}
	if size < d.blockSize {
		return nil, fmt.Errorf("scsi: a capacity of %d bytes holds no %d-byte block", size, d.blockSize)
	}
	d.blocks.Store(uint64(size >> d.blockShift))

	d.maxTransfer = cfg.MaxSectors
	if d.maxTransfer == 0 {
		d.maxTransfer = DefaultMaxSectors
	}
	// An optimal length above the maximum makes Linux ignore both
	// (sd_validate_opt_xfer_size).
	d.optimalTransfer = min(cfg.OptimalSectors, d.maxTransfer)
	d.maxUnmapBlocks = orDefault(cfg.MaxUnmapBlocks, uint32(defaultUnmapBytes>>d.blockShift))
	d.maxUnmapDescs = orDefault(cfg.MaxUnmapDescriptors, defaultUnmapDescs)
	d.maxWriteSameBlocks = orDefault(cfg.MaxWriteSameBlocks, uint32(defaultLimitBytes>>d.blockShift))
	d.maxCAWBlocks = min(maxCompareAndWriteBlocks, d.maxTransfer)
	d.maxAtomicBlocks = uint32(max(1, min(int64(d.maxTransfer), atomicWriteBytes>>d.blockShift)))

	var err error
	if err = setASCII(d.vendor[:], cfg.VendorID, DefaultVendorID, "vendor id"); err != nil {
		return nil, err
	}
	if err = setASCII(d.product[:], cfg.ProductID, DefaultProductID, "product id"); err != nil {
		return nil, err
	}
	d.model = cfg.ProductID
	if d.model == "" {
		d.model = DefaultProductID
	}
	if err = setASCII(d.revision[:], cfg.Revision, DefaultRevision, "revision"); err != nil {
		return nil, err
	}
	if len(cfg.UnitSerial) > maxSerialLen {
		return nil, fmt.Errorf("scsi: unit serial is %d characters long, at most %d fit", len(cfg.UnitSerial), maxSerialLen)
	}
	if !printable(cfg.UnitSerial) {
		return nil, fmt.Errorf("scsi: unit serial %q is not printable ASCII", cfg.UnitSerial)
	}
	d.serial = cfg.UnitSerial
	d.relativePort = cfg.RelativePortID
	d.targetPortGroup = cfg.TargetPortGroup
	d.hasTargetPortGroup = cfg.HasTargetPortGroup
	d.alua = cfg.ALUA
	d.copyTargets = cfg.CopyTargets

	if d.caps.Unmap {
		u, ok := b.(backends.Unmapper)
		if !ok {
			return nil, errors.New("scsi: backend claims unmap but does not implement Unmap")
		}
		d.unmapper = u
	}
	if d.caps.WriteZeroes {
		if z, ok := b.(backends.ZeroWriter); ok {
			d.zeroWriter = z
		}
	}
	if d.caps.FUA {
		if f, ok := b.(backends.FUAWriter); ok {
			d.fuaWriter = f
		}
	}
	if d.caps.Mapping && d.unmapper != nil {
		// Only a thin-provisioned disk (LBPME) reports deallocated
		// blocks; a fully provisioned one has every block mapped.
		m, ok := b.(backends.Mapper)
		if !ok {
			return nil, errors.New("scsi: backend claims mapping but does not implement MappedExtent")
		}
		d.mapper = m
	}
	if v, ok := b.(backends.VectorIO); ok {
		d.vector = v
	}
	if w, ok := b.(backends.SameWriter); ok {
		d.sameWriter = w
	}
	if c, ok := b.(backends.CompareAndWriter); ok {
		d.caw = c
		// Advertise no more than the storage does atomically, when that
		// holds a block; larger requests would only be atomic here.
		if n := d.caps.AtomicCompareAndWrite >> d.blockShift; n >= 1 {
			d.maxCAWBlocks = uint32(min(int64(d.maxCAWBlocks), n))
		}
	}
	d.writeCache.Store(cfg.WriteCache)
	d.descSense.Store(cfg.DescriptorSense)
	d.initiators.init()
	d.registerOperations()
	return d, nil
}

// maxSerialLen keeps VPD 0x80 and 0x83 within a page (the T10 vendor
// designator cuts a serial longer than its length byte allows).
const maxSerialLen = 240

func orDefault(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// setASCII fills a space-padded INQUIRY field.
func setASCII(dst []byte, s, def, what string) error {
	if s == "" {
		s = def
	}
	if len(s) > len(dst) {
		return fmt.Errorf("scsi: %s %q is longer than %d characters", what, s, len(dst))
	}
	if !printable(s) {
		return fmt.Errorf("scsi: %s %q is not printable ASCII", what, s)
	}
	n := copy(dst, s)
	for i := n; i < len(dst); i++ {
		dst[i] = ' '
	}
	return nil
}

// BlockSize is the logical block size in bytes.
func (d *Disk) BlockSize() int64 { return d.blockSize }

// Blocks is the current capacity in logical blocks.
func (d *Disk) Blocks() uint64 { return d.blocks.Load() }

// WriteCache reports whether the write cache is enabled (WCE).
func (d *Disk) WriteCache() bool { return d.writeCache.Load() }

// SetWriteCache changes emulate_write_cache at run time. A change raises
// MODE PARAMETERS CHANGED for every initiator seen so far.
func (d *Disk) SetWriteCache(enabled bool) {
	if d.writeCache.Swap(enabled) != enabled {
		d.initiators.raise(uaModeParamsChanged, 0, false)
	}
}

// Resize changes the capacity to size bytes (a RECONFIG with a new
// dev_size), resizing the backend when it is a backends.Resizer. It waits
// for the commands in flight, so none of them can reach past a shrunk
// backend. Every initiator seen so far gets CAPACITY DATA HAS CHANGED once.
func (d *Disk) Resize(size int64) error {
	if size < d.blockSize {
		return fmt.Errorf("scsi: resize to %d bytes: smaller than one block", size)
	}
	d.resizeMu.Lock()
	defer d.resizeMu.Unlock()
	d.locks.lockAll()
	defer d.locks.unlockAll()
	if r, ok := d.backend.(backends.Resizer); ok && d.backend.Size() != size {
		if err := r.Resize(size); err != nil {
			return fmt.Errorf("scsi: resize backend to %d bytes: %w", size, err)
		}
	}
	if have := d.backend.Size(); have < size {
		return fmt.Errorf("scsi: resize to %d bytes: the backend holds only %d", size, have)
	}
	blocks := uint64(size >> d.blockShift)
	if d.blocks.Swap(blocks) != blocks {
		d.initiators.raise(uaCapacityChanged, 0, false)
	}
	return nil
}

// Execute runs one command and leaves its answer in cmd. It never panics on
// any input and always sets a status.
func (d *Disk) Execute(cmd *Command) {
	cmd.Status = StatusGood
	cmd.SenseLen = 0
	cmd.ReadLen = 0
	s := d.execute(cmd)
	if s.failed() {
		d.setSense(cmd, s, d.descSense.Load())
	}
}

func (d *Disk) setSense(cmd *Command, s senseData, descriptor bool) {
	cmd.Status = StatusCheckCondition
	cmd.SenseLen = s.encode(cmd.Sense[:], descriptor)
}

func (d *Disk) execute(cmd *Command) senseData {
	cdb := cmd.CDB
	if len(cdb) == 0 {
		return senseInvalidOpcode
	}
	opcode := cdb[0]
	state := d.initiators.lookup(cmd.Initiator)
	// INQUIRY, REPORT LUNS and REQUEST SENSE are not held up by a unit
	// attention (SAM-5 5.14); REQUEST SENSE reports and clears it.
	if opcode != opInquiry && opcode != opReportLUNs && opcode != opRequestSense {
		if ua, ok := state.take(); ok {
			return ua
		}
	}
	op := d.ops[opcode]
	if op == nil {
		var known bool
		op, known = d.lookupServiceAction(cdb)
		if op == nil {
			if known {
				return invalidCDB(1, 4)
			}
			return senseInvalidOpcode
		}
	}
	if len(cdb) < len(op.usage) {
		// The CDB is shorter than its operation code says it is.
		return newSense(SenseKeyIllegalRequest, 0x24, 0x00)
	}
	if s := checkUsage(cdb, op.usage); s.failed() {
		return s
	}
	if s := d.sanitizer.refuse(opcode); s.failed() {
		return s
	}
	if op.writes && d.caps.ReadOnly {
		return senseWriteProtected
	}
	return op.exec(d, cmd, state)
}

// lookupServiceAction finds a command identified by operation code and
// service action; known reports whether the operation code has any.
func (d *Disk) lookupServiceAction(cdb []byte) (op *operation, known bool) {
	if len(cdb) < 2 {
		return nil, false
	}
	sa := uint16(cdb[1] & 0x1f)
	for _, o := range d.saOps {
		if o.opcode != cdb[0] {
			continue
		}
		known = true
		if o.serviceAction == sa {
			return o, true
		}
	}
	return nil, known
}

// checkUsage rejects any bit the device server does not use (the CDB usage
// data REPORT SUPPORTED OPERATION CODES reports), with a pointer to the
// most significant such bit. Of the control byte only NACA, the obsolete
// FLAG and LINK are checked; its vendor-specific bits are ignored.
func checkUsage(cdb, usage []byte) senseData {
	last := len(usage) - 1
	for i := 1; i < last; i++ {
		if bad := cdb[i] &^ usage[i]; bad != 0 {
			return invalidCDB(i, highestBit(bad))
		}
	}
	if bad := cdb[last] & 0x07 &^ usage[last]; bad != 0 {
		return invalidCDB(last, highestBit(bad))
	}
	return good
}

func highestBit(b byte) int {
	for bit := 7; bit >= 0; bit-- {
		if b&(1<<bit) != 0 {
			return bit
		}
	}
	return -1
}

// mapBackendError turns a backend failure into sense data: the backend's own
// sense when it chose one, SPACE ALLOCATION FAILED WRITE PROTECT when it ran
// out of space (as LIO reports ENOSPC), otherwise a medium error of the
// given kind. lba goes to the information field.
func mapBackendError(err error, otherwise senseData, lba uint64) senseData {
	var se *backends.SenseError
	if errors.As(err, &se) {
		return newSense(se.Key, se.ASC, se.ASCQ)
	}
	if isNoSpace(err) {
		return senseSpaceAllocationFailed
	}
	return otherwise.withInfo(lba)
}
