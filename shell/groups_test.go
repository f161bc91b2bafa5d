package shell

import (
	"bytes"
	"context"
	"testing"
)

func TestGroupsMarkReadOnlyValues(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	n, err := sh.Resolve("/backstores/fileio/disk1")
	if err != nil {
		t.Fatal(err)
	}
	groups, err := sh.Groups(n)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]GroupAttr{}
	for _, g := range groups {
		for _, a := range g.Attrs {
			found[g.Name+"/"+a.Name] = a
		}
	}
	// hw_block_size is read-only in the kernel, block_size is not.
	if a, ok := found["attribute/hw_block_size"]; !ok || !a.ReadOnly {
		t.Errorf("attribute/hw_block_size = %+v, %v; want a read-only value", a, ok)
	}
	if a, ok := found["attribute/block_size"]; !ok || a.ReadOnly || a.Value != "512" {
		t.Errorf("attribute/block_size = %+v, %v; want a writable 512", a, ok)
	}
	// What Groups calls read-only is what set refuses.
	out.Reset()
	if err := sh.Exec(context.Background(), "/backstores/fileio/disk1 set attribute hw_block_size=4096"); err == nil {
		t.Error("set of a value Groups marks read-only succeeded")
	}
}

func TestOutputReturnsWhatSetOutputSet(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	if o, e := sh.Output(); o != out || e != out {
		t.Fatalf("Output() = %v, %v; want the test buffer", o, e)
	}
	var b bytes.Buffer
	sh.SetOutput(&b, &b)
	if o, _ := sh.Output(); o != &b {
		t.Errorf("Output() after SetOutput = %v, want the new buffer", o)
	}
}
