package engine

import (
	"bytes"
	"path"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/scsi"
)

// A user backstore exported through two loopback targets whose LUNs are in
// two ALUA groups: REPORT TARGET PORT GROUPS answers from configfs, SET
// TARGET PORT GROUPS moves the groups in configfs.
func TestALUAFromConfigfs(t *testing.T) {
	l, lio, so := servedOnSim(t, "a1", "ram/")
	fs := lio.FS()
	for i, name := range []string{"left", "right"} {
		g := path.Join(so.Path(), "alua", name)
		if err := fs.Mkdir(g); err != nil {
			t.Fatal(err)
		}
		// The ID first: the kernel takes nothing else before it.
		for _, kv := range [][2]string{{"tg_pt_gp_id", []string{"10", "20"}[i]}, {"alua_access_state", []string{"0", "2"}[i]},
			{"alua_support_offline", "0"}, {"alua_support_transitioning", "0"}} {
			if err := lio.WriteAttr(path.Join(g, kv[0]), kv[1]); err != nil {
				t.Fatalf("%s/%s: %v", g, kv[0], err)
			}
		}
		tgt, err := lio.CreateTarget("loopback", []string{"naa.5001405aaaaaaaa1", "naa.5001405aaaaaaaa2"}[i])
		if err != nil {
			t.Fatal(err)
		}
		tpg, err := lio.CreateTPG(tgt, 1)
		if err != nil {
			t.Fatal(err)
		}
		lun, err := lio.CreateLUN(tpg, 0, so, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := lio.WriteAttr(path.Join(lun.Path(), "alua_tg_pt_gp"), name); err != nil {
			t.Fatal(err)
		}
	}
	rtpi := func(wwn string) uint16 {
		v, err := lio.ReadAttr(path.Join(configfs.Root, "loopback", wwn, "tpgt_1/lun/lun_0/statistics/scsi_port/indx"))
		if err != nil {
			t.Fatal(err)
		}
		var n uint16
		for _, c := range strings.TrimSpace(v) {
			n = n*10 + uint16(c-'0')
		}
		return n
	}
	p1, p2 := rtpi("naa.5001405aaaaaaaa1"), rtpi("naa.5001405aaaaaaaa2")
	disk := l.served(so.Path()).disk

	exec := func(cdb []byte, data []byte) *scsi.Command {
		cmd := &scsi.Command{CDB: cdb, Data: [][]byte{data}}
		disk.Execute(cmd)
		return cmd
	}
	rtpg := func() []byte {
		buf := make([]byte, 256)
		cmd := exec([]byte{0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, buf)
		if cmd.Status != scsi.StatusGood {
			t.Fatalf("RTPG status %#x sense % x", cmd.Status, cmd.Sense[:cmd.SenseLen])
		}
		return buf[:cmd.ReadLen]
	}
	// The kernel's default supported states, less the two turned off.
	const sup = scsi.ALUASupportsUnavailable | scsi.ALUASupportsStandby |
		scsi.ALUASupportsActiveNonOptimized | scsi.ALUASupportsActiveOptimized
	want := []byte{0, 0, 0, 24,
		scsi.ALUAActiveOptimized, sup, 0, 10, 0, scsi.ALUAStatusImplicit, 0, 1, 0, 0, byte(p1 >> 8), byte(p1),
		scsi.ALUAStandby, sup, 0, 20, 0, scsi.ALUAStatusImplicit, 0, 1, 0, 0, byte(p2 >> 8), byte(p2)}
	if got := rtpg(); !bytes.Equal(got, want) {
		t.Fatalf("RTPG\n% x\nwant\n% x", got, want)
	}

	// INQUIRY: implicit and explicit ALUA.
	inq := make([]byte, 96)
	if cmd := exec([]byte{0x12, 0, 0, 0, 96, 0}, inq); cmd.Status != scsi.StatusGood || inq[5]&0x30 != 0x30 {
		t.Fatalf("INQUIRY status %#x byte 5 %#x", cmd.Status, inq[5])
	}

	// SET TARGET PORT GROUPS swaps the states.
	params := []byte{0, 0, 0, 0, scsi.ALUAStandby, 0, 0, 10, scsi.ALUAActiveOptimized, 0, 0, 20}
	stpg := []byte{0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, byte(len(params)), 0, 0}
	if cmd := exec(stpg, params); cmd.Status != scsi.StatusGood {
		t.Fatalf("STPG status %#x sense % x", cmd.Status, cmd.Sense[:cmd.SenseLen])
	}
	for _, c := range []struct{ group, state, status string }{{"left", "2", "Altered by Explicit STPG"}, {"right", "0", "Altered by Explicit STPG"}} {
		g := path.Join(so.Path(), "alua", c.group)
		if st, _ := lio.ReadAttr(path.Join(g, "alua_access_state")); st != c.state {
			t.Errorf("%s: alua_access_state %q, want %s", c.group, st, c.state)
		}
		if st, _ := lio.ReadAttr(path.Join(g, "alua_access_status")); st != c.status {
			t.Errorf("%s: alua_access_status %q, want %s", c.group, st, c.status)
		}
	}
	got := rtpg()
	if got[4]&0x0f != scsi.ALUAStandby || got[16]&0x0f != scsi.ALUAActiveOptimized || got[9] != scsi.ALUAStatusExplicitSTPG {
		t.Fatalf("RTPG after STPG % x", got)
	}
	// A group this device does not have is refused, nothing moves.
	bad := []byte{0, 0, 0, 0, scsi.ALUAActiveOptimized, 0, 0, 10, scsi.ALUAStandby, 0, 0, 30}
	if cmd := exec([]byte{0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, byte(len(bad)), 0, 0}, bad); cmd.Status != scsi.StatusCheckCondition {
		t.Fatalf("STPG of an unknown group: status %#x", cmd.Status)
	}
	if st, _ := lio.ReadAttr(path.Join(so.Path(), "alua", "left", "alua_access_state")); st != "2" {
		t.Fatalf("a refused STPG moved a group: %s", st)
	}
}
