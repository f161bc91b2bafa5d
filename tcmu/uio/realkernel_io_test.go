//go:build linux && realkernel

package uio

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/backends"
	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/tcmu"
	"golang.org/x/sys/unix"
)

// TestRealKernelLoopbackIO serves a ram backstore through this package's
// Device and the tcmu ring, exports it with tcm_loop, and writes and reads
// the resulting /dev/sdX with O_DIRECT: the whole path from a real
// initiator through uio Wait/Notify.
func TestRealKernelLoopbackIO(t *testing.T) {
	fsys, so := realBackstore(t, "e2e", "ram/")
	if _, err := os.Stat("/sys/module/tcm_loop"); err != nil {
		t.Skip("tcm_loop not loaded")
	}
	info := findReal(t, "e2e")
	attrs, err := ReadAttributes(fsys, info.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	be, err := backends.Open(info.DevConfig, int64(attrs.Size), attrs.BlockSize)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := scsi.NewDisk(scsi.DiskConfig{BlockSize: attrs.BlockSize, Capacity: int64(attrs.Size),
		MaxSectors: attrs.MaxSectors, WriteCache: attrs.WriteCache}, be)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(info, "")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := tcmu.NewRing(d, tcmu.RingConfig{Handler: disk})
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- ring.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-ran:
			if err != nil {
				t.Errorf("ring: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("ring did not stop")
		}
	}()

	const tgt = "target/loopback/naa.5001405000000e2e"
	tpg := path.Join(tgt, "tpgt_1")
	lun := path.Join(tpg, "lun", "lun_0")
	for _, dir := range []string{"target/loopback", tgt, tpg, lun} {
		if err := fsys.Mkdir(dir); err != nil && !errors.Is(err, unix.EEXIST) {
			t.Fatal(err)
		}
	}
	if err := fsys.WriteFile(path.Join(tpg, "nexus"), []byte("naa.5001405000000e2f")); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Symlink(so, path.Join(lun, "e2e")); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, step := range []func() error{
			func() error { return fsys.Unlink(path.Join(lun, "e2e")) },
			func() error { return fsys.Rmdir(lun) },
			func() error { return fsys.Rmdir(tpg) },
			func() error { return fsys.Rmdir(tgt) },
		} {
			if err := step(); err != nil {
				t.Logf("loopback teardown: %v", err)
			}
		}
	}()

	dev := ""
	deadline := time.Now().Add(30 * time.Second)
	for dev == "" && time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/sys/block")
		for _, e := range ents {
			v, _ := os.ReadFile(path.Join("/sys/block", e.Name(), "device", "vendor"))
			if strings.HasPrefix(e.Name(), "sd") && strings.TrimSpace(string(v)) == "LIO-ORG" {
				dev = "/dev/" + e.Name()
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if dev == "" {
		t.Fatal("no LIO-ORG disk appeared within 30 s")
	}
	fi, err := os.Stat(dev)
	if err != nil || fi.Mode()&os.ModeDevice == 0 {
		t.Fatalf("%s is not a device node: %v %v", dev, fi, err)
	}
	t.Logf("initiator sees %s", dev)

	// Page-aligned buffers for O_DIRECT.
	const size = 1 << 20
	buf, err := unix.Mmap(-1, 0, 2*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(buf)
	want, got := buf[:size], buf[size:]
	for i := range want {
		want[i] = byte(i*7 + i>>9)
	}
	fd, err := unix.Open(dev, unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	const off = 3 << 20
	if n, err := unix.Pwrite(fd, want, off); err != nil || n != size {
		t.Fatalf("write: %d, %v", n, err)
	}
	if err := unix.Fsync(fd); err != nil {
		t.Fatalf("fsync: %v", err)
	}
	if n, err := unix.Pread(fd, got, off); err != nil || n != size {
		t.Fatalf("read: %d, %v", n, err)
	}
	if !bytes.Equal(want, got) {
		t.Fatal("read back differs from what was written")
	}
	// And the bytes really are in the backend.
	inBackend := make([]byte, size)
	if _, err := be.ReadAt(inBackend, off); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(inBackend, want) {
		t.Fatal("the backend does not hold what was written")
	}
	t.Logf("1 MiB written and read back through %s", dev)
}
