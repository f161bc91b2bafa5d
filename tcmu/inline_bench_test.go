package tcmu

import (
	"context"
	"fmt"
	"testing"

	"github.com/tcmsh/tcmsh/scsi"
)

// refillDevice is a Device whose Wait, on the ring goroutine, puts the next
// batch of READ(10) commands into the ring: the ring's own cost per
// command (take, answer, notify), with no thread to wake.
type refillDevice struct {
	rr    *rawRegion
	batch int
	left  int                // commands still to post
	done  context.CancelFunc // called once every command was posted and answered
}

func (d *refillDevice) Region() []byte { return d.rr.region }
func (d *refillDevice) Notify() error  { return nil }
func (d *refillDevice) Close() error   { return nil }
func (d *refillDevice) StopWaiting()   {}

func (d *refillDevice) Wait() error {
	if d.left == 0 {
		d.done() // a clean stop: Run returns nil
		return ErrWaitStopped
	}
	read10 := []byte{0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0}
	for range min(d.batch, d.left) {
		d.rr.addCmd(uint16(d.left), read10, [2]uint64{d.rr.dataOff(), 4096})
		d.left--
	}
	Mailbox(d.rr.region).StoreHead(d.rr.head)
	return nil
}

// nopHandler answers GOOD without touching the data: the ring's cost alone.
type nopHandler struct{}

func (nopHandler) Execute(cmd *scsi.Command) { cmd.Status = scsi.StatusGood }

// BenchmarkInlineCommand is the ring goroutine's cost per command answered
// inline (4 KiB READ(10)), batches of 1 (QD 1) and 16, statistics on: what
// a command costs in Go beyond the two system calls the kernel needs.
func BenchmarkInlineCommand(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			entry := uint32(CmdEntryLen(1, 10))
			rr := newRawRegion((uint32(batch)+1)*entry, 4096, FlagCapOOOC|FlagCapReadLen)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dev := &refillDevice{rr: rr, batch: batch, left: b.N, done: cancel}
			r, err := NewRing(dev, RingConfig{Handler: nopHandler{}, QueueDepth: 16,
				Inline: func([]byte) bool { return true }})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := r.Run(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if got := r.Stats().Snapshot().Commands; got != uint64(b.N) {
				b.Fatalf("%d commands answered, want %d", got, b.N)
			}
		})
	}
}
