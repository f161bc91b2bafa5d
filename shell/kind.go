package shell

import (
	"path"
	"strings"
)

// nodeKind is one kind of node in targetcli's tree and everything that
// differs between kinds: its configfs directory, its children and how one
// is found by name, its own commands, its summary and info, its
// configuration groups, and how the TUI deletes and makes it again. Each
// kind is one value in its own file (kind_<name>.go): adding a kind
// touches that file and the parent kind that lists it.
type nodeKind interface {
	// name is what the TUI's icons and layouts key on (Node.Kind).
	name() string
	// configPath is the configfs directory the node stands for, or "".
	configPath(n *Node) string
	// children lists the node's children in display order.
	children(sh *Shell, n *Node) ([]*Node, error)
	// lookup finds one child by name with a direct lookup (a stat or one
	// small read); nil, nil when there is none.
	lookup(sh *Shell, n *Node, name string) (*Node, error)
	// commands are the node's own commands (create, delete, enable, …).
	commands(n *Node) []*Command
	// summary is the bracketed text after the node in ls, with a status.
	summary(sh *Shell, n *Node) (string, Status)
	// info adds what `info` shows of the node to out.
	info(sh *Shell, n *Node, out map[string]any) error
	// groups adds the node's configuration groups (get/set) to g, each a
	// configfs directory; base is the node's own.
	groups(n *Node, base string, g map[string]string)
	// deleteCall is the command line that deletes the node (its parent's
	// delete) and what it deletes, for a confirmation; ok is false for
	// nodes that are part of their parent.
	deleteCall(n *Node) (line, what string, ok bool)
	// createWords are the parameters of the parent's create that would
	// make the node again (nil: made with its parent, or always there).
	createWords(sh *Shell, n *Node) []string
}

// baseKind is what a kind does not do: no configfs directory, no
// children, no commands, nothing to show.
type baseKind struct{}

func (baseKind) configPath(*Node) string                       { return "" }
func (baseKind) children(*Shell, *Node) ([]*Node, error)       { return nil, nil }
func (baseKind) lookup(*Shell, *Node, string) (*Node, error)   { return nil, nil }
func (baseKind) commands(*Node) []*Command                     { return nil }
func (baseKind) info(*Shell, *Node, map[string]any) error      { return nil }
func (baseKind) groups(*Node, string, map[string]string)       {}
func (baseKind) deleteCall(*Node) (line, what string, ok bool) { return "", "", false }
func (baseKind) createWords(*Shell, *Node) []string            { return nil }

// DeleteCall is the command line that deletes n (its parent's delete, with
// n's name as that command wants it) and what it deletes, in words for a
// confirmation; ok is false for nodes that are part of their parent.
func (sh *Shell) DeleteCall(n *Node) (line, what string, ok bool) { return n.kind.deleteCall(n) }

// RecreateLine is the command that would make n again with its creation
// parameters (attributes are set apart, with `set`); "" for nodes made
// with their parent or always there.
func (sh *Shell) RecreateLine(n *Node) string {
	words := n.kind.createWords(sh, n)
	if words == nil {
		return ""
	}
	return strings.Join(append([]string{path.Dir(n.path), "create"}, words...), " ")
}

// parentCall is a command line on n's parent.
func parentCall(n *Node, cmd string, args ...string) string {
	return strings.Join(append([]string{Quote(path.Dir(n.path)), cmd}, args...), " ")
}

// createWords are key, value pairs of a create command line; empty values
// are left out.
type createWords []string

func (c createWords) words() []string {
	out := []string{}
	for i := 0; i+1 < len(c); i += 2 {
		if c[i+1] != "" {
			out = append(out, c[i]+"="+Quote(c[i+1]))
		}
	}
	return out
}
