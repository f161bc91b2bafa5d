// Package tcmu owns the userspace side of TCMU: the shared-region layout,
// the command ring loop, uio device discovery and opening, the TCM-USER
// netlink family, and per-device statistics.
package tcmu

import "errors"

// Device is an opened TCMU device: the shared region (mailbox, command
// ring, data area) mapped into this process, and the channel through which
// the kernel signals new work and userspace signals completions. A real
// /dev/uioN and the simulated kernel (sim/ring) both implement it.
type Device interface {
	// Region is the whole shared mapping, exactly maps/map0/size bytes.
	Region() []byte
	// Wait blocks until the kernel has signalled new work (a uio event).
	// It returns an error wrapping net.ErrClosed (or os.ErrClosed) once
	// Close has been called.
	Wait() error
	// Notify tells the kernel that the tail moved (a 4-byte write).
	Notify() error
	// Close unmaps the region and releases the device; a blocked Wait returns.
	Close() error
}

// ErrWaitStopped is what Wait returns (wrapped) once StopWaiting has been
// called.
var ErrWaitStopped = errors.New("tcmu: waiting stopped")

// StoppableWaiter is implemented by devices whose Wait can be ended
// without closing the device. The Ring then waits on the thread that
// serves the ring, with no goroutine between the kernel's event and the
// command (a blocking poll of the uio device, as a C handler's loop
// does); a device without it is waited on from a goroutine of its own.
type StoppableWaiter interface {
	// StopWaiting makes a Wait in progress, and every later one, return
	// an error wrapping ErrWaitStopped. It is safe to call at any time,
	// from any goroutine, also after Close (it then does nothing).
	StopWaiting()
}

// WaiterBinder is implemented by devices that wait more cheaply on a
// thread named in advance: after BindWaiter, Wait is called on the
// calling thread only (the Ring's, locked to its goroutine), and may then
// be a plain blocking read of the uio device, as in a C handler's loop.
// MoveWaiter names the calling thread in place of the bound one: the Ring
// leaves its thread to yield to the scheduler (a locked goroutine's yield
// hands its P to another thread and waits for it back) and names the
// thread it comes back on before it waits again.
type WaiterBinder interface {
	BindWaiter()
	MoveWaiter()
}
