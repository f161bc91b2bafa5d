package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// hookedLines hands a batch its lines one Read at a time and runs before[i]
// before line i is read (after line i-1 ran).
type hookedLines struct {
	lines  []string
	before map[int]func()
	next   int
}

func (h *hookedLines) Read(p []byte) (int, error) {
	if h.next >= len(h.lines) {
		return 0, io.EOF
	}
	if f := h.before[h.next]; f != nil {
		f()
	}
	n := copy(p, h.lines[h.next]+"\n")
	h.next++
	return n, nil
}

// A batch keeps the nodes its paths resolved to while it only creates; a
// delete in it, or another process, must not leave it using what is gone.
func TestBatchResolvedNodes(t *testing.T) {
	const tgt = "/iscsi/iqn.2003-01.org.example:t"
	t.Run("creates only: each path element is looked at once", func(t *testing.T) {
		w := newOpWorld(t)
		sh, cfs := w.process()
		lines := []string{"/backstores/ramdisk create r0 1M", "/iscsi create iqn.2003-01.org.example:t"}
		for i := 1; i <= 4; i++ {
			lines = append(lines, fmt.Sprintf("/backstores/ramdisk create r%d 1M", i))
		}
		if err := sh.RunBatch(context.Background(), strings.NewReader(strings.Join(lines, "\n")), BatchOptions{}); err != nil {
			t.Fatal(err)
		}
		lunLine := func(i int) string { return fmt.Sprintf("%s/tpg1/luns create /backstores/ramdisk/r%d", tgt, i) }
		if err := sh.RunBatch(context.Background(), strings.NewReader(lunLine(0)), BatchOptions{}); err != nil {
			t.Fatal(err)
		}
		before := cfs.Counts()
		if err := sh.RunBatch(context.Background(), strings.NewReader(lunLine(1)), BatchOptions{}); err != nil {
			t.Fatal(err)
		}
		one := cfs.Counts().Sub(before)
		before = cfs.Counts()
		if err := sh.RunBatch(context.Background(), strings.NewReader(lunLine(2)+"\n"+lunLine(3)+"\n"+lunLine(4)), BatchOptions{}); err != nil {
			t.Fatal(err)
		}
		three := cfs.Counts().Sub(before)
		// The second and third LUN of a batch resolve the target and
		// TPG from the first: three stats fewer each.
		if got, want := three.Total(), 3*one.Total()-2*3; got > want {
			t.Errorf("three LUN lines in one batch: %v, one alone: %v; want at most %d operations", three, one, want)
		}
	})
	t.Run("a delete in the batch", func(t *testing.T) {
		w := newOpWorld(t)
		sh, _ := w.process()
		script := strings.Join([]string{
			"/backstores/ramdisk create r0 1M",
			"/iscsi create iqn.2003-01.org.example:t",
			tgt + "/tpg1/luns create /backstores/ramdisk/r0",
			"/iscsi delete iqn.2003-01.org.example:t",
			tgt + "/tpg1/luns create /backstores/ramdisk/r0",
		}, "\n")
		err := sh.RunBatch(context.Background(), strings.NewReader(script), BatchOptions{})
		var le *LineError
		var pe *PathError
		if !errors.As(err, &le) || le.Line != 5 || !errors.As(err, &pe) {
			t.Fatalf("err = %v, want line 5: no such path", err)
		}
	})
	t.Run("another process deletes the target", func(t *testing.T) {
		w := newOpWorld(t)
		sh, _ := w.process()
		other, _ := w.process()
		lines := &hookedLines{lines: []string{
			"/backstores/ramdisk create r0 1M",
			"/iscsi create iqn.2003-01.org.example:t",
			tgt + "/tpg1/luns create /backstores/ramdisk/r0",
			tgt + "/tpg1/luns create /backstores/ramdisk/r0",
		}, before: map[int]func(){3: func() {
			if err := other.Exec(context.Background(), "/iscsi delete iqn.2003-01.org.example:t"); err != nil {
				t.Fatal(err)
			}
		}}}
		err := sh.RunBatch(context.Background(), lines, BatchOptions{})
		var le *LineError
		var pe *PathError
		if !errors.As(err, &le) || le.Line != 4 || !errors.As(err, &pe) {
			t.Fatalf("err = %v, want line 4: no such path", err)
		}
		if n, err := other.Resolve(tgt); err == nil {
			t.Fatalf("%s is back: %v", tgt, n.path)
		}
	})
}
