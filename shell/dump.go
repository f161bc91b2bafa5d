package shell

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tcmsh/tcmsh/configfs"
)

// dumpEntry is one configfs entry as `dump` prints it.
type dumpEntry struct {
	Path  string `json:"path"`
	Kind  string `json:"kind"`
	Perm  string `json:"perm"`
	Value string `json:"value"`
	// Readable is false for a write-only attribute or one whose read
	// failed; Value then holds "-" and the reason.
	Readable bool `json:"readable"`
}

var dumpCommand = &Command{
	Name: "dump",
	Summary: "Print the raw configfs tree below a configfs path (default: the whole LIO tree), one entry a line: " +
		"path, kind (dir, attr, link), permissions, value (an attribute's content with newlines as \\n, or a link's target); --json for a list.",
	Help: "The path is a configfs path such as target/core or /sys/kernel/config/target/iscsi; a path not starting with target/ is taken below target/. " +
		"A write-only attribute shows \"- write-only\", one whose read fails \"- ERRNO: message\". Entries are sorted by path.",
	Params:   []Param{{Name: "path", Type: TypeString, Default: configfs.Root}},
	Variadic: true,
	Run:      cmdDump,
}

// dumpRoot turns the user's path into a configfs path relative to the mount
// point.
func dumpRoot(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	p = strings.TrimPrefix(strings.TrimPrefix(p, "sys/kernel/config"), "/")
	if p == "" || p == "." {
		return configfs.Root
	}
	if p != configfs.Root && !strings.HasPrefix(p, configfs.Root+"/") {
		p = configfs.Root + "/" + p
	}
	return p
}

func cmdDump(ctx context.Context, sh *Shell, _ *Node, a Args) error {
	jsonOut := sh.opts.JSON
	for _, w := range a.Extra {
		if w != "--json" {
			return usagef("dump: unexpected %q (usage: dump [path] [--json])", w)
		}
		jsonOut = true
	}
	p := a.Str("path")
	if p == "--json" {
		jsonOut, p = true, configfs.Root
	}
	root := dumpRoot(p)
	fs := sh.env.LIO.FS()
	st, err := fs.Stat(root)
	if err != nil {
		return fmt.Errorf("dump %s: %w", root, err)
	}
	var out []dumpEntry
	var walk func(p string, e configfs.DirEntry) error
	walk = func(p string, e configfs.DirEntry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		out = append(out, dumpOne(fs, p, e))
		if e.Kind != configfs.KindDir {
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
		return err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	if jsonOut {
		if out == nil {
			out = []dumpEntry{}
		}
		return sh.printJSON(out)
	}
	for _, e := range out {
		sh.printf("%s\t%s\t%s\t%s\n", e.Path, e.Kind, e.Perm, e.Value)
	}
	return nil
}

// dumpOne describes one entry, reading an attribute or a link.
func dumpOne(fs configfs.FS, p string, e configfs.DirEntry) dumpEntry {
	d := dumpEntry{Path: p, Kind: e.Kind.String(), Perm: fmt.Sprintf("%04o", uint32(e.Perm.Perm())), Readable: true}
	switch e.Kind {
	case configfs.KindDir:
		d.Value = ""
	case configfs.KindLink:
		t, err := fs.Readlink(p)
		if err != nil {
			d.Readable, d.Value = false, "- "+dumpReason(err)
		} else {
			d.Value = t
		}
	case configfs.KindAttr:
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
	if n := configfs.Errno(err); n != 0 {
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
