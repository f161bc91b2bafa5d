package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// Undo records what a run changes outside configfs — image files it
// makes, files saveconfig writes, and (through Record) state its caller
// keeps, such as the shell's preferences and bookmarks — so that a failed
// --atomic run, restoreconfig, apply or export can put it back along with
// the configuration. Only what did not exist before is
// removed: a file that was there keeps its content (files the shell
// replaces get their previous bytes back; an image file is only ever cut
// back to the size it had).
type Undo struct {
	entries []undoEntry
	seen    map[string]bool // paths (and "prefs") whose earlier state is recorded
}

type undoKind int

const (
	undoMadeImage undoKind = iota // an image file that did not exist: removed
	undoMadeDir                   // a directory that did not exist: removed when empty
	undoNewFile                   // a small file that did not exist: removed
	undoContent                   // a small file that existed: its bytes written back
	undoSize                      // an image file that existed: cut back to its size
	undoFunc                      // state kept by the caller: put back by a function
)

type undoEntry struct {
	kind    undoKind
	path    string
	data    []byte
	mode    fs.FileMode
	size    int64
	made    fs.FileInfo   // undoMadeImage: which file, so that another one is left alone
	restore func() string // undoFunc: puts the state back, says what it did ("" for nothing)
}

func (u *Undo) add(key string, e undoEntry) {
	if u.seen == nil {
		u.seen = map[string]bool{}
	}
	u.seen[key] = true
	u.entries = append(u.entries, e)
}

// BeforeWrite records the state of a small file (a saveconfig file, its
// backups, the preferences) before it is written or removed: its bytes,
// or that it and perhaps its directories did not exist. Only the first
// write of a run is recorded.
func (u *Undo) BeforeWrite(file string) error {
	if u == nil || u.seen[file] {
		return nil
	}
	data, err := os.ReadFile(file)
	if err == nil {
		fi, err := os.Stat(file)
		if err != nil {
			return err
		}
		u.add(file, undoEntry{kind: undoContent, path: file, data: data, mode: fi.Mode().Perm()})
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		// What cannot be read cannot be put back: refuse the write.
		return fmt.Errorf("keeping %s to undo the run: %w", file, err)
	}
	var dirs []string
	for d := filepath.Dir(file); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); !errors.Is(err, fs.ErrNotExist) || d == filepath.Dir(d) {
			break
		}
		dirs = append(dirs, d)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if !u.seen[dirs[i]] {
			u.add(dirs[i], undoEntry{kind: undoMadeDir, path: dirs[i]})
		}
	}
	u.add(file, undoEntry{kind: undoNewFile, path: file})
	return nil
}

// madeImage records an image file that the run created (it did not exist
// before).
func (u *Undo) MadeImage(file string) {
	if u == nil || u.seen[file] {
		return
	}
	fi, err := os.Stat(file)
	if err != nil {
		return
	}
	u.add(file, undoEntry{kind: undoMadeImage, path: file, made: fi})
}

// grewImage records an existing image file that the run made larger.
func (u *Undo) GrewImage(file string, size int64) {
	if u == nil || u.seen[file] {
		return
	}
	u.add(file, undoEntry{kind: undoSize, path: file, size: size})
}

// Mark is where the record of an operation starts, for Rollback.
func (u *Undo) Mark() int {
	if u == nil {
		return 0
	}
	return len(u.entries)
}

// Record keeps a function that puts back state the caller keeps (the
// shell's preferences and bookmarks in memory), under key: only the first
// record of a key in a run is kept. restore returns what it did, or "".
func (u *Undo) Record(key string, restore func() string) {
	if u == nil || u.seen[key] {
		return
	}
	u.add(key, undoEntry{kind: undoFunc, path: key, restore: restore})
}

// Recorded reports whether key's earlier state is already recorded.
func (u *Undo) Recorded(key string) bool { return u != nil && u.seen[key] }

// undo puts back what was recorded since mark, newest first, and forgets
// it. inUse lists the files that storage objects use now (after the
// configuration was put back): those are never removed or cut. It returns
// what it did, for the message, and what it could not do.
func (u *Undo) undo(mark int, inUse map[string]string) (done []string, errs []error) {
	if u == nil || mark >= len(u.entries) {
		return nil, nil
	}
	for i := len(u.entries) - 1; i >= mark; i-- {
		e := u.entries[i]
		if user, ok := inUse[e.path]; ok && (e.kind == undoMadeImage || e.kind == undoSize) {
			done = append(done, fmt.Sprintf("left %s (the backing file of %s)", e.path, user))
			continue
		}
		switch e.kind {
		case undoMadeImage:
			fi, err := os.Stat(e.path)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil || !os.SameFile(fi, e.made) {
				done = append(done, fmt.Sprintf("left %s (not the file the run made)", e.path))
				continue
			}
			if err := os.Remove(e.path); err != nil {
				errs = append(errs, err)
				continue
			}
			done = append(done, "removed "+e.path+", made by the run")
		case undoNewFile:
			if err := os.Remove(e.path); err == nil {
				done = append(done, "removed "+e.path+", written by the run")
			} else if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		case undoMadeDir:
			// Only when empty: whatever else is in it stays.
			if err := os.Remove(e.path); err == nil {
				done = append(done, "removed the directory "+e.path)
			}
		case undoContent:
			if now, err := os.ReadFile(e.path); err == nil && bytes.Equal(now, e.data) {
				if fi, err := os.Stat(e.path); err == nil && fi.Mode().Perm() == e.mode {
					continue
				}
			}
			if err := WriteFileAtomic(e.path, e.data, e.mode); err != nil {
				errs = append(errs, fmt.Errorf("putting %s back: %w", e.path, err))
				continue
			}
			done = append(done, "put "+e.path+" back as it was")
		case undoSize:
			fi, err := os.Stat(e.path)
			if err != nil || fi.Size() <= e.size {
				continue
			}
			if err := os.Truncate(e.path, e.size); err != nil {
				errs = append(errs, fmt.Errorf("cutting %s back to %d bytes: %w", e.path, e.size, err))
				continue
			}
			done = append(done, fmt.Sprintf("cut %s back to its %d bytes", e.path, e.size))
		case undoFunc:
			if what := e.restore(); what != "" {
				done = append(done, what)
			}
		}
	}
	u.entries = u.entries[:mark]
	u.seen = map[string]bool{}
	for _, e := range u.entries {
		u.seen[e.path] = true
	}
	return done, errs
}

// UndoneText is the part of a rollback's message that says what was
// undone outside configfs ("" when nothing was).
func UndoneText(done []string) string {
	if len(done) == 0 {
		return ""
	}
	return "; " + strings.Join(done, "; ")
}

// BackingFiles lists the files that storage objects use (fileio images,
// user:file images), each with the backstore using it.
func (st Store) BackingFiles() map[string]string {
	sos, err := st.LIO.StorageObjects()
	if err != nil {
		return map[string]string{}
	}
	return st.backingFilesOf(sos)
}

// backingFilesOf is BackingFiles of the objects given.
func (st Store) backingFilesOf(sos []configfs.StorageObject) map[string]string {
	out := map[string]string{}
	for _, so := range sos {
		if f, owner := st.backingFile(so); f != "" {
			out[f] = owner
		}
	}
	return out
}

// backingFile is the file (cleaned) an object is made on and the object's
// targetcli path, or "" when it has none.
func (st Store) backingFile(so configfs.StorageObject) (file, owner string) {
	// What an object is made on does not change: read once per object by
	// the model, not at every create.
	b, err := st.LIO.BackingOf(so)
	if err != nil {
		return "", ""
	}
	f := b.ImageFile(so.Plugin)
	if f == "" {
		return "", ""
	}
	kind := configfs.BackstoreName(so.Plugin)
	if so.Plugin == "user" {
		sub, _, _ := strings.Cut(b.Config, "/")
		kind = "user:" + sub
	}
	return f, soPath(kind, so.Name)
}
