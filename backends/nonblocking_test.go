package backends

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNonBlocking: the backends whose commands the TCMU ring may run on
// its own thread say so; those that may wait for a disk or a timer do not.
func TestNonBlocking(t *testing.T) {
	type nbCase struct {
		devConfig string
		want      bool
		mayFail   bool // tmpfs refuses O_DIRECT before Linux 6.6
	}
	diskDir := t.TempDir()
	cases := []nbCase{
		{devConfig: "ram/", want: true},
		{devConfig: "null/", want: true},
		{devConfig: "fault/ram/;error_rate=0.5;seed=1", want: true},
		{devConfig: "fault/ram/;delay=1ms"},
		{devConfig: "fault/null/;jitter=1ms"},
		{devConfig: "file/" + filepath.Join(diskDir, "a.img"), want: inMemoryDir(diskDir)},
	}
	if inMemoryDir("/dev/shm") {
		if dir, err := os.MkdirTemp("/dev/shm", "tcmsh-nb"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			cases = append(cases,
				nbCase{devConfig: "file/" + filepath.Join(dir, "b.img"), want: true},
				nbCase{devConfig: "file/" + filepath.Join(dir, "c.img") + ";direct=true", mayFail: true})
		}
	}
	for _, tc := range cases {
		b, err := Open(tc.devConfig, 1<<20, 512)
		if err != nil {
			if tc.mayFail {
				continue
			}
			t.Fatalf("Open %q: %v", tc.devConfig, err)
		}
		nb, ok := b.(NonBlocker)
		if got := ok && nb.NonBlocking(); got != tc.want {
			t.Errorf("%s: NonBlocking = %v, want %v", tc.devConfig, got, tc.want)
		}
		b.Close()
	}
}

// inMemoryDir reports whether dir is on tmpfs or ramfs.
func inMemoryDir(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && (st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC)
}
