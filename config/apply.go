package config

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"syscall"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/guard"
)

// ---- carrying out a plan: the steps' writes ----

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func ignoreMissing(err error) error {
	if errors.Is(err, syscall.ENOENT) {
		return nil
	}
	return err
}

func (st Store) mkdir(p string) error {
	if err := st.LIO.FS().Mkdir(p); err != nil {
		return &configfs.Error{Op: "mkdir", Path: p, Err: configfs.Errno(err), Hint: hintOf(err)}
	}
	return nil
}

func (st Store) rmdir(p string) error {
	if err := st.LIO.FS().Rmdir(p); err != nil && !errors.Is(err, syscall.ENOENT) {
		return err
	}
	return nil
}

func hintOf(err error) string {
	var ce *configfs.Error
	if errors.As(err, &ce) {
		return ce.Hint
	}
	return ""
}

// setValues writes the keys of want that differ from have. Attributes the
// kernel does not have are skipped with a warning: a file from another
// kernel version may name some.
func (st Store) setValues(dir string, want map[string]string) error {
	return st.writeChanged(dir, st.writableGroup(dir), sortedKeys(want), want)
}

// writeChanged writes, in the order of keys, the values of want that differ
// from cur; a key cur lacks is skipped with a warning.
func (st Store) writeChanged(dir string, cur map[string]string, keys []string, want map[string]string) error {
	for _, k := range keys {
		v := want[k]
		c, exists := cur[k]
		if !exists {
			st.warnf("warning: %s has no writable %s; skipped\n", dir, k)
			continue
		}
		if c == v {
			continue
		}
		if err := st.LIO.WriteAttr(path.Join(dir, k), v); err != nil {
			return fmt.Errorf("%s=%s: %w", k, v, err)
		}
	}
	return nil
}

// setAuth writes chap_* values into an auth/ directory; a key missing
// from want clears the file (the kernel shows an empty one as NULL).
func (st Store) setAuth(dir string, want map[string]string) error {
	cur := st.writableGroup(dir)
	for _, a := range authFiles {
		v := want[a.Key]
		c := cur[a.File]
		if c == "NULL" {
			c = ""
		}
		if c == v {
			continue
		}
		if v == "" {
			v = "NULL"
		}
		if err := st.LIO.WriteAttr(path.Join(dir, a.File), v); err != nil {
			return fmt.Errorf("%s: %w", a.Key, err)
		}
	}
	return nil
}

// authDiff lists the chap_* keys whose values differ.
func authDiff(have, want map[string]string) []string {
	var out []string
	for _, a := range authFiles {
		if have[a.Key] != want[a.Key] {
			out = append(out, a.Key)
		}
	}
	return out
}

func (st Store) setDiscovery(f *FabricConf) error {
	if err := st.LIO.LoadFabric(f.Name); err != nil {
		return err
	}
	dir := path.Join(configfs.Root, f.Name, "discovery_auth")
	for _, d := range discoveryFiles[1:] {
		if v, ok := f.Auth[d.Key]; ok {
			if err := st.LIO.WriteAttr(path.Join(dir, d.File), v); err != nil {
				return fmt.Errorf("%s: %w", d.Key, err)
			}
		}
	}
	en := "0"
	if f.Auth["discovery_enable_auth"] == "true" {
		en = "1"
	}
	return st.LIO.WriteAttr(path.Join(dir, "enforce_discovery_auth"), en)
}

// soOf finds the kernel object of a storage object configuration.
func (st Store) soOf(s *SOConf) (configfs.StorageObject, error) {
	plugin, _ := configfs.PluginOf(s.Plugin)
	return st.LIO.FindStorageObject(plugin, s.Name)
}

func (st Store) deleteSOConf(ctx context.Context, s *SOConf) error {
	so, err := st.soOf(s)
	if err != nil {
		return nil // already gone
	}
	return st.DeleteStorageObject(ctx, so)
}

func (st Store) createSOConf(ctx context.Context, s *SOConf) error {
	plugin, _ := configfs.PluginOf(s.Plugin)
	spec := BackstoreSpec{Plugin: plugin, Name: s.Name, Dev: s.Dev, Size: s.Size, WriteBack: s.WriteBack, Sparse: true,
		Readonly: s.Readonly, Nullio: s.Nullio, Config: s.Config, HwMaxSectors: s.HwMaxSectors, Control: s.Control, WWN: s.WWN}
	if plugin == "user" {
		spec.Subtype, _, _ = strings.Cut(s.Config, "/")
	}
	so, _, err := st.CreateBackstore(ctx, spec)
	if err != nil {
		return err
	}
	if err := st.setValues(path.Join(so.Path(), "attrib"), s.Attributes); err != nil {
		return fmt.Errorf("%s attributes: %w", s.Name, err)
	}
	for _, g := range s.ALUA {
		dir := path.Join(so.Path(), "alua", g.Name)
		if !st.LIO.Exists(dir) {
			if err := st.mkdir(dir); err != nil {
				return err
			}
		}
		if err := st.setALUA(dir, g.Fields); err != nil {
			return fmt.Errorf("%s ALUA group %s: %w", s.Name, g.Name, err)
		}
	}
	return nil
}

func (st Store) createLUNConf(tpg configfs.TPG, x *LUNConf) error {
	rest := strings.TrimPrefix(x.StorageObject, "/backstores/")
	pluginName, name, _ := strings.Cut(rest, "/")
	plugin, _ := configfs.PluginOf(pluginName)
	so, err := st.LIO.FindStorageObject(plugin, name)
	if err != nil {
		return fmt.Errorf("LUN %d: %w", x.Index, err)
	}
	if _, err := st.LIO.CreateLUN(tpg, x.Index, so, x.Alias); err != nil {
		return err
	}
	if x.ALUAGroup != "" && x.ALUAGroup != configfs.DefaultALUAGroup {
		lun := configfs.LUN{TPG: tpg, Index: x.Index}
		if err := st.LIO.WriteAttr(path.Join(lun.Path(), "alua_tg_pt_gp"), x.ALUAGroup); err != nil {
			return err
		}
	}
	return nil
}

func (st Store) createMappedLUNConf(acl configfs.ACL, m *MappedLUNConf) error {
	l := st.LIO
	ml := configfs.MappedLUN{ACL: acl, Index: m.Index}
	if l.Exists(ml.Path()) {
		if err := l.DeleteMappedLUN(ml); err != nil {
			return err
		}
	}
	if m.Alias == "" {
		_, err := l.CreateMappedLUN(acl, m.Index, m.TPGLUN, m.WriteProtect)
		return err
	}
	if err := st.mkdir(ml.Path()); err != nil {
		return err
	}
	target := configfs.LUN{TPG: acl.TPG, Index: m.TPGLUN}
	if err := l.FS().Symlink(target.Path(), path.Join(ml.Path(), m.Alias)); err != nil {
		_ = l.FS().Rmdir(ml.Path())
		return fmt.Errorf("map LUN %d into %s: %w", m.TPGLUN, acl.NodeWWN, err)
	}
	if m.WriteProtect {
		return l.WriteAttr(path.Join(ml.Path(), "write_protect"), "1")
	}
	return nil
}

// Execute runs a plan's steps in order, stopping at the first failure. A
// run of steps made to go together is made side by side; when some of
// them fail, the first one's error is returned.
func (st Store) Execute(ctx context.Context, p *Plan) error {
	return runSteps(p.Steps, func(s Step) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.do(ctx); err != nil {
			return fmt.Errorf("%s %s: %w", s.Op, s.Path, err)
		}
		return nil
	}, true)
}

// runSteps calls run for each step in order, a run of steps with the same
// together name side by side. With stop, it returns at the first run
// (or single step) with an error, that run's first error; otherwise it
// goes on and returns every error.
func runSteps(steps []Step, run func(Step) error, stop bool) error {
	var errs []error
	for i := 0; i < len(steps); {
		j := i + 1
		if steps[i].together != "" {
			for j < len(steps) && steps[j].together == steps[i].together {
				j++
			}
		}
		batch := steps[i:j]
		for _, err := range configfs.Gather(len(batch), func(k int) error { return run(batch[k]) }) {
			if err == nil {
				continue
			}
			if stop {
				return err
			}
			errs = append(errs, err)
		}
		i = j
	}
	return errors.Join(errs...)
}

// Apply makes the kernel match want, all or nothing: when a step fails,
// the configuration read before the first step is put back, and what the
// steps changed outside configfs since then (image files made or grown)
// is undone. A Store without an Undo log keeps one for this Apply only.
//
// The order of a plan, and why, is MakePlan's; what each step writes is
// below in this file.
func (st Store) Apply(ctx context.Context, want *Config, opts PlanOptions) (*Plan, error) {
	before, err := st.Snapshot()
	if err != nil {
		return nil, err
	}
	return st.applyFrom(ctx, before, want, opts)
}

// applyFrom is Apply from a snapshot the caller just read (restoreconfig
// reads the configuration once, not three times).
func (st Store) applyFrom(ctx context.Context, before, want *Config, opts PlanOptions) (*Plan, error) {
	// The steps record in st.Undo: it is set before they are made.
	if st.Undo == nil {
		st.Undo = &Undo{}
	}
	mark := st.Undo.Mark()
	opts.Unmanaged = before.Unmanaged()
	plan := st.MakePlan(before, want, opts)
	// A panic in a step is rolled back like any failed step.
	if err := guard.Run("applying the configuration", func() error { return st.Execute(ctx, plan) }); err != nil {
		done, rerr := st.Rollback(before, mark)
		if rerr != nil {
			return plan, errors.Join(err, fmt.Errorf("putting the previous configuration back failed: %w%s", rerr, UndoneText(done)))
		}
		return plan, fmt.Errorf("%w (nothing was changed: the previous configuration is back%s)", err, UndoneText(done))
	}
	return plan, nil
}

// Rollback makes the kernel match before again, then undoes what the Undo
// log recorded outside configfs since mark. Nothing the rollback itself
// does is recorded. It returns what was undone outside configfs, for the
// message.
func (st Store) Rollback(before *Config, mark int) ([]string, error) {
	u := st.Undo
	st.Undo = nil
	err := guard.Run("the rollback of configfs", func() error { return st.rollback(before) })
	var done []string
	var errs []error
	if perr := guard.Run("the rollback outside configfs", func() error {
		done, errs = u.undo(mark, st.BackingFiles())
		return nil
	}); perr != nil {
		errs = append(errs, perr)
	}
	return done, errors.Join(append([]error{err}, errs...)...)
}

// Unmanaged lists storage objects that Snapshot cannot read (read now):
// plans never delete them.
func (st Store) Unmanaged() map[string]bool {
	out := map[string]bool{}
	sos, err := st.LIO.StorageObjects()
	if err != nil {
		return out
	}
	for _, so := range sos {
		si, err := st.LIO.StorageObjectInfo(so)
		if err != nil || !si.Enabled {
			out[soPath(configfs.BackstoreName(so.Plugin), so.Name)] = true
		}
	}
	return out
}

// Unmanaged lists the storage objects a snapshot could not read (their
// /backstores paths): plans never delete them.
func (c *Config) Unmanaged() map[string]bool {
	if c.unmanaged == nil {
		return map[string]bool{}
	}
	return c.unmanaged
}

// rollback makes the kernel match a snapshot again. It runs without
// cancellation: an interrupted rollback would leave a half state.
func (st Store) rollback(before *Config) error {
	now, err := st.Snapshot()
	if err != nil {
		return err
	}
	plan := st.MakePlan(now, before, PlanOptions{Unmanaged: now.Unmanaged()})
	return runSteps(plan.Steps, func(s Step) error {
		if err := s.do(context.Background()); err != nil {
			return fmt.Errorf("%s %s: %w", s.Op, s.Path, err)
		}
		return nil
	}, false)
}

// Clear deletes every target and storage object.
func (st Store) Clear(ctx context.Context) error {
	l := st.LIO
	fabrics, err := l.Fabrics()
	if err != nil {
		return err
	}
	for _, f := range fabrics {
		ts, err := l.Targets(f)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if err := l.DeleteTarget(t); err != nil {
				return err
			}
		}
		dir := path.Join(configfs.Root, f, "discovery_auth", "enforce_discovery_auth")
		if v, err := l.ReadAttr(dir); err == nil && v == "1" {
			_ = l.WriteAttr(dir, "0")
		}
	}
	sos, err := l.StorageObjects()
	if err != nil {
		return err
	}
	// The engine lets go of user backstores one after another (its hooks
	// need not take calls side by side); the objects then go side by side.
	for _, so := range sos {
		if err := st.release(ctx, so); err != nil {
			return err
		}
	}
	return configfs.Concurrently(len(sos), func(i int) error { return l.DeleteStorageObject(sos[i]) })
}

// WriteValues writes the values kv, in the order of keys, into each of
// dirs (a configuration group's directory; more than one for an ACL tag
// group's members), all or none per directory: on a refusal the values
// already written there are put back. current holds dir's values before;
// the others are read. A refused write's error starts with label.
func (st Store) WriteValues(label string, dirs []string, dir string, current map[string]string, keys []string, kv map[string]string) error {
	for _, d := range dirs {
		cur := current
		if d != dir {
			var err error
			if cur, err = st.LIO.Group(d); err != nil {
				return err
			}
		}
		var done []string
		for _, k := range keys {
			if err := st.LIO.WriteAttr(path.Join(d, k), kv[k]); err != nil {
				for i := len(done) - 1; i >= 0; i-- {
					_ = st.LIO.WriteAttr(path.Join(d, done[i]), cur[done[i]])
				}
				return fmt.Errorf("%s %s=%s: %w", label, k, kv[k], err)
			}
			done = append(done, k)
		}
	}
	return nil
}
