package backends

import (
	"os"
	"path/filepath"
	"testing"
)

const (
	benchSize  = 64 << 20
	benchBlock = 4096
)

// benchBackends opens each benchmarked backend: ram, null, and file on the
// test's temporary directory (a disk here) and on /dev/shm (tmpfs) when it
// exists, buffered and with O_DIRECT.
func benchBackends(b *testing.B) map[string]Backend {
	dirs := map[string]string{"disk": b.TempDir()}
	if shm, err := os.MkdirTemp("/dev/shm", "backends-bench"); err == nil {
		b.Cleanup(func() { os.RemoveAll(shm) })
		dirs["tmpfs"] = shm
	}
	configs := map[string]string{"ram": "ram/", "null": "null/"}
	for name, dir := range dirs {
		configs["file-"+name] = "file/" + filepath.Join(dir, "buffered.img")
		configs["file-"+name+"-direct"] = "file/" + filepath.Join(dir, "direct.img") + ";direct=true"
	}
	out := map[string]Backend{}
	for name, config := range configs {
		be, err := Open(config, benchSize, 512)
		if err != nil {
			b.Logf("%s: %v (skipped)", name, err)
			continue
		}
		b.Cleanup(func() { be.Close() })
		// Write everything once so that reads hit data, not holes.
		buf := alignedBuffer(1 << 20)
		for off := int64(0); off < benchSize; off += int64(len(buf)) {
			if _, err := be.WriteAt(buf, off); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
		}
		out[name] = be
	}
	return out
}

func benchOrder() []string {
	return []string{"null", "ram", "file-tmpfs", "file-disk", "file-tmpfs-direct", "file-disk-direct"}
}

func BenchmarkReadAt4K(b *testing.B) {
	backends := benchBackends(b)
	for _, name := range benchOrder() {
		be, ok := backends[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			p := alignedBuffer(benchBlock)
			b.SetBytes(benchBlock)
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				if _, err := be.ReadAt(p, off); err != nil {
					b.Fatal(err)
				}
				off = (off + 7*benchBlock) % benchSize
			}
		})
	}
}

func BenchmarkWriteAt4K(b *testing.B) {
	backends := benchBackends(b)
	for _, name := range benchOrder() {
		be, ok := backends[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			p := alignedBuffer(benchBlock)
			b.SetBytes(benchBlock)
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				if _, err := be.WriteAt(p, off); err != nil {
					b.Fatal(err)
				}
				off = (off + 7*benchBlock) % benchSize
			}
		})
	}
}

// BenchmarkWriteAtFUA4K measures a write that is stable on return.
func BenchmarkWriteAtFUA4K(b *testing.B) {
	backends := benchBackends(b)
	for _, name := range benchOrder() {
		be, ok := backends[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			p := alignedBuffer(benchBlock)
			b.SetBytes(benchBlock)
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				if _, err := be.(FUAWriter).WriteAtFUA(p, off); err != nil {
					b.Fatal(err)
				}
				off = (off + 7*benchBlock) % benchSize
			}
		})
	}
}

// BenchmarkRAMParallel4K shows that ram I/O scales across cores: there is
// no device-wide lock on the hot path.
func BenchmarkRAMParallel4K(b *testing.B) {
	be := benchBackends(b)["ram"]
	for _, op := range []string{"read", "write"} {
		b.Run(op, func(b *testing.B) {
			b.SetBytes(benchBlock)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				p := make([]byte, benchBlock)
				off := int64(0)
				for pb.Next() {
					if op == "read" {
						be.ReadAt(p, off)
					} else {
						be.WriteAt(p, off)
					}
					off = (off + 13*benchBlock) % benchSize
				}
			})
		})
	}
}

// BenchmarkFileUnalignedDirect4K measures the bounce-buffer path.
func BenchmarkFileUnalignedDirect4K(b *testing.B) {
	be, ok := benchBackends(b)["file-disk-direct"]
	if !ok {
		b.Skip("no O_DIRECT here")
	}
	p := make([]byte, benchBlock+1)[1:]
	b.SetBytes(benchBlock)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := be.WriteAt(p, 0); err != nil {
			b.Fatal(err)
		}
	}
}
