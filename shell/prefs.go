package shell

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tcmsh/tcmsh/internal/suggest"
)

// prefDef is one global preference: targetcli's name, type and default.
type prefDef struct {
	Param
}

// prefDefs are the global preferences, with targetcli-fb's names and
// defaults.
var prefDefs = []prefDef{
	{Param{Name: "auto_add_default_portal", Type: TypeBool, Default: "true", Help: "iSCSI TPGs get a portal on 0.0.0.0:3260 when created"}},
	{Param{Name: "auto_add_mapped_luns", Type: TypeBool, Default: "true", Help: "new LUNs are mapped into every ACL, new ACLs get every LUN"}},
	{Param{Name: "auto_cd_after_create", Type: TypeBool, Default: "false", Help: "go to a node after creating it"}},
	{Param{Name: "auto_enable_tpgt", Type: TypeBool, Default: "true", Help: "new TPGs are enabled"}},
	{Param{Name: "auto_save_on_exit", Type: TypeBool, Default: "true", Help: "the interactive shell saves the configuration when it exits (never in batch)"}},
	{Param{Name: "auto_use_daemon", Type: TypeBool, Default: "false", Help: "accepted for targetcli compatibility; tcmsh has no daemon mode for the shell"}},
	{Param{Name: "color_mode", Type: TypeBool, Default: "true", Help: "colours on a terminal (NO_COLOR turns them off)"}},
	{Param{Name: "export_backstore_name_as_model", Type: TypeBool, Default: "true", Help: "a backstore's name becomes its SCSI model (wwn/product_id)"}},
	{Param{Name: "logfile", Type: TypeString, Default: "", Help: "accepted for targetcli compatibility"}},
	{Param{Name: "loglevel_console", Type: TypeEnum, Enum: []string{"debug", "info", "warning", "error", "critical"}, Default: "info"}},
	{Param{Name: "max_backup_files", Type: TypeInt, Min: 0, Max: 10000, Default: "10", Help: "gzip backups of saveconfig.json kept"}},
	{Param{Name: "tree_round_nodes", Type: TypeBool, Default: "true"}},
}

// Prefs are the global preferences and bookmarks, kept in a JSON file
// under the user's config directory so that they can be read and edited.
type Prefs struct {
	path      string
	Values    map[string]string `json:"preferences"`
	Bookmarks map[string]string `json:"bookmarks"`
}

// DefaultPrefsPath is $XDG_CONFIG_HOME/tcmsh/prefs.json (~/.config/…).
func DefaultPrefsPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "tcmsh", "prefs.json")
}

// LoadPrefs reads the preferences file; a missing file gives the defaults.
// A file that cannot be read still gives usable defaults with the error.
func LoadPrefs(path string) (*Prefs, error) {
	p := &Prefs{path: path, Values: map[string]string{}, Bookmarks: map[string]string{}}
	for _, d := range prefDefs {
		p.Values[d.Name] = d.Default
	}
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("preferences %s: %w", path, err)
	}
	var f Prefs
	if err := json.Unmarshal(b, &f); err != nil {
		return p, fmt.Errorf("preferences %s: %w%s", path, err, keepCopy(path, b))
	}
	var dropped []string
	for _, k := range sortedKeys(f.Values) {
		v := f.Values[k]
		d, ok := lookupPref(k)
		if !ok {
			dropped = append(dropped, fmt.Sprintf("unknown preference %q", k))
			continue
		}
		if err := d.check(v); err != nil {
			dropped = append(dropped, fmt.Sprintf("%s=%q: %v", k, v, err))
			continue
		}
		p.Values[k] = v
	}
	for k, v := range f.Bookmarks {
		p.Bookmarks[k] = v
	}
	if len(dropped) > 0 {
		// The next save would lose them: say so, and keep the file.
		return p, fmt.Errorf("preferences %s: ignored %s%s", path, strings.Join(dropped, "; "), keepCopy(path, b))
	}
	return p, nil
}

// keepCopy puts a damaged preferences file's bytes beside it (the next
// save replaces the file) and says where, as the end of a message.
func keepCopy(path string, b []byte) string {
	cp := fmt.Sprintf("%s.bad-%s", path, time.Now().UTC().Format("20060102T150405"))
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		return fmt.Sprintf("; a copy could not be kept (%v): the next change of a preference or bookmark replaces the file", err)
	}
	return "; the file is kept as " + cp
}

func lookupPref(name string) (prefDef, bool) {
	for _, d := range prefDefs {
		if d.Name == name {
			return d, true
		}
	}
	return prefDef{}, false
}

// Bool returns a boolean preference.
func (p *Prefs) Bool(name string) bool {
	b, _ := ParseBool(p.Values[name])
	return b
}

// Int returns an integer preference.
func (p *Prefs) Int(name string) int {
	n, _ := strconv.Atoi(p.Values[name])
	return n
}

// Save writes the file (temp file and rename, so that a crash leaves the
// old or the new file).
func (p *Prefs) Save() error {
	if p.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o755); err != nil {
		return fmt.Errorf("preferences: %w", err)
	}
	tmp := p.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("preferences: %w", err)
	}
	if err := os.Rename(tmp, p.path); err != nil {
		return fmt.Errorf("preferences: %w", err)
	}
	return nil
}

func (sh *Shell) getGlobal(names []string) error {
	vals := map[string]string{}
	if len(names) == 0 {
		for k, v := range sh.prefs.Values {
			vals[k] = v
		}
	}
	for _, k := range names {
		v, ok := sh.prefs.Values[k]
		if !ok {
			return unknownPref("get", k)
		}
		vals[k] = v
	}
	if sh.opts.JSON {
		return sh.printJSON(map[string]map[string]string{"global": vals})
	}
	if len(names) == 0 {
		sh.printf("GLOBAL CONFIG GROUP\n===================\n")
	}
	for _, k := range sortedKeys(vals) {
		sh.printf("%s=%s\n", k, vals[k])
	}
	return nil
}

func unknownPref(cmd, k string) error {
	names := make([]string, len(prefDefs))
	for i, d := range prefDefs {
		names[i] = d.Name
	}
	msg := fmt.Sprintf("%s: no global preference %q", cmd, k)
	if s := suggest.Nearest(k, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return usagef("%s; the preferences: %s", msg, strings.Join(names, ", "))
}

func (sh *Shell) setGlobal(pairs []KV) error {
	for _, kv := range pairs {
		d, ok := lookupPref(kv.Key)
		if !ok {
			return unknownPref("set", kv.Key)
		}
		if err := d.check(kv.Value); err != nil {
			return usagef("set global: %s: %v", kv.Key, err)
		}
	}
	if err := sh.beforePrefs(); err != nil {
		return err
	}
	for _, kv := range pairs {
		v := kv.Value
		if d, _ := lookupPref(kv.Key); d.Type == TypeBool {
			b, _ := ParseBool(v)
			v = strconv.FormatBool(b)
		}
		sh.prefs.Values[kv.Key] = v
		if !sh.opts.JSON {
			sh.printf("Parameter %s is now '%s'.\n", kv.Key, v)
		}
	}
	return sh.prefs.Save()
}

func cmdBookmarks(_ context.Context, sh *Shell, _ *Node, a Args) error {
	name := a.Str("bookmark")
	action := a.Str("action")
	if action != "show" && name == "" {
		return usagef("bookmarks %s: give the bookmark's name", action)
	}
	if action == "add" || action == "del" {
		if err := sh.beforePrefs(); err != nil {
			return err
		}
	}
	switch action {
	case "add":
		sh.prefs.Bookmarks[name] = sh.cwd
		if !sh.opts.JSON {
			sh.printf("Bookmarked %s as %s.\n", sh.cwd, name)
		}
		return sh.prefs.Save()
	case "del":
		if _, ok := sh.prefs.Bookmarks[name]; !ok {
			return usagef("bookmarks del: no bookmark %q; bookmarks: %s", name, orNone(sortedKeys(sh.prefs.Bookmarks)))
		}
		delete(sh.prefs.Bookmarks, name)
		return sh.prefs.Save()
	case "go":
		n, err := sh.Resolve("@" + name)
		if err != nil {
			return err
		}
		return sh.changeDir(n)
	}
	if sh.opts.JSON {
		return sh.printJSON(sh.prefs.Bookmarks)
	}
	names := sortedKeys(sh.prefs.Bookmarks)
	sort.Strings(names)
	for _, k := range names {
		sh.printf("%s %s\n", k, sh.prefs.Bookmarks[k])
	}
	return nil
}

// beforePrefs records the preferences and bookmarks, in memory and in
// their file, before the first change of a run that may be undone.
func (sh *Shell) beforePrefs() error {
	if sh.undo == nil || sh.undo.Recorded("prefs") {
		return nil
	}
	p := sh.prefs
	if p.path != "" {
		if err := sh.undo.BeforeWrite(p.path); err != nil {
			return err
		}
	}
	values, bookmarks := maps.Clone(p.Values), maps.Clone(p.Bookmarks)
	sh.undo.Record("prefs", func() string {
		if maps.Equal(p.Values, values) && maps.Equal(p.Bookmarks, bookmarks) {
			return ""
		}
		p.Values, p.Bookmarks = values, bookmarks
		return "put the global preferences and bookmarks back"
	})
	return nil
}
