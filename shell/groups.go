package shell

import (
	"io"

	"github.com/tcmsh/tcmsh/configfs"
)

// GroupAttr is one value of a configuration group.
type GroupAttr struct {
	Name, Value string
	// ReadOnly is true when `set` refuses to change the value.
	ReadOnly bool
}

// Group is one configuration group of a node, as `get` shows it, with
// the attributes in name order.
type Group struct {
	Name  string
	Attrs []GroupAttr
}

// Groups returns a node's configuration groups (attribute, parameter,
// auth, …) in name order, each value marked read-only when `set` would
// refuse it. It is what the TUI's details pane shows.
func (sh *Shell) Groups(n *Node) ([]Group, error) {
	dirs := sh.groupDirs(n)
	out := make([]Group, 0, len(dirs))
	for _, g := range sortedKeys(dirs) {
		vals, err := sh.env.LIO.Group(dirs[g])
		if err != nil {
			return nil, err
		}
		entries, err := sh.env.LIO.FS().ReadDir(dirs[g])
		if err != nil {
			return nil, err
		}
		writable := map[string]bool{}
		for _, e := range entries {
			if e.Kind == configfs.KindAttr && e.Writable() {
				writable[e.Name] = true
			}
		}
		grp := Group{Name: g, Attrs: make([]GroupAttr, 0, len(vals))}
		for _, k := range sortedKeys(vals) {
			grp.Attrs = append(grp.Attrs, GroupAttr{Name: k, Value: vals[k], ReadOnly: !writable[k]})
		}
		out = append(out, grp)
	}
	return out, nil
}

// Output returns the writers the shell's output goes to, so that a front
// end that captures it (SetOutput) can put them back.
func (sh *Shell) Output() (out, errw io.Writer) { return sh.opts.Out, sh.opts.Err }
