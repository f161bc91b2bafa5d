package scsi

import (
	"runtime"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// FuzzExecute runs arbitrary CDBs with arbitrary data-out buffers against
// disks of arbitrary capacity: never a panic, always GOOD or CHECK CONDITION
// with well-formed sense, never more data-in than the buffers hold, never a
// backend access outside the capacity (the test backend records any).
func FuzzExecute(f *testing.F) {
	f.Add([]byte{opRead10, 0, 0, 0, 0, 0, 0, 0, 1, 0}, make([]byte, 512), uint16(8), byte(0), byte(0))
	f.Add([]byte{opWrite16, 0x08, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0}, make([]byte, 512), uint16(8), byte(1), byte(3))
	f.Add([]byte{opUnmap, 0, 0, 0, 0, 0, 0, 0, 24, 0}, []byte{0, 22, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0}, uint16(16), byte(1), byte(0))
	f.Add([]byte{opCompareAndWrite, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0}, make([]byte, 1024), uint16(4), byte(0), byte(5))
	f.Add([]byte{opModeSelect6, 0x10, 0, 0, 24, 0}, []byte{0, 0, 0, 0, 8, 18, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint16(8), byte(0), byte(0))
	f.Add([]byte{opWriteSame16, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}, []byte{}, uint16(8), byte(1), byte(0))
	f.Add([]byte{opServiceActionIn16, saGetLBAStatus, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0x48, 0, 0}, make([]byte, 72), uint16(40), byte(0x01), byte(0))
	f.Add([]byte{opMaintenanceIn, saReportSupportedOpcodes, 0x80, 0, 0, 0, 0, 0, 4, 0, 0, 0}, make([]byte, 1024), uint16(1), byte(0), byte(0))
	f.Fuzz(func(t *testing.T, cdb, data []byte, capacity uint16, capsBits, split byte) {
		blockSizes := [...]uint32{512, 4096, 1024, 2048}
		bs := blockSizes[capsBits>>6]
		blocks := int64(capacity%160) + 1
		caps := backends.Caps{
			Unmap:       capsBits&0x01 != 0,
			UnmapZeroes: capsBits&0x02 != 0,
			WriteZeroes: capsBits&0x04 != 0,
			FUA:         capsBits&0x08 != 0,
			ReadOnly:    capsBits&0x10 != 0,
			Mapping:     true, // used only with Unmap
		}
		m := newMemBackend(blocks*int64(bs), caps)
		if caps.Unmap {
			// Some sectors deallocated, in a pattern split chooses, for
			// GET LBA STATUS to describe.
			for i := int64(0); i < blocks*int64(bs)/memSector; i++ {
				if (i/3+int64(split))%4 == 0 {
					m.setDealloc(i*memSector, memSector, true)
				}
			}
		}
		cfg := testConfig()
		cfg.BlockSize = bs
		cfg.WriteCache = capsBits&0x20 != 0
		cfg.MaxSectors = 64
		cfg.MaxUnmapBlocks = 300
		cfg.MaxWriteSameBlocks = 300
		if split&0x80 != 0 {
			cfg.ALUA = twoGroups() // REPORT and SET TARGET PORT GROUPS
		}
		pool := &copyPool{}
		if split&0x40 != 0 {
			cfg.CopyTargets = pool // EXTENDED COPY within the disk
		}
		d, err := NewDisk(cfg, m)
		if err != nil {
			t.Fatalf("NewDisk: %v", err)
		}
		*pool = append(*pool, d)
		// Cut the data into buffers at sizes derived from split, so that
		// transfers cross buffer boundaries at odd places.
		var bufs [][]byte
		step := int(split)%97 + 1
		for rest := data; len(rest) > 0; {
			n := min(step, len(rest))
			bufs = append(bufs, rest[:n])
			rest = rest[n:]
			step = step*3%251 + 1
		}
		total := totalLen(bufs)
		for i := 0; i < 2; i++ { // twice: the second sees state the first left
			cmd := &Command{CDB: cdb, Data: bufs, Initiator: uint32(i)}
			d.Execute(cmd)
			switch cmd.Status {
			case StatusGood, StatusConditionMet:
				if cmd.SenseLen != 0 {
					t.Fatalf("GOOD with %d bytes of sense", cmd.SenseLen)
				}
			case StatusCheckCondition:
				if cmd.SenseLen <= 0 || cmd.SenseLen > SenseSize {
					t.Fatalf("CHECK CONDITION with %d bytes of sense", cmd.SenseLen)
				}
				if _, err := parseSense(cmd.Sense[:cmd.SenseLen]); err != nil {
					t.Fatalf("sense % x: %v", cmd.Sense[:cmd.SenseLen], err)
				}
			default:
				t.Fatalf("status %#x", cmd.Status)
			}
			if cmd.ReadLen < 0 || cmd.ReadLen > total {
				t.Fatalf("ReadLen %d with %d bytes of buffers", cmd.ReadLen, total)
			}
		}
		// A SANITIZE with IMMED goes on in the background: let it end.
		for {
			d.sanitizer.mu.Lock()
			running := d.sanitizer.running
			d.sanitizer.mu.Unlock()
			if !running {
				break
			}
			runtime.Gosched()
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if len(m.violations) > 0 {
			t.Fatalf("backend access outside the rules: %v", m.violations)
		}
		if int64(len(m.data)) != blocks*int64(bs) {
			t.Fatalf("backend resized to %d", len(m.data))
		}
	})
}
