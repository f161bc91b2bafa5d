package scsi

import (
	"bytes"
	"testing"
)

func TestSenseEncoding(t *testing.T) {
	var buf [SenseSize]byte
	s := invalidCDB(7, 3).withInfo(0x1234)
	n := s.encode(buf[:], false)
	want := []byte{0xf0, 0, 0x05, 0, 0, 0x12, 0x34, 10, 0, 0, 0, 0, 0x24, 0, 0, 0xcb, 0, 7}
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("fixed % x\nwant  % x", buf[:n], want)
	}
	n = s.encode(buf[:], true)
	want = []byte{0x72, 0x05, 0x24, 0, 0, 0, 0, 20,
		0x00, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34,
		0x02, 0x06, 0, 0, 0xcb, 0, 7, 0}
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("descriptor % x\nwant       % x", buf[:n], want)
	}
	// An LBA above 32 bits does not fit the fixed format's information
	// field: VALID stays clear there, the descriptor format carries it.
	big := senseUnrecoveredReadError.withInfo(1 << 40)
	n = big.encode(buf[:], false)
	if buf[0] != 0x70 || !bytes.Equal(buf[3:7], []byte{0, 0, 0, 0}) || n != 18 {
		t.Fatalf("fixed % x", buf[:n])
	}
	n = big.encode(buf[:], true)
	p, err := parseSense(buf[:n])
	if err != nil || !p.infoValid || p.info != 1<<40 || p.sksValid {
		t.Fatalf("descriptor % x: %+v %v", buf[:n], p, err)
	}
	// Parameter list pointers have C/D clear; a whole-byte pointer has no BPV.
	invalidParam(300, -1).encode(buf[:], false)
	if !bytes.Equal(buf[15:18], []byte{0x80, 0x01, 0x2c}) {
		t.Fatalf("sks % x", buf[15:18])
	}
}
