// Package golden owns golden-file comparison for tests: Check compares what
// a test got with testdata/<name> in the test's package directory, and
// rewrites that file instead when the test binary runs with -update. The
// -update flag is registered once, here, for every test binary that imports
// the package; what a package does to its output before the comparison
// (stripping ANSI, checking a screen's size) stays in that package.
//
//	golden.Check(t, "ls.golden", out.String())
//
//	go test ./shell/ -update   # rewrites shell/testdata/ls.golden
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Check compares got with the file testdata/name, failing t when they
// differ or the file is missing. With -update it writes got to that file
// (creating testdata/ if need be) and compares nothing.
func Check(t testing.TB, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}
