package configfs

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// DumpEntry is one configfs entry as tcmsh's `dump` prints it.
type DumpEntry struct {
	Path  string `json:"path"`
	Kind  string `json:"kind"`
	Perm  string `json:"perm"`
	Value string `json:"value"`
	// Readable is false for a write-only attribute or one whose read
	// failed; Value then holds "-" and the reason.
	Readable bool `json:"readable"`
}

// Dump reads every entry below root (a path relative to the mount point),
// root included, sorted by path: directories, attributes with their
// content (escaped onto one line; a write-only one or a failed read says
// why) and links with their targets.
func Dump(ctx context.Context, fs FS, root string) ([]DumpEntry, error) {
	st, err := fs.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("dump %s: %w", root, err)
	}
	var out []DumpEntry
	var walk func(p string, e DirEntry) error
	walk = func(p string, e DirEntry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		out = append(out, dumpOne(fs, p, e))
		if e.Kind != KindDir {
			return nil
		}
		es, err := fs.ReadDir(p)
		if err != nil {
			return fmt.Errorf("dump: %w", err)
		}
		for _, c := range es {
			if err := walk(path.Join(p, c.Name), c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, st); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// dumpOne describes one entry, reading an attribute or a link.
func dumpOne(fs FS, p string, e DirEntry) DumpEntry {
	d := DumpEntry{Path: p, Kind: e.Kind.String(), Perm: fmt.Sprintf("%04o", uint32(e.Perm.Perm())), Readable: true}
	switch e.Kind {
	case KindDir:
		d.Value = ""
	case KindLink:
		t, err := fs.Readlink(p)
		if err != nil {
			d.Readable, d.Value = false, "- "+dumpReason(err)
		} else {
			d.Value = t
		}
	case KindAttr:
		if !e.Readable() {
			d.Readable, d.Value = false, "- write-only"
			break
		}
		b, err := fs.ReadFile(p)
		if err != nil {
			d.Readable, d.Value = false, "- "+dumpReason(err)
			break
		}
		d.Value = dumpEscape(string(b))
	}
	return d
}

// dumpReason names the errno of a failed read ("EINVAL: invalid argument"),
// or gives the error.
func dumpReason(err error) string {
	if n := Errno(err); n != 0 {
		if name := unix.ErrnoName(n); name != "" {
			return name + ": " + n.Error()
		}
		return n.Error()
	}
	return err.Error()
}

// dumpEscape keeps one entry on one line: backslash, newline, tab and other
// control characters are escaped.
func dumpEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
