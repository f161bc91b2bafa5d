// Package uio owns the kernel side of a TCMU device as userspace sees it:
// discovering the uio devices that target_core_user creates (under
// /sys/class/uio), parsing their names, opening /dev/uioN exclusively and
// mapping its shared region (the real tcmu.Device), reattaching to a device
// whose ring already has state, reading the backstore's configfs attributes
// the SCSI layer needs, and noticing a running tcmu-runner and the devices it
// holds.
//
// The package holds no global state; every root (sysfs, /dev, /proc) is a
// parameter so that tests run against fake trees.
package uio

import (
	"fmt"
	"strconv"
	"strings"
)

// NamePrefix starts the uio name of every TCMU device.
const NamePrefix = "tcm-user/"

// Name is a parsed TCMU uio name. The kernel names a device
// "tcm-user/<hba>/<device>/<dev_config>", or "tcm-user/<hba>/<device>" when
// dev_config is empty. By convention dev_config is "<subtype>/<cfgstring>".
//
// Subtype and CfgString split DevConfig at its first '/'; the cfgstring may
// itself contain '/' (a file path, say). A dev_config without a '/' is all
// subtype with an empty cfgstring: this is how tcmu-runner matches handlers
// (it compares the text before the first '/', or the whole string), and how
// configfs.StorageInfo.Subtype reads dev_config, so "user:foo" stays "foo"
// everywhere. A name without a dev_config has empty DevConfig, Subtype and
// CfgString; such a device has no handler subtype.
type Name struct {
	HBA       uint32 // the user_<hba> directory's number
	Device    string // the backstore's configfs directory name
	DevConfig string // everything after "<device>/"; may be empty
	Subtype   string // DevConfig before its first '/', or all of it
	CfgString string // DevConfig after its first '/'; may be empty
}

// ConfigPath is the backstore's configfs path, relative to the configfs
// mount point: "target/core/user_<hba>/<device>".
func (n Name) ConfigPath() string {
	return "target/core/user_" + strconv.FormatUint(uint64(n.HBA), 10) + "/" + n.Device
}

// String puts the name back together as the kernel writes it.
func (n Name) String() string {
	s := NamePrefix + strconv.FormatUint(uint64(n.HBA), 10) + "/" + n.Device
	if n.DevConfig != "" {
		s += "/" + n.DevConfig
	}
	return s
}

// ParseName parses the contents of /sys/class/uio/uioN/name (one trailing
// newline is allowed). A name of another uio driver gives an error wrapping
// ErrNotTCMU; a "tcm-user/" name of the wrong form one wrapping
// ErrMalformedName. The HBA must be a decimal number as the kernel prints it
// (no sign, no leading zeros); the device name must be a usable configfs
// directory name (not empty, ".", ".." and without NUL).
//
// ParseName is safe for concurrent use.
func ParseName(s string) (Name, error) {
	raw := s
	s = strings.TrimSuffix(s, "\n")
	rest, ok := strings.CutPrefix(s, NamePrefix)
	if !ok {
		return Name{}, &Error{Op: "parse name", Device: strconv.Quote(raw), Err: ErrNotTCMU}
	}
	bad := func(why string) (Name, error) {
		return Name{}, &Error{Op: "parse name", Device: strconv.Quote(raw), Err: fmt.Errorf("%w: %s", ErrMalformedName, why)}
	}
	hba, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("no device name after the HBA")
	}
	if hba == "" || (len(hba) > 1 && hba[0] == '0') || strings.IndexFunc(hba, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return bad(fmt.Sprintf("HBA %q is not a decimal number", hba))
	}
	n, err := strconv.ParseUint(hba, 10, 32)
	if err != nil {
		return bad(fmt.Sprintf("HBA %q is out of range", hba))
	}
	dev, cfg, hasCfg := strings.Cut(rest, "/")
	switch {
	case dev == "":
		return bad("empty device name")
	case dev == "." || dev == "..":
		return bad(fmt.Sprintf("device name %q", dev))
	case strings.ContainsRune(dev, 0) || strings.ContainsRune(cfg, 0):
		return bad("NUL byte in name")
	case hasCfg && cfg == "":
		return bad("empty dev_config after '/'")
	}
	name := Name{HBA: uint32(n), Device: dev, DevConfig: cfg}
	name.Subtype, name.CfgString, _ = strings.Cut(cfg, "/")
	return name, nil
}
