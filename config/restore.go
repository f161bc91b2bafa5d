package config

import (
	"context"
	"fmt"
)

// RestoreOptions are restoreconfig's parameters.
type RestoreOptions struct {
	// ClearExisting replaces the whole configuration with the file's;
	// without it, what the file has is added and must not exist yet.
	ClearExisting bool
	// Target and StorageObject, when set, restore only that target (by
	// WWN) and that storage object (by name) from the file.
	Target, StorageObject string
}

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
	for k := range st.Unmanaged() {
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
	cfg, err := ReadFile(file, refs)
	if err != nil {
		return nil, err
	}
	if filtered {
		if cfg, err = cfg.only(file, opts); err != nil {
			return nil, err
		}
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
	return st.Apply(ctx, want, plan)
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
