package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// RestoreOptions are restoreconfig's parameters.
type RestoreOptions struct {
	// ClearExisting replaces the whole configuration with the file's;
	// without it, what the file has is added and must not exist yet.
	ClearExisting bool
	// Target and StorageObject, when set, restore only that target (by
	// WWN) and that storage object (by name) from the file.
	Target, StorageObject string
	// Partial restores what it can and reports the rest, as rtslib's
	// restore does at boot: each storage object, the fabric modules'
	// discovery settings and each target are applied on their own (each
	// all or nothing); a LUN whose storage object was not restored is
	// left out with the ACLs' mapped LUNs of it. The error is then a
	// *PartialError naming each failure by its JSON path. A file that does
	// not parse still changes nothing.
	Partial bool
	// WaitDevices, with Partial, is how long to wait for the /dev paths
	// storage objects name (a zvol or multipath device not there yet at
	// boot) before restoring without them.
	WaitDevices time.Duration
}

// RestoreFailure is one part of a file a partial restore did not restore.
type RestoreFailure struct {
	Path string // JSON path in the file: storage_objects[2], targets[0].tpgs[0].luns[1]
	What string // the object: /backstores/block/zvol1, /iscsi/iqn…
	Err  error
}

// PartialError is what a partial restore could not do.
type PartialError struct {
	File          string
	Done, Total   int // top-level objects restored, and in the file
	Failures      []RestoreFailure
	MissingDevice []string // devices still absent after WaitDevices
}

func (e *PartialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "restoreconfig %s: %d of %d objects restored; %d failed:", e.File, e.Done, e.Total, len(e.Failures))
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "\n  %s (%s): %v", f.Path, f.What, f.Err)
	}
	if len(e.MissingDevice) > 0 {
		fmt.Fprintf(&b, "\n  devices still missing after the wait: %s", strings.Join(e.MissingDevice, ", "))
	}
	return b.String()
}

// errNotRestored is the cause of a LUN left out because its storage object
// was not restored.
var errNotRestored = errors.New("its storage object was not restored; skipped")

// Restore applies a saveconfig.json file as targetcli's restoreconfig
// does: the whole file is checked first (every problem reported with its
// JSON path), then applied all or nothing (Apply).
func (st Store) Restore(ctx context.Context, file string, opts RestoreOptions) (*Plan, error) {
	have, err := st.Snapshot()
	if err != nil {
		return nil, err
	}
	existing := map[string]bool{}
	for _, s := range have.StorageObjects {
		existing[soKey(s)] = true
	}
	for k := range have.Unmanaged() {
		existing[k] = true
	}
	filtered := opts.Target != "" || opts.StorageObject != ""
	refs := existing
	if opts.ClearExisting && !filtered {
		refs = nil
	}
	if filtered {
		// A partial restore must find its LUNs' storage objects in the
		// kernel or in what it restores: checked after filtering.
		refs = map[string]bool{"": true}
	}
	if opts.Partial {
		// LUNs of storage objects that fail are skipped, not refused.
		refs = map[string]bool{"": true}
	}
	cfg, err := ReadFile(file, refs)
	if err != nil {
		return nil, err
	}
	if filtered {
		if cfg, err = cfg.only(file, opts); err != nil {
			return nil, err
		}
	}
	if opts.Partial {
		return st.restorePartial(ctx, file, cfg, existing, opts)
	}
	var errs ConfigErrors
	if !opts.ClearExisting {
		for i, s := range cfg.StorageObjects {
			if existing[soKey(s)] {
				errs = append(errs, fmt.Sprintf("storage_objects[%d]: %s already exists (clear_existing=true replaces the configuration)", i, soKey(s)))
			}
		}
		for i, t := range cfg.Targets {
			for _, h := range have.Targets {
				if h.Fabric == t.Fabric && h.WWN == t.WWN {
					errs = append(errs, fmt.Sprintf("targets[%d]: /%s/%s already exists (clear_existing=true replaces the configuration)", i, t.Fabric, t.WWN))
				}
			}
		}
	}
	if filtered {
		errs = append(errs, cfg.checkReferences(existing)...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("restoreconfig %s: nothing was changed: %w", file, errs)
	}
	want, plan := cfg, PlanOptions{}
	if !opts.ClearExisting || filtered {
		want, plan.KeepExtra = merge(have, cfg), true
	}
	return st.applyFrom(ctx, have, want, plan)
}

// only is the part of c that a partial restore names.
func (c *Config) only(file string, opts RestoreOptions) (*Config, error) {
	var sos []*SOConf
	for _, s := range c.StorageObjects {
		if opts.StorageObject != "" && s.Name == opts.StorageObject {
			sos = append(sos, s)
		}
	}
	var ts []*TargetConf
	for _, t := range c.Targets {
		if opts.Target != "" && t.WWN == opts.Target {
			ts = append(ts, t)
		}
	}
	if opts.StorageObject != "" && len(sos) == 0 {
		return nil, fmt.Errorf("restoreconfig: %s has no storage object %q", file, opts.StorageObject)
	}
	if opts.Target != "" && len(ts) == 0 {
		return nil, fmt.Errorf("restoreconfig: %s has no target %q", file, opts.Target)
	}
	return &Config{StorageObjects: sos, Targets: ts}, nil
}

// merge is have with add's objects added or replacing theirs.
func merge(have, add *Config) *Config {
	out := &Config{}
	repl := map[string]*SOConf{}
	for _, s := range add.StorageObjects {
		repl[soKey(s)] = s
	}
	for _, s := range have.StorageObjects {
		if _, ok := repl[soKey(s)]; !ok {
			out.StorageObjects = append(out.StorageObjects, s)
		}
	}
	out.StorageObjects = append(out.StorageObjects, add.StorageObjects...)
	tr := map[string]bool{}
	for _, t := range add.Targets {
		tr[t.Fabric+"/"+t.WWN] = true
	}
	for _, t := range have.Targets {
		if !tr[t.Fabric+"/"+t.WWN] {
			out.Targets = append(out.Targets, t)
		}
	}
	out.Targets = append(out.Targets, add.Targets...)
	out.FabricModules = append(append(out.FabricModules, have.FabricModules...), add.FabricModules...)
	return out
}

// restorePartial restores cfg piece by piece (see RestoreOptions.Partial).
func (st Store) restorePartial(ctx context.Context, file string, cfg *Config, existing map[string]bool, opts RestoreOptions) (*Plan, error) {
	perr := &PartialError{File: file, Total: len(cfg.StorageObjects) + len(cfg.Targets)}
	if len(cfg.FabricModules) > 0 {
		perr.Total++
	}
	if opts.ClearExisting {
		if err := st.Clear(ctx); err != nil {
			return nil, fmt.Errorf("restoreconfig %s: clearing the configuration: %w", file, err)
		}
		existing = map[string]bool{}
		for k := range st.Unmanaged() {
			existing[k] = true
		}
	}
	if opts.WaitDevices > 0 {
		perr.MissingDevice = waitForDevices(ctx, cfg.StorageObjects, opts.WaitDevices)
	}
	all := &Plan{}
	apply := func(add *Config) error {
		have, err := st.Snapshot()
		if err != nil {
			return err
		}
		plan, err := st.Apply(ctx, merge(have, add), PlanOptions{KeepExtra: true})
		if plan != nil && err == nil {
			all.Steps = append(all.Steps, plan.Steps...)
		}
		return err
	}
	restored := map[string]bool{}
	for k := range existing {
		restored[k] = !opts.ClearExisting
	}
	for i, s := range cfg.StorageObjects {
		if err := ctx.Err(); err != nil {
			return all, err
		}
		key := soKey(s)
		p := fmt.Sprintf("storage_objects[%d]", i)
		if existing[key] && !opts.ClearExisting {
			perr.Failures = append(perr.Failures, RestoreFailure{p, key, errors.New("already exists (clear_existing=true replaces the configuration)")})
			continue
		}
		if err := apply(&Config{StorageObjects: []*SOConf{s}}); err != nil {
			perr.Failures = append(perr.Failures, RestoreFailure{p, key, err})
			restored[key] = false
			continue
		}
		restored[key] = true
		perr.Done++
	}
	if len(cfg.FabricModules) > 0 {
		if err := apply(&Config{FabricModules: cfg.FabricModules}); err != nil {
			perr.Failures = append(perr.Failures, RestoreFailure{"fabric_modules", "discovery authentication", err})
		} else {
			perr.Done++
		}
	}
	have, err := st.Snapshot()
	if err != nil {
		return all, err
	}
	for i, t := range cfg.Targets {
		if err := ctx.Err(); err != nil {
			return all, err
		}
		p := fmt.Sprintf("targets[%d]", i)
		what := "/" + t.Fabric + "/" + t.WWN
		if !opts.ClearExisting && hasTarget(have, t) {
			perr.Failures = append(perr.Failures, RestoreFailure{p, what, errors.New("already exists (clear_existing=true replaces the configuration)")})
			continue
		}
		kept, skipped := withoutLUNsOf(t, p, restored)
		perr.Failures = append(perr.Failures, skipped...)
		if err := apply(&Config{Targets: []*TargetConf{kept}}); err != nil {
			perr.Failures = append(perr.Failures, RestoreFailure{p, what, err})
			continue
		}
		perr.Done++
	}
	if len(perr.Failures) > 0 {
		return all, perr
	}
	return all, nil
}

func hasTarget(c *Config, t *TargetConf) bool {
	for _, h := range c.Targets {
		if h.Fabric == t.Fabric && h.WWN == t.WWN {
			return true
		}
	}
	return false
}

// withoutLUNsOf is t without the LUNs whose storage object is not in
// restored (and without the mapped LUNs of those), with a failure for each
// LUN left out.
func withoutLUNsOf(t *TargetConf, p string, restored map[string]bool) (*TargetConf, []RestoreFailure) {
	out := *t
	out.TPGs = nil
	var skipped []RestoreFailure
	for j, tpg := range t.TPGs {
		nt := *tpg
		nt.LUNs = nil
		gone := map[int]bool{}
		for k, l := range tpg.LUNs {
			if !restored[l.StorageObject] {
				gone[l.Index] = true
				skipped = append(skipped, RestoreFailure{fmt.Sprintf("%s.tpgs[%d].luns[%d]", p, j, k),
					fmt.Sprintf("/%s/%s/tpg%d/luns/lun%d → %s", t.Fabric, t.WWN, tpg.Tag, l.Index, l.StorageObject), errNotRestored})
				continue
			}
			nt.LUNs = append(nt.LUNs, l)
		}
		if len(gone) > 0 {
			nt.ACLs = nil
			for _, a := range tpg.ACLs {
				na := *a
				na.MappedLUNs = nil
				for _, m := range a.MappedLUNs {
					if !gone[m.TPGLUN] {
						na.MappedLUNs = append(na.MappedLUNs, m)
					}
				}
				nt.ACLs = append(nt.ACLs, &na)
			}
		}
		out.TPGs = append(out.TPGs, &nt)
	}
	return &out, skipped
}

// waitForDevices waits up to d for the /dev paths the storage objects
// name to exist, and returns those that still do not.
func waitForDevices(ctx context.Context, sos []*SOConf, d time.Duration) []string {
	var devs []string
	for _, s := range sos {
		if strings.HasPrefix(s.Dev, "/dev/") {
			devs = append(devs, s.Dev)
		}
	}
	deadline := time.Now().Add(d)
	for {
		var missing []string
		for _, dev := range devs {
			if _, err := os.Stat(dev); err != nil {
				missing = append(missing, dev)
			}
		}
		if len(missing) == 0 || !time.Now().Before(deadline) {
			return missing
		}
		select {
		case <-ctx.Done():
			return missing
		case <-time.After(200 * time.Millisecond):
		}
	}
}
