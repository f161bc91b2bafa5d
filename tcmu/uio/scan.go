package uio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Default roots of the kernel's filesystems.
const (
	DefaultSysfs = "/sys"
	DefaultDev   = "/dev"
	DefaultProc  = "/proc"
)

// InterfaceVersion is the TCMU interface version this package speaks: the
// uio version file reads "2" and the mailbox version field is 2.
const InterfaceVersion = 2

// Info describes one TCMU uio device as sysfs shows it.
type Info struct {
	Name           // the parsed name; zero when the name is malformed
	UIO     string // "uio0"
	Minor   int    // 0 for uio0; the device node is /dev/uio<Minor>
	RawName string // the name file's contents, without the trailing newline
	MapSize uint64 // maps/map0/size: the exact length of the shared region
	Version string // the version file's contents, without the newline ("2")
	// Err says what is wrong with this device's sysfs files (malformed
	// name, missing or unparsable map size or version); nil when the device
	// is complete. Open refuses a device with an Err.
	Err error
}

// DevPath is the device node under devDir ("" means DefaultDev).
func (i Info) DevPath(devDir string) string {
	if devDir == "" {
		devDir = DefaultDev
	}
	return filepath.Join(devDir, i.UIO)
}

// Scan lists the TCMU devices under <sysfs>/class/uio, by minor (sysfs ""
// means DefaultSysfs). Devices of other uio drivers are skipped; a TCMU
// device whose files are incomplete or whose tcm-user name is malformed is
// listed with Info.Err set. The error is non-nil only when the class
// directory cannot be read; when uio is not loaded it wraps fs.ErrNotExist.
//
// Scan reads the filesystem only and is safe for concurrent use.
func Scan(sysfs string) ([]Info, error) {
	dir := classDir(sysfs)
	ents, err := os.ReadDir(dir)
	if err != nil {
		e := &Error{Op: "scan", Device: dir, Err: unwrapPath(err)}
		if errors.Is(err, fs.ErrNotExist) {
			e.Hint = "the uio module is not loaded, so there are no TCMU devices"
		}
		return nil, e
	}
	var out []Info
	for _, ent := range ents {
		minor, ok := minorOf(ent.Name())
		if !ok {
			continue
		}
		info, tcmu := readInfo(dir, ent.Name(), minor)
		if tcmu {
			out = append(out, info)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Minor < out[b].Minor })
	return out, nil
}

// Lookup describes the TCMU device uio<minor>. It fails when there is no
// such device, when it belongs to another uio driver (ErrNotTCMU) or when
// its sysfs files are incomplete (the Info.Err).
//
// Lookup is safe for concurrent use.
func Lookup(sysfs string, minor int) (Info, error) {
	dir := classDir(sysfs)
	uio := "uio" + strconv.Itoa(minor)
	if minor < 0 {
		return Info{}, &Error{Op: "lookup", Device: uio, Err: fs.ErrNotExist}
	}
	if _, err := os.Stat(filepath.Join(dir, uio)); err != nil {
		return Info{}, &Error{Op: "lookup", Device: uio, Err: unwrapPath(err)}
	}
	info, tcmu := readInfo(dir, uio, minor)
	if !tcmu {
		return Info{}, &Error{Op: "lookup", Device: uio, Err: ErrNotTCMU}
	}
	return info, info.Err
}

func classDir(sysfs string) string {
	if sysfs == "" {
		sysfs = DefaultSysfs
	}
	return filepath.Join(sysfs, "class", "uio")
}

// minorOf takes the N of "uioN".
func minorOf(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "uio")
	if !ok || digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// readInfo reads one device; tcmu is false for a device of another driver
// (or one whose name cannot be read at all, which can then not be claimed
// as TCMU's).
func readInfo(dir, uio string, minor int) (info Info, tcmu bool) {
	info = Info{UIO: uio, Minor: minor}
	base := filepath.Join(dir, uio)
	raw, err := readSmall(filepath.Join(base, "name"))
	if err != nil {
		return info, false
	}
	info.RawName = strings.TrimSuffix(raw, "\n")
	info.Name, err = ParseName(raw)
	if errors.Is(err, ErrNotTCMU) {
		return info, false
	}
	if err != nil {
		info.Name = Name{}
		info.Err = &Error{Op: "scan", Device: uio, Err: errors.Unwrap(err)}
		return info, true
	}
	var errs []error
	if v, err := readSmall(filepath.Join(base, "version")); err != nil {
		errs = append(errs, fmt.Errorf("version: %w", unwrapPath(err)))
	} else {
		info.Version = strings.TrimSpace(v)
	}
	if s, err := readSmall(filepath.Join(base, "maps", "map0", "size")); err != nil {
		errs = append(errs, fmt.Errorf("maps/map0/size: %w", unwrapPath(err)))
	} else if size, err := strconv.ParseUint(strings.TrimSpace(s), 0, 64); err != nil || size == 0 {
		errs = append(errs, fmt.Errorf("maps/map0/size: %q is not a size", strings.TrimSpace(s)))
	} else {
		info.MapSize = size
	}
	if len(errs) > 0 {
		info.Err = &Error{Op: "scan", Device: uio, Err: errors.Join(errs...)}
	}
	return info, true
}

// readSmall reads a sysfs attribute (sysfs attributes hold at most a page).
func readSmall(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, 8192)
	n, err := f.Read(buf)
	if err != nil && n == 0 && !errors.Is(err, io.EOF) {
		return "", err
	}
	return string(buf[:n]), nil
}

// unwrapPath drops the *fs.PathError around an errno: Error already names
// the device.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
