package browser

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/tcmsh/tcmsh/shell"
)

// runner serializes the browser's use of the shell: a Shell is used by one
// goroutine at a time, and the browser's commands run in tea.Cmds.
type runner struct {
	mu sync.Mutex
	sh *shell.Shell
}

// row is what the tree shows of one node.
type row struct {
	Path, Name, Kind string
	Summary          string
	Status           shell.Status
	// DeleteLine deletes the node, DeleteWhat says what goes with it (for
	// the confirmation); "" when it is part of its parent.
	DeleteLine, DeleteWhat string
}

func rowOf(sh *shell.Shell, n *shell.Node) row {
	s, st := sh.Summary(n)
	r := row{Path: n.Path(), Name: n.Name(), Kind: n.Kind(), Summary: s, Status: st}
	if line, what, ok := sh.DeleteCall(n); ok {
		r.DeleteLine, r.DeleteWhat = line, what
	}
	return r
}

// children lists the rows below p. The caller holds the lock.
func (r *runner) children(p string) ([]row, error) {
	n, err := r.sh.Resolve(p)
	if err != nil {
		return nil, err
	}
	kids, err := r.sh.Children(n)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", p, err)
	}
	out := make([]row, len(kids))
	for i, k := range kids {
		out[i] = rowOf(r.sh, k)
	}
	return out, nil
}

// load lists the children of every path in paths. Paths that no longer
// resolve are reported in gone.
func (r *runner) load(paths []string) (kids map[string][]row, gone []string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kids = map[string][]row{}
	for _, p := range paths {
		rows, e := r.children(p)
		if e != nil {
			if _, rerr := r.sh.Resolve(p); rerr != nil {
				gone = append(gone, p)
				continue
			}
			if err == nil {
				err = e
			}
			continue
		}
		kids[p] = rows
	}
	return kids, gone, err
}

// details is what the details pane shows of one node.
type details struct {
	Path, Name, Kind string
	Summary          string
	Status           shell.Status
	Info             []kv
	Groups           []shell.Group
	Recreate         string
	Commands         []string // the node's own commands (create, delete, enable, …)
	Enabled          *bool
}

type kv struct{ K, V string }

func (r *runner) details(p string) (*details, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.sh.Resolve(p)
	if err != nil {
		return nil, err
	}
	d := &details{Path: n.Path(), Name: n.Name(), Kind: n.Kind()}
	d.Summary, d.Status = r.sh.Summary(n)
	info, err := r.sh.Info(n)
	if err != nil {
		return nil, fmt.Errorf("info of %s: %w", p, err)
	}
	keys := make([]string, 0, len(info))
	for k := range info {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.Info = append(d.Info, kv{k, strings.TrimSpace(fmt.Sprint(info[k]))})
	}
	if en, ok := info["enabled"].(bool); ok && (d.Kind == "tpg" || d.Kind == "target") {
		d.Enabled = &en
	}
	if d.Groups, err = r.sh.Groups(n); err != nil {
		return nil, fmt.Errorf("configuration groups of %s: %w", p, err)
	}
	d.Recreate = r.sh.RecreateLine(n)
	for _, c := range r.sh.CommandsFor(n) {
		if c.Name == "enable" || c.Name == "disable" || c.Name == "create" || c.Name == "delete" {
			d.Commands = append(d.Commands, c.Name)
		}
	}
	return d, nil
}

// has reports whether the node has the command.
func (d *details) has(cmd string) bool {
	for _, c := range d.Commands {
		if c == cmd {
			return true
		}
	}
	return false
}

// result is what one command line did.
type result struct {
	Out string
	Err error
	// Added are children of the command's node that did not exist
	// before (the object a create made).
	Added []string
}

// exec runs one command line through the shell (shell.Run), with its
// output captured. The children of watch (a node path, may be empty) that
// the command created are reported in Added.
func (r *runner) exec(ctx context.Context, line, watch string) (res result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			res = result{Err: fmt.Errorf("internal error running %q: %v", line, p)}
		}
	}()
	// The shell is shared with the REPL: its current node stays.
	cwd := r.sh.Cwd()
	c, err := r.sh.Parse(line)
	if err != nil {
		return result{Err: err}
	}
	var buf bytes.Buffer
	done, err := r.sh.Run(ctx, c, shell.IO{Out: &buf, Err: &buf})
	if done.Cwd != cwd {
		_ = r.sh.Chdir(cwd)
	}
	res = result{Out: strings.TrimSpace(buf.String()), Err: err}
	if watch != "" && err == nil {
		for _, p := range done.Created {
			if path.Dir(p) == watch {
				res.Added = append(res.Added, p)
			}
		}
	}
	return res
}

// resolve checks that p names a node and returns its clean path.
func (r *runner) resolve(p string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.sh.Resolve(p)
	if err != nil {
		return "", err
	}
	return n.Path(), nil
}

// ancestors lists the paths above p, the root first.
func ancestors(p string) []string {
	if !strings.HasPrefix(p, "/") || p == "/" {
		return nil
	}
	var out []string
	for q := path.Dir(path.Clean(p)); ; q = path.Dir(q) {
		out = append([]string{q}, out...)
		if q == "/" {
			return out
		}
	}
}

// complete returns the path completions of the text typed so far.
func (r *runner) complete(text string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.sh.Complete(text) {
		if strings.HasPrefix(s.Text, "/") || strings.HasPrefix(s.Text, ".") {
			out = append(out, strings.TrimSuffix(s.Text, "/"))
		}
	}
	return out
}

// createCmd is one create command the user can pick.
type createCmd struct {
	Node  string // the node the command runs on
	Kind  string
	Label string
	Cmd   *shell.Command
	// StorageObjects lists /backstores/<type>/<name> paths, for a
	// parameter that names one.
	StorageObjects []string
	// Suggestions are the shell's completions of WWN parameters (the
	// initiators already known, for an ACL).
	Suggestions map[string][]string
}

// creates lists the create commands of a node: its own, or those of its
// children (the backstore types under /backstores, the luns, acls and
// portals of a TPG).
func (r *runner) creates(p string) ([]createCmd, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.sh.Resolve(p)
	if err != nil {
		return nil, err
	}
	own := func(n *shell.Node) *shell.Command {
		for _, c := range r.sh.CommandsFor(n) {
			if c.Name == "create" {
				return c
			}
		}
		return nil
	}
	var out []createCmd
	if c := own(n); c != nil {
		out = append(out, createCmd{Node: n.Path(), Kind: n.Kind(), Label: n.Path(), Cmd: c})
	} else {
		kids, err := r.sh.Children(n)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", p, err)
		}
		for _, k := range kids {
			if c := own(k); c != nil {
				out = append(out, createCmd{Node: k.Path(), Kind: k.Kind(), Label: k.Name(), Cmd: c})
			}
		}
	}
	sos := r.storageObjects()
	for i := range out {
		out[i].StorageObjects = sos
		for _, p := range out[i].Cmd.Params {
			if p.Type != shell.TypeWWN {
				continue
			}
			for _, s := range r.sh.Complete(shell.Quote(out[i].Node) + " create " + p.Name + "=") {
				if out[i].Suggestions == nil {
					out[i].Suggestions = map[string][]string{}
				}
				out[i].Suggestions[p.Name] = append(out[i].Suggestions[p.Name], s.Text)
			}
		}
	}
	return out, nil
}

// storageObjects lists every storage object's path. The caller holds the
// lock.
func (r *runner) storageObjects() []string {
	var out []string
	bs, err := r.sh.Resolve("/backstores")
	if err != nil {
		return nil
	}
	types, _ := r.sh.Children(bs)
	for _, t := range types {
		sos, _ := r.sh.Children(t)
		for _, so := range sos {
			out = append(out, so.Path())
		}
	}
	return out
}
