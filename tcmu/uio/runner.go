package uio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// RunnerComm is the command name tcmu-runner runs under (/proc/<pid>/comm).
const RunnerComm = "tcmu-runner"

// Runner is a running tcmu-runner process and the uio devices it holds open.
type Runner struct {
	PID int
	// Minors are the uio devices the process has open, ascending: uio0 is 0.
	Minors []int
	// Err is set when the process's descriptors could not be listed (not
	// root, or it exited while being read); Minors is then incomplete.
	Err error
}

// String says what the runner holds: "tcmu-runner (pid 812) holds uio0, uio2".
func (r Runner) String() string {
	s := fmt.Sprintf("%s (pid %d)", RunnerComm, r.PID)
	switch {
	case r.Err != nil && len(r.Minors) == 0:
		return s + ": its devices are unknown (" + r.Err.Error() + ")"
	case len(r.Minors) == 0:
		return s + " holds no uio device"
	}
	names := make([]string, len(r.Minors))
	for i, m := range r.Minors {
		names[i] = "uio" + strconv.Itoa(m)
	}
	return s + " holds " + strings.Join(names, ", ")
}

// busyHint explains an EBUSY open of uio<minor>, naming the tcmu-runner
// that holds it when there is one.
func busyHint(proc, devDir string, minor int) string {
	runners, _ := FindRunners(proc, devDir)
	if r, ok := HeldBy(runners, minor); ok {
		return fmt.Sprintf("served by %s (pid %d); stop it to serve this device from tcmsh", RunnerComm, r.PID)
	}
	return hintFor(syscall.EBUSY)
}

// Holds reports whether the runner has uio<minor> open.
func (r Runner) Holds(minor int) bool {
	i := sort.SearchInts(r.Minors, minor)
	return i < len(r.Minors) && r.Minors[i] == minor
}

// FindRunners lists the running tcmu-runner processes by scanning
// <proc>/*/comm (proc "" means DefaultProc), and for each the uio devices it
// holds (its <proc>/<pid>/fd links that point at <devDir>/uioN; devDir ""
// means DefaultDev). Processes that exit during the scan are skipped. The
// error is non-nil only when proc itself cannot be read.
//
// FindRunners reads the filesystem only and is safe for concurrent use.
func FindRunners(proc, devDir string) ([]Runner, error) {
	if proc == "" {
		proc = DefaultProc
	}
	if devDir == "" {
		devDir = DefaultDev
	}
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil, &Error{Op: "find runners", Device: proc, Err: unwrapPath(err)}
	}
	var out []Runner
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid <= 0 {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(proc, ent.Name(), "comm"))
		if err != nil || strings.TrimSuffix(string(comm), "\n") != RunnerComm {
			continue
		}
		r := Runner{PID: pid}
		r.Minors, r.Err = heldMinors(filepath.Join(proc, ent.Name(), "fd"), devDir)
		if errors.Is(r.Err, fs.ErrNotExist) {
			continue // exited meanwhile
		}
		out = append(out, r)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].PID < out[b].PID })
	return out, nil
}

// heldMinors reads the fd links of one process.
func heldMinors(fdDir, devDir string) ([]int, error) {
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, &Error{Op: "find runners", Device: fdDir, Err: unwrapPath(err),
			Hint: "listing another process's descriptors needs root"}
	}
	prefix := filepath.Clean(devDir) + string(filepath.Separator)
	seen := map[int]bool{}
	for _, ent := range ents {
		target, err := os.Readlink(filepath.Join(fdDir, ent.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		// A tcmu-runner in a chroot or a container shows its devices under
		// its own root ("/srv/root/dev/uio0" seen from outside): the
		// device directory's last element and the name decide.
		base, ok := strings.CutPrefix(target, prefix)
		if !ok {
			dir, name := filepath.Split(target)
			if filepath.Base(filepath.Clean(dir)) != filepath.Base(filepath.Clean(devDir)) {
				continue
			}
			base = name
		}
		if strings.Contains(base, "/") {
			continue
		}
		if minor, ok := minorOf(base); ok {
			seen[minor] = true
		}
	}
	minors := make([]int, 0, len(seen))
	for m := range seen {
		minors = append(minors, m)
	}
	sort.Ints(minors)
	return minors, nil
}

// HeldBy returns the runner that holds uio<minor>, if any.
func HeldBy(runners []Runner, minor int) (Runner, bool) {
	for _, r := range runners {
		if r.Holds(minor) {
			return r, true
		}
	}
	return Runner{}, false
}
