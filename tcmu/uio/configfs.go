package uio

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"golang.org/x/sys/unix"
)

// Reattach opens a device whose ring may still hold state: commands an
// earlier handler (a tcmsh that crashed, a tcmu-runner that was stopped)
// took and never completed. It follows tcmu-runner's recipe through the
// backstore's configfs action/ files: block_dev=1 (the kernel holds new
// commands), reset_ring=1 (in-flight commands complete with BUSY so the
// initiator retries; head and tail go to 0; a broken ring is cleared),
// mmap, block_dev=0. Unlike tcmu-runner it opens /dev/uioN before touching
// the ring, so a ring that another handler is serving is never reset: that
// case fails with EBUSY as in Open.
//
// fsys is the configfs through which the action files are written; paths
// are info.ConfigPath()/action/…. On failure after block_dev=1 the device
// is unblocked again (best effort) and closed.
//
// Reattach is safe for concurrent use with other devices; two Reattach
// calls on one device race for the open, and one fails with EBUSY.
func Reattach(fsys configfs.FS, info Info, devDir string) (*Device, error) {
	fd, devPath, err := openNode(info, devDir)
	if err != nil {
		return nil, err
	}
	action := func(name, value string) error {
		p := path.Join(info.ConfigPath(), "action", name)
		if err := fsys.WriteFile(p, []byte(value)); err != nil {
			e := &Error{Op: "reattach", Device: info.UIO, Err: fmt.Errorf("write %s=%s: %w", name, value, err)}
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT) {
				e.Hint = "this kernel has no " + name + " action; disable and re-enable the backstore instead"
			}
			return e
		}
		return nil
	}
	fail := func(err error, unblock bool) (*Device, error) {
		if unblock {
			if uerr := action("block_dev", "0"); uerr != nil {
				err = errors.Join(err, uerr)
			}
		}
		unix.Close(fd)
		return nil, err
	}
	if err := action("block_dev", "1"); err != nil {
		return fail(err, false)
	}
	if err := action("reset_ring", "1"); err != nil {
		return fail(err, true)
	}
	region, err := mapRegion(fd, info)
	if err != nil {
		return fail(err, true)
	}
	d, err := newDevice(info, fd, devPath, region, true)
	if err != nil {
		unix.Munmap(region)
		return fail(err, true)
	}
	if err := action("block_dev", "0"); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Attributes are the configfs attributes of a user backstore that the SCSI
// emulation needs. A zero value means the attribute does not exist on this
// kernel (older kernels lack wwn/vendor_id, wwn/product_id, wwn/revision).
type Attributes struct {
	BlockSize     uint32        // attrib/hw_block_size, bytes
	Size          uint64        // attrib/dev_size, or Size: in info; bytes
	MaxSectors    uint32        // attrib/hw_max_sectors, in blocks
	WriteCache    bool          // attrib/emulate_write_cache
	Vendor        string        // wwn/vendor_id (INQUIRY T10 vendor)
	Product       string        // wwn/product_id
	Revision      string        // wwn/revision
	UnitSerial    string        // wwn/vpd_unit_serial, without the kernel's label
	CmdTimeout    time.Duration // attrib/cmd_time_out; 0 = the kernel never times commands out
	HasCmdTimeout bool          // attrib/cmd_time_out was present
}

// ReadAttributes reads the attributes of the user backstore at configPath
// (relative to the configfs mount point, as Name.ConfigPath gives it).
// hw_block_size and the size are required; the others are left zero when
// the kernel lacks them. A value that does not parse fails the call with an
// error naming the attribute.
//
// ReadAttributes only reads and is safe for concurrent use if fsys is.
func ReadAttributes(fsys configfs.FS, configPath string) (Attributes, error) {
	var a Attributes
	read := func(name string) (string, bool, error) {
		b, err := fsys.ReadFile(path.Join(configPath, name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT) {
				return "", false, nil
			}
			return "", false, attrErr(configPath, name, err)
		}
		return strings.TrimRight(string(b), "\n"), true, nil
	}
	u32 := func(name string, dst *uint32, required bool) error {
		s, ok, err := read(name)
		if err != nil {
			return err
		}
		if !ok {
			if required {
				return attrErr(configPath, name, fs.ErrNotExist)
			}
			return nil
		}
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return attrErr(configPath, name, fmt.Errorf("%q is not a number", s))
		}
		*dst = uint32(v)
		return nil
	}
	if err := u32("attrib/hw_block_size", &a.BlockSize, true); err != nil {
		return a, err
	}
	if a.BlockSize == 0 {
		return a, attrErr(configPath, "attrib/hw_block_size", errors.New("block size 0"))
	}
	if err := u32("attrib/hw_max_sectors", &a.MaxSectors, false); err != nil {
		return a, err
	}

	// dev_size; kernels without it print "Size: N" in info.
	if s, ok, err := read("attrib/dev_size"); err != nil {
		return a, err
	} else if ok {
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return a, attrErr(configPath, "attrib/dev_size", fmt.Errorf("%q is not a number", s))
		}
		a.Size = v
	} else if info, ok, err := read("info"); err != nil {
		return a, err
	} else if v, found := infoSize(info); ok && found {
		a.Size = v
	} else {
		return a, attrErr(configPath, "attrib/dev_size", errors.New("missing, and info has no Size"))
	}

	if s, ok, err := read("attrib/emulate_write_cache"); err != nil {
		return a, err
	} else if ok {
		switch strings.TrimSpace(s) {
		case "0":
		case "1":
			a.WriteCache = true
		default:
			return a, attrErr(configPath, "attrib/emulate_write_cache", fmt.Errorf("%q is not 0 or 1", s))
		}
	}
	if s, ok, err := read("attrib/cmd_time_out"); err != nil {
		return a, err
	} else if ok {
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return a, attrErr(configPath, "attrib/cmd_time_out", fmt.Errorf("%q is not a number of seconds", s))
		}
		a.CmdTimeout = time.Duration(v) * time.Second
		a.HasCmdTimeout = true
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"wwn/vendor_id", &a.Vendor},
		{"wwn/product_id", &a.Product},
		{"wwn/revision", &a.Revision},
		{"wwn/vpd_unit_serial", &a.UnitSerial},
	} {
		s, _, err := read(f.name)
		if err != nil {
			return a, err
		}
		*f.dst = strings.TrimSpace(s)
	}
	a.UnitSerial = strings.TrimSpace(strings.TrimPrefix(a.UnitSerial, "T10 VPD Unit Serial Number:"))
	return a, nil
}

func attrErr(configPath, name string, err error) error {
	return &Error{Op: "read attributes", Device: configPath, Err: fmt.Errorf("%s: %w", name, err)}
}

// infoSize finds "Size: N" in a user backstore's info text.
func infoSize(info string) (uint64, bool) {
	f := strings.Fields(info)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "Size:" {
			v, err := strconv.ParseUint(f[i+1], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
