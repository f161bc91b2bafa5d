package scsi

import (
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// TestHotPathAllocatesNothing checks that READ and WRITE of any size, through
// one buffer or many, with or without FUA, allocate nothing.
func TestHotPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	d, _ := newTestDisk(t, 1<<16, thinCaps, nil)
	one := [][]byte{make([]byte, 4096)}
	many := [][]byte{make([]byte, 100), make([]byte, 0), make([]byte, 3000), make([]byte, 996), make([]byte, 512*1024)}
	big := [][]byte{make([]byte, 512*1024)}
	for _, tc := range []struct {
		name string
		cdb  []byte
		bufs [][]byte
	}{
		{"READ(10) 4 KiB", cdb10(opRead10, 0, 8, 8), one},
		{"WRITE(10) 4 KiB", cdb10(opWrite10, 0, 8, 8), one},
		{"WRITE(10) 4 KiB FUA", cdb10(opWrite10, 0x08, 8, 8), one},
		{"READ(16) across buffers", cdb16(opRead16, 0, 1000, 8), many},
		{"WRITE(16) across buffers", cdb16(opWrite16, 0, 1000, 8), many},
		{"READ(12) 512 KiB", cdb12(opRead12, 0, 3000, 1024), big},
		{"WRITE(6) 128 KiB", cdb6(opWrite6, 3000, 0), big},
		{"READ(10) out of range", cdb10(opRead10, 0, 1<<16, 1), one},
	} {
		cmd := &Command{CDB: tc.cdb, Data: tc.bufs, Initiator: 3}
		allocs := testing.AllocsPerRun(100, func() { d.Execute(cmd) })
		if cmd.Status != StatusGood && tc.name != "READ(10) out of range" {
			t.Errorf("%s: status %#x", tc.name, cmd.Status)
		}
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per command", tc.name, allocs)
		}
	}
}

func benchmarkIO(b *testing.B, cdb []byte, caps backends.Caps) {
	d, _ := newTestDisk(b, 1<<16, caps, nil)
	cmd := &Command{CDB: cdb, Data: [][]byte{make([]byte, 4096)}, Initiator: 1}
	b.SetBytes(4096)
	b.ReportAllocs()
	for b.Loop() {
		d.Execute(cmd)
	}
	if cmd.Status != StatusGood {
		b.Fatalf("status %#x", cmd.Status)
	}
}

func BenchmarkRead10_4K(b *testing.B) {
	benchmarkIO(b, cdb10(opRead10, 0, 64, 8), backends.Caps{})
}

func BenchmarkWrite10_4K(b *testing.B) {
	benchmarkIO(b, cdb10(opWrite10, 0, 64, 8), backends.Caps{})
}

func BenchmarkWrite10_4K_FUA(b *testing.B) {
	benchmarkIO(b, cdb10(opWrite10, 0x08, 64, 8), thinCaps)
}

// BenchmarkRead10_4K_Parallel spreads reads over the disk from all CPUs, as
// the ring's workers do.
func BenchmarkRead10_4K_Parallel(b *testing.B) {
	d, _ := newTestDisk(b, 1<<16, backends.Caps{}, nil)
	b.SetBytes(4096)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		cmd := &Command{CDB: cdb10(opRead10, 0, 0, 8), Data: [][]byte{make([]byte, 4096)}, Initiator: 1}
		lba := uint32(0)
		for pb.Next() {
			lba = (lba + 8) % (1<<16 - 8)
			cmd.CDB[2], cmd.CDB[3], cmd.CDB[4], cmd.CDB[5] = byte(lba>>24), byte(lba>>16), byte(lba>>8), byte(lba)
			d.Execute(cmd)
		}
	})
}

func BenchmarkInquiry(b *testing.B) {
	d, _ := newTestDisk(b, 64, backends.Caps{}, nil)
	cmd := &Command{CDB: inquiryCDB(false, 0, 96), Data: [][]byte{make([]byte, 96)}}
	b.ReportAllocs()
	for b.Loop() {
		d.Execute(cmd)
	}
}
