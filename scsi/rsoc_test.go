package scsi

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// rsocEntry is one command descriptor of the all-commands form.
type rsocEntry struct {
	opcode   byte
	sa       uint16
	servactv bool
	cdbLen   int
	timeout  uint32 // recommended, when CTDP
}

func parseAllCommands(t *testing.T, b []byte, rctd bool) []rsocEntry {
	t.Helper()
	if len(b) < 4 || int(binary.BigEndian.Uint32(b))+4 != len(b) {
		t.Fatalf("command data length %d for %d bytes", binary.BigEndian.Uint32(b), len(b))
	}
	var out []rsocEntry
	for d := b[4:]; len(d) > 0; {
		if len(d) < 8 {
			t.Fatalf("truncated descriptor % x", d)
		}
		e := rsocEntry{opcode: d[0], sa: binary.BigEndian.Uint16(d[2:]), servactv: d[5]&1 != 0, cdbLen: int(binary.BigEndian.Uint16(d[6:]))}
		ctdp := d[5]&0x02 != 0
		if ctdp != rctd {
			t.Fatalf("CTDP %v with RCTD %v", ctdp, rctd)
		}
		d = d[8:]
		if ctdp {
			if len(d) < 12 || binary.BigEndian.Uint16(d) != 0x0a {
				t.Fatalf("bad timeouts descriptor % x", d)
			}
			e.timeout = binary.BigEndian.Uint32(d[8:])
			d = d[12:]
		}
		out = append(out, e)
	}
	return out
}

func TestReportSupportedOperationCodes(t *testing.T) {
	d, _ := newTestDisk(t, 64, thinCaps, nil)
	cmd, b := runIn(d, rsocCDB(false, 0, 0, 0, 4096), 4096)
	wantGood(t, cmd)
	all := parseAllCommands(t, b, false)
	if len(all) != len(d.allOps) {
		t.Fatalf("%d commands reported, %d supported", len(all), len(d.allOps))
	}
	seen := map[[2]uint16]bool{}
	for _, e := range all {
		seen[[2]uint16{uint16(e.opcode), e.sa}] = true
	}
	for _, want := range [][2]uint16{{opRead10, 0}, {opWrite16, 0}, {opUnmap, 0}, {opWriteSame16, 0}, {opCompareAndWrite, 0},
		{opServiceActionIn16, saReadCapacity16}, {opServiceActionIn16, saGetLBAStatus}, {opMaintenanceIn, saReportSupportedOpcodes},
		{opVerify12, 0}, {opWriteAndVerify12, 0}, {opPreFetch10, 0}, {opPreFetch16, 0}, {opReadDefectData10, 0},
		{opReadDefectData12, 0}, {opSanitize, saSanitizeOverwrite}, {opSanitize, saSanitizeBlockErase},
		{opSanitize, saSanitizeExitFailure}, {opORWrite16, 0}, {opWriteAtomic16, 0}} {
		if !seen[want] {
			t.Errorf("%#x/%#x not reported", want[0], want[1])
		}
	}

	// With RCTD every descriptor carries timeouts.
	cmd, b = runIn(d, rsocCDB(true, 0, 0, 0, 4096), 4096)
	wantGood(t, cmd)
	for _, e := range parseAllCommands(t, b, true) {
		if e.timeout == 0 {
			t.Errorf("%#x: no recommended timeout", e.opcode)
		}
	}

	// Every one-command answer agrees with the all-commands list, and its
	// usage data accepts exactly what the command accepts.
	for _, e := range all {
		options := byte(1)
		if e.servactv {
			options = 2
		}
		cmd, one := runIn(d, rsocCDB(false, options, e.opcode, e.sa, 512), 512)
		wantGood(t, cmd)
		if one[1]&0x07 != 3 || int(binary.BigEndian.Uint16(one[2:])) != e.cdbLen || len(one) != 4+e.cdbLen {
			t.Fatalf("%#x/%#x: one-command answer % x", e.opcode, e.sa, one)
		}
		usage := one[4:]
		if usage[0] != e.opcode || (e.servactv && uint16(usage[1]&0x1f) != e.sa) {
			t.Fatalf("%#x/%#x: usage data % x", e.opcode, e.sa, usage)
		}
		checkUsageAgrees(t, d, e, usage)

		// Reporting options 3 gives the same answer.
		cmd, three := runIn(d, rsocCDB(false, 3, e.opcode, e.sa, 512), 512)
		wantGood(t, cmd)
		if !bytes.Equal(three, one) {
			t.Fatalf("%#x/%#x: options 3 % x, options 1/2 % x", e.opcode, e.sa, three, one)
		}
	}
}

// checkUsageAgrees sets, one at a time, every bit the usage data marks
// unused and checks that the command refuses it with a pointer to that bit.
func checkUsageAgrees(t *testing.T, d *Disk, e rsocEntry, usage []byte) {
	t.Helper()
	last := len(usage) - 1
	for i := 1; i < len(usage); i++ {
		for bit := 0; bit < 8; bit++ {
			if usage[i]&(1<<bit) != 0 || (i == last && bit > 2) {
				continue
			}
			if e.servactv && i == 1 && bit < 5 {
				continue // the service action field names the command
			}
			cdb := make([]byte, len(usage))
			cdb[0] = e.opcode
			if e.servactv {
				cdb[1] = byte(e.sa)
			}
			cdb[i] |= 1 << bit
			cmd := run(d, 0, cdb, make([]byte, 4096))
			p := wantCheck(t, cmd, SenseKeyIllegalRequest, 0x24, 0)
			wantField(t, p, true, i, bit)
		}
	}
}

func TestReportSupportedOperationCodesOneCommand(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "WRITE SAME(16) supported", cdb: rsocCDB(false, 1, opWriteSame16, 0, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				want := []byte{0, 3, 0, 16, opWriteSame16, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}
				if !bytes.Equal(b, want) {
					t.Fatalf("got % x\nwant % x", b, want)
				}
			}},
		{name: "UNMAP not supported when thick", cdb: rsocCDB(false, 1, opUnmap, 0, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if !bytes.Equal(b, []byte{0, 1, 0, 0}) {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "UNMAP supported when thin", caps: thinCaps, cdb: rsocCDB(false, 1, opUnmap, 0, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[1] != 3 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "unknown operation code", cdb: rsocCDB(false, 1, 0xc0, 0, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[1]&7 != 1 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "RCTD adds timeouts", cdb: rsocCDB(true, 1, opInquiry, 0, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[1] != 0x83 || len(b) != 4+6+12 || binary.BigEndian.Uint16(b[10:]) != 0x0a {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "options 1 for a service-action command", cdb: rsocCDB(false, 1, opServiceActionIn16, saReadCapacity16, 512), in: 512,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 2, 2}},
		{name: "options 2 for a command without service actions", cdb: rsocCDB(false, 2, opRead10, 0, 512), in: 512,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 2, 2}},
		{name: "options 2 unknown service action", cdb: rsocCDB(false, 2, opServiceActionIn16, 0x1f, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[1]&7 != 1 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "reserved reporting options", cdb: rsocCDB(false, 5, 0, 0, 512), in: 512,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 2, 2}},
		{name: "allocation length truncates", cdb: rsocCDB(false, 0, 0, 0, 10), in: 512,
			check: func(t *testing.T, b []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 10 || binary.BigEndian.Uint32(b) < 8 {
					t.Fatalf("ReadLen %d % x", cmd.ReadLen, b)
				}
			}},
	})
}

// TestUsageDataOfReadOnlyDisk checks that write commands on a read-only
// disk still validate the CDB first.
func TestUsageDataOfReadOnlyDisk(t *testing.T) {
	d, _ := newTestDisk(t, 64, backends.Caps{ReadOnly: true}, nil)
	wantCheck(t, run(d, 0, cdb10(opWrite10, 0x80, 0, 1), make([]byte, 512)), SenseKeyIllegalRequest, 0x24, 0)
	wantCheck(t, run(d, 0, cdb10(opWrite10, 0, 0, 1), make([]byte, 512)), SenseKeyDataProtect, 0x27, 0)
}
