// Package tcmu owns the userspace side of TCMU: the shared-region layout,
// the command ring loop, uio device discovery and opening, the TCM-USER
// netlink family, and per-device statistics.
package tcmu

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
