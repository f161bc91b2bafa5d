package browser

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/size"
	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/views"
)

// formTheme dresses huh's forms in the program's styles.
func formTheme(s *views.Styles) huh.Theme {
	return huh.ThemeFunc(func(isDark bool) *huh.Styles {
		t := huh.ThemeBase(isDark)
		t.FieldSeparator = lipgloss.NewStyle().SetString("\n")
		button := lipgloss.NewStyle().Padding(0, 1).MarginRight(1)
		for _, f := range []*huh.FieldStyles{&t.Focused, &t.Blurred} {
			f.Title = s.Key
			f.Description = s.Dim
			f.ErrorIndicator = s.Err.SetString(" *")
			f.ErrorMessage = s.Err.SetString(" *")
			f.SelectSelector = s.Key.SetString("> ")
			f.Option = s.Value
			f.SelectedOption = s.Value
			f.FocusedButton = button.Inherit(s.Selected)
			f.BlurredButton = button.Inherit(s.Dim)
			f.TextInput.Placeholder = s.Dim
			f.TextInput.Prompt = s.Key
			f.TextInput.Text = s.Value
			f.TextInput.Cursor = lipgloss.NewStyle()
		}
		t.Focused.Title = s.Title
		t.Help = s.Help
		return t
	})
}

// formKeys are huh's keys with the program's cancel key.
func formKeys(k *views.KeyMap) *huh.KeyMap {
	km := huh.NewDefaultKeyMap()
	km.Quit = k.Cancel
	return km
}

// createForm is an open create form: the command and where its fields'
// values are.
type createForm struct {
	cc       createCmd
	values   map[string]*string
	defaults map[string]string
	order    []string
	// refused is why the kernel, the engine or the shell refused what the
	// form last submitted; the form is open again with what was typed.
	refused string
}

// wwnGenerator makes the default WWN of a new target of a fabric.
type wwnGenerator func(fabric string) string

func generateWWN(fabric string) string {
	info, ok := configfs.LookupFabric(fabric)
	if !ok || info.FixedWWNs || len(info.WWNTypes) == 0 {
		return ""
	}
	return configfs.GenerateWWN(info.WWNTypes[0])
}

// newCreateForm builds the form of a create command from its parameters:
// enumerations and booleans as choices, a storage object as a list of the
// existing ones, everything else as a text field with its default. With
// prev (a refused submission), the fields start with prev's values.
func newCreateForm(cc createCmd, gen wwnGenerator, prev *createForm) (*createForm, []huh.Field) {
	cf := &createForm{cc: cc, values: map[string]*string{}, defaults: map[string]string{}}
	var fields []huh.Field
	for _, p := range cc.Cmd.Params {
		v := p.Default
		typed, retyped := "", false
		if prev != nil && prev.values[p.Name] != nil {
			typed, retyped = *prev.values[p.Name], true
			v = typed
		}
		cf.values[p.Name] = &v
		cf.defaults[p.Name] = p.Default
		cf.order = append(cf.order, p.Name)
		title := p.Name
		if p.Required {
			title += " *"
		}
		desc := p.Help
		if desc == "" && p.Type != shell.TypeString && p.Type != shell.TypePath && p.Type != shell.TypeNode {
			desc = p.Expect()
		}
		switch {
		case p.Type == shell.TypeEnum || p.Type == shell.TypeBool:
			choices := p.Enum
			if p.Type == shell.TypeBool {
				choices = []string{"true", "false"}
			}
			var opts []huh.Option[string]
			if p.Default == "" {
				opts = append(opts, huh.NewOption("(default)", ""))
			}
			for _, c := range choices {
				opts = append(opts, huh.NewOption(c, c))
			}
			fields = append(fields, huh.NewSelect[string]().Key(p.Name).Title(title).Description(desc).
				Options(opts...).Inline(true).Value(&v))
		case p.Name == "storage_object" && len(cc.StorageObjects) > 0:
			if !retyped || !slices.Contains(cc.StorageObjects, typed) {
				v = cc.StorageObjects[0]
			}
			opts := make([]huh.Option[string], len(cc.StorageObjects))
			for i, so := range cc.StorageObjects {
				opts[i] = huh.NewOption(so, so)
			}
			fields = append(fields, huh.NewSelect[string]().Key(p.Name).Title(title).
				Options(opts...).Inline(true).Value(&v))
		default:
			if p.Type == shell.TypeWWN && cc.Kind == "fabric" && p.Name == "wwn" && gen != nil && !retyped {
				v = gen(lastElem(cc.Node))
			}
			in := huh.NewInput().Key(p.Name).Title(title).Description(desc).Value(&v).Validate(validator(p))
			if sugg := cc.Suggestions[p.Name]; len(sugg) > 0 {
				in = in.Suggestions(sugg)
			}
			fields = append(fields, in)
		}
	}
	return cf, fields
}

// validator checks a field as far as can be done alone; the shell checks
// the whole command on submit.
func validator(p shell.Param) func(string) error {
	return func(v string) error {
		if v == "" {
			if p.Required {
				return fmt.Errorf("%s is required: %s", p.Name, p.Expect())
			}
			return nil
		}
		switch p.Type {
		case shell.TypeInt:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < p.Min || (p.Max != 0 && n > p.Max) {
				return fmt.Errorf("%s: %q is not %s", p.Name, v, p.Expect())
			}
		case shell.TypeSize:
			if _, err := size.Parse(v); err != nil {
				return fmt.Errorf("%s: %w", p.Name, err)
			}
		case shell.TypeName, shell.TypeWWN:
			if strings.ContainsAny(v, "/ \t") {
				return fmt.Errorf("%s: %q contains a slash or a blank", p.Name, v)
			}
		}
		return nil
	}
}

// line is the command the form's values make.
func (cf *createForm) line() string {
	words := []string{shell.Quote(cf.cc.Node), "create"}
	for _, name := range cf.order {
		if v := strings.TrimSpace(*cf.values[name]); v != "" && v != cf.defaults[name] {
			words = append(words, name+"="+shell.Quote(v))
		}
	}
	return strings.Join(words, " ")
}

func lastElem(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
