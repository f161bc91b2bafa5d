package scsi

// Quick reports whether the command in cdb costs no more than copying its
// own data buffers, given a backend that answers from memory: the reads
// and writes (6, 10, 12 and 16) and the small commands an initiator sends
// while it attaches (TEST UNIT READY, REQUEST SENSE, INQUIRY, MODE SENSE,
// READ CAPACITY). A transport may run such a command on the thread that
// received it. The others either work on a range the CDB names rather
// than on their buffers (WRITE SAME, UNMAP, VERIFY, FORMAT UNIT, GET LBA
// STATUS), flush (SYNCHRONIZE CACHE), or hold a range exclusively
// (COMPARE AND WRITE), and are better run where waiting stops nothing.
func Quick(cdb []byte) bool {
	if len(cdb) == 0 {
		return false
	}
	switch cdb[0] {
	case opRead6, opRead10, opRead12, opRead16,
		opWrite6, opWrite10, opWrite12, opWrite16,
		opTestUnitReady, opRequestSense, opInquiry,
		opModeSense6, opModeSense10, opReadCapacity10:
		return true
	case opServiceActionIn16:
		return len(cdb) > 1 && cdb[1]&0x1f == saReadCapacity16
	}
	return false
}
