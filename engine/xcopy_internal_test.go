package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcmsh/tcmsh/scsi"
)

// EXTENDED COPY between two user:file backstores the engine serves: the
// identification descriptors name them by their VPD 0x83 NAA designator,
// and the data lands in the destination's image.
func TestExtendedCopyBetweenServedDisks(t *testing.T) {
	k, lio := simEnv(t)
	dir := t.TempDir()
	l, err := NewLocal(Options{LIO: lio, Sim: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var disks []*scsi.Disk
	for i, name := range []string{"src", "dst"} {
		spec := userSpec(name, "file/"+filepath.Join(dir, name+".img"), 1<<20)
		spec.UnitSerial = []string{"11111111-2222-4333-8444-555555555555", "66666666-7777-4888-9999-aaaaaaaaaaaa"}[i]
		so, err := lio.CreateStorageObject(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Serve(context.Background(), so.Path()); err != nil {
			t.Fatal(err)
		}
		disks = append(disks, l.served(so.Path()).disk)
	}
	data := bytes.Repeat([]byte("tcmsh xcopy 0123"), 4096) // 64 KiB
	w := &scsi.Command{CDB: []byte{0x2a, 0, 0, 0, 0, 8, 0, 0, 128, 0}, Data: [][]byte{data}}
	disks[0].Execute(w)
	if w.Status != scsi.StatusGood {
		t.Fatalf("WRITE status %#x", w.Status)
	}

	cscd := func(d *scsi.Disk) []byte {
		c := make([]byte, 32)
		c[0], c[4], c[5], c[7] = 0xe4, 0x01, 0x03, 16
		naa, ok := d.NAA()
		if !ok {
			t.Fatal("no NAA designator")
		}
		copy(c[8:], naa[:])
		return c
	}
	seg := make([]byte, 28)
	seg[0] = 0x02
	binary.BigEndian.PutUint16(seg[2:], 24)
	binary.BigEndian.PutUint16(seg[6:], 1) // source CSCD 0, destination 1
	binary.BigEndian.PutUint16(seg[10:], 128)
	binary.BigEndian.PutUint64(seg[12:], 8)
	binary.BigEndian.PutUint64(seg[20:], 100)
	params := make([]byte, 16)
	params[1] = 0x18
	binary.BigEndian.PutUint16(params[2:], 64)
	binary.BigEndian.PutUint32(params[8:], 28)
	params = append(append(append(params, cscd(disks[0])...), cscd(disks[1])...), seg...)
	cdb := make([]byte, 16)
	cdb[0] = 0x83
	binary.BigEndian.PutUint32(cdb[10:], uint32(len(params)))
	x := &scsi.Command{CDB: cdb, Data: [][]byte{params}}
	disks[1].Execute(x)
	if x.Status != scsi.StatusGood {
		t.Fatalf("EXTENDED COPY status %#x sense % x", x.Status, x.Sense[:x.SenseLen])
	}
	img, err := os.ReadFile(filepath.Join(dir, "dst.img"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img[100*512:100*512+len(data)], data) {
		t.Fatal("the destination image does not hold the copied blocks")
	}
}
