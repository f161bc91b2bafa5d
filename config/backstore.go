package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/tcmsh/tcmsh/backends"
	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/size"
	"github.com/tcmsh/tcmsh/scsi"
)

// userMaxSectors is the hw_max_sectors control token a new user backstore
// gets when neither the hw_max_sectors parameter nor a control token sets
// it: the kernel's default (128 sectors) refuses transfers initiators send
// (see scsi.UserMaxSectors). It is sized for the block size and data area
// the other control tokens ask for. nil when a token already sets it.
func userMaxSectors(control []configfs.KV) (*configfs.KV, error) {
	blockSize := uint64(512)
	dataAreaMB := uint64(1024) // the kernel's default max_data_area_mb
	for _, kv := range control {
		var dst *uint64
		switch kv.Key {
		case "hw_max_sectors":
			return nil, nil
		case "hw_block_size":
			dst = &blockSize
		case "max_data_area_mb":
			dst = &dataAreaMB
		default:
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(kv.Value), 10, 32)
		if err != nil || v == 0 {
			return nil, usagef("control: %s=%q is not a positive number", kv.Key, kv.Value)
		}
		*dst = v
	}
	n := scsi.UserMaxSectors(uint32(blockSize), int64(dataAreaMB)<<20)
	return &configfs.KV{Key: "hw_max_sectors", Value: strconv.FormatUint(uint64(n), 10)}, nil
}

// BackstoreSpec is a storage object to create, in targetcli's terms.
type BackstoreSpec struct {
	Plugin, Subtype, Name string
	Dev                   string
	Size                  int64
	WriteBack, Sparse     bool
	Readonly, Nullio      bool
	Config                string // user: subtype/cfgstring
	HwMaxSectors          int
	Control               string // user: extra control tokens
	WWN                   string
	// Attributes are written after enable (restore: the saved attrib/ values).
	Attributes map[string]string
	// Model is written to wwn/product_id when not empty.
	Model string
}

// CreateBackstore makes a storage object from a spec: the control string
// rtslib writes for its plugin, enable, the unit serial. It returns what to
// tell the user.
func (st Store) CreateBackstore(ctx context.Context, spec BackstoreSpec) (configfs.StorageObject, string, error) {
	if err := configfs.ValidName("storage object", spec.Name); err != nil {
		return configfs.StorageObject{}, "", usagef("%v", err)
	}
	cs := configfs.StorageSpec{Plugin: spec.Plugin, Name: spec.Name, UnitSerial: spec.WWN, Attributes: map[string]string{}}
	for k, v := range spec.Attributes {
		cs.Attributes[k] = v
	}
	var msg string
	var err error
	switch spec.Plugin {
	case "fileio":
		// A refused create must leave nothing behind: not even the image
		// file, so the name is checked before the file is made, and a file
		// made here is removed if the kernel then refuses the object.
		if taken, err := st.LIO.HasStorageObject(spec.Plugin, spec.Name); err != nil || taken {
			if err != nil {
				return configfs.StorageObject{}, "", err
			}
			return configfs.StorageObject{}, "", fmt.Errorf("a fileio storage object named %q already exists", spec.Name)
		}
		fi, statErr := os.Stat(spec.Dev)
		wasEmpty := statErr == nil && fi.Mode().IsRegular() && fi.Size() == 0
		if abs, err := filepath.Abs(spec.Dev); err == nil {
			if err := st.imageFree(abs); err != nil {
				return configfs.StorageObject{}, "", fmt.Errorf("fileio %s: %w", spec.Name, err)
			}
		}
		dev, size, isBlock, err := prepareFileIO(spec.Dev, spec.Size, spec.Sparse)
		if err != nil {
			return configfs.StorageObject{}, "", err
		}
		if os.IsNotExist(statErr) || wasEmpty {
			// An empty file given a size goes back to empty when refused;
			// one that stays is recorded, for a run that is undone.
			defer func() {
				made := st.fileioExists(spec.Name)
				switch {
				case made && wasEmpty:
					st.Undo.GrewImage(dev, 0)
				case made:
					st.Undo.MadeImage(dev)
				case wasEmpty:
					_ = os.Truncate(dev, 0)
				default:
					_ = os.Remove(dev)
				}
			}()
		}
		cs.Control = []configfs.KV{{Key: "fd_dev_name", Value: dev}}
		if !isBlock {
			cs.Control = append(cs.Control, configfs.KV{Key: "fd_dev_size", Value: strconv.FormatInt(size, 10)})
		}
		if spec.WriteBack {
			cs.Control = append(cs.Control, configfs.KV{Key: "fd_buffered_io", Value: "1"})
			cs.Attributes["emulate_write_cache"] = "1"
		}
		cs.UdevPath = dev
		msg = fmt.Sprintf("Created fileio %s with size %d", spec.Name, size)
	case "iblock":
		if msg, err = st.iblockSpec(spec, &cs); err != nil {
			return configfs.StorageObject{}, "", err
		}
	case "pscsi":
		kvs, udev, err := pscsiControl(spec.Dev)
		if err != nil {
			return configfs.StorageObject{}, "", err
		}
		cs.Control, cs.UdevPath = kvs, udev
		msg = fmt.Sprintf("Created pscsi storage object %s using %s", spec.Name, spec.Dev)
	case "rd_mcp":
		if msg, err = st.ramdiskSpec(spec, &cs); err != nil {
			return configfs.StorageObject{}, "", err
		}
	case "user":
		if msg, err = st.userSpec(spec, &cs); err != nil {
			return configfs.StorageObject{}, "", err
		}
	default:
		return configfs.StorageObject{}, "", usagef("unknown plugin %q", spec.Plugin)
	}
	if cs.UnitSerial != "" && !configfs.ValidUnitSerial(cs.UnitSerial) {
		return configfs.StorageObject{}, "", usagef("wwn %q is not a unit serial (a UUID like 0b5a9c1e-3d2f-4a61-9e7b-2f0c8d1a4b5c)", cs.UnitSerial)
	}
	model := spec.Model
	if model == "" && st.NameAsModel {
		model = spec.Name
		if len(model) > 16 {
			model = model[:16]
		}
	}
	if model != "" && spec.Plugin == "user" {
		// Written before enable: whoever serves the device reads its
		// identity when it appears.
		cs.WWN = map[string]string{"product_id": model}
	}
	// A user:file image is made by whoever serves the backstore: what
	// was there before tells what serving it made.
	image := ""
	var imageBefore fs.FileInfo
	if spec.Plugin == "user" {
		if image = configfs.UserImageFile(spec.Config); image != "" {
			imageBefore, _ = os.Stat(image)
		}
	}
	so, err := st.LIO.CreateStorageObject(cs)
	if err != nil {
		return so, "", err
	}
	if model != "" && spec.Plugin != "user" {
		_ = st.LIO.WriteAttr(path.Join(so.Path(), "wwn", "product_id"), model)
	}
	if n, err := st.restoreAPTPL(so); err != nil {
		st.warnf("warning: %s: persistent reservations (APTPL) not restored: %v\n", spec.Name, err)
	} else if n > 0 {
		msg = strings.TrimSuffix(msg, ".") + fmt.Sprintf(". Restored %d persistent reservation registration(s) saved with APTPL.", n)
	}
	if spec.Plugin == "user" {
		if st.Hooks == nil {
			st.warnf("warning: no TCMU engine in this process: %s is created but nothing serves it\n", spec.Name)
		} else if err := st.Hooks.Serve(ctx, so.Path()); err != nil {
			_ = st.LIO.DeleteStorageObject(so)
			if image != "" && imageBefore == nil {
				// A refused create leaves nothing, not even the image.
				_ = os.Remove(image)
			}
			return so, "", fmt.Errorf("serve %s: %w", spec.Name, err)
		} else if image != "" {
			if imageBefore == nil {
				st.Undo.MadeImage(image)
			} else if fi, err := os.Stat(image); err == nil && fi.Size() > imageBefore.Size() {
				st.Undo.GrewImage(image, imageBefore.Size())
			}
		}
		if st.Hooks != nil && st.Hooks.InProcess() {
			st.warnf("note: %s is served by this tcmsh process and stops being served when it exits; run `tcmsh serve` to keep user backstores served\n", spec.Name)
		}
	}
	return so, msg, nil
}

// iblockSpec fills the control of a block backstore: the device, read-only or not.
func (st Store) iblockSpec(spec BackstoreSpec, cs *configfs.StorageSpec) (string, error) {
	dev, err := filepath.Abs(spec.Dev)
	if err != nil {
		return "", fmt.Errorf("dev %s: %w", spec.Dev, err)
	}
	if err := checkBlockDevice(dev); err != nil {
		return "", err
	}
	ro := "0"
	if spec.Readonly {
		ro = "1"
	}
	cs.Control = []configfs.KV{{Key: "udev_path", Value: dev}, {Key: "readonly", Value: ro}}
	cs.UdevPath = dev
	return fmt.Sprintf("Created block storage object %s using %s.", spec.Name, dev), nil
}

// ramdiskSpec fills the control of a ramdisk: its pages, nullio.
func (st Store) ramdiskSpec(spec BackstoreSpec, cs *configfs.StorageSpec) (string, error) {
	pages := spec.Size / 4096
	if pages < 1 {
		return "", usagef("ramdisk %s: size %d is below one 4096-byte page", spec.Name, spec.Size)
	}
	cs.Control = []configfs.KV{{Key: "rd_pages", Value: strconv.FormatInt(pages, 10)}}
	if spec.Nullio {
		cs.Control = append(cs.Control, configfs.KV{Key: "rd_nullio", Value: "1"})
	}
	return fmt.Sprintf("Created ramdisk %s with size %s.", spec.Name, size.Format(spec.Size)), nil
}

// userSpec fills the control of a user backstore: dev_config and dev_size, no netlink replies awaited, the extra control tokens, and hw_max_sectors for 8 MiB transfers unless given (userMaxSectors).
func (st Store) userSpec(spec BackstoreSpec, cs *configfs.StorageSpec) (string, error) {
	if err := st.validateUser(spec.Config, spec.Size); err != nil {
		return "", err
	}
	if err := st.imageFree(configfs.UserImageFile(spec.Config)); err != nil {
		return "", fmt.Errorf("user backstore %s: %w", spec.Name, err)
	}
	cs.Control = []configfs.KV{{Key: "dev_config", Value: spec.Config}, {Key: "dev_size", Value: strconv.FormatInt(spec.Size, 10)}}
	if spec.HwMaxSectors > 0 {
		cs.Control = append(cs.Control, configfs.KV{Key: "hw_max_sectors", Value: strconv.Itoa(spec.HwMaxSectors)})
	}
	// The engine answers no netlink requests: tell the kernel not to
	// wait for replies, before enable.
	cs.Control = append(cs.Control, configfs.KV{Key: "nl_reply_supported", Value: "-1"})
	if spec.Control != "" {
		for _, tok := range strings.Split(spec.Control, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(tok), "=")
			if !ok || k == "" {
				return "", usagef("control: %q is not key=value", tok)
			}
			cs.Control = append(cs.Control, configfs.KV{Key: k, Value: v})
		}
	}
	if spec.HwMaxSectors <= 0 {
		if kv, err := userMaxSectors(cs.Control); err != nil {
			return "", err
		} else if kv != nil {
			cs.Control = append(cs.Control, *kv)
		}
	}
	return fmt.Sprintf("Created user-backed storage object %s size %d.", spec.Name, spec.Size), nil
}

// imageFree refuses a file that already backs a storage object (a fileio
// image or a user:file one): two backstores on one file are two writers
// that know nothing of each other, each caching its own view of the blocks.
func (st Store) imageFree(file string) error {
	if file == "" {
		return nil
	}
	// Among the objects as the name check just listed them (a second
	// listing of core/ for each create costs a read of every HBA
	// directory name), from the model's index of image files: comparing
	// with every object made a batch of N creates cost N² comparisons.
	if so, ok := st.LIO.ObjectOnImage(file); ok {
		_, owner := st.backingFile(so)
		return fmt.Errorf("%s is already the image of %s: two backstores on one file would both write it, each unaware of the other (export %s instead, or give another file)", file, owner, owner)
	}
	return nil
}

func (st Store) validateUser(devConfig string, size int64) error {
	var err error
	if st.Hooks != nil {
		err = st.Hooks.Validate(devConfig, size)
	} else {
		err = backends.Validate(devConfig, size)
	}
	if err != nil {
		return fmt.Errorf("user backstore %q: %w", devConfig, err)
	}
	return nil
}

// prepareFileIO resolves a fileio backing path: an existing block device,
// an existing file (its size wins over a smaller given size when not
// empty), or a new file made with the given size.
func prepareFileIO(dev string, size int64, sparse bool) (string, int64, bool, error) {
	abs, err := filepath.Abs(dev)
	if err != nil {
		return "", 0, false, fmt.Errorf("file_or_dev %s: %w", dev, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0:
		return abs, blockDeviceSize(abs), true, nil
	case err == nil && fi.IsDir():
		return "", 0, false, usagef("file_or_dev %s is a directory", abs)
	case err == nil && !fi.Mode().IsRegular():
		return "", 0, false, usagef("file_or_dev %s is neither a regular file nor a block device", abs)
	case err == nil:
		if fi.Size() > 0 {
			return abs, fi.Size(), false, nil
		}
		if size == 0 {
			return "", 0, false, usagef("file_or_dev %s is empty: give a size", abs)
		}
		return abs, size, false, os.Truncate(abs, size)
	case !errors.Is(err, os.ErrNotExist):
		return "", 0, false, fmt.Errorf("file_or_dev %s: %w", abs, err)
	}
	if size == 0 {
		return "", 0, false, usagef("file_or_dev %s does not exist: give a size to create it", abs)
	}
	if _, err := os.Stat(filepath.Dir(abs)); err != nil {
		return "", 0, false, usagef("file_or_dev %s: directory %s does not exist", abs, filepath.Dir(abs))
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, false, fmt.Errorf("create %s: %w", abs, err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return "", 0, false, fmt.Errorf("size %s: %w", abs, err)
	}
	if !sparse {
		if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
			return "", 0, false, fmt.Errorf("allocate %s: %w", abs, err)
		}
	}
	return abs, size, false, nil
}

// blockDeviceSize is a block device's size in bytes (0 when unreadable).
func blockDeviceSize(dev string) int64 {
	f, err := os.Open(dev)
	if err != nil {
		return 0
	}
	defer f.Close()
	n, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0
	}
	return n
}

func checkBlockDevice(dev string) error {
	fi, err := os.Stat(dev)
	if err != nil {
		return usagef("dev %s: %v", dev, errors.Unwrap(err))
	}
	if fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		return usagef("dev %s is not a block device", dev)
	}
	return nil
}

// pscsiControl turns H:C:T:L or a device path into pscsi's control tokens.
func pscsiControl(dev string) ([]configfs.KV, string, error) {
	parts := strings.Split(dev, ":")
	if len(parts) == 4 {
		names := []string{"scsi_host_id", "scsi_channel_id", "scsi_target_id", "scsi_lun_id"}
		var kvs []configfs.KV
		for i, p := range parts {
			if _, err := strconv.ParseUint(p, 10, 32); err != nil {
				return nil, "", usagef("dev %q: H:C:T:L needs four numbers", dev)
			}
			kvs = append(kvs, configfs.KV{Key: names[i], Value: p})
		}
		// The kernel wants the device's path too (udev_path) before enable.
		blocks, _ := os.ReadDir(filepath.Join("/sys/class/scsi_device", dev, "device", "block"))
		if len(blocks) == 0 {
			return nil, "", usagef("dev %s: no SCSI disk at that address (nothing in /sys/class/scsi_device/%s/device/block)", dev, dev)
		}
		return kvs, "/dev/" + blocks[0].Name(), nil
	}
	abs, err := filepath.Abs(dev)
	if err != nil {
		return nil, "", err
	}
	if err := checkBlockDevice(abs); err != nil {
		return nil, "", err
	}
	// The SCSI address of a disk is in sysfs: /sys/block/sdX/device/scsi_device/H:C:T:L.
	ents, err := os.ReadDir(filepath.Join("/sys/block", filepath.Base(abs), "device", "scsi_device"))
	if err != nil || len(ents) == 0 {
		return nil, "", usagef("dev %s is not a SCSI device (no scsi_device in sysfs); give H:C:T:L", abs)
	}
	kvs, _, err := pscsiControl(ents[0].Name())
	if err != nil {
		return nil, "", err
	}
	return kvs, abs, nil
}

func (st Store) DeleteStorageObject(ctx context.Context, so configfs.StorageObject) error {
	if err := st.release(ctx, so); err != nil {
		return err
	}
	return st.LIO.DeleteStorageObject(so)
}

// release has the engine let go of a user backstore before it is removed.
func (st Store) release(ctx context.Context, so configfs.StorageObject) error {
	if so.Plugin != "user" || st.Hooks == nil {
		return nil
	}
	if err := st.Hooks.Release(ctx, so.Path()); err != nil {
		return fmt.Errorf("release %s: %w", so.Name, err)
	}
	return nil
}

// BackstoreNameFor makes a storage object name from a file path.
func BackstoreNameFor(p string) string {
	base := filepath.Base(p)
	base = strings.TrimSuffix(base, filepath.Ext(base))
	var b strings.Builder
	for _, r := range base {
		if r == '/' || r == ':' || r < 0x20 || r == 0x7f || r == ' ' {
			r = '_'
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 || base == "." || base == ".." {
		return "disk"
	}
	return b.String()
}

// fileioExists reports whether a fileio storage object of that name exists.
func (st Store) fileioExists(name string) bool {
	taken, err := st.LIO.HasStorageObject("fileio", name)
	return err == nil && taken
}
