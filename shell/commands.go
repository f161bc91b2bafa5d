package shell

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// command is one entry of the command table.
type command struct {
	usage string // synopsis
	help  string // one paragraph
	run   func(ctx context.Context, sh *Shell, c *call) error
}

var commands map[string]*command

func init() {
	commands = map[string]*command{
		"ls": {usage: "ls [path] [depth]", help: "Show the tree below a node (the current one by default), to depth levels.", run: cmdLs},
		"cd": {usage: "cd [path]", help: "Go to a node: an absolute or relative path, `..`, `/`, or `-` for the previous node. Without a path, go to /.", run: cmdCd},
		"pwd": {usage: "pwd", help: "Print the current path.", run: func(_ context.Context, sh *Shell, c *call) error {
			if sh.opts.JSON {
				return sh.printJSON(map[string]string{"path": sh.cwd})
			}
			sh.printf("%s\n", sh.cwd)
			return nil
		}},
		"info":    {usage: "info", help: "Show what the kernel reports about the node.", run: cmdInfo},
		"get":     {usage: "get [group] [name...]", help: "Show a node's configuration groups (attribute, parameter, auth, discovery_auth, alua, wwn), or named values of one group.", run: cmdGet},
		"set":     {usage: "set group name=value...", help: "Change values of a configuration group. All values are applied, or none.", run: cmdSet},
		"version": {usage: "version", help: "Show tcmsh's version and the kernel it works on.", run: cmdVersion},
		"help":    {usage: "help [command]", help: "List the commands, or explain one.", run: cmdHelp},
		"exit":    {usage: "exit", help: "Leave the shell.", run: func(context.Context, *Shell, *call) error { return ErrExit }},
	}
}

func noArgs(c *call, max int) error {
	if len(c.args) > max {
		return usagef("%s: unexpected argument %q; usage: %s", c.name, c.args[max], commands[c.name].usage)
	}
	if len(c.kvKeys) > 0 && c.name != "set" {
		return usagef("%s: unexpected parameter %s=; usage: %s", c.name, c.kvKeys[0], commands[c.name].usage)
	}
	return nil
}

func cmdCd(_ context.Context, sh *Shell, c *call) error {
	if err := noArgs(c, 1); err != nil {
		return err
	}
	target := "/"
	if len(c.args) == 1 {
		target = c.args[0]
	}
	if target == "-" {
		target = sh.prevCwd
	}
	n, err := sh.Resolve(target)
	if err != nil {
		return err
	}
	return sh.changeDir(n)
}

// treeJSON is the JSON form of ls.
type treeJSON struct {
	Name     string      `json:"name"`
	Path     string      `json:"path"`
	Summary  string      `json:"summary"`
	Children []*treeJSON `json:"children,omitempty"`
}

func cmdLs(ctx context.Context, sh *Shell, c *call) error {
	if err := noArgs(c, 2); err != nil {
		return err
	}
	n := c.node
	depth := -1
	for _, a := range c.args {
		if d, err := strconv.Atoi(a); err == nil {
			if d < 0 {
				return usagef("ls: depth %d is negative", d)
			}
			depth = d
			continue
		}
		var err error
		if n, err = sh.Resolve(a); err != nil {
			return err
		}
	}
	if sh.opts.JSON {
		t, err := sh.treeOf(ctx, n, depth)
		if err != nil {
			return err
		}
		return sh.printJSON(t)
	}
	return sh.drawTree(ctx, n, depth, "", true)
}

func (sh *Shell) treeOf(ctx context.Context, n *Node, depth int) (*treeJSON, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, _ := sh.Summary(n)
	t := &treeJSON{Name: n.name, Path: n.path, Summary: s}
	if depth == 0 {
		return t, nil
	}
	kids, err := sh.Children(n)
	if err != nil {
		return nil, err
	}
	for _, k := range kids {
		kt, err := sh.treeOf(ctx, k, depth-1)
		if err != nil {
			return nil, err
		}
		t.Children = append(t.Children, kt)
	}
	return t, nil
}

// drawTree prints targetcli's `o- name ..... [summary]` lines.
func (sh *Shell) drawTree(ctx context.Context, n *Node, depth int, indent string, last bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	summary, _ := sh.Summary(n)
	sh.printf("%s\n", treeLine(indent+"o- "+n.name, summary, sh.opts.Width))
	if depth == 0 {
		return nil
	}
	kids, err := sh.Children(n)
	if err != nil {
		return err
	}
	childIndent := indent
	if n.kind != kindRoot || indent != "" {
		if last {
			childIndent += "  "
		} else {
			childIndent += "| "
		}
	} else {
		childIndent = "  "
	}
	for i, k := range kids {
		if err := sh.drawTree(ctx, k, depth-1, childIndent, i == len(kids)-1); err != nil {
			return err
		}
	}
	return nil
}

// treeLine pads head with dots so that the bracketed summary ends at width.
func treeLine(head, summary string, width int) string {
	tail := "[" + summary + "]"
	if summary == "" {
		tail = "[...]"
	}
	dots := width - utf8.RuneCountInString(head) - utf8.RuneCountInString(tail) - 2
	if dots < 3 {
		dots = 3
	}
	return head + " " + strings.Repeat(".", dots) + " " + tail
}

func cmdInfo(_ context.Context, sh *Shell, c *call) error {
	if err := noArgs(c, 0); err != nil {
		return err
	}
	info, err := sh.Info(c.node)
	if err != nil {
		return err
	}
	if sh.opts.JSON {
		return sh.printJSON(info)
	}
	for _, k := range sortedKeys(info) {
		v := fmt.Sprint(info[k])
		if strings.Contains(v, "\n") {
			v = "\n  " + strings.ReplaceAll(strings.TrimSpace(v), "\n", "\n  ")
		}
		sh.printf("%s: %s\n", k, v)
	}
	return nil
}

// Info collects what `info` shows about a node.
func (sh *Shell) Info(n *Node) (map[string]any, error) {
	l := sh.env.LIO
	out := map[string]any{"path": n.path}
	if cp := n.ConfigPath(); cp != "" {
		out["configfs"] = cp
	}
	switch n.kind {
	case kindRoot:
		v, err := l.Version()
		if err != nil {
			return nil, err
		}
		out["target_core"] = v
		out["kernel"] = sh.env.Kind
	case kindStorageObject:
		si, err := l.StorageObjectInfo(n.so)
		if err != nil {
			return nil, err
		}
		out["name"] = si.Object.Name
		out["plugin"] = si.Kind()
		out["hba"] = si.Object.HBA
		out["enabled"] = si.Enabled
		out["size"] = si.Size
		out["write_back"] = si.WriteBack
		out["wwn"] = si.UnitSerial
		out["kernel_info"] = si.Info
		if si.Dev != "" {
			out["dev"] = si.Dev
		}
		if si.Config != "" {
			out["config"] = si.Config
		}
	case kindTarget, kindTPG:
		out["fabric"] = n.tpg.Fabric
		if n.kind == kindTarget {
			out["fabric"] = n.target.Fabric
			out["wwn"] = n.target.WWN
		}
		if n.folded || n.kind == kindTPG {
			out["tag"] = n.tpg.Tag
			if nx := l.Nexus(n.tpg); nx != "" {
				out["nexus"] = nx
			}
			if en, err := l.ReadAttr(path.Join(n.tpg.Path(), "enable")); err == nil {
				out["enabled"] = en == "1"
			}
		}
	case kindLUN:
		out["index"] = n.lun.Index
		if n.lun.Linked {
			out["storage_object"] = n.lun.Storage.Path()
			out["alias"] = n.lun.Alias
		}
	case kindACL:
		out["node_wwn"] = n.acl.NodeWWN
		if s, err := l.ReadAttr(path.Join(n.acl.Path(), "info")); err == nil {
			out["sessions"] = s
		}
	case kindMappedLUN:
		out["index"] = n.mappedLUN.Index
		out["tpg_lun"] = n.mappedLUN.TPGLUN
		out["write_protect"] = n.mappedLUN.WriteProtect
	case kindPortal:
		out["ip_address"] = n.portal.IP
		out["port"] = n.portal.Port
	}
	return out, nil
}

// groupDirs maps a node's configuration group names to configfs
// directories ("." is the node's own directory, for files that sit there).
func (sh *Shell) groupDirs(n *Node) map[string]string {
	base := n.ConfigPath()
	g := map[string]string{}
	switch n.kind {
	case kindStorageObject:
		g["attribute"] = path.Join(base, "attrib")
		g["wwn"] = path.Join(base, "wwn")
	case kindTPG:
		g["attribute"] = path.Join(base, "attrib")
		g["parameter"] = path.Join(base, "param")
		g["auth"] = path.Join(base, "auth")
	case kindTarget:
		if n.folded {
			g["attribute"] = path.Join(base, "attrib")
			g["parameter"] = path.Join(base, "param")
			g["auth"] = path.Join(base, "auth")
		}
	case kindACL:
		g["attribute"] = path.Join(base, "attrib")
		g["auth"] = path.Join(base, "auth")
		g["parameter"] = path.Join(base, "param")
	case kindFabric:
		g["discovery_auth"] = path.Join(base, "discovery_auth")
	case kindTGPT:
		g["alua"] = base
	case kindLUN:
		g["alua"] = base
	case kindMappedLUN:
		g["attribute"] = base
	}
	for name, dir := range g {
		if _, err := sh.env.LIO.FS().Stat(dir); err != nil {
			delete(g, name)
		}
	}
	return g
}

func cmdGet(_ context.Context, sh *Shell, c *call) error {
	if len(c.kvKeys) > 0 {
		return usagef("get: unexpected parameter %s=; usage: get [group] [name...]", c.kvKeys[0])
	}
	groups := sh.groupDirs(c.node)
	names := sortedKeys(groups)
	if len(c.args) > 0 {
		g := c.args[0]
		if _, ok := groups[g]; !ok {
			return usagef("get: %s has no group %q; its groups: %s", c.node.path, g, orNone(names))
		}
		names = []string{g}
	}
	result := map[string]map[string]string{}
	for _, g := range names {
		vals, err := sh.env.LIO.Group(groups[g])
		if err != nil {
			return err
		}
		if len(c.args) > 1 {
			picked := map[string]string{}
			for _, k := range c.args[1:] {
				v, ok := vals[k]
				if !ok {
					return usagef("get: group %s has no %q; it has: %s", g, k, orNone(sortedKeys(vals)))
				}
				picked[k] = v
			}
			vals = picked
		}
		result[g] = vals
	}
	if sh.opts.JSON {
		return sh.printJSON(result)
	}
	for i, g := range names {
		if len(c.args) <= 1 {
			if i > 0 {
				sh.printf("\n")
			}
			title := strings.ToUpper(g) + " CONFIG GROUP"
			sh.printf("%s\n%s\n", title, strings.Repeat("=", len(title)))
		}
		for _, k := range sortedKeys(result[g]) {
			sh.printf("%s=%s\n", k, result[g][k])
		}
	}
	return nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

func cmdSet(_ context.Context, sh *Shell, c *call) error {
	if len(c.args) != 1 || len(c.kvKeys) == 0 {
		return usagef("set: usage: set group name=value...")
	}
	groups := sh.groupDirs(c.node)
	dir, ok := groups[c.args[0]]
	if !ok {
		return usagef("set: %s has no group %q; its groups: %s", c.node.path, c.args[0], orNone(sortedKeys(groups)))
	}
	current, err := sh.env.LIO.Group(dir)
	if err != nil {
		return err
	}
	entries, err := sh.env.LIO.FS().ReadDir(dir)
	if err != nil {
		return err
	}
	writable := map[string]bool{}
	for _, e := range entries {
		if e.Writable() {
			writable[e.Name] = true
		}
	}
	for _, k := range c.kvKeys {
		if !writable[k] {
			if _, exists := current[k]; exists {
				return usagef("set: %s %s is read-only", c.args[0], k)
			}
			return usagef("set: group %s has no %q; writable: %s", c.args[0], k, orNone(sortedKeys(writable)))
		}
	}
	// Apply in order; on a refusal put back what was already changed.
	var done []string
	for _, k := range c.kvKeys {
		if err := sh.env.LIO.WriteAttr(path.Join(dir, k), c.kv[k]); err != nil {
			for i := len(done) - 1; i >= 0; i-- {
				_ = sh.env.LIO.WriteAttr(path.Join(dir, done[i]), current[done[i]])
			}
			return fmt.Errorf("set %s %s=%s: %w", c.args[0], k, c.kv[k], err)
		}
		done = append(done, k)
	}
	if !sh.opts.JSON {
		for _, k := range c.kvKeys {
			sh.printf("Parameter %s is now '%s'.\n", k, c.kv[k])
		}
	}
	return nil
}

func cmdVersion(_ context.Context, sh *Shell, c *call) error {
	if err := noArgs(c, 0); err != nil {
		return err
	}
	core, err := sh.env.LIO.Version()
	if err != nil {
		return err
	}
	if sh.opts.JSON {
		return sh.printJSON(map[string]string{"tcmsh": sh.opts.Version, "kernel": sh.env.Kind, "target_core": core})
	}
	kind := "real kernel"
	if sh.env.Kind == "sim" {
		kind = "simulated kernel"
	}
	sh.printf("tcmsh %s\n%s: %s\n", sh.opts.Version, kind, core)
	return nil
}

func cmdHelp(_ context.Context, sh *Shell, c *call) error {
	if len(c.args) > 0 {
		cmd, ok := commands[c.args[0]]
		if !ok {
			return usagef("help: unknown command %q", c.args[0])
		}
		sh.printf("%s\n\n%s\n", cmd.usage, cmd.help)
		return nil
	}
	sh.printf("Commands (a leading path runs the command on that node; a bare path changes to it):\n")
	for _, name := range sortedKeys(commands) {
		sh.printf("  %-22s %s\n", commands[name].usage, firstSentence(commands[name].help))
	}
	return nil
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
