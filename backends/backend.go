// Package backends owns the storage behind TCMU devices: one Backend
// interface, the subtypes that implement it (file, ram, null, fault) and
// the registry that opens one from a `user:<subtype>` backstore's
// dev_config string. Subtypes that need cgo live in packages of their own
// behind a build tag and Register themselves: rbd (package backends/rbd,
// `-tags rbd,pacific`); without it, a placeholder rbd subtype says how to
// build it.
//
// A dev_config is `<subtype>/<cfgstring>`; a cfgstring is a head (a path
// for file, the inner dev_config for fault, nothing for ram and null)
// followed by `;`-separated options, tcmu-runner style:
//
//	file//var/lib/tcmsh/disk.img;grow=true
//	fault/ram/;delay=2ms;error_rate=0.01;seed=7
//
// Validate checks one without opening anything, Open opens it, and
// Subtypes, Lookup and Help describe the subtypes and their options.
package backends

import (
	"fmt"
	"io"
)

// Backend is the storage of one device. ReadAt and WriteAt follow io.ReaderAt
// and io.WriterAt and may be called concurrently; offsets and lengths given by
// the SCSI layer are always within Size.
type Backend interface {
	io.ReaderAt
	io.WriterAt
	// Flush makes every completed write stable (SYNCHRONIZE CACHE).
	Flush() error
	// Size is the capacity in bytes.
	Size() int64
	// Caps tells what optional operations the backend supports.
	Caps() Caps
	Close() error
}

// Caps are a backend's optional capabilities, which the SCSI layer
// advertises (VPD b0/b2, READ CAPACITY LBPME/LBPRZ, MODE SENSE WP).
type Caps struct {
	Unmap       bool // implements Unmapper
	UnmapZeroes bool // unmapped blocks read back as zeroes (LBPRZ)
	WriteZeroes bool // implements ZeroWriter efficiently
	FUA         bool // implements FUAWriter
	ReadOnly    bool // writes fail; advertise write protect
	Mapping     bool // implements Mapper (GET LBA STATUS can report holes)
	// UnmapGranularity is the preferred unmap alignment in bytes (0: any).
	UnmapGranularity int64
	// AtomicCompareAndWrite is the largest COMPARE AND WRITE, in bytes and
	// aligned to its size, that the backend's CompareAndWriter does
	// atomically in the storage; the SCSI layer then advertises no more
	// than that. 0: the SCSI layer compares and writes under its own lock.
	AtomicCompareAndWrite int64
}

// Unmapper deallocates a byte range (UNMAP, WRITE SAME with UNMAP).
type Unmapper interface {
	Unmap(off, length int64) error
}

// Mapper tells mapped (allocated) byte ranges from deallocated ones, for
// GET LBA STATUS.
type Mapper interface {
	// MappedExtent reports whether the byte at off (0 <= off < Size) is
	// mapped, and the length of the run from off, at most up to Size, over
	// which that stays so. The run may end before the state changes (the
	// next call then reports the same state), but it is never empty. A
	// range whose mapping cannot be told is reported mapped.
	MappedExtent(off int64) (mapped bool, length int64, err error)
}

// Prefetcher brings a byte range into a cache ahead of reads (PRE-FETCH);
// cached reports whether all of it is now held there. A backend without a
// cache does not implement it.
type Prefetcher interface {
	Prefetch(off, length int64) (cached bool, err error)
}

// Copier copies a byte range from another backend into this one by itself
// (EXTENDED COPY), without the data passing through the caller; it returns
// an error wrapping errors.ErrUnsupported when it cannot copy from src, and
// the caller then reads and writes.
type Copier interface {
	CopyFrom(src Backend, srcOff, dstOff, length int64) error
}

// ZeroWriter writes zeroes to a byte range without a data buffer.
type ZeroWriter interface {
	WriteZeroes(off, length int64) error
}

// FUAWriter writes data that is on stable storage when the call returns
// (a WRITE with FUA); without it the SCSI layer writes then flushes.
type FUAWriter interface {
	WriteAtFUA(p []byte, off int64) (int, error)
}

// VectorIO is implemented by backends that read or write a list of
// buffers, consecutive in the storage, in one call (preadv, pwritev) where
// ReadAt and WriteAt would take one per buffer: a TCMU command's data
// arrives as several buffers, up to one per 4 KiB page of the command.
// The SCSI layer uses it when a command's buffers hold exactly its
// transfer. Both may be called concurrently; neither keeps bufs.
type VectorIO interface {
	// ReadvAt fills bufs, in order, from off. As with io.ReaderAt, fewer
	// bytes than the buffers hold come with an error (io.EOF at the end
	// of the storage).
	ReadvAt(bufs [][]byte, off int64) (int, error)
	// WritevAt writes bufs, in order, from off; fewer bytes than the
	// buffers hold come with an error. With fua the data is on stable
	// storage when it returns, as with FUAWriter, which such a backend
	// also implements (the SCSI layer asks for fua only when Caps.FUA).
	WritevAt(bufs [][]byte, off int64, fua bool) (int, error)
}

// Resizer is implemented by backends whose size can change while served
// (a RECONFIG with a new dev_size).
type Resizer interface {
	Resize(size int64) error
}

// MiscompareError is returned by CompareAndWrite when the data on the
// medium differs from the compare buffer; nothing was written.
type MiscompareError struct {
	// Offset is the offset of the first differing byte, counted from the
	// start of the compare buffer (what COMPARE AND WRITE reports in the
	// sense data's information field).
	Offset int64
}

func (e *MiscompareError) Error() string {
	return fmt.Sprintf("miscompare at byte %d of the compared range", e.Offset)
}

// CompareAndWriter performs COMPARE AND WRITE in the storage itself: cmp is
// compared with the data at off and, only if they are equal, data (as long
// as cmp) is written there, atomically against every writer of the storage,
// other hosts included. A difference is a *MiscompareError. A backend that
// cannot do one particular request atomically (it spans objects, say)
// returns an error wrapping errors.ErrUnsupported, and the SCSI layer then
// compares and writes under its own lock, which is atomic within this
// process only.
type CompareAndWriter interface {
	CompareAndWrite(cmp, data []byte, off int64) error
}

// SameWriter writes one pattern over a range (WRITE SAME with a non-zero
// block) without the SCSI layer expanding it: pattern is repeated from off
// for length bytes, length being a multiple of len(pattern).
type SameWriter interface {
	WriteSame(pattern []byte, off, length int64) error
}

// SizeWatcher is implemented by backends whose size can change outside
// tcmsh (an RBD image resized in the cluster). WatchSize calls changed with
// the new size in bytes, from its own goroutine, whenever it sees one, and
// Size returns the new size from then on. stop ends the watch without
// waiting: a call of changed already under way may still finish, so
// changed must tolerate a closed device.
type SizeWatcher interface {
	WatchSize(changed func(size int64)) (stop func())
}

// NonBlocker is implemented by backends that can tell that their reads
// and writes never wait for anything but memory: no device, network,
// timer or lock held across such a wait (RAM, a file in tmpfs). The TCMU
// ring then runs those commands on the thread that takes them from the
// ring instead of handing them to a worker (see tcmu.RingConfig.Inline).
type NonBlocker interface {
	NonBlocking() bool
}

// HealthReporter is implemented by backends that can lose their storage
// (a cluster connection). Health returns nil while the storage is
// reachable, else why it is not; it never blocks on the storage.
type HealthReporter interface {
	Health() error
}
