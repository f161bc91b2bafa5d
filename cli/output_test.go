package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is one file both streams write to.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBufferedOutputKeepsOrder: lines printed to stdout reach the file in
// one write, before a message to stderr that followed them.
func TestBufferedOutputKeepsOrder(t *testing.T) {
	var file lockedBuffer
	out := newBufferedOutput(&file)
	errw := flushingFirst{out: out, w: &file}
	for i := range 100 {
		_, _ = out.Write([]byte(strings.Repeat("x", i%7) + "\n"))
	}
	_, _ = errw.Write([]byte("line 3: refused\n"))
	_, _ = out.Write([]byte("after\n"))
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	got := file.String()
	if !strings.HasSuffix(got, "\nline 3: refused\nafter\n") || strings.Count(got, "\n") != 102 {
		t.Errorf("the file holds %q", got)
	}
	if file.writes != 3 {
		t.Errorf("%d writes, want 3 (the lines, the message, the rest)", file.writes)
	}
}

// TestBufferedOutputShowsProgress: a line is written out without a Flush
// once outputDelay has passed (a long command's progress is not held).
func TestBufferedOutputShowsProgress(t *testing.T) {
	var file lockedBuffer
	out := newBufferedOutput(&file)
	_, _ = out.Write([]byte("progress 10%\n"))
	deadline := time.Now().Add(10 * time.Second) // bounds a broken run only
	for file.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the line was never written out")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := file.String(); got != "progress 10%\n" {
		t.Errorf("%q", got)
	}
}
