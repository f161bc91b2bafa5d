package tcmu

// cdbLBA returns the logical block address of the common block commands,
// for the recent-commands log.
func cdbLBA(cdb []byte) uint64 {
	if len(cdb) == 0 {
		return 0
	}
	be := func(b []byte) uint64 {
		var v uint64
		for _, c := range b {
			v = v<<8 | uint64(c)
		}
		return v
	}
	switch cdb[0] >> 5 {
	case 0:
		if len(cdb) >= 4 {
			return be(cdb[1:4]) & 0x1fffff
		}
	case 1, 2, 5:
		if len(cdb) >= 6 {
			return be(cdb[2:6])
		}
	case 4:
		if len(cdb) >= 10 {
			return be(cdb[2:10])
		}
	}
	return 0
}
