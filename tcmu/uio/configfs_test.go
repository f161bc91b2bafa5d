package uio

import (
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
)

// fakeFS is a configfs.FS holding attribute values and recording writes.
type fakeFS struct {
	mu      sync.Mutex
	files   map[string]string
	writes  []string
	failOn  string // "path=value" whose write fails with EINVAL
	onWrite func(path, value string)
}

func (f *fakeFS) ReadFile(p string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.files[p]
	if !ok {
		return nil, &configfs.Error{Op: "read", Path: p, Err: syscall.ENOENT}
	}
	return []byte(v), nil
}

func (f *fakeFS) WriteFile(p string, data []byte) error {
	if f.onWrite != nil {
		f.onWrite(p, string(data))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w := p + "=" + string(data)
	f.writes = append(f.writes, w)
	if w == f.failOn {
		return &configfs.Error{Op: "write", Path: p, Err: syscall.EINVAL}
	}
	if _, ok := f.files[p]; !ok {
		return &configfs.Error{Op: "write", Path: p, Err: syscall.ENOENT}
	}
	return nil
}

func (f *fakeFS) ReadDir(string) ([]configfs.DirEntry, error) { return nil, syscall.ENOSYS }
func (f *fakeFS) Stat(string) (configfs.DirEntry, error)      { return configfs.DirEntry{}, syscall.ENOSYS }
func (f *fakeFS) Mkdir(string) error                          { return syscall.ENOSYS }
func (f *fakeFS) Rmdir(string) error                          { return syscall.ENOSYS }
func (f *fakeFS) Symlink(string, string) error                { return syscall.ENOSYS }
func (f *fakeFS) Readlink(string) (string, error)             { return "", syscall.ENOSYS }
func (f *fakeFS) Unlink(string) error                         { return syscall.ENOSYS }

var _ configfs.FS = (*fakeFS)(nil)

func actionFS() *fakeFS {
	const so = "target/core/user_0/disk"
	return &fakeFS{files: map[string]string{
		so + "/action/block_dev":     "",
		so + "/action/reset_ring":    "",
		so + "/action/free_kept_buf": "",
	}}
}

func TestReattachRecipe(t *testing.T) {
	dev := t.TempDir()
	regionFile(t, dev, "uio0", 4096, 2)
	fsys := actionFS()
	d, err := Reattach(fsys, testInfo(4096), dev)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := []string{
		"target/core/user_0/disk/action/block_dev=1",
		"target/core/user_0/disk/action/reset_ring=1",
		"target/core/user_0/disk/action/block_dev=0",
	}
	if strings.Join(fsys.writes, " ") != strings.Join(want, " ") {
		t.Fatalf("writes = %q, want %q", fsys.writes, want)
	}
	if len(d.Region()) != 4096 {
		t.Fatalf("region %d bytes", len(d.Region()))
	}
}

func TestReattachTouchesNothingWhenOpenFails(t *testing.T) {
	fsys := actionFS()
	_, err := Reattach(fsys, testInfo(4096), t.TempDir()) // no device node
	if err == nil {
		t.Fatal("Reattach without a device node succeeded")
	}
	if len(fsys.writes) != 0 {
		t.Fatalf("ring touched although the device was not ours: %q", fsys.writes)
	}
}

func TestReattachUnblocksOnFailure(t *testing.T) {
	dev := t.TempDir()
	regionFile(t, dev, "uio0", 4096, 2)

	fsys := actionFS()
	fsys.failOn = "target/core/user_0/disk/action/reset_ring=1"
	_, err := Reattach(fsys, testInfo(4096), dev)
	if err == nil || !strings.Contains(err.Error(), "reset_ring=1") || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("err = %v", err)
	}
	if last := fsys.writes[len(fsys.writes)-1]; last != "target/core/user_0/disk/action/block_dev=0" {
		t.Fatalf("device left blocked; writes %q", fsys.writes)
	}

	// A mailbox of the wrong version is found after reset: unblock too.
	regionFile(t, dev, "uio0", 4096, 3)
	fsys = actionFS()
	if _, err := Reattach(fsys, testInfo(4096), dev); !errors.Is(err, ErrVersion) {
		t.Fatalf("err = %v", err)
	}
	if last := fsys.writes[len(fsys.writes)-1]; last != "target/core/user_0/disk/action/block_dev=0" {
		t.Fatalf("device left blocked; writes %q", fsys.writes)
	}
	// The node was closed: the next open works.
	regionFile(t, dev, "uio0", 4096, 2)
	d, err := Open(testInfo(4096), dev)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}

func TestReattachOldKernel(t *testing.T) {
	dev := t.TempDir()
	regionFile(t, dev, "uio0", 4096, 2)
	_, err := Reattach(&fakeFS{files: map[string]string{}}, testInfo(4096), dev)
	if err == nil || !strings.Contains(err.Error(), "no block_dev action") {
		t.Fatalf("err = %v", err)
	}
}

func attrFS(over map[string]string) *fakeFS {
	const so = "target/core/user_0/disk/"
	files := map[string]string{
		so + "attrib/hw_block_size":       "4096\n",
		so + "attrib/dev_size":            "1073741824\n",
		so + "attrib/hw_max_sectors":      "128\n",
		so + "attrib/emulate_write_cache": "1\n",
		so + "attrib/cmd_time_out":        "30\n",
		so + "wwn/vendor_id":              "LIO-ORG\n",
		so + "wwn/product_id":             "disk\n",
		so + "wwn/revision":               "4.0\n",
		so + "wwn/vpd_unit_serial":        "T10 VPD Unit Serial Number: 6a1b2c3d-0000-4000-8000-000000000001\n",
		so + "info":                       "Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 4096  HwMaxSectors: 128\n        Config: ram/x Size: 1073741824 MaxDataAreaMB: 1024 DataPagesPerBlk: 1 CmdRingSizeMB: 8\n",
	}
	for k, v := range over {
		if v == "" {
			delete(files, so+k)
		} else {
			files[so+k] = v
		}
	}
	return &fakeFS{files: files}
}

func TestReadAttributes(t *testing.T) {
	a, err := ReadAttributes(attrFS(nil), "target/core/user_0/disk")
	if err != nil {
		t.Fatal(err)
	}
	want := Attributes{
		BlockSize: 4096, Size: 1 << 30, MaxSectors: 128, WriteCache: true,
		Vendor: "LIO-ORG", Product: "disk", Revision: "4.0",
		UnitSerial: "6a1b2c3d-0000-4000-8000-000000000001",
		CmdTimeout: 30 * time.Second, HasCmdTimeout: true,
	}
	if a != want {
		t.Fatalf("got  %+v\nwant %+v", a, want)
	}

	// Older kernel: no dev_size (info has it), no wwn ids, no cmd_time_out.
	a, err = ReadAttributes(attrFS(map[string]string{
		"attrib/dev_size": "", "wwn/vendor_id": "", "wwn/product_id": "", "wwn/revision": "", "attrib/cmd_time_out": "",
	}), "target/core/user_0/disk")
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != 1<<30 || a.Vendor != "" || a.HasCmdTimeout || a.CmdTimeout != 0 {
		t.Fatalf("fallbacks: %+v", a)
	}
}

func TestReadAttributesErrorsNameTheAttribute(t *testing.T) {
	for _, tc := range []struct {
		over map[string]string
		want string
	}{
		{map[string]string{"attrib/hw_block_size": ""}, "attrib/hw_block_size"},
		{map[string]string{"attrib/hw_block_size": "0\n"}, "attrib/hw_block_size: block size 0"},
		{map[string]string{"attrib/hw_block_size": "big\n"}, `attrib/hw_block_size: "big" is not a number`},
		{map[string]string{"attrib/dev_size": "-1\n"}, "attrib/dev_size"},
		{map[string]string{"attrib/dev_size": "", "info": "Config: ram/x\n"}, "info has no Size"},
		{map[string]string{"attrib/emulate_write_cache": "2\n"}, "attrib/emulate_write_cache"},
		{map[string]string{"attrib/hw_max_sectors": "x\n"}, "attrib/hw_max_sectors"},
		{map[string]string{"attrib/cmd_time_out": "-5\n"}, "attrib/cmd_time_out"},
	} {
		_, err := ReadAttributes(attrFS(tc.over), "target/core/user_0/disk")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "target/core/user_0/disk") {
			t.Errorf("%v: err = %v, want it to mention %q", tc.over, err, tc.want)
		}
	}
}
