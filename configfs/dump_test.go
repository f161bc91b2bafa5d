package configfs

import "testing"

func TestDumpEscape(t *testing.T) {
	for in, want := range map[string]string{"a\nb\n": `a\nb\n`, "x\ty": `x\ty`, `a\b`: `a\\b`, "\x00": `\x00`} {
		if got := dumpEscape(in); got != want {
			t.Errorf("dumpEscape(%q) = %q, want %q", in, got, want)
		}
	}
}
