package shell

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/suggest"
)

// Command is one entry of the command table: what the REPL, batch,
// one-shot and the TUI run. Params drive parsing, help and completion.
type Command struct {
	Name    string
	Summary string // one sentence
	Help    string // more, may be empty
	Params  []Param
	// Variadic commands take positional words beyond Params (Args.Extra).
	Variadic bool
	// FreeKeys commands take any key=value words (Args.Pairs): set.
	FreeKeys bool
	Run      func(ctx context.Context, sh *Shell, n *Node, a Args) error
}

// Usage is the synopsis: required parameters bare, optional ones in
// brackets with their defaults.
func (c *Command) Usage() string {
	parts := []string{c.Name}
	for _, p := range c.Params {
		switch {
		case p.Required:
			parts = append(parts, p.Name)
		case p.Default != "":
			parts = append(parts, "["+p.Name+"="+p.Default+"]")
		default:
			parts = append(parts, "["+p.Name+"]")
		}
	}
	if c.Variadic {
		parts = append(parts, "...")
	}
	if c.FreeKeys {
		parts = append(parts, "name=value...")
	}
	return strings.Join(parts, " ")
}

// CommandsFor lists the commands available on a node: the node's own
// (create, delete, enable, …) first, then those of every node.
func (sh *Shell) CommandsFor(n *Node) []*Command {
	own := sh.nodeCommands(n)
	out := make([]*Command, 0, len(own)+len(sh.commands))
	out = append(out, own...)
	return append(out, sh.commands...)
}

// LookupCommand finds a command of a node by name.
func (sh *Shell) LookupCommand(n *Node, name string) (*Command, bool) {
	for _, c := range sh.CommandsFor(n) {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

func cmdCd(_ context.Context, sh *Shell, _ *Node, a Args) error {
	target := a.Str("path")
	switch target {
	case "-":
		target = sh.prevCwd
	case "<":
		if sh.histPos == 0 {
			return usagef("cd <: no earlier node in the history")
		}
		sh.histPos--
		return sh.gotoHistory()
	case ">":
		if sh.histPos >= len(sh.history)-1 {
			return usagef("cd >: no later node in the history")
		}
		sh.histPos++
		return sh.gotoHistory()
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

func cmdLs(ctx context.Context, sh *Shell, n *Node, a Args) error {
	defer sh.beginListing()()
	depth := int(a.Int("depth", -1))
	if p := a.Str("path"); p != "" {
		// `ls 2` means depth 2 of the current node.
		if d, err := strconv.Atoi(p); err == nil && !a.Given("depth") {
			if d < 0 {
				return usagef("ls: depth %d is negative", d)
			}
			depth = d
		} else {
			var err error
			if n, err = sh.Resolve(p); err != nil {
				return err
			}
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
	summary, status := sh.Summary(n)
	line := treeLine(indent+"o- "+n.name, summary, sh.opts.Width)
	if sh.opts.Color {
		line = colorLine(line, summary, status)
	}
	sh.printf("%s\n", line)
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

// Styles of the bracketed summary, by status. The padding is computed on
// the plain text, so colours never change the layout.
var (
	styleOK   = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	styleOff  = lipgloss.NewStyle().Foreground(lipgloss.Color("8"))
	styleWarn = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
)

// colorLine colours the summary at the end of a tree line.
func colorLine(line, summary string, st Status) string {
	var style lipgloss.Style
	switch st {
	case StatusOK:
		style = styleOK
	case StatusOff:
		style = styleOff
	case StatusWarn:
		style = styleWarn
	default:
		return line
	}
	tail := "[" + summary + "]"
	if !strings.HasSuffix(line, tail) {
		return line
	}
	return strings.TrimSuffix(line, tail) + style.Render(tail)
}

// treeLine pads head with dots so that the bracketed summary ends at width.
func treeLine(head, summary string, width int) string {
	tail := "[" + summary + "]"
	if summary == "" {
		tail = "[...]"
	}
	// Display columns: a wide (CJK) character takes two.
	dots := width - textWidth(head) - textWidth(tail) - 2
	if dots < 3 {
		dots = 3
	}
	return head + " " + strings.Repeat(".", dots) + " " + tail
}

func cmdInfo(_ context.Context, sh *Shell, n *Node, _ Args) error {
	info, err := sh.Info(n)
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
	out := map[string]any{"path": n.path}
	if cp := n.ConfigPath(); cp != "" {
		out["configfs"] = cp
	}
	if err := n.kind.info(sh, n, out); err != nil {
		return nil, err
	}
	return out, nil
}

// groupDirs maps a node's configuration group names to configfs
// directories ("." is the node's own directory, for files that sit there).
func (sh *Shell) groupDirs(n *Node) map[string]string {
	base := n.ConfigPath()
	g := map[string]string{}
	n.kind.groups(n, base, g)
	for name, dir := range g {
		if _, err := sh.env.LIO.FS().Stat(dir); err != nil {
			delete(g, name)
		}
	}
	return g
}

func cmdGet(_ context.Context, sh *Shell, n *Node, a Args) error {
	if a.Str("group") == "global" {
		return sh.getGlobal(a.Extra)
	}
	groups := sh.groupDirs(n)
	names := sortedKeys(groups)
	if g := a.Str("group"); g != "" {
		if _, ok := groups[g]; !ok {
			return usagef("get: %s has no group %q; its groups: %s", n.path, g, orNone(append(names, "global")))
		}
		names = []string{g}
	}
	result := map[string]map[string]string{}
	for _, g := range names {
		vals, err := sh.env.LIO.Group(groups[g])
		if err != nil {
			return err
		}
		if len(a.Extra) > 0 {
			picked := map[string]string{}
			for _, k := range a.Extra {
				v, ok := vals[k]
				if !ok {
					v, ok = vals[groupKeyAlias(g, k)]
				}
				if !ok {
					msg := fmt.Sprintf("get: group %s has no %q", g, k)
					if s := suggest.Nearest(k, sortedKeys(vals)); s != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", s)
					}
					return usagef("%s; it has: %s", msg, orNone(sortedKeys(vals)))
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
		if len(a.Extra) == 0 {
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

func cmdSet(_ context.Context, sh *Shell, n *Node, a Args) error {
	group := a.Str("group")
	if len(a.Pairs) == 0 {
		return usagef("set: give name=value pairs; usage: set group name=value...")
	}
	if group == "global" {
		return sh.setGlobal(a.Pairs)
	}
	groups := sh.groupDirs(n)
	dir, ok := groups[group]
	if !ok {
		return usagef("set: %s has no group %q; its groups: %s", n.path, group, orNone(append(sortedKeys(groups), "global")))
	}
	pairs := authAliases(group, a.Pairs)
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
		if e.Kind == configfs.KindAttr && e.Writable() {
			writable[e.Name] = true
		}
	}
	c := struct {
		kvKeys []string
		kv     map[string]string
		args   []string
	}{kv: map[string]string{}, args: []string{group}}
	seen := map[string]bool{}
	for _, kv := range pairs {
		if seen[kv.Key] {
			return usagef("set: parameter %s given twice", kv.Key)
		}
		seen[kv.Key] = true
	}
	for _, kv := range pairs {
		k := kv.Key
		if !writable[k] {
			if _, exists := current[k]; exists {
				return usagef("set: %s %s is read-only", group, k)
			}
			msg := fmt.Sprintf("set: group %s has no %q", group, k)
			if s := suggest.Nearest(k, sortedKeys(writable)); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return usagef("%s; writable: %s", msg, orNone(sortedKeys(writable)))
		}
		v := kv.Value
		if strings.ContainsAny(v, "\n\x00") {
			return usagef("set: %s: the value contains a newline or NUL", k)
		}
		if v == "true" {
			v = "1"
		} else if v == "false" {
			v = "0"
		}
		c.kvKeys = append(c.kvKeys, k)
		c.kv[k] = v
	}
	// A tag group's settings are set on every member.
	if err := sh.store().WriteValues("set "+c.args[0], groupMemberDirs(n, dir), dir, current, c.kvKeys, c.kv); err != nil {
		return err
	}
	if !sh.opts.JSON {
		for _, k := range c.kvKeys {
			sh.printf("Parameter %s is now '%s'.\n", k, c.kv[k])
		}
	}
	return nil
}

func cmdVersion(_ context.Context, sh *Shell, _ *Node, _ Args) error {
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

func cmdHelp(_ context.Context, sh *Shell, n *Node, a Args) error {
	cmds := sh.CommandsFor(n)
	if topic := a.Str("topic"); topic != "" {
		cmd, ok := sh.LookupCommand(n, topic)
		if !ok {
			names := make([]string, len(cmds))
			for i, c := range cmds {
				names[i] = c.Name
			}
			msg := fmt.Sprintf("help: %s has no command %q", n.path, topic)
			if s := suggest.Nearest(topic, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return usagef("%s", msg)
		}
		if sh.opts.JSON {
			return sh.printJSON(commandJSON(cmd))
		}
		w := sh.opts.Width
		sh.printf("%s\n\n%s\n", wrapHanging(cmd.Usage(), w, len(cmd.Name)+1), wrapParagraphs(cmd.Summary, w))
		if cmd.Help != "" {
			sh.printf("\n%s\n", wrapParagraphs(cmd.Help, w))
		}
		if len(cmd.Params) > 0 {
			sh.printf("\nParameters:\n")
			for _, p := range cmd.Params {
				line := fmt.Sprintf("  %-18s %s", p.Name, p.Type)
				if p.Default != "" {
					line += ", default " + p.Default
				}
				if p.Help != "" {
					line += ": " + p.Help
				} else if p.Type == TypeEnum || p.Type == TypeBool || p.Type == TypeSize {
					line += ": " + p.Expect()
				}
				sh.printf("%s\n", wrapHanging(line, w, 21))
			}
		}
		return nil
	}
	if sh.opts.JSON {
		out := make([]any, len(cmds))
		for i, c := range cmds {
			out[i] = commandJSON(c)
		}
		return sh.printJSON(out)
	}
	sh.printf("%s\n", wrapHanging(fmt.Sprintf("Commands on %s (a leading path runs the command on that node; a bare path changes to it):", n.path), sh.opts.Width, 2))
	for _, c := range cmds {
		usage := wrapHanging("  "+c.Usage(), sh.opts.Width, 4+len(c.Name))
		last := usage[strings.LastIndexByte(usage, '\n')+1:]
		sh.printf("%s%s\n", usage[:len(usage)-len(last)], column(last, 43, firstSentence(c.Summary), sh.opts.Width))
	}
	return nil
}

// commandJSON describes a command for `help --json` and the TUI.
func commandJSON(c *Command) map[string]any {
	params := make([]map[string]any, len(c.Params))
	for i, p := range c.Params {
		m := map[string]any{"name": p.Name, "type": p.Type.String(), "required": p.Required}
		if p.Default != "" {
			m["default"] = p.Default
		}
		if len(p.Enum) > 0 {
			m["enum"] = p.Enum
		}
		params[i] = m
	}
	return map[string]any{"name": c.Name, "usage": c.Usage(), "summary": c.Summary, "params": params}
}

// firstSentence is s up to its first full stop, not counting those of
// "e.g." and "i.e.".
func firstSentence(s string) string {
	for from := 0; ; {
		i := strings.Index(s[from:], ". ")
		if i < 0 {
			return s
		}
		end := from + i + 1
		if !strings.HasSuffix(s[:end], "e.g.") && !strings.HasSuffix(s[:end], "i.e.") {
			return s[:end]
		}
		from = end
	}
}
