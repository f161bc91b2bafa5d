package shell

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
)

// benchShell is a shell over a fresh simulated kernel holding n ramdisk
// backstores exported as LUNs of one iSCSI TPG.
func benchShell(b *testing.B, n int) *Shell {
	b.Helper()
	dir := b.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Close() })
	l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		b.Fatal(err)
	}
	sh := New(Env{LIO: l, Kind: "sim", AvailableFabrics: sim.DefaultFabrics}, Options{Out: io.Discard, Err: io.Discard})
	ctx := context.Background()
	must := func(line string) {
		if err := sh.Exec(ctx, line); err != nil {
			b.Fatalf("%s: %v", line, err)
		}
	}
	must("/iscsi create iqn.2003-01.org.example:bench")
	for i := 0; i < n; i++ {
		must(fmt.Sprintf("/backstores/ramdisk create r%d 1M", i))
		must(fmt.Sprintf("/iscsi/iqn.2003-01.org.example:bench/tpg1/luns create /backstores/ramdisk/r%d %d add_mapped_luns=false", i, i))
	}
	return sh
}

// BenchmarkCreateAtSize measures one backstore and one LUN created (and
// deleted again) in a configuration of a given size: the cost per command
// must not grow with the size.
func BenchmarkCreateAtSize(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			sh := benchShell(b, n)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, line := range []string{
					"/backstores/ramdisk create extra 1M",
					fmt.Sprintf("/iscsi/iqn.2003-01.org.example:bench/tpg1/luns create /backstores/ramdisk/extra %d", n),
					fmt.Sprintf("/iscsi/iqn.2003-01.org.example:bench/tpg1/luns delete %d", n),
					"/backstores/ramdisk delete extra",
				} {
					if err := sh.Exec(ctx, line); err != nil {
						b.Fatalf("%s: %v", line, err)
					}
				}
			}
		})
	}
}

// BenchmarkResolveAtSize measures resolving a deep path.
func BenchmarkResolveAtSize(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			sh := benchShell(b, n)
			p := fmt.Sprintf("/iscsi/iqn.2003-01.org.example:bench/tpg1/luns/lun%d", n/2)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := sh.Resolve(p); err != nil {
					b.Fatal(err)
				}
				if _, err := sh.Resolve(fmt.Sprintf("/backstores/ramdisk/r%d", n/2)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
