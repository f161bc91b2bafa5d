package tcmu

import "github.com/tcmsh/tcmsh/scsi"

// Sense keys and additional sense codes the ring itself reports, for entries
// it cannot hand to the handler.
const (
	senseKeyNotReady       = 0x2
	senseKeyHardwareError  = 0x4
	senseKeyIllegalRequest = 0x5

	ascInvalidOpcode          = 0x20
	ascInternalTargetFailure  = 0x44
	ascInvalidFieldInCDB      = 0x24
	fixedSenseResponseCurrent = 0x70
	fixedSenseAddLenMinimum   = 10
)

// setCheckCondition puts a fixed-format sense (SPC-4 4.5.3) into cmd.
func setCheckCondition(cmd *scsi.Command, key, asc, ascq byte) {
	cmd.Status = scsi.StatusCheckCondition
	clear(cmd.Sense[:18])
	cmd.Sense[0] = fixedSenseResponseCurrent
	cmd.Sense[2] = key
	cmd.Sense[7] = fixedSenseAddLenMinimum
	cmd.Sense[12] = asc
	cmd.Sense[13] = ascq
	cmd.SenseLen = 18
}

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
