package cli

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// outputDelay bounds how long a line written by a one-shot or batch
// command may wait in the buffer before it is written out.
const outputDelay = 100 * time.Millisecond

// bufferedOutput collects what a one-shot or batch command prints to a
// file or pipe and writes it in large pieces: `ls` of a few hundred
// objects printed one write(2) per line, a tenth of its system calls and,
// on a guest whose every call is slow, a tenth of its time. A line waits
// at most outputDelay (a long command's progress still shows), and
// everything is written out before anything goes to stderr (see
// flushingFirst), so the two keep their order in one file.
type bufferedOutput struct {
	mu    sync.Mutex
	w     *bufio.Writer
	timer *time.Timer
}

func newBufferedOutput(w io.Writer) *bufferedOutput {
	return &bufferedOutput{w: bufio.NewWriterSize(w, 64<<10)}
}

func (b *bufferedOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.w.Write(p)
	if b.timer == nil && b.w.Buffered() > 0 {
		b.timer = time.AfterFunc(outputDelay, func() { _ = b.Flush() })
	}
	return n, err
}

// Flush writes out what is buffered.
func (b *bufferedOutput) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	return b.w.Flush()
}

// flushingFirst is stderr behind a bufferedOutput: what stdout holds is
// written out before each message.
type flushingFirst struct {
	out *bufferedOutput
	w   io.Writer
}

func (f flushingFirst) Write(p []byte) (int, error) {
	_ = f.out.Flush()
	return f.w.Write(p)
}
