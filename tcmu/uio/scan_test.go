package uio

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSysfs builds <root>/class/uio/<uio>/{name,version,maps/map0/size}.
// An empty value leaves the file out.
type fakeDev struct {
	uio, name, version, size string
}

func fakeSysfs(t *testing.T, devs ...fakeDev) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range devs {
		dir := filepath.Join(root, "class", "uio", d.uio)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		write := func(rel, v string) {
			if v == "" {
				return
			}
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("name", d.name)
		write("version", d.version)
		write("maps/map0/size", d.size)
	}
	return root
}

func TestScan(t *testing.T) {
	root := fakeSysfs(t,
		fakeDev{"uio0", "tcm-user/0/disk/file//var/lib/a b/c.img\n", "2\n", "0x40800000\n"},
		fakeDev{"uio1", "uio_pdrv_genirq\n", "0.1\n", "0x1000\n"},
		fakeDev{"uio2", "tcm-user/3/noconfig\n", "2\n", "0x1000\n"},
		fakeDev{"uio3", "tcm-user/x/bad/ram\n", "2\n", "0x1000\n"},
		fakeDev{"uio4", "tcm-user/0/nomap/ram/\x01", "2\n", ""},
		fakeDev{"uio5", "", "2\n", "0x1000\n"}, // no name: not claimable
		fakeDev{"uio6", "tcm-user/0/badsize/ram\n", "2\n", "lots\n"},
		fakeDev{"uio10", "tcm-user/1/ram1/ram\n", "2\n", "4096\n"},
		fakeDev{"uio05", "tcm-user/0/zero/ram\n", "2\n", "0x1000\n"}, // not a uio minor
		fakeDev{"misc", "tcm-user/0/misc/ram\n", "2\n", "0x1000\n"},
	)
	got, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	var minors []int
	for _, d := range got {
		minors = append(minors, d.Minor)
	}
	if want := []int{0, 2, 3, 4, 6, 10}; !equalInts(minors, want) {
		t.Fatalf("minors = %v, want %v", minors, want)
	}
	byMinor := map[int]Info{}
	for _, d := range got {
		byMinor[d.Minor] = d
	}

	d0 := byMinor[0]
	if d0.Err != nil {
		t.Fatalf("uio0: %v", d0.Err)
	}
	if d0.HBA != 0 || d0.Device != "disk" || d0.Subtype != "file" || d0.CfgString != "/var/lib/a b/c.img" ||
		d0.DevConfig != "file//var/lib/a b/c.img" {
		t.Errorf("uio0 name = %+v", d0.Name)
	}
	if d0.MapSize != 0x40800000 || d0.Version != "2" || d0.UIO != "uio0" {
		t.Errorf("uio0 = %+v", d0)
	}
	if d0.ConfigPath() != "target/core/user_0/disk" {
		t.Errorf("uio0 config path %q", d0.ConfigPath())
	}
	if d0.RawName != "tcm-user/0/disk/file//var/lib/a b/c.img" {
		t.Errorf("raw name %q", d0.RawName)
	}
	if p := d0.DevPath(""); p != "/dev/uio0" {
		t.Errorf("dev path %q", p)
	}

	d2 := byMinor[2]
	if d2.Err != nil || d2.Device != "noconfig" || d2.DevConfig != "" || d2.Subtype != "" || d2.ConfigPath() != "target/core/user_3/noconfig" {
		t.Errorf("uio2 = %+v", d2)
	}
	if d3 := byMinor[3]; !errors.Is(d3.Err, ErrMalformedName) || d3.RawName != "tcm-user/x/bad/ram" {
		t.Errorf("uio3 err = %v (raw %q)", d3.Err, d3.RawName)
	}
	if d4 := byMinor[4]; d4.Err == nil || !strings.Contains(d4.Err.Error(), "maps/map0/size") || !errors.Is(d4.Err, fs.ErrNotExist) {
		t.Errorf("uio4 err = %v", d4.Err)
	}
	if d6 := byMinor[6]; d6.Err == nil || !strings.Contains(d6.Err.Error(), `"lots" is not a size`) {
		t.Errorf("uio6 err = %v", d6.Err)
	}
	if d10 := byMinor[10]; d10.Err != nil || d10.HBA != 1 || d10.Subtype != "ram" || d10.CfgString != "" || d10.MapSize != 4096 {
		t.Errorf("uio10 = %+v", d10)
	}

	// Lookup sees the same.
	if d, err := Lookup(root, 10); err != nil || d.Device != "ram1" {
		t.Errorf("Lookup(10) = %+v, %v", d, err)
	}
	if _, err := Lookup(root, 1); !errors.Is(err, ErrNotTCMU) {
		t.Errorf("Lookup(1) err = %v, want ErrNotTCMU", err)
	}
	if _, err := Lookup(root, 99); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lookup(99) err = %v, want not-exist", err)
	}
	if _, err := Lookup(root, 4); err == nil {
		t.Error("Lookup(4) of an incomplete device succeeded")
	}
}

func TestScanWithoutUIO(t *testing.T) {
	_, err := Scan(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
	if !strings.Contains(err.Error(), "uio module is not loaded") {
		t.Errorf("err %q gives no hint", err)
	}
}

func TestScanEmpty(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "class", "uio"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Scan(root)
	if err != nil || len(got) != 0 {
		t.Fatalf("Scan = %v, %v", got, err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
