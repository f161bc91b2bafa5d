package shell

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tcmsh/tcmsh/config"
	"github.com/tcmsh/tcmsh/configfs"
)

// DefaultSaveFile is where targetcli keeps the configuration.
const DefaultSaveFile = config.DefaultSaveFile

func (sh *Shell) saveFile(a Args) string {
	if f := a.Str("savefile"); f != "" {
		abs, err := filepath.Abs(f)
		if err == nil {
			return abs
		}
		return f
	}
	if sh.opts.SaveFile != "" {
		return sh.opts.SaveFile
	}
	return DefaultSaveFile
}

func (sh *Shell) defaultSaveFile() string {
	if sh.opts.SaveFile != "" {
		return sh.opts.SaveFile
	}
	return DefaultSaveFile
}

func cmdSaveconfig(_ context.Context, sh *Shell, _ *Node, a Args) error {
	return sh.SaveConfig(sh.saveFile(a), a.Bool("force"))
}

// SaveConfig writes the configuration to file; saving to the default file
// keeps max_backup_files backups of the previous content.
func (sh *Shell) SaveConfig(file string, force bool) error {
	opts := config.SaveOptions{Force: force}
	if file == sh.defaultSaveFile() {
		opts.Backups = sh.prefs.Int("max_backup_files")
	}
	changed, err := sh.store().Save(file, opts)
	if err != nil {
		return err
	}
	if !changed {
		sh.announce("saved", file, "Configuration unchanged in "+file+".")
		return nil
	}
	sh.announce("saved", file, "Configuration saved to "+file)
	return nil
}

func cmdRestoreconfig(ctx context.Context, sh *Shell, _ *Node, a Args) error {
	file := sh.saveFile(a)
	plan, err := sh.store().Restore(ctx, file, config.RestoreOptions{ClearExisting: a.Bool("clear_existing"),
		Target: a.Str("target"), StorageObject: a.Str("storage_object"),
		Partial: a.Bool("partial"), WaitDevices: time.Duration(a.Int("wait_devices", 0)) * time.Second})
	if err != nil {
		return err
	}
	sh.announce("restored", file, fmt.Sprintf("Configuration restored from %s (%d changes).", file, len(plan.Steps)))
	return nil
}

func cmdClearconfig(ctx context.Context, sh *Shell, _ *Node, a Args) error {
	if !a.Bool("confirm") {
		return usagef("clearconfig deletes every target and storage object; run `clearconfig confirm=true` to do it")
	}
	if err := sh.store().Clear(ctx); err != nil {
		return err
	}
	sh.announce("cleared", "/", "All configuration cleared")
	return nil
}

type stepJSON struct {
	Op   string `json:"op"`
	Path string `json:"path"`
	What string `json:"what,omitempty"`
}

func (sh *Shell) printPlan(p *config.Plan, done bool) error {
	if sh.opts.JSON {
		out := []stepJSON{}
		for _, s := range p.Steps {
			out = append(out, stepJSON{s.Op, s.Path, s.What})
		}
		return sh.printJSON(out)
	}
	if len(p.Steps) == 0 {
		sh.printf("No changes.\n")
		return nil
	}
	for _, s := range p.Steps {
		sh.printf("%s\n", s)
	}
	if done {
		sh.printf("Applied %d changes.\n", len(p.Steps))
	} else {
		sh.printf("%d changes (nothing done; `apply` carries them out).\n", len(p.Steps))
	}
	return nil
}

func cmdDiff(_ context.Context, sh *Shell, _ *Node, a Args) error {
	want, err := config.ReadFile(a.Str("file"), nil)
	if err != nil {
		return err
	}
	st := sh.store()
	have, err := st.Snapshot()
	if err != nil {
		return err
	}
	return sh.printPlan(st.MakePlan(have, want, config.PlanOptions{Unmanaged: have.Unmanaged()}), false)
}

func cmdApply(ctx context.Context, sh *Shell, _ *Node, a Args) error {
	want, err := config.ReadFile(a.Str("file"), nil)
	if err != nil {
		return err
	}
	plan, err := sh.store().Apply(ctx, want, config.PlanOptions{})
	if err != nil {
		return err
	}
	return sh.printPlan(plan, true)
}

// parsePortal reads IP:PORT (IPv6 in brackets; the port defaults to 3260).
func parsePortal(s string) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = strings.Trim(s, "[]"), "3260"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, usagef("portal %q: the port must be 1-65535", s)
	}
	if net.ParseIP(host) == nil {
		return "", 0, usagef("portal %q: %q is not an IP address (give IP:PORT, IPv6 in brackets)", s, host)
	}
	return host, n, nil
}

func cmdExport(ctx context.Context, sh *Shell, _ *Node, a Args) error {
	ip, port, err := parsePortal(a.Str("portal"))
	if err != nil {
		return err
	}
	if wwn := a.Str("wwn"); wwn != "" {
		if _, err := configfs.ValidateWWN(wwn, []configfs.WWNType{configfs.WWNIQN, configfs.WWNNAA, configfs.WWNEUI}); err != nil {
			return usagef("export: wwn: %v", err)
		}
	}
	before, err := sh.store().Snapshot()
	if err != nil {
		return err
	}
	mark, end := sh.beginUndo()
	defer end()
	res, err := sh.store().Export(ctx, a.Str("file_or_dev"), a.Size("size"), ip, port, a.Str("wwn"))
	if err != nil {
		done, rerr := sh.rollbackRun(before, mark)
		if rerr != nil {
			return errors.Join(err, fmt.Errorf("undoing the export failed: %w%s", rerr, config.UndoneText(done)))
		}
		return fmt.Errorf("export %s: %w (nothing was changed%s)", a.Str("file_or_dev"), err, config.UndoneText(done))
	}
	if sh.opts.JSON {
		return sh.printJSON(res)
	}
	sh.printf("Exported %s as %s\n  target %s\n  portal %s\n  LUN 0, no authentication, any initiator may log in\n", res.File, res.Backstore, res.IQN, res.Portal)
	return nil
}

func cmdUnexport(ctx context.Context, sh *Shell, _ *Node, a Args) error {
	removed, err := sh.store().Unexport(ctx, a.Str("file_dev_or_wwn"))
	if err != nil {
		return err
	}
	sh.announce("unexported", strings.Join(removed, " "), "Deleted target "+strings.Join(removed, ", ")+" and its backstore.")
	return nil
}
