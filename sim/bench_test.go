package sim

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkMkdirWrite measures one mkdir of a storage object and one
// control write in a state that already holds n backstores and n LUNs
// (ns/op should not grow with n: catch-up reads only new journal records).
func BenchmarkMkdirWrite(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			k, err := Open(dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer k.Close()
			lt := "target/loopback/" + loopWWN + "/tpgt_1"
			must := func(err error) {
				if err != nil {
					b.Fatal(err)
				}
			}
			must(k.Mkdir("target/loopback"))
			must(k.Mkdir("target/loopback/" + loopWWN))
			must(k.Mkdir(lt))
			backing := filepath.Join(b.TempDir(), "f")
			for i := 0; i < n; i++ {
				so := fmt.Sprintf("target/core/fileio_%d/d", i)
				must(k.Mkdir(filepath.Dir(so)))
				must(k.Mkdir(so))
				must(k.WriteFile(so+"/control", []byte("fd_dev_name="+backing+",fd_dev_size=1048576")))
				must(k.WriteFile(so+"/enable", []byte("1")))
				lun := fmt.Sprintf("%s/lun/lun_%d", lt, i)
				must(k.Mkdir(lun))
				must(k.Symlink(so, lun+"/d"))
			}
			must(k.Mkdir("target/core/rd_mcp_999999"))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				so := fmt.Sprintf("target/core/rd_mcp_999999/r%d", i)
				must(k.Mkdir(so))
				must(k.WriteFile(so+"/control", []byte("rd_pages=256")))
			}
		})
	}
}

// BenchmarkReadAfterOtherProcessWrite measures a read that must first
// apply one record another instance appended.
func BenchmarkReadAfterOtherProcessWrite(b *testing.B) {
	dir := b.TempDir()
	w, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	r, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if err := w.Mkdir("target/core/rd_mcp_0"); err != nil {
		b.Fatal(err)
	}
	if err := w.Mkdir("target/core/rd_mcp_0/r"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.WriteFile("target/core/rd_mcp_0/r/alias", []byte(fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadFile("target/core/rd_mcp_0/r/alias"); err != nil {
			b.Fatal(err)
		}
	}
}
