package config

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultSaveFile is where targetcli keeps the configuration.
const DefaultSaveFile = "/etc/target/saveconfig.json"

// SaveOptions say how Save writes a file.
type SaveOptions struct {
	// Force lets an empty configuration replace a non-empty file.
	Force bool
	// Backups is how many gzip backups of the previous content to keep in
	// backup/ beside the file (targetcli's max_backup_files); 0 keeps none.
	// The shell asks for them when saving to the default file only.
	Backups int
}

// Save writes the kernel's configuration to file in saveconfig.json form,
// atomically (mode 0600). It reports whether the file changed; objects
// that cannot be read are skipped with a warning.
func (st Store) Save(file string, opts SaveOptions) (changed bool, err error) {
	cfg, err := st.Snapshot()
	if err != nil {
		return false, err
	}
	for _, s := range cfg.Skipped {
		st.warnf("warning: not saved: %s\n", s)
	}
	data, err := cfg.MarshalSaveconfig()
	if err != nil {
		return false, err
	}
	old, readErr := os.ReadFile(file)
	if readErr == nil && bytes.Equal(old, data) {
		return false, nil
	}
	empty := len(cfg.StorageObjects) == 0 && len(cfg.Targets) == 0
	if empty && readErr == nil && !opts.Force {
		if prev, err := ParseSaveconfig(old); err != nil || len(prev.StorageObjects) > 0 || len(prev.Targets) > 0 {
			return false, fmt.Errorf("saveconfig: the configuration is empty and would replace the non-empty %s; run `saveconfig force=true` if that is what you want", file)
		}
	}
	if readErr == nil && opts.Backups > 0 {
		if err := st.backup(file, old, opts.Backups); err != nil {
			return false, err
		}
	}
	if err := st.Undo.BeforeWrite(file); err != nil {
		return false, fmt.Errorf("saveconfig: %w", err)
	}
	if err := WriteFileAtomic(file, data, 0o600); err != nil {
		return false, fmt.Errorf("saveconfig %s: %w", file, err)
	}
	return true, nil
}

// backup keeps the previous content as backup/saveconfig-<time>-json.gz
// and prunes the oldest beyond keep.
func (st Store) backup(file string, old []byte, keep int) error {
	dir := filepath.Join(filepath.Dir(file), "backup")
	name := filepath.Join(dir, "saveconfig-"+time.Now().Format("20060102-15:04:05")+"-json.gz")
	if err := st.Undo.BeforeWrite(name); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(old); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := WriteFileAtomic(name, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("backup %s: %w", name, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var backups []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "saveconfig-") && strings.HasSuffix(e.Name(), "-json.gz") {
			backups = append(backups, e.Name())
		}
	}
	sort.Strings(backups) // the time format sorts by age
	for len(backups) > keep {
		// A run that is undone gets the backups it pruned back.
		if err := st.Undo.BeforeWrite(filepath.Join(dir, backups[0])); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		_ = os.Remove(filepath.Join(dir, backups[0]))
		backups = backups[1:]
	}
	return nil
}

// WriteFileAtomic writes a temp file beside the target, fsyncs it, renames
// it over the target and fsyncs the directory, so that a crash leaves the
// old file or the new one.
func WriteFileAtomic(file string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ReadFile reads and checks a saveconfig.json file. LUNs must name
// storage objects of the file or, when existing is not nil, of that set.
func ReadFile(file string, existing map[string]bool) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	cfg, err := ParseSaveconfig(data)
	var errs ConfigErrors
	if err != nil && !errors.As(err, &errs) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if cfg == nil {
		// Not even the top-level object could be read.
		return nil, fmt.Errorf("%s: nothing was changed: %w", file, err)
	}
	errs = append(errs, cfg.checkReferences(existing)...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: nothing was changed: %w", file, errs)
	}
	return cfg, nil
}
