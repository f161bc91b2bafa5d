package tcmu

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// Layout of the shared region, as include/uapi/linux/target_core_user.h
// defines it. Every value here is checked against the system header by
// TestLayoutMatchesKernelHeader. All multi-byte fields are little-endian on
// the architectures TCMU runs on (x86_64, arm64).
const (
	// MailboxVersion is the only mailbox version this package speaks.
	MailboxVersion = 2

	// Mailbox capability flags (tcmu_mailbox.flags).
	FlagCapOOOC    = 1 << 0 // out-of-order completion
	FlagCapReadLen = 1 << 1 // read_len in the response is honoured
	FlagCapTMR     = 1 << 2 // TMR notifications are sent
	FlagCapKeepBuf = 1 << 3 // userspace may keep the data buffer after completion

	// MailboxSize is sizeof(struct tcmu_mailbox).
	MailboxSize = 128

	MailboxVersionOff  = 0  // u16
	MailboxFlagsOff    = 2  // u16
	MailboxCmdrOffOff  = 4  // u32
	MailboxCmdrSizeOff = 8  // u32
	MailboxCmdHeadOff  = 12 // u32, written by the kernel
	MailboxCmdTailOff  = 64 // u32, written by userspace, on its own cache line
)

// Entry opcodes (low 3 bits of len_op).
const (
	OpPad = 0
	OpCmd = 1
	OpTMR = 2

	OpMask = 0x7
	// EntryAlign is TCMU_OP_ALIGN_SIZE: every entry length is a multiple of it.
	EntryAlign = 8
)

// Flags userspace sets in an entry's uflags.
const (
	UFlagUnknownOp = 0x1
	UFlagReadLen   = 0x2
	UFlagKeepBuf   = 0x4
)

// Entry header and CMD entry offsets, relative to the entry.
const (
	EntryHeaderSize = 8
	HdrLenOpOff     = 0 // u32
	HdrCmdIDOff     = 4 // u16
	HdrKFlagsOff    = 6 // u8
	HdrUFlagsOff    = 7 // u8

	// Request view.
	ReqIovCntOff     = 8  // u32
	ReqIovBidiCntOff = 12 // u32
	ReqIovDifCntOff  = 16 // u32
	ReqCdbOffOff     = 24 // u64, offset of the CDB from the start of the region
	ReqIovOff        = 48 // first struct iovec

	// Response view (a union over the request view).
	RspStatusOff  = 8  // u8
	RspReadLenOff = 12 // u32
	RspSenseOff   = 16 // [SenseBufferSize]byte

	// SenseBufferSize is TCMU_SENSE_BUFFERSIZE.
	SenseBufferSize = 96
	// CmdEntrySize is sizeof(struct tcmu_cmd_entry): the smallest CMD
	// entry, large enough to hold a response.
	CmdEntrySize = 112

	// IovecSize is sizeof(struct iovec): base u64 (an offset into the
	// region), len u64.
	IovecSize    = 16
	IovecBaseOff = 0
	IovecLenOff  = 8
)

// TMR entry offsets and types.
const (
	TMRTypeOff   = 8  // u8
	TMRCmdCntOff = 12 // u32
	TMRCmdIDsOff = 32 // u16 each
	// TMREntrySize is sizeof(struct tcmu_tmr_entry) without its ids.
	TMREntrySize = 32

	TMRUnknown         = 0
	TMRAbortTask       = 1
	TMRAbortTaskSet    = 2
	TMRClearACA        = 3
	TMRClearTaskSet    = 4
	TMRLUNReset        = 5
	TMRTargetWarmReset = 6
	TMRTargetColdReset = 7
	TMRLUNResetPRO     = 128
)

// EntryLen returns the length part of a len_op word.
func EntryLen(lenOp uint32) uint32 { return lenOp &^ OpMask }

// EntryOp returns the opcode part of a len_op word.
func EntryOp(lenOp uint32) uint32 { return lenOp & OpMask }

// CmdEntryLen is the length the kernel gives a CMD entry with iovCnt
// iovecs (data-out/in plus bidi) and a CDB of cdbLen bytes: the base part,
// at least CmdEntrySize so that a response fits, then the CDB, 8-aligned.
func CmdEntryLen(iovCnt, cdbLen int) int {
	base := ReqIovOff + IovecSize*iovCnt
	if base < CmdEntrySize {
		base = CmdEntrySize
	}
	return base + alignUp(cdbLen, EntryAlign)
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// Mailbox is a view of the mailbox at the start of a region. cmd_head and
// cmd_tail are accessed atomically: the kernel (or sim/ring) writes head
// and reads tail concurrently with us.
type Mailbox []byte

func (m Mailbox) Version() uint16  { return binary.LittleEndian.Uint16(m[MailboxVersionOff:]) }
func (m Mailbox) Flags() uint16    { return binary.LittleEndian.Uint16(m[MailboxFlagsOff:]) }
func (m Mailbox) CmdrOff() uint32  { return binary.LittleEndian.Uint32(m[MailboxCmdrOffOff:]) }
func (m Mailbox) CmdrSize() uint32 { return binary.LittleEndian.Uint32(m[MailboxCmdrSizeOff:]) }

// SetHeader writes the fields the kernel initialises when it creates the
// region (used by the simulated kernel and by tests).
func (m Mailbox) SetHeader(version, flags uint16, cmdrOff, cmdrSize uint32) {
	binary.LittleEndian.PutUint16(m[MailboxVersionOff:], version)
	binary.LittleEndian.PutUint16(m[MailboxFlagsOff:], flags)
	binary.LittleEndian.PutUint32(m[MailboxCmdrOffOff:], cmdrOff)
	binary.LittleEndian.PutUint32(m[MailboxCmdrSizeOff:], cmdrSize)
}

// word returns the 32-bit word at off as an atomic. The region is page
// aligned (it comes from mmap) and off is a multiple of 4, so the word is
// naturally aligned, which sync/atomic requires.
func (m Mailbox) word(off int) *atomic.Uint32 {
	w := m[off : off+4 : off+4] // bounds check without reading the word
	return (*atomic.Uint32)(unsafe.Pointer(&w[0]))
}

// LoadHead reads cmd_head with acquire ordering: entries before head are
// fully written once head is seen.
func (m Mailbox) LoadHead() uint32 { return m.word(MailboxCmdHeadOff).Load() }

// StoreHead publishes cmd_head with release ordering (kernel side).
func (m Mailbox) StoreHead(v uint32) { m.word(MailboxCmdHeadOff).Store(v) }

// LoadTail reads cmd_tail with acquire ordering (kernel side): completions
// written before the tail moved are visible.
func (m Mailbox) LoadTail() uint32 { return m.word(MailboxCmdTailOff).Load() }

// StoreTail publishes cmd_tail with release ordering: the completion
// written into the entry is visible before the tail moves past it.
func (m Mailbox) StoreTail(v uint32) { m.word(MailboxCmdTailOff).Store(v) }

// Entry is a view of one ring entry (header and body), bounded by the
// entry's length within the ring.
type Entry []byte

func (e Entry) LenOp() uint32 { return binary.LittleEndian.Uint32(e[HdrLenOpOff:]) }
func (e Entry) Len() uint32   { return EntryLen(e.LenOp()) }
func (e Entry) Op() uint32    { return EntryOp(e.LenOp()) }
func (e Entry) CmdID() uint16 { return binary.LittleEndian.Uint16(e[HdrCmdIDOff:]) }
func (e Entry) KFlags() uint8 { return e[HdrKFlagsOff] }
func (e Entry) UFlags() uint8 { return e[HdrUFlagsOff] }
func (e Entry) SetLenOp(length uint32, op uint32) {
	binary.LittleEndian.PutUint32(e[HdrLenOpOff:], EntryLen(length)|EntryOp(op))
}
func (e Entry) SetCmdID(id uint16) { binary.LittleEndian.PutUint16(e[HdrCmdIDOff:], id) }
func (e Entry) SetKFlags(f uint8)  { e[HdrKFlagsOff] = f }
func (e Entry) SetUFlags(f uint8)  { e[HdrUFlagsOff] = f }

// CmdRequest is the request view of a CMD entry.
type CmdRequest []byte

func (r CmdRequest) IovCnt() uint32     { return binary.LittleEndian.Uint32(r[ReqIovCntOff:]) }
func (r CmdRequest) IovBidiCnt() uint32 { return binary.LittleEndian.Uint32(r[ReqIovBidiCntOff:]) }
func (r CmdRequest) IovDifCnt() uint32  { return binary.LittleEndian.Uint32(r[ReqIovDifCntOff:]) }
func (r CmdRequest) CdbOff() uint64     { return binary.LittleEndian.Uint64(r[ReqCdbOffOff:]) }

// Iovec returns the i-th iovec (base is an offset from the start of the
// region). The caller has checked that it lies within the entry.
func (r CmdRequest) Iovec(i int) (base, length uint64) {
	o := ReqIovOff + IovecSize*i
	return binary.LittleEndian.Uint64(r[o+IovecBaseOff:]), binary.LittleEndian.Uint64(r[o+IovecLenOff:])
}

func (r CmdRequest) SetCounts(iovCnt, bidiCnt uint32) {
	binary.LittleEndian.PutUint32(r[ReqIovCntOff:], iovCnt)
	binary.LittleEndian.PutUint32(r[ReqIovBidiCntOff:], bidiCnt)
	binary.LittleEndian.PutUint32(r[ReqIovDifCntOff:], 0)
}
func (r CmdRequest) SetCdbOff(off uint64) { binary.LittleEndian.PutUint64(r[ReqCdbOffOff:], off) }
func (r CmdRequest) SetIovec(i int, base, length uint64) {
	o := ReqIovOff + IovecSize*i
	binary.LittleEndian.PutUint64(r[o+IovecBaseOff:], base)
	binary.LittleEndian.PutUint64(r[o+IovecLenOff:], length)
}

// CmdResponse is the response view of a CMD entry; writing it destroys the
// request.
type CmdResponse []byte

func (r CmdResponse) Status() uint8     { return r[RspStatusOff] }
func (r CmdResponse) ReadLen() uint32   { return binary.LittleEndian.Uint32(r[RspReadLenOff:]) }
func (r CmdResponse) Sense() []byte     { return r[RspSenseOff : RspSenseOff+SenseBufferSize] }
func (r CmdResponse) SetStatus(s uint8) { r[RspStatusOff] = s }
func (r CmdResponse) SetReadLen(n uint32) {
	binary.LittleEndian.PutUint32(r[RspReadLenOff:], n)
}

// TMREntry is a view of a TMR entry.
type TMREntry []byte

func (t TMREntry) Type() uint8    { return t[TMRTypeOff] }
func (t TMREntry) CmdCnt() uint32 { return binary.LittleEndian.Uint32(t[TMRCmdCntOff:]) }
func (t TMREntry) CmdID(i int) uint16 {
	return binary.LittleEndian.Uint16(t[TMRCmdIDsOff+2*i:])
}
func (t TMREntry) SetType(typ uint8) { t[TMRTypeOff] = typ }
func (t TMREntry) SetCmdIDs(ids []uint16) {
	binary.LittleEndian.PutUint32(t[TMRCmdCntOff:], uint32(len(ids)))
	for i, id := range ids {
		binary.LittleEndian.PutUint16(t[TMRCmdIDsOff+2*i:], id)
	}
}

// TMREntryLen is the length the kernel gives a TMR entry naming n commands.
func TMREntryLen(n int) int { return alignUp(TMRCmdIDsOff+2*n, EntryAlign) }
