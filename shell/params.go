package shell

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/size"
	"github.com/tcmsh/tcmsh/internal/suggest"
)

// ParamType is the type of a command parameter; it decides how a value is
// checked, what an error says is expected, and what completion offers.
type ParamType int

const (
	TypeString ParamType = iota
	TypeBool             // true or false
	TypeInt              // a decimal integer, within Min..Max
	TypeSize             // bytes, with k/m/g/t (optionally B or iB), base 1024
	TypeEnum             // one of Enum
	TypeWWN              // a WWN of the node's fabric
	TypePath             // a file or device path
	TypeName             // a name for a configfs directory: no '/', no "..", no control characters
	TypeNode             // a tcmsh path (/backstores/…) or a file path
)

// String names the type as help and error messages show it.
func (t ParamType) String() string {
	switch t {
	case TypeBool:
		return "bool"
	case TypeInt:
		return "int"
	case TypeSize:
		return "size"
	case TypeEnum:
		return "enum"
	case TypeWWN:
		return "wwn"
	case TypePath:
		return "path"
	case TypeName:
		return "name"
	case TypeNode:
		return "node"
	}
	return "string"
}

// Param describes one parameter of a command. Every parameter can be given
// by position (in table order) or as name=value.
type Param struct {
	Name     string
	Type     ParamType
	Required bool
	// Default is the value used when the parameter is not given ("" means
	// none); it is shown in help.
	Default string
	Enum    []string
	Min     int64
	Max     int64 // 0: no upper bound
	// Prefix, for an integer, is a word targetcli-fb also accepts before
	// it, in any case: lun=lun7 is lun=7.
	Prefix string
	Help   string
}

// Expect says what a value of this parameter must look like.
func (p Param) Expect() string {
	switch p.Type {
	case TypeBool:
		return "true or false"
	case TypeInt:
		if p.Max != 0 {
			return fmt.Sprintf("an integer from %d to %d", p.Min, p.Max)
		}
		return fmt.Sprintf("an integer of at least %d", p.Min)
	case TypeSize:
		return "a size such as 512, 64M, 10GiB or 1T (base 1024)"
	case TypeEnum:
		return "one of " + strings.Join(p.Enum, ", ")
	case TypeWWN:
		return "a WWN (iqn.…, naa.…, eui.…)"
	case TypeName:
		return "a name without '/', '..' or control characters"
	}
	return "text"
}

// normalize drops an accepted Prefix from an integer's value.
func (p Param) normalize(v string) string {
	if p.Type == TypeInt && p.Prefix != "" && len(v) > len(p.Prefix) && strings.EqualFold(v[:len(p.Prefix)], p.Prefix) {
		return v[len(p.Prefix):]
	}
	return v
}

// check validates a raw value against the parameter's type.
func (p Param) check(v string) error {
	switch p.Type {
	case TypeBool:
		if _, err := ParseBool(v); err != nil {
			return err
		}
	case TypeInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < p.Min || (p.Max != 0 && n > p.Max) {
			return fmt.Errorf("%q is not %s", v, p.Expect())
		}
	case TypeSize:
		if _, err := size.Parse(v); err != nil {
			return err
		}
	case TypeEnum:
		for _, e := range p.Enum {
			if v == e {
				return nil
			}
		}
		msg := fmt.Sprintf("%q is not %s", v, p.Expect())
		if s := suggest.Nearest(v, p.Enum); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return fmt.Errorf("%s", msg)
	case TypeName:
		if err := configfs.ValidName("", v); err != nil {
			return errors.New(strings.TrimSpace(err.Error()))
		}
	case TypePath, TypeNode:
		if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("%q contains a control character", v)
		}
		if v == "" {
			return fmt.Errorf("empty path")
		}
	}
	return nil
}

// ParseBool accepts targetcli's booleans (true/false) and the 1/0, yes/no
// spellings people type.
func ParseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

// Args are a command's checked arguments.
type Args struct {
	cmd    *Command
	values map[string]string
	given  map[string]bool
	// Extra holds positional words beyond the declared parameters
	// (commands with Variadic set).
	Extra []string
	// Pairs holds key=value words of commands with FreeKeys set, in order.
	Pairs []KV
}

// KV is one key=value word.
type KV struct{ Key, Value string }

// Given reports whether the user gave the parameter.
func (a Args) Given(name string) bool { return a.given[name] }

// Str returns the parameter's value or its default.
func (a Args) Str(name string) string { return a.values[name] }

// Bool returns a boolean parameter (false when absent without default).
func (a Args) Bool(name string) bool {
	b, _ := ParseBool(a.values[name])
	return b
}

// Int returns an integer parameter, or def when absent.
func (a Args) Int(name string, def int64) int64 {
	v, ok := a.values[name]
	if !ok || v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def
	}
	return n
}

// Size returns a size parameter in bytes, or 0 when absent.
func (a Args) Size(name string) int64 {
	n, _ := size.Parse(a.values[name])
	return n
}

// bind matches positional and key=value words to the command's parameters
// and checks every value. Errors name the parameter and what it expects.
func (cmd *Command) bind(words []string) (Args, error) {
	a := Args{cmd: cmd, values: map[string]string{}, given: map[string]bool{}}
	pos := 0
	byName := map[string]*Param{}
	for i := range cmd.Params {
		byName[cmd.Params[i].Name] = &cmd.Params[i]
	}
	for _, w := range words {
		k, v, isKV := strings.Cut(w, "=")
		if isKV && k != "" && !strings.ContainsAny(k, "/") {
			if cmd.FreeKeys {
				a.Pairs = append(a.Pairs, KV{k, v})
				continue
			}
			p, ok := byName[k]
			if !ok {
				return a, usagef("%s: unknown parameter %q; %s takes: %s", cmd.Name, k, cmd.Name, paramNames(cmd.Params))
			}
			if a.given[k] {
				return a, usagef("%s: parameter %s given twice", cmd.Name, k)
			}
			v = p.normalize(v)
			if err := p.check(v); err != nil {
				return a, usagef("%s: %s: %v", cmd.Name, k, err)
			}
			a.values[k], a.given[k] = v, true
			continue
		}
		for pos < len(cmd.Params) && a.given[cmd.Params[pos].Name] {
			pos++
		}
		if pos >= len(cmd.Params) {
			if cmd.Variadic {
				a.Extra = append(a.Extra, w)
				continue
			}
			return a, usagef("%s: unexpected argument %q; usage: %s", cmd.Name, w, cmd.Usage())
		}
		p := cmd.Params[pos]
		w = p.normalize(w)
		if err := p.check(w); err != nil {
			return a, usagef("%s: %s: %v", cmd.Name, p.Name, err)
		}
		a.values[p.Name], a.given[p.Name] = w, true
		pos++
	}
	for _, p := range cmd.Params {
		if a.given[p.Name] {
			continue
		}
		if p.Required {
			return a, usagef("%s: missing %s (%s); usage: %s", cmd.Name, p.Name, p.Expect(), cmd.Usage())
		}
		if p.Default != "" {
			a.values[p.Name] = p.Default
		}
	}
	return a, nil
}

func paramNames(ps []Param) string {
	if len(ps) == 0 {
		return "no parameters"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}
