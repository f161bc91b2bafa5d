package shell

import (
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Complete returns the completions for the word before the cursor, given
// the line's text up to the cursor: commands and paths for the first word,
// then parameter names (`key=`) and values (enumerations, booleans, paths,
// storage objects, known initiator names). Suggestions replace the current
// word (for `key=value`, the part after '=').
func (sh *Shell) Complete(before string) []Suggestion {
	words := strings.Fields(before)
	current := ""
	if len(before) > 0 && !strings.HasSuffix(before, " ") && !strings.HasSuffix(before, "\t") && len(words) > 0 {
		current = words[len(words)-1]
		words = words[:len(words)-1]
	}
	node, err := sh.Resolve(sh.cwd)
	if err != nil {
		node = sh.root()
	}
	if len(words) == 0 {
		out := sh.completeNodePath(current)
		if !strings.Contains(current, "/") {
			out = append(sh.completeCommands(node, current), out...)
		}
		return out
	}
	if looksLikePath(words[0]) {
		n, err := sh.Resolve(words[0])
		if err != nil {
			return nil
		}
		node = n
		words = words[1:]
		if len(words) == 0 {
			return sh.completeCommands(node, current)
		}
	}
	cmd, ok := sh.LookupCommand(node, words[0])
	if !ok {
		return nil
	}
	if (cmd.Name == "get" || cmd.Name == "set") && len(words) >= 2 && !strings.Contains(words[1], "=") {
		return sh.completeGroupKeys(node, cmd.Name, words[1], words[2:], current)
	}
	given := map[string]bool{}
	positional := 0
	for _, w := range words[1:] {
		if k, _, isKV := strings.Cut(w, "="); isKV {
			given[k] = true
		} else {
			positional++
		}
	}
	if k, v, isKV := strings.Cut(current, "="); isKV {
		for _, p := range cmd.Params {
			if p.Name == k {
				return sh.completeValue(node, cmd, p, v)
			}
		}
		return nil
	}
	var out []Suggestion
	// The next positional parameter's values.
	idx := 0
	for _, p := range cmd.Params {
		if given[p.Name] {
			continue
		}
		if idx == positional {
			out = append(out, sh.completeValue(node, cmd, p, current)...)
			break
		}
		idx++
	}
	for _, p := range cmd.Params {
		if !given[p.Name] && strings.HasPrefix(p.Name+"=", current) {
			out = append(out, Suggestion{Text: p.Name + "=", Description: p.Type.String() + paramDefault(p)})
		}
	}
	return out
}

func paramDefault(p Param) string {
	if p.Default != "" {
		return ", default " + p.Default
	}
	if p.Required {
		return ", required"
	}
	return ""
}

func (sh *Shell) completeCommands(n *Node, prefix string) []Suggestion {
	var out []Suggestion
	for _, c := range sh.CommandsFor(n) {
		if strings.HasPrefix(c.Name, prefix) {
			out = append(out, Suggestion{Text: c.Name, Description: firstSentence(c.Summary)})
		}
	}
	return out
}

// completeNodePath completes a tcmsh path (relative or absolute).
func (sh *Shell) completeNodePath(word string) []Suggestion {
	dir, base := "", word
	if i := strings.LastIndexByte(word, '/'); i >= 0 {
		dir, base = word[:i+1], word[i+1:]
	}
	parent := dir
	if parent == "" {
		parent = "."
	}
	n, err := sh.Resolve(parent)
	if err != nil {
		return nil
	}
	kids, err := sh.Children(n)
	if err != nil {
		return nil
	}
	var out []Suggestion
	for _, k := range kids {
		if strings.HasPrefix(k.name, base) {
			out = append(out, Suggestion{Text: dir + k.name + "/"})
		}
	}
	if dir == "" && strings.HasPrefix("..", base) && n.kind != kindRoot && base != "" {
		out = append(out, Suggestion{Text: "../"})
	}
	return out
}

// completeValue offers values of one parameter.
func (sh *Shell) completeValue(n *Node, cmd *Command, p Param, prefix string) []Suggestion {
	var cands []string
	switch p.Type {
	case TypeBool:
		cands = []string{"true", "false"}
	case TypeEnum:
		cands = p.Enum
	case TypePath:
		return completeFile(prefix)
	case TypeNode:
		if cmd.Name == "create" && n.kind == kindLUNs && !strings.HasPrefix(prefix, ".") && (prefix == "" || strings.HasPrefix("/backstores/", prefix) || strings.HasPrefix(prefix, "/backstores/")) {
			cands = sh.storageObjectPaths()
			if prefix != "" && !strings.HasPrefix(prefix, "/backstores") {
				return completeFile(prefix)
			}
			break
		}
		if cmd.Name == "create" && n.kind == kindLUNs {
			return completeFile(prefix)
		}
		return sh.completeNodePath(prefix)
	case TypeWWN:
		if cmd.Name == "delete" || n.kind == kindACLs && cmd.Name != "create" {
			cands = sh.childNames(n)
		} else if n.kind == kindACLs {
			cands = sh.knownInitiators()
		}
	case TypeName:
		if cmd.Name == "delete" {
			cands = sh.childNames(n)
		}
	case TypeInt:
		if cmd.Name == "delete" {
			for _, c := range sh.childNames(n) {
				cands = append(cands, strings.TrimLeft(c, "abcdefghijklmnopqrstuvwxyz_"))
			}
		}
	case TypeString:
		if cmd.Name == "delete" && p.Name == "ip_address" {
			for _, c := range sh.childNames(n) {
				if i := strings.LastIndexByte(c, ':'); i > 0 {
					cands = append(cands, strings.Trim(c[:i], "[]"))
				}
			}
		}
		if p.Name == "group" {
			cands = append(sortedKeys(sh.groupDirs(n)), "global")
		}
	}
	var out []Suggestion
	seen := map[string]bool{}
	for _, c := range cands {
		if strings.HasPrefix(c, prefix) && !seen[c] {
			seen[c] = true
			out = append(out, Suggestion{Text: c})
		}
	}
	return out
}

func (sh *Shell) childNames(n *Node) []string {
	kids, err := sh.Children(n)
	if err != nil {
		return nil
	}
	out := make([]string, len(kids))
	for i, k := range kids {
		out[i] = k.name
	}
	return out
}

// storageObjectPaths lists /backstores/<type>/<name> for every object.
func (sh *Shell) storageObjectPaths() []string {
	var out []string
	bs, _ := sh.Resolve("/backstores")
	types, _ := sh.Children(bs)
	for _, t := range types {
		for _, name := range sh.childNames(t) {
			out = append(out, path.Join(t.path, name))
		}
	}
	return out
}

// knownInitiators lists the initiator names of every ACL and nexus, for
// `acls create`.
func (sh *Shell) knownInitiators() []string {
	seen := map[string]bool{}
	l := sh.env.LIO
	fabrics, _ := l.Fabrics()
	for _, f := range fabrics {
		ts, _ := l.Targets(f)
		for _, t := range ts {
			tpgs, _ := l.TPGs(t)
			for _, tpg := range tpgs {
				acls, _ := l.ACLs(tpg)
				for _, a := range acls {
					seen[a.NodeWWN] = true
				}
			}
		}
	}
	if b, err := os.ReadFile("/etc/iscsi/initiatorname.iscsi"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "InitiatorName="); ok {
				seen[v] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// completeFile completes a filesystem path.
func completeFile(prefix string) []Suggestion {
	dir, base := filepath.Split(prefix)
	readDir := dir
	if readDir == "" {
		readDir = "."
	}
	ents, err := os.ReadDir(readDir)
	if err != nil {
		return nil
	}
	var out []Suggestion
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), base) || (strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		name := dir + e.Name()
		if e.IsDir() {
			name += "/"
		}
		out = append(out, Suggestion{Text: name})
		if len(out) >= 200 {
			break
		}
	}
	return out
}

// completeGroupKeys completes the names after `get GROUP` and the
// name=value words after `set GROUP` (writable names only; after '=', the
// current value), as targetcli does. Each name shows its current value.
func (sh *Shell) completeGroupKeys(n *Node, cmd, group string, given []string, current string) []Suggestion {
	vals, writable := map[string]string{}, map[string]bool{}
	if group == "global" {
		for _, d := range prefDefs {
			vals[d.Name], writable[d.Name] = sh.prefs.Values[d.Name], true
		}
	} else {
		groups, err := sh.Groups(n)
		if err != nil {
			return nil
		}
		for _, g := range groups {
			if g.Name != group {
				continue
			}
			for _, a := range g.Attrs {
				vals[a.Name], writable[a.Name] = a.Value, !a.ReadOnly
			}
		}
	}
	if k, v, isKV := strings.Cut(current, "="); isKV {
		if cmd == "set" && writable[k] && strings.HasPrefix(vals[k], v) && !strings.Contains(vals[k], "\n") {
			return []Suggestion{{Text: vals[k], Description: "current value"}}
		}
		return nil
	}
	done := map[string]bool{}
	for _, w := range given {
		k, _, _ := strings.Cut(w, "=")
		done[k] = true
	}
	var out []Suggestion
	for _, name := range sortedKeys(vals) {
		if done[name] || !strings.HasPrefix(name, current) || cmd == "set" && !writable[name] {
			continue
		}
		desc, _, _ := strings.Cut(vals[name], "\n")
		if len(desc) > 40 {
			desc = desc[:39] + "…"
		}
		text := name
		if cmd == "set" {
			text += "="
		}
		out = append(out, Suggestion{Text: text, Description: desc})
	}
	return out
}
