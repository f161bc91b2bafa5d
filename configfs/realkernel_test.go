//go:build linux && realkernel

// Tests against a real kernel with LIO and tcm_loop loaded and configfs
// mounted (the qemu guest): go test -c -tags realkernel, run as root in the
// guest by test/vm/gotest/run.
package configfs_test

import (
	"os"
	"path"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
)

// TestRealKernelLinkCount: configfs counts a directory's subdirectories in
// its link count, which subdirs relies on to reuse a listing.
func TestRealKernelLinkCount(t *testing.T) {
	fsys := realFS(t)
	core := "target/core"
	links := func() int {
		t.Helper()
		st, err := fsys.Stat(core)
		if err != nil {
			t.Fatal(err)
		}
		return st.Links
	}
	before := links()
	hba := path.Join(core, "rd_mcp_977")
	if err := fsys.Mkdir(hba); err != nil {
		t.Fatal(err)
	}
	if got := links(); got != before+1 {
		t.Errorf("core/ links after mkdir %d, want %d", got, before+1)
	}
	if err := fsys.Rmdir(hba); err != nil {
		t.Fatal(err)
	}
	if got := links(); got != before {
		t.Errorf("core/ links after rmdir %d, want %d", got, before)
	}
}

// TestRealKernelListingsFollowOtherProcesses is
// TestListingsFollowOtherProcesses on the real configfs.
func TestRealKernelListingsFollowOtherProcesses(t *testing.T) {
	listingsFollowOtherProcesses(t, realFS(t), "real")
}

func realFS(t *testing.T) configfs.FS {
	t.Helper()
	root := "/sys/kernel/config"
	if _, err := os.Stat(path.Join(root, "target", "core")); err != nil {
		t.Skipf("no LIO configfs: %v", err)
	}
	return configfs.NewRealFS(root)
}

// TestRealKernelALUAGroupNames is TestALUAGroupNames on the real configfs:
// the kernel counts the default ALUA group in alua/'s link count.
func TestRealKernelALUAGroupNames(t *testing.T) {
	aluaGroupNames(t, realFS(t), "real")
}
