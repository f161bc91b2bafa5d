package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tcmsh/tcmsh/configfs"
)

// Persistent reservations made with APTPL (activate persist through power
// loss) are written by the kernel itself, to <dbroot>/pr/aptpl_<unit
// serial> (dbroot is /etc/target when it exists, else /var/target), but it
// never reads that file back: whoever configures the device must hand each
// registration to pr/res_aptpl_metadata before the device is exported, as
// rtslib does whenever it configures a storage object. So does tcmsh, for
// every backstore it creates (restoreconfig included): a restore keeps the
// initiators' registrations and reservation. On the real kernel it also
// makes <dbroot>/pr when missing, without which the kernel refuses APTPL.

// aptplRegistrations parses the kernel's APTPL file: each registration is
// the lines between "PR_REG_START: n" and "PR_REG_END: n", key=value
// lines, handed to the kernel joined by commas.
func aptplRegistrations(data string) []string {
	var regs []string
	var cur []string
	in := false
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "PR_REG_START:"):
			in, cur = true, nil
		case strings.HasPrefix(line, "PR_REG_END:"):
			if in && len(cur) > 0 {
				regs = append(regs, strings.Join(cur, ","))
			}
			in = false
		case in && line != "":
			cur = append(cur, line)
		}
	}
	return regs
}

// prDirsTried holds the APTPL directories this process made or tried to.
var prDirsTried sync.Map

// restoreAPTPL hands a new storage object the registrations the kernel
// saved for its unit serial; it returns how many. No file is no error.
func (st Store) restoreAPTPL(so configfs.StorageObject) (int, error) {
	if so.Plugin == "pscsi" {
		return 0, nil // the device's own reservations, not the kernel's
	}
	serial, err := st.LIO.UnitSerial(so)
	if err != nil || serial == "" {
		return 0, err
	}
	dbroot, err := st.LIO.DBRoot()
	if err != nil {
		return 0, nil // an old kernel without dbroot writes no APTPL files
	}
	prDir := filepath.Join(strings.TrimSpace(dbroot), "pr")
	if st.LIO.Kind == "real" {
		// The kernel writes APTPL files into <dbroot>/pr but never makes
		// it, and neither does rtslib: without it a REGISTER with APTPL
		// fails (NOT READY; "SPC-3 PR: Could not update APTPL").
		// Once per process and directory: a batch of creates makes (or
		// fails to make, and says so) the directory once, not a mkdir and
		// a warning per object.
		if _, done := prDirsTried.LoadOrStore(prDir, true); !done {
			if err := os.Mkdir(prDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				st.warnf("warning: %s: %v: persistent reservations made with APTPL will be refused\n", so.Name, err)
			}
		}
	}
	file := filepath.Join(prDir, "aptpl_"+serial)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("APTPL file: %w", err)
	}
	regs := aptplRegistrations(string(data))
	for i, r := range regs {
		if err := st.LIO.WriteAttr(path.Join(so.Path(), "pr", "res_aptpl_metadata"), r); err != nil {
			return i, fmt.Errorf("%s: registration %d of %d: %w", file, i+1, len(regs), err)
		}
	}
	return len(regs), nil
}
