package backends

import (
	"strings"
	"testing"
	"time"
)

// FuzzOpen feeds random dev_config strings and sizes to Validate and Open:
// each must return an error or a working backend, never panic, and the two
// must agree. Configs naming the file subtype are only validated, so the
// fuzzer never creates files.
func FuzzOpen(f *testing.F) {
	for _, seed := range []string{
		"null/", "ram/", "ram/chunk=64k", "ram/chunk=3k;", "file//var/lib/tcmsh/x.img;grow=true;direct",
		"fault/ram/;delay=2ms;jitter=1ms;error_rate=0.5;fail_after=3;sense=3/11/0;ops=read;seed=1;readonly",
		"fault/null/;sense=medium", "fault/fault/ram/", "fault/ram/;chunk=64k;=x", "x/y;z", ";;;", "ram/a=b=c",
	} {
		f.Add(seed, int64(1<<20))
	}
	f.Fuzz(func(t *testing.T, devConfig string, size int64) {
		verr := Validate(devConfig, size)
		if strings.Contains(devConfig, "file") {
			return
		}
		b, err := Open(devConfig, size, 512)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Validate(%q, %d) = %v but Open = %v", devConfig, size, verr, err)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		defer b.Close()
		if b.Size() != size {
			t.Fatalf("Size() = %d, want %d", b.Size(), size)
		}
		if fb, ok := b.(*faultBackend); ok {
			fb.sleep = func(time.Duration) {}
		}
		p := make([]byte, min(size, 4096))
		b.WriteAt(p, 0)
		b.ReadAt(p, size-int64(len(p)))
		b.Caps()
		b.Flush()
	})
}
