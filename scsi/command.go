// Package scsi owns SCSI command emulation for TCMU devices: it turns a CDB
// and its data buffers into a status, sense data and data-in, answering the
// SPC and SBC commands that the kernel passes to userspace, against a
// backends.Backend.
package scsi

import "sync/atomic"

// SAM status codes.
const (
	StatusGood                = 0x00
	StatusCheckCondition      = 0x02
	StatusConditionMet        = 0x04
	StatusBusy                = 0x08
	StatusReservationConflict = 0x18
	StatusTaskSetFull         = 0x28
	StatusTaskAborted         = 0x40
)

// SenseSize is the size of the sense buffer TCMU carries (TCMU_SENSE_BUFFERSIZE).
const SenseSize = 96

// Command is one SCSI command as a transport (the TCMU ring, a test) hands it
// to a Handler, with room for the answer. A transport reuses Command values:
// nothing here may be retained by a handler after Execute returns.
type Command struct {
	// CDB is the command descriptor block.
	CDB []byte
	// Data holds the data buffers in order: what to write for a data-out
	// command, where to put the data for a data-in command. For TCMU these
	// are the iovecs, pointing into the shared data area.
	Data [][]byte
	// BidiIn holds the data-in buffers of a bidirectional command.
	BidiIn [][]byte
	// Initiator identifies the I_T nexus the command came through, for unit
	// attentions; 0 when the transport cannot tell.
	Initiator uint32

	// Status is the SAM status the handler sets.
	Status byte
	// Sense holds SenseLen bytes of sense data when Status is CHECK CONDITION.
	Sense    [SenseSize]byte
	SenseLen int
	// ReadLen is the number of data-in bytes the handler produced; when it is
	// less than the data-in buffers' total, the transport reports a residual.
	ReadLen int

	aborted atomic.Bool
}

// Abort marks the command as aborted (task management). Handlers and
// backends that can stop work check Aborted.
func (c *Command) Abort() { c.aborted.Store(true) }

// Aborted reports whether the command was aborted.
func (c *Command) Aborted() bool { return c.aborted.Load() }

// Reset clears the answer fields and the abort mark so that the Command can be
// reused for another CDB; CDB, Data and BidiIn are left to the transport.
func (c *Command) Reset() {
	c.Status = StatusGood
	c.SenseLen = 0
	c.ReadLen = 0
	c.Initiator = 0
	c.aborted.Store(false)
}

// Handler executes SCSI commands. Execute is called from several goroutines
// at once (one per in-flight command); it returns when the answer is in cmd.
type Handler interface {
	Execute(cmd *Command)
}
