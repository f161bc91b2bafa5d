package backends

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestPrefetch(t *testing.T) {
	dir := t.TempDir()
	f := openTestFile(t, filepath.Join(dir, "a.img"), 1<<20, realSyscalls)
	if cached, err := f.Prefetch(4096, 65536); err != nil || !cached {
		t.Fatalf("file: cached %v, %v", cached, err)
	}
	if _, err := f.Prefetch(1<<20-512, 1024); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("past the end: %v", err)
	}
	// O_DIRECT has no page cache to fill (tmpfs may refuse O_DIRECT).
	if d, err := Open("file/"+filepath.Join(dir, "b.img")+";direct=true", 1<<20, 512); err == nil {
		defer d.Close()
		if cached, err := d.(Prefetcher).Prefetch(0, 4096); err != nil || cached {
			t.Fatalf("direct: cached %v, %v", cached, err)
		}
	}
	r, err := Open("ram/", 1<<20, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if cached, err := r.(Prefetcher).Prefetch(0, 1<<20); err != nil || !cached {
		t.Fatalf("ram: cached %v, %v", cached, err)
	}
	if _, err := r.(Prefetcher).Prefetch(1<<20, 1); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("ram past the end: %v", err)
	}
}

func TestFileCopyFrom(t *testing.T) {
	dir := t.TempDir()
	src := openTestFile(t, filepath.Join(dir, "s.img"), 1<<20, realSyscalls)
	dst := openTestFile(t, filepath.Join(dir, "d.img"), 1<<20, realSyscalls)
	data := make([]byte, 8192)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if _, err := src.WriteAt(data, 4096); err != nil {
		t.Fatal(err)
	}
	if err := dst.CopyFrom(src, 4096, 65536, 8192); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 8192)
	if _, err := dst.ReadAt(got, 65536); err != nil || string(got) != string(data) {
		t.Fatalf("copied data differs (%v)", err)
	}
	if err := dst.CopyFrom(src, 1<<20-4096, 0, 8192); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("source past the end: %v", err)
	}
	r, err := Open("ram/", 1<<20, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := dst.CopyFrom(r, 0, 0, 4096); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("from ram: %v, want ErrUnsupported", err)
	}
}
