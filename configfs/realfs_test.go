package configfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpenRealNotMounted(t *testing.T) {
	root := filepath.Join(t.TempDir(), "config")
	_, err := Open(NewRealFS(root), root, Options{Kind: "real"})
	if !errors.Is(err, ErrNotMounted) || !strings.Contains(err.Error(), "mount -t configfs none "+root) {
		t.Fatalf("missing mount point: %v", err)
	}
	// A directory that is not a configfs mount and has no target/.
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Open(NewRealFS(root), root, Options{Kind: "real"})
	if !errors.Is(err, ErrNotMounted) {
		t.Fatalf("empty directory: %v", err)
	}
}

// TestRealFSOnDirectory exercises RealFS's path handling on an ordinary
// directory tree shaped like configfs.
func TestRealFSOnDirectory(t *testing.T) {
	root := t.TempDir()
	r := NewRealFS(root)
	for _, d := range []string{"target", "target/core", "target/core/fileio_0", "target/core/fileio_0/disk", "target/iscsi", "target/iscsi/t", "target/iscsi/t/tpgt_1", "target/iscsi/t/tpgt_1/lun", "target/iscsi/t/tpgt_1/lun/lun_0"} {
		if err := r.Mkdir(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "target/version"), []byte("Target Engine Core ConfigFS Infrastructure v5.0\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	l, err := Open(r, root, Options{Kind: "real"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := l.Version(); err != nil || !strings.HasPrefix(v, "Target Engine") || strings.HasSuffix(v, "\n") {
		t.Errorf("Version = %q, %v", v, err)
	}
	// configfs symlinks are relative; Readlink returns the configfs path.
	link := "target/iscsi/t/tpgt_1/lun/lun_0/abc"
	if err := os.Symlink("../../../../../core/fileio_0/disk", filepath.Join(root, link)); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Readlink(link); err != nil || got != "target/core/fileio_0/disk" {
		t.Errorf("Readlink = %q, %v", got, err)
	}
	// A target longer than the first buffer Readlink tries.
	long := "target/iscsi/t/tpgt_1/lun/lun_0/long"
	if err := os.Symlink("../../../../../core/fileio_0/"+strings.Repeat("./", 400)+"disk", filepath.Join(root, long)); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Readlink(long); err != nil || got != "target/core/fileio_0/disk" {
		t.Errorf("Readlink of a long target = %q, %v", got, err)
	}
	e, err := r.Stat(link)
	if err != nil || e.Kind != KindLink {
		t.Errorf("Stat(link) = %+v, %v", e, err)
	}
	_, err = r.ReadFile("target/nope")
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != "read" || ce.Path != "target/nope" || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("ReadFile of a missing file: %#v", err)
	}
	if err := r.Rmdir("target/core"); !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		t.Errorf("Rmdir of a non-empty dir: %v", err)
	}
}

// TestRealFSReadDirKinds: directories and links are told apart by
// getdents' d_type (no stat each), attributes keep their permissions.
func TestRealFSReadDirKinds(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"g", "g/sub", "g/lun_0"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "g/ro"), []byte("1\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "g/wo"), nil, 0o200); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(root, "g/link")); err != nil {
		t.Fatal(err)
	}
	// Enough entries to take several getdents calls.
	for i := 0; i < 400; i++ {
		if err := os.Mkdir(filepath.Join(root, "g/sub", fmt.Sprintf("lun_%03d_with_a_long_name_to_fill_the_buffer", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	es, err := NewRealFS(root).ReadDir("g")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, fmt.Sprintf("%s:%s:%o", e.Name, e.Kind, e.Perm))
	}
	want := "link:link:777 lun_0:dir:755 ro:attr:444 sub:dir:755 wo:attr:200"
	if strings.Join(got, " ") != want {
		t.Errorf("ReadDir = %s, want %s", strings.Join(got, " "), want)
	}
	many, err := NewRealFS(root).ReadDir("g/sub")
	if err != nil || len(many) != 400 || many[0].Name >= many[399].Name {
		t.Errorf("ReadDir of 400 entries: %d entries, %v", len(many), err)
	}
	if _, err := NewRealFS(root).ReadDir("nope"); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("ReadDir of a missing directory: %v", err)
	}
	if b, err := NewRealFS(root).ReadFile("g/ro"); err != nil || string(b) != "1\n" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	// A second listing takes the attributes' permissions from the first.
	r := NewRealFS(root)
	for i := 0; i < 2; i++ {
		es, err := r.ReadDir("g")
		if err != nil || len(es) != 5 || es[2].Perm != 0o444 || es[4].Perm != 0o200 {
			t.Errorf("ReadDir #%d = %+v, %v", i, es, err)
		}
	}
	// Enough names to be read by two threads, in order.
	var names []string
	for i := 0; i < 21; i++ {
		name := fmt.Sprintf("a%02d", i)
		names = append(names, name)
		if err := os.WriteFile(filepath.Join(root, "g/sub", name), []byte(name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vs, es2 := r.ReadFiles("g/sub", names)
	for i, n := range names {
		if string(vs[i]) != n+"\n" || es2[i] != nil {
			t.Errorf("ReadFiles[%d] = %q, %v", i, vs[i], es2[i])
		}
	}
	vals, errs := r.ReadFiles("g", []string{"ro", "missing"})
	if string(vals[0]) != "1\n" || errs[0] != nil || !errors.Is(errs[1], syscall.ENOENT) {
		t.Errorf("ReadFiles = %q, %v", vals, errs)
	}
}

// TestWaitsOnUserSpace: only a user backstore's changes keep the system
// calls the Go scheduler knows of (its handler may be this process).
func TestWaitsOnUserSpace(t *testing.T) {
	for p, want := range map[string]bool{
		"target/core/user_3/disk/enable":             true,
		"target/core/user_3/disk/attrib/dev_size":    true,
		"target/core/user_3":                         true,
		"target/core/fileio_3/disk/enable":           false,
		"target/core/fileio_3":                       false,
		"target/iscsi/iqn.x/tpgt_1/lun/lun_0":        false,
		"target/iscsi/iqn.x/tpgt_1/acls/iqn.y/lun_0": false,
	} {
		if got := waitsOnUserSpace(p); got != want {
			t.Errorf("waitsOnUserSpace(%q) = %v, want %v", p, got, want)
		}
	}
	// Both kinds of path work on a plain directory.
	root := t.TempDir()
	r := NewRealFS(root)
	for _, d := range []string{"target", "target/core", "target/core/user_1", "target/core/user_1/u", "target/core/fileio_2", "target/core/fileio_2/f"} {
		if err := r.Mkdir(d); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"target/core/user_1/u/enable", "target/core/fileio_2/f/enable"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteFile(f, []byte("1")); err != nil {
			t.Fatal(err)
		}
		if b, err := r.ReadFile(f); err != nil || string(b) != "1" {
			t.Errorf("%s = %q, %v", f, b, err)
		}
	}
	if err := r.Mkdir("target/core/fileio_2"); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("Mkdir of an existing directory: %v", err)
	}
	if err := r.Symlink("target/core/fileio_2/f", "target/core/l"); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Readlink("target/core/l"); err != nil || got != "target/core/fileio_2/f" {
		t.Errorf("Readlink = %q, %v", got, err)
	}
}

func TestShapeOf(t *testing.T) {
	for in, want := range map[string]string{
		"target/core/fileio_7/f7/attrib":         "target/core/fileio_#/f#/attrib",
		"target/core/fileio_12/f120/attrib":      "target/core/fileio_#/f#/attrib",
		"target/iscsi/iqn.2003-01.org:t1/tpgt_1": "target/iscsi/iqn.#-#.org:t#/tpgt_#",
		"9":                                      "#",
		"":                                       "",
	} {
		if got := shapeOf(in); got != want {
			t.Errorf("shapeOf(%q) = %q, want %q", in, got, want)
		}
	}
}
