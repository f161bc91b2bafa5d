package scsi

import "sync"

// rangeLocks makes COMPARE AND WRITE atomic against other commands on the
// same blocks. The LBA space is cut into chunks of stripeBlocks blocks and
// chunk c maps to stripe c mod numStripes. Ordinary reads and writes take the
// stripes of their range shared, so they still run in parallel with each
// other; COMPARE AND WRITE takes them exclusive. Every command takes its
// stripes in ascending index order, so two commands never deadlock.
type rangeLocks struct {
	stripes [numStripes]paddedRWMutex
}

const (
	numStripes   = 64
	stripeShift  = 11 // 2048 blocks per chunk
	stripeBlocks = 1 << stripeShift
)

// paddedRWMutex keeps each stripe on its own cache line so that commands on
// different stripes do not slow each other down.
type paddedRWMutex struct {
	sync.RWMutex
	_ [64 - 24]byte
}

// span returns the stripe indexes a range of blocks covers as at most two
// ascending intervals [lo1,hi1] and [lo2,hi2] (the second empty when hi2 < lo2).
func span(lba uint64, blocks uint64) (lo1, hi1, lo2, hi2 int) {
	if blocks == 0 {
		blocks = 1
	}
	first := lba >> stripeShift
	last := (lba + blocks - 1) >> stripeShift
	if last < first || last-first >= numStripes-1 {
		return 0, numStripes - 1, 1, 0
	}
	s0 := int(first % numStripes)
	s1 := int(last % numStripes)
	if s0 <= s1 {
		return s0, s1, 1, 0
	}
	// Wrapped: take 0..s1 first, then s0..end, to keep ascending order.
	return 0, s1, s0, numStripes - 1
}

func (l *rangeLocks) rlock(lba, blocks uint64) {
	lo1, hi1, lo2, hi2 := span(lba, blocks)
	for i := lo1; i <= hi1; i++ {
		l.stripes[i].RLock()
	}
	for i := lo2; i <= hi2; i++ {
		l.stripes[i].RLock()
	}
}

func (l *rangeLocks) runlock(lba, blocks uint64) {
	lo1, hi1, lo2, hi2 := span(lba, blocks)
	for i := lo1; i <= hi1; i++ {
		l.stripes[i].RUnlock()
	}
	for i := lo2; i <= hi2; i++ {
		l.stripes[i].RUnlock()
	}
}

func (l *rangeLocks) lock(lba, blocks uint64) {
	lo1, hi1, lo2, hi2 := span(lba, blocks)
	for i := lo1; i <= hi1; i++ {
		l.stripes[i].Lock()
	}
	for i := lo2; i <= hi2; i++ {
		l.stripes[i].Lock()
	}
}

func (l *rangeLocks) unlock(lba, blocks uint64) {
	lo1, hi1, lo2, hi2 := span(lba, blocks)
	for i := lo1; i <= hi1; i++ {
		l.stripes[i].Unlock()
	}
	for i := lo2; i <= hi2; i++ {
		l.stripes[i].Unlock()
	}
}

// The whole LBA space, for commands on every block and for resizing.
const allBlocks = numStripes * stripeBlocks

func (l *rangeLocks) rlockAll()   { l.rlock(0, allBlocks) }
func (l *rangeLocks) runlockAll() { l.runlock(0, allBlocks) }
func (l *rangeLocks) lockAll()    { l.lock(0, allBlocks) }
func (l *rangeLocks) unlockAll()  { l.unlock(0, allBlocks) }
