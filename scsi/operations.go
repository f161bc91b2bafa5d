package scsi

import "encoding/binary"

// Operation codes.
const (
	opTestUnitReady          = 0x00
	opRequestSense           = 0x03
	opFormatUnit             = 0x04
	opRead6                  = 0x08
	opWrite6                 = 0x0a
	opInquiry                = 0x12
	opModeSelect6            = 0x15
	opModeSense6             = 0x1a
	opStartStopUnit          = 0x1b
	opPreventAllow           = 0x1e
	opReadCapacity10         = 0x25
	opRead10                 = 0x28
	opWrite10                = 0x2a
	opWriteAndVerify10       = 0x2e
	opVerify10               = 0x2f
	opPreFetch10             = 0x34
	opSynchronizeCache10     = 0x35
	opReadDefectData10       = 0x37
	opWriteSame10            = 0x41
	opUnmap                  = 0x42
	opSanitize               = 0x48
	opModeSelect10           = 0x55
	opModeSense10            = 0x5a
	opRead16                 = 0x88
	opCompareAndWrite        = 0x89
	opWrite16                = 0x8a
	opORWrite16              = 0x8b
	opWriteAndVerify16       = 0x8e
	opVerify16               = 0x8f
	opPreFetch16             = 0x90
	opSynchronizeCache16     = 0x91
	opWriteSame16            = 0x93
	opWriteAtomic16          = 0x9c
	opServiceActionIn16      = 0x9e
	opReportLUNs             = 0xa0
	opMaintenanceIn          = 0xa3
	opRead12                 = 0xa8
	opWrite12                = 0xaa
	opWriteAndVerify12       = 0xae
	opVerify12               = 0xaf
	opReadDefectData12       = 0xb7
	saReadCapacity16         = 0x10
	saGetLBAStatus           = 0x12
	saReportSupportedOpcodes = 0x0c
	saSanitizeOverwrite      = 0x01
	saSanitizeBlockErase     = 0x02
	saSanitizeExitFailure    = 0x1f
)

// operation is one supported command: how to run it and the CDB usage data
// (a mask of the bits the device server uses; bytes 0 and, with a service
// action, the low bits of byte 1 identify the command). The same mask
// rejects CDBs with bits it does not cover and answers REPORT SUPPORTED
// OPERATION CODES, so the two always agree.
type operation struct {
	opcode           byte
	serviceAction    uint16
	hasServiceAction bool
	usage            []byte
	// writes marks commands refused with WRITE PROTECTED on a read-only
	// backend.
	writes bool
	// recommendedTimeout is reported in the command timeouts descriptor, in
	// seconds.
	recommendedTimeout uint32
	exec               func(d *Disk, cmd *Command, st *initiatorState) senseData
}

func (d *Disk) registerOperations() {
	const ioTimeout = 30
	const longTimeout = 3600
	add := func(op *operation) {
		if op.recommendedTimeout == 0 {
			op.recommendedTimeout = ioTimeout
		}
		if op.hasServiceAction {
			d.saOps = append(d.saOps, op)
		} else {
			d.ops[op.opcode] = op
		}
		d.allOps = append(d.allOps, op)
	}
	// The list is in operation code order so that REPORT SUPPORTED
	// OPERATION CODES reads naturally.
	add(&operation{opcode: opTestUnitReady, usage: []byte{opTestUnitReady, 0, 0, 0, 0, 0},
		exec: (*Disk).testUnitReady})
	add(&operation{opcode: opRequestSense, usage: []byte{opRequestSense, 0x01, 0, 0, 0xff, 0},
		exec: (*Disk).requestSense})
	add(&operation{opcode: opFormatUnit, usage: []byte{opFormatUnit, 0x3f, 0, 0, 0, 0},
		writes: true, recommendedTimeout: longTimeout, exec: (*Disk).formatUnit})
	add(&operation{opcode: opRead6, usage: []byte{opRead6, 0x1f, 0xff, 0xff, 0xff, 0},
		exec: (*Disk).read})
	add(&operation{opcode: opWrite6, usage: []byte{opWrite6, 0x1f, 0xff, 0xff, 0xff, 0},
		writes: true, exec: (*Disk).write})
	add(&operation{opcode: opInquiry, usage: []byte{opInquiry, 0x01, 0xff, 0xff, 0xff, 0},
		exec: (*Disk).inquiry})
	add(&operation{opcode: opModeSelect6, usage: []byte{opModeSelect6, 0x10, 0, 0, 0xff, 0},
		exec: (*Disk).modeSelect})
	add(&operation{opcode: opModeSense6, usage: []byte{opModeSense6, 0x08, 0xff, 0xff, 0xff, 0},
		exec: (*Disk).modeSense})
	add(&operation{opcode: opStartStopUnit, usage: []byte{opStartStopUnit, 0x01, 0, 0, 0x07, 0},
		exec: (*Disk).startStopUnit})
	add(&operation{opcode: opPreventAllow, usage: []byte{opPreventAllow, 0, 0, 0, 0x03, 0},
		exec: (*Disk).preventAllow})
	add(&operation{opcode: opReadCapacity10,
		usage: []byte{opReadCapacity10, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0},
		exec:  (*Disk).readCapacity10})
	add(&operation{opcode: opRead10,
		usage: []byte{opRead10, 0x1e, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0},
		exec:  (*Disk).read})
	add(&operation{opcode: opWrite10,
		usage:  []byte{opWrite10, 0x1a, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0},
		writes: true, exec: (*Disk).write})
	add(&operation{opcode: opWriteAndVerify10,
		usage:  []byte{opWriteAndVerify10, 0x12, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0},
		writes: true, exec: (*Disk).write})
	add(&operation{opcode: opVerify10,
		usage: []byte{opVerify10, 0x16, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0},
		exec:  (*Disk).verify})
	add(&operation{opcode: opPreFetch10,
		usage: []byte{opPreFetch10, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0},
		exec:  (*Disk).preFetch})
	add(&operation{opcode: opSynchronizeCache10,
		usage: []byte{opSynchronizeCache10, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0},
		exec:  (*Disk).synchronizeCache})
	add(&operation{opcode: opReadDefectData10,
		usage: []byte{opReadDefectData10, 0, 0x1f, 0, 0, 0, 0, 0xff, 0xff, 0},
		exec:  (*Disk).readDefectData})
	add(&operation{opcode: opWriteSame10,
		usage:  []byte{opWriteSame10, 0x08, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0},
		writes: true, recommendedTimeout: longTimeout, exec: (*Disk).writeSame})
	if d.unmapper != nil {
		add(&operation{opcode: opUnmap,
			usage:  []byte{opUnmap, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0},
			writes: true, recommendedTimeout: longTimeout, exec: (*Disk).unmap})
	}
	for _, sa := range []byte{saSanitizeOverwrite, saSanitizeBlockErase, saSanitizeExitFailure} {
		add(&operation{opcode: opSanitize, serviceAction: uint16(sa), hasServiceAction: true,
			usage:  []byte{opSanitize, 0xa0 | sa, 0, 0, 0, 0, 0, 0xff, 0xff, 0},
			writes: sa != saSanitizeExitFailure, recommendedTimeout: longTimeout, exec: (*Disk).sanitize})
	}
	add(&operation{opcode: opModeSelect10,
		usage: []byte{opModeSelect10, 0x10, 0, 0, 0, 0, 0, 0xff, 0xff, 0},
		exec:  (*Disk).modeSelect})
	add(&operation{opcode: opModeSense10,
		usage: []byte{opModeSense10, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0},
		exec:  (*Disk).modeSense})
	if d.copyTargets != nil {
		add(&operation{opcode: opExtendedCopy, serviceAction: saExtendedCopyLID1, hasServiceAction: true,
			usage:  []byte{opExtendedCopy, saExtendedCopyLID1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0},
			writes: false, recommendedTimeout: longTimeout, exec: (*Disk).extendedCopy})
		add(&operation{opcode: opReceiveCopyResults, serviceAction: saOperatingParameters, hasServiceAction: true,
			usage: []byte{opReceiveCopyResults, saOperatingParameters, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0},
			exec:  (*Disk).receiveCopyResults})
	}
	add(&operation{opcode: opRead16,
		usage: []byte{opRead16, 0x1e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		exec:  (*Disk).read})
	add(&operation{opcode: opCompareAndWrite,
		usage:  []byte{opCompareAndWrite, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0xff, 0, 0},
		writes: true, exec: (*Disk).compareAndWrite})
	add(&operation{opcode: opWrite16,
		usage:  []byte{opWrite16, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		writes: true, exec: (*Disk).write})
	add(&operation{opcode: opORWrite16,
		usage:  []byte{opORWrite16, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		writes: true, exec: (*Disk).orWrite})
	add(&operation{opcode: opWriteAndVerify16,
		usage:  []byte{opWriteAndVerify16, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		writes: true, exec: (*Disk).write})
	add(&operation{opcode: opVerify16,
		usage: []byte{opVerify16, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		exec:  (*Disk).verify})
	add(&operation{opcode: opPreFetch16,
		usage: []byte{opPreFetch16, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		exec:  (*Disk).preFetch})
	add(&operation{opcode: opSynchronizeCache16,
		usage: []byte{opSynchronizeCache16, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		exec:  (*Disk).synchronizeCache})
	add(&operation{opcode: opWriteSame16,
		usage:  []byte{opWriteSame16, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		writes: true, recommendedTimeout: longTimeout, exec: (*Disk).writeSame})
	// The ATOMIC BOUNDARY field is not used: no atomic boundary is
	// supported (MAXIMUM ATOMIC BOUNDARY SIZE 0).
	add(&operation{opcode: opWriteAtomic16,
		usage:  []byte{opWriteAtomic16, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0},
		writes: true, exec: (*Disk).writeAtomic})
	add(&operation{opcode: opServiceActionIn16, serviceAction: saReadCapacity16, hasServiceAction: true,
		usage: []byte{opServiceActionIn16, saReadCapacity16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0},
		exec:  (*Disk).readCapacity16})
	add(&operation{opcode: opServiceActionIn16, serviceAction: saGetLBAStatus, hasServiceAction: true,
		usage: []byte{opServiceActionIn16, saGetLBAStatus, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		exec:  (*Disk).getLBAStatus})
	add(&operation{opcode: opMaintenanceIn, serviceAction: saReportSupportedOpcodes, hasServiceAction: true,
		usage: []byte{opMaintenanceIn, saReportSupportedOpcodes, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		exec:  (*Disk).reportSupportedOpcodes})
	if d.alua != nil {
		add(&operation{opcode: opMaintenanceIn, serviceAction: saReportTargetPGs, hasServiceAction: true,
			usage: []byte{opMaintenanceIn, rtpgExtendedHeader | saReportTargetPGs, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0},
			exec:  (*Disk).reportTargetPortGroups})
		add(&operation{opcode: opMaintenanceOut, serviceAction: saSetTargetPGs, hasServiceAction: true,
			usage: []byte{opMaintenanceOut, saSetTargetPGs, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0},
			exec:  (*Disk).setTargetPortGroups})
	}
	add(&operation{opcode: opRead12,
		usage: []byte{opRead12, 0x1e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		exec:  (*Disk).read})
	add(&operation{opcode: opWrite12,
		usage:  []byte{opWrite12, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		writes: true, exec: (*Disk).write})
	add(&operation{opcode: opWriteAndVerify12,
		usage:  []byte{opWriteAndVerify12, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		writes: true, exec: (*Disk).write})
	add(&operation{opcode: opVerify12,
		usage: []byte{opVerify12, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		exec:  (*Disk).verify})
	add(&operation{opcode: opReadDefectData12,
		usage: []byte{opReadDefectData12, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0},
		exec:  (*Disk).readDefectData})
}

// reportSupportedOpcodes answers REPORT SUPPORTED OPERATION CODES (SPC-4
// 6.35) in the all-commands form and the three one-command forms.
func (d *Disk) reportSupportedOpcodes(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	rctd := cdb[2]&0x80 != 0
	options := cdb[2] & 0x07
	reqOpcode := cdb[3]
	reqSA := binary.BigEndian.Uint16(cdb[4:6])
	alloc := int(binary.BigEndian.Uint32(cdb[6:10]))

	var resp []byte
	switch options {
	case 0:
		per := 8
		if rctd {
			per += 12
		}
		resp = make([]byte, 4, 4+per*len(d.allOps))
		for _, op := range d.allOps {
			var desc [8]byte
			desc[0] = op.opcode
			binary.BigEndian.PutUint16(desc[2:], op.serviceAction)
			if op.hasServiceAction {
				desc[5] |= 0x01 // SERVACTV
			}
			if rctd {
				desc[5] |= 0x02 // CTDP
			}
			binary.BigEndian.PutUint16(desc[6:], uint16(len(op.usage)))
			resp = append(resp, desc[:]...)
			if rctd {
				resp = appendTimeouts(resp, op)
			}
		}
		binary.BigEndian.PutUint32(resp[0:], uint32(len(resp)-4))
	case 1, 2, 3:
		var op *operation
		var found bool
		if byOpcode := d.ops[reqOpcode]; byOpcode != nil {
			if options == 2 {
				// The command has no service actions.
				return invalidCDB(2, 2)
			}
			op = byOpcode
		} else {
			for _, o := range d.saOps {
				if o.opcode != reqOpcode {
					continue
				}
				found = true
				if o.serviceAction == reqSA {
					op = o
				}
			}
			if found && options == 1 {
				// This operation code needs a service action to name a command.
				return invalidCDB(2, 2)
			}
		}
		resp = make([]byte, 4, 64)
		if op == nil {
			resp[1] = 0x01 // not supported
			break
		}
		resp[1] = 0x03 // supported as the standard says
		if rctd {
			resp[1] |= 0x80 // CTDP
		}
		binary.BigEndian.PutUint16(resp[2:], uint16(len(op.usage)))
		resp = append(resp, op.usage...)
		if rctd {
			resp = appendTimeouts(resp, op)
		}
	default:
		return invalidCDB(2, 2)
	}
	d.dataIn(cmd, resp, alloc)
	return good
}

// appendTimeouts appends a command timeouts descriptor (SPC-4 6.35.4).
func appendTimeouts(resp []byte, op *operation) []byte {
	var t [12]byte
	binary.BigEndian.PutUint16(t[0:], 0x0a)
	binary.BigEndian.PutUint32(t[4:], 0) // nominal: not specified
	binary.BigEndian.PutUint32(t[8:], op.recommendedTimeout)
	return append(resp, t[:]...)
}

// dataIn sends a response truncated to the allocation length and to the
// data-in buffers, recording the length sent.
func (d *Disk) dataIn(cmd *Command, resp []byte, alloc int) {
	// A negative alloc is a 32-bit field that overflowed int: no limit.
	if alloc >= 0 && alloc < len(resp) {
		resp = resp[:alloc]
	}
	cmd.ReadLen = scatter(cmd.Data, resp)
}
