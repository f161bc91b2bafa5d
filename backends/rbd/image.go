//go:build rbd

package rbd

/*
#cgo LDFLAGS: -lrbd -lrados
#include <errno.h>
#include <stdlib.h>
#include <rbd/librbd.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/ceph/go-ceph/rados"

	"github.com/tcmsh/tcmsh/backends"
)

// sizePoll is how often an image's size is read to notice a resize in the
// cluster (librbd keeps it current from the image header's watch, so a
// read costs no round trip unless the header changed, and says nothing
// about the connection's health).
var sizePoll = time.Second

// handle is one open librbd image on one connection. go-ceph opens the
// pool; the image is opened with librbd's C API directly because go-ceph
// has no compare-and-write (and no way to reach its image handle).
type handle struct {
	ioctx  *rados.IOContext
	img    C.rbd_image_t
	header string // the image's header object, which probes read
}

func (h *handle) close() {
	if h == nil {
		return
	}
	C.rbd_close(h.img)
	h.ioctx.Destroy()
}

// openHandle opens cfg's image on conn: read-only (without taking the
// exclusive lock) for a snapshot, read-write otherwise.
func openHandle(c *cluster, conn *rados.Conn, cfg Config) (*handle, error) {
	return openImage(c, conn, cfg, cfg.ReadOnly())
}

func openImage(c *cluster, conn *rados.Conn, cfg Config, readOnly bool) (*handle, error) {
	ioctx, err := c.openIOContext(conn, cfg.Pool)
	if err != nil {
		return nil, err
	}
	name := C.CString(cfg.Image)
	defer C.free(unsafe.Pointer(name))
	var snap *C.char
	if cfg.Snap != "" {
		snap = C.CString(cfg.Snap)
		defer C.free(unsafe.Pointer(snap))
	}
	rioctx := C.rados_ioctx_t(ioctx.Pointer())
	var img C.rbd_image_t
	var ret C.int
	if readOnly {
		ret = C.rbd_open_read_only(rioctx, name, &img, snap)
	} else {
		ret = C.rbd_open(rioctx, name, &img, snap)
	}
	if ret < 0 {
		errno := syscall.Errno(-ret)
		err := fmt.Errorf("open image %s: %w", cfg.Spec(), errno)
		if errno == syscall.ENOENT {
			err = fmt.Errorf("image %q does not exist in pool %q: %w", cfg.Image, cfg.Pool, errno)
			if snap != nil {
				var probe C.rbd_image_t
				if C.rbd_open_read_only(rioctx, name, &probe, nil) == 0 {
					C.rbd_close(probe)
					err = fmt.Errorf("image %s has no snapshot %q: %w", cfg.Pool+"/"+cfg.Image, cfg.Snap, errno)
				}
			}
		}
		ioctx.Destroy()
		return nil, err
	}
	return &handle{ioctx: ioctx, img: img, header: headerObject(img, cfg.Image)}, nil
}

// headerObject names the image's header object in its pool: format 2's
// rbd_header.<id>, format 1's <name>.rbd.
func headerObject(img C.rbd_image_t, name string) string {
	var id [96]C.char
	if C.rbd_get_id(img, &id[0], C.size_t(len(id))) == 0 {
		return "rbd_header." + C.GoString(&id[0])
	}
	return name + ".rbd"
}

// size reads the image's size.
func (h *handle) size() (int64, syscall.Errno) {
	var size C.uint64_t
	if ret := C.rbd_get_size(h.img, &size); ret < 0 {
		return 0, syscall.Errno(-ret)
	}
	return int64(size), 0
}

// objectSize reads the image's object size, the unit of RBD's striping.
func (h *handle) objectSize() (int64, syscall.Errno) {
	var info C.rbd_image_info_t
	if ret := C.rbd_stat(h.img, &info, C.size_t(unsafe.Sizeof(info))); ret < 0 {
		return 0, syscall.Errno(-ret)
	}
	return int64(info.obj_size), 0
}

// cacheEnabled reports whether the image or its pool turns librbd's cache
// on in their own configuration (rbd config image/pool set … rbd_cache),
// which overrides the connection's rbd_cache=false.
func (h *handle) cacheEnabled() bool {
	key := C.CString("conf_rbd_cache")
	defer C.free(unsafe.Pointer(key))
	var buf [16]C.char
	n := C.size_t(len(buf))
	if C.rbd_metadata_get(h.img, key, &buf[0], &n) == 0 {
		return isTrue(C.GoString(&buf[0]))
	}
	n = C.size_t(len(buf))
	if C.rbd_pool_metadata_get(C.rados_ioctx_t(h.ioctx.Pointer()), key, &buf[0], &n) == 0 {
		return isTrue(C.GoString(&buf[0]))
	}
	return false
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

// Image is an open RBD image, the rbd subtype's backends.Backend. Its
// operations may run concurrently: each is a synchronous librbd call, so
// the engine's queue depth is the number in flight.
type Image struct {
	cfg        Config
	cl         *cluster
	objectSize int64
	cacheOn    bool // writes are not stable before a flush

	// mu is held shared by every operation and exclusively to swap the
	// handle after a reconnection.
	mu     sync.RWMutex
	h      *handle
	closed bool

	size      atomic.Int64
	closeOnce sync.Once
}

// Open opens the image a cfgstring names, checking that it has size bytes
// (unless size is 0).
func Open(cfgstring string, size int64) (*Image, error) {
	cfg, err := ParseConfig(cfgstring)
	if err != nil {
		return nil, err
	}
	c, err := getCluster(cfg)
	if err != nil {
		return nil, err
	}
	began := c.begin()
	h, err := openHandle(c, c.currentConn(), cfg)
	if err != nil {
		releaseCluster(c)
		return nil, err
	}
	fail := func(err error) (*Image, error) {
		h.close()
		releaseCluster(c)
		return nil, err
	}
	have, errno := h.size()
	if errno != 0 {
		return fail(fmt.Errorf("image %s: size: %w", cfg.Spec(), errno))
	}
	if err := checkSize(cfg, size, have); err != nil {
		return fail(err)
	}
	obj, errno := h.objectSize()
	if errno != 0 {
		return fail(fmt.Errorf("image %s: stat: %w", cfg.Spec(), errno))
	}
	im := &Image{cfg: cfg, cl: c, h: h, objectSize: obj, cacheOn: h.cacheEnabled()}
	im.size.Store(have)
	c.addImage(im)
	c.noteOK("open", began) // rbd_open read the header from its OSD
	return im, nil
}

// Validate checks a cfgstring against the cluster without disturbing the
// image: it connects, opens the image read-only and compares its size.
func Validate(cfgstring string, size int64) error {
	cfg, err := ParseConfig(cfgstring)
	if err != nil {
		return err
	}
	c, err := getCluster(cfg)
	if err != nil {
		return err
	}
	defer releaseCluster(c)
	h, err := openImage(c, c.currentConn(), cfg, true)
	if err != nil {
		return err
	}
	defer h.close()
	have, errno := h.size()
	if errno != 0 {
		return fmt.Errorf("image %s: size: %w", cfg.Spec(), errno)
	}
	return checkSize(cfg, size, have)
}

func checkSize(cfg Config, want, have int64) error {
	if want != 0 && want != have {
		return fmt.Errorf("size %d does not match image %s, which has %d bytes: give size %d (or resize the image with rbd resize)",
			want, cfg.Spec(), have, have)
	}
	return nil
}

// errClosed is returned by operations on a closed image.
var errClosed = errors.New("rbd image closed")

// maybeLocal is call's served for an operation whose success does not
// prove that an OSD served it (see cluster.noteOK).
const maybeLocal = false

// call runs one librbd operation on the current handle and accounts its
// outcome to the connection's health: a failure that means a lost
// connection marks it down; a success marks it up only if served says the
// operation cannot have succeeded without an OSD.
func (im *Image) call(op string, off int64, served bool, f func(img C.rbd_image_t) C.ssize_t) (int64, error) {
	began := im.cl.begin()
	im.mu.RLock()
	if im.closed {
		im.mu.RUnlock()
		return 0, errClosed
	}
	r := f(im.h.img)
	im.mu.RUnlock()
	if r < 0 {
		errno := syscall.Errno(-r)
		im.cl.noteError(op, began, errno)
		return 0, ioError(op, off, errno)
	}
	if served {
		im.cl.noteOK(op, began)
	} else {
		im.cl.noteDone()
	}
	return int64(r), nil
}

// ReadAt reads from the image; past its end it returns io.EOF.
func (im *Image) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("rbd read at offset %d: %w", off, backends.ErrOutOfRange)
	}
	size := im.size.Load()
	if off >= size {
		return 0, io.EOF
	}
	want := p
	if int64(len(want)) > size-off {
		want = want[:size-off]
	}
	if len(want) == 0 {
		return 0, nil
	}
	// A read of an object that the object map says does not exist is
	// answered with zeros by librbd itself.
	n, err := im.call("read", off, maybeLocal, func(img C.rbd_image_t) C.ssize_t {
		return C.rbd_read(img, C.uint64_t(off), C.size_t(len(want)), (*C.char)(unsafe.Pointer(&want[0])))
	})
	if err != nil {
		return 0, err
	}
	if int(n) < len(p) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// WriteAt writes to the image.
func (im *Image) WriteAt(p []byte, off int64) (int, error) {
	if err := im.checkRange(off, int64(len(p))); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// With librbd's cache off, a write completes when the OSD has it.
	n, err := im.call("write", off, !im.cacheOn, func(img C.rbd_image_t) C.ssize_t {
		return C.rbd_write2(img, C.uint64_t(off), C.size_t(len(p)), (*C.char)(unsafe.Pointer(&p[0])), 0)
	})
	return int(n), err
}

// WriteAtFUA writes data that is stable when it returns: with librbd's
// cache off (tcmsh's connections turn it off) a completed write is on the
// OSDs already; when the image's or pool's configuration turns the cache
// on, the write is followed by a flush.
func (im *Image) WriteAtFUA(p []byte, off int64) (int, error) {
	n, err := im.WriteAt(p, off)
	if err != nil || !im.cacheOn {
		return n, err
	}
	return n, im.Flush()
}

// Flush is SYNCHRONIZE CACHE: rbd_flush.
func (im *Image) Flush() error {
	// With the cache off there is nothing to flush: librbd answers at once.
	_, err := im.call("flush", 0, maybeLocal, func(img C.rbd_image_t) C.ssize_t {
		return C.ssize_t(C.rbd_flush(img))
	})
	return err
}

// Unmap discards a range (UNMAP). librbd skips the parts of a discard
// smaller than rbd_discard_granularity_bytes, so discarded blocks are not
// promised to read back as zeroes (LBPRZ 0).
func (im *Image) Unmap(off, length int64) error {
	if err := im.checkRange(off, length); err != nil {
		return err
	}
	// Discarding objects that do not exist costs librbd no OSD.
	_, err := im.call("discard", off, maybeLocal, func(img C.rbd_image_t) C.ssize_t {
		return C.ssize_t(C.rbd_discard(img, C.uint64_t(off), C.uint64_t(length)))
	})
	return err
}

// WriteZeroes zeroes a range with rbd_write_zeroes, which deallocates the
// whole objects in it (WRITE SAME with zeroes, with or without UNMAP).
func (im *Image) WriteZeroes(off, length int64) error {
	if err := im.checkRange(off, length); err != nil {
		return err
	}
	_, err := im.call("write_zeroes", off, maybeLocal, func(img C.rbd_image_t) C.ssize_t {
		return C.rbd_write_zeroes(img, C.uint64_t(off), C.size_t(length), 0, 0)
	})
	return err
}

// WriteSame writes pattern over a range with rbd_writesame.
func (im *Image) WriteSame(pattern []byte, off, length int64) error {
	if err := im.checkRange(off, length); err != nil {
		return err
	}
	if len(pattern) == 0 || length%int64(len(pattern)) != 0 {
		return fmt.Errorf("rbd writesame: length %d is not a multiple of the %d-byte pattern", length, len(pattern))
	}
	// librbd turns a writesame of zeroes into a discard.
	_, err := im.call("writesame", off, maybeLocal, func(img C.rbd_image_t) C.ssize_t {
		return C.rbd_writesame(img, C.uint64_t(off), C.size_t(length), (*C.char)(unsafe.Pointer(&pattern[0])), C.size_t(len(pattern)), 0)
	})
	return err
}

// cawSector is what librbd's compare-and-write does (Ceph 16): one
// 512-byte sector, aligned; it refuses anything else with EINVAL.
const cawSector = 512

// CompareAndWrite is rbd_compare_and_write: the OSD compares and writes
// in one operation, atomic against every client of the image. librbd does
// it for one aligned 512-byte sector (what ESXi's ATS sends on 512-byte
// blocks); anything else is refused with errors.ErrUnsupported, for the
// SCSI layer to compare and write under its own lock.
func (im *Image) CompareAndWrite(cmp, data []byte, off int64) error {
	if len(cmp) != len(data) || len(cmp) == 0 {
		return fmt.Errorf("rbd compare-and-write: compare %d bytes, write %d: %w", len(cmp), len(data), syscall.EINVAL)
	}
	if err := im.checkRange(off, int64(len(cmp))); err != nil {
		return err
	}
	if len(cmp) != cawSector || off%cawSector != 0 {
		return fmt.Errorf("rbd compare-and-write of %d bytes at %d: librbd does one aligned %d-byte sector: %w",
			len(cmp), off, cawSector, errors.ErrUnsupported)
	}
	var mismatch C.uint64_t
	began := im.cl.begin()
	im.mu.RLock()
	if im.closed {
		im.mu.RUnlock()
		return errClosed
	}
	r := C.rbd_compare_and_write(im.h.img, C.uint64_t(off), C.size_t(len(cmp)),
		(*C.char)(unsafe.Pointer(&cmp[0])), (*C.char)(unsafe.Pointer(&data[0])), &mismatch, 0)
	im.mu.RUnlock()
	switch {
	case r >= 0:
		im.cl.noteDone()
		return nil
	case syscall.Errno(-r) == syscall.EILSEQ:
		im.cl.noteDone()
		// Ceph 16's librbd reports the offset of the differing byte
		// relative to the sector, or to an object-based base (seen:
		// 4 MiB + 300 for byte 300 of a sector at 5 MiB); the sector is
		// aligned, so the offset within it is the remainder either way.
		return &backends.MiscompareError{Offset: int64(mismatch) % cawSector}
	}
	errno := syscall.Errno(-r)
	im.cl.noteError("compare_and_write", began, errno)
	return ioError("compare_and_write", off, errno)
}

func (im *Image) checkRange(off, length int64) error {
	if size := im.size.Load(); off < 0 || length < 0 || off > size || length > size-off {
		return fmt.Errorf("rbd: offset %d length %d, image size %d: %w", off, length, size, backends.ErrOutOfRange)
	}
	return nil
}

// probe reads the image's header object with librados: an object read
// that only its OSD can answer (unlike a read through librbd, which
// answers for an object the object map says does not exist), bounded by
// the timeout. The caller accounts the outcome.
func (im *Image) probe() error {
	im.mu.RLock()
	defer im.mu.RUnlock()
	if im.closed {
		return errClosed
	}
	var buf [1]byte
	_, err := im.h.ioctx.Read(im.h.header, buf[:], 0)
	return err
}

// swap puts a handle opened on a new connection in place and returns the
// old one.
func (im *Image) swap(h *handle) *handle {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return h
	}
	old := im.h
	im.h = h
	return old
}

// Size is the image's size as last read.
func (im *Image) Size() int64 { return im.size.Load() }

// ObjectSize is the image's object size.
func (im *Image) ObjectSize() int64 { return im.objectSize }

// Config is the parsed cfgstring.
func (im *Image) Config() Config { return im.cfg }

// Caps: discards with the object size as granularity, zeroing and FUA;
// a snapshot is read-only.
func (im *Image) Caps() backends.Caps {
	return backends.Caps{
		Unmap:                 true,
		WriteZeroes:           true,
		FUA:                   true,
		ReadOnly:              im.cfg.ReadOnly(),
		UnmapGranularity:      im.objectSize,
		AtomicCompareAndWrite: cawSector,
	}
}

// Health reports why the cluster is unreachable, or nil.
func (im *Image) Health() error { return im.cl.Health() }

// WatchSize polls the image's size and calls changed when it differs from
// the last one seen (a resize in the cluster).
func (im *Image) WatchSize(changed func(size int64)) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(sizePoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			// librbd answers from the header it holds: this says
			// nothing about the connection and is not accounted to
			// its health.
			im.mu.RLock()
			if im.closed {
				im.mu.RUnlock()
				return
			}
			n, errno := im.h.size()
			im.mu.RUnlock()
			if errno != 0 {
				continue
			}
			if old := im.size.Swap(n); old != n {
				changed(n)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

// Close closes the image, once no operation is under way, and drops its
// share of the connection.
func (im *Image) Close() error {
	im.closeOnce.Do(func() {
		im.cl.removeImage(im)
		im.mu.Lock()
		im.closed = true
		h := im.h
		im.h = nil
		im.mu.Unlock()
		h.close()
		releaseCluster(im.cl)
	})
	return nil
}

var (
	_ backends.Backend          = (*Image)(nil)
	_ backends.FUAWriter        = (*Image)(nil)
	_ backends.Unmapper         = (*Image)(nil)
	_ backends.ZeroWriter       = (*Image)(nil)
	_ backends.SameWriter       = (*Image)(nil)
	_ backends.CompareAndWriter = (*Image)(nil)
	_ backends.SizeWatcher      = (*Image)(nil)
	_ backends.HealthReporter   = (*Image)(nil)
)
