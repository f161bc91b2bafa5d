package scsi

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

func TestInquiry(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "standard", cdb: inquiryCDB(false, 0, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if len(b) != standardInquiryLen || int(b[4]) != len(b)-5 {
					t.Fatalf("length %d, additional length %d", len(b), b[4])
				}
				if b[0] != 0 || b[2] != 0x06 || b[3]&0x0f != 2 || b[7]&0x02 == 0 {
					t.Fatalf("type %#x version %#x format %#x flags %#x", b[0], b[2], b[3], b[7])
				}
				if got := string(b[8:36]); got != "LIO-ORG TCMU device     0002" {
					t.Fatalf("identification %q", got)
				}
				if binary.BigEndian.Uint16(b[60:]) != 0x0460 {
					t.Fatalf("no SPC-4 version descriptor: % x", b[58:64])
				}
			}},
		{name: "configured strings", edit: func(c *DiskConfig) { c.VendorID, c.ProductID, c.Revision = "ACME", "disk0", "1.0" },
			cdb: inquiryCDB(false, 0, 36), in: 36,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if got := string(b[8:36]); got != "ACME    disk0           1.0 " {
					t.Fatalf("identification %q", got)
				}
			}},
		{name: "allocation length truncates", cdb: inquiryCDB(false, 0, 5), in: 255,
			check: func(t *testing.T, b []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 5 || b[4] != standardInquiryLen-5 {
					t.Fatalf("ReadLen %d additional length %d", cmd.ReadLen, b[4])
				}
			}},
		{name: "buffer smaller than allocation length", cdb: inquiryCDB(false, 0, 255), in: 20,
			check: func(t *testing.T, _ []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 20 {
					t.Fatalf("ReadLen %d", cmd.ReadLen)
				}
			}},
		{name: "allocation length zero", cdb: inquiryCDB(false, 0, 0), in: 64,
			check: func(t *testing.T, _ []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 0 {
					t.Fatalf("ReadLen %d", cmd.ReadLen)
				}
			}},
		{name: "page code without EVPD", cdb: inquiryCDB(false, 0x80, 255), in: 255,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 2, 7}},
		{name: "CMDDT", cdb: []byte{opInquiry, 0x02, 0, 0, 255, 0}, in: 255,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 1}},
		{name: "NACA in control byte", cdb: []byte{opInquiry, 0, 0, 0, 255, 0x04}, in: 255,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 5, 2}},
		{name: "unsupported VPD page", cdb: inquiryCDB(true, 0x89, 255), in: 255,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 2, 7}},
		{name: "VPD 00", cdb: inquiryCDB(true, 0x00, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				want := []byte{0, 0, 0, 7, 0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2}
				if !bytes.Equal(b, want) {
					t.Fatalf("got % x, want % x", b, want)
				}
			}},
		{name: "VPD 00 without a serial", edit: func(c *DiskConfig) { c.UnitSerial = "" },
			cdb: inquiryCDB(true, 0x00, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if bytes.IndexByte(b[4:], 0x80) >= 0 {
					t.Fatalf("page 80 listed without a serial: % x", b)
				}
			}},
		{name: "VPD 80", cdb: inquiryCDB(true, 0x80, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[1] != 0x80 || int(binary.BigEndian.Uint16(b[2:])) != len(testSerial) || string(b[4:]) != testSerial {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "VPD 80 without a serial", edit: func(c *DiskConfig) { c.UnitSerial = "" },
			cdb: inquiryCDB(true, 0x80, 255), in: 255, key: SenseKeyIllegalRequest, asc: 0x24},
		{name: "VPD 83", cdb: inquiryCDB(true, 0x83, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if int(binary.BigEndian.Uint16(b[2:]))+4 != len(b) {
					t.Fatalf("page length %d for %d bytes", binary.BigEndian.Uint16(b[2:]), len(b))
				}
				ds := designators(t, b[4:])
				naa := ds[0x03]
				// naa 6, OUI 001405, then the serial's hex digits.
				want := []byte{0x60, 0x01, 0x40, 0x56, 0xa2, 0xb4, 0xc8, 0xd1, 0xe2, 0xf4, 0xa5, 0xb9, 0xc0, 0xd1, 0x23, 0x45}
				if !bytes.Equal(naa.id, want) || naa.codeSet != 1 || naa.assoc != 0 {
					t.Fatalf("NAA % x (code set %d assoc %d), want % x", naa.id, naa.codeSet, naa.assoc, want)
				}
				if t10 := ds[0x01]; string(t10.id) != "LIO-ORG TCMU device:"+testSerial+"\x00" || t10.codeSet != 2 || t10.assoc != 0 {
					t.Fatalf("T10 vendor id %q", t10.id)
				}
				if rp := ds[0x04]; rp.assoc != 1 || binary.BigEndian.Uint16(rp.id[2:]) != 1 {
					t.Fatalf("relative port % x assoc %d", rp.id, rp.assoc)
				}
				if tpg, ok := ds[0x05]; !ok || tpg.assoc != 1 || binary.BigEndian.Uint16(tpg.id[2:]) != 0 {
					t.Fatalf("target port group % x", tpg.id)
				}
			}},
		{name: "VPD 83 configured strings", edit: func(c *DiskConfig) { c.VendorID, c.ProductID = "ACME", "disk0" },
			cdb: inquiryCDB(true, 0x83, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if t10 := designators(t, b[4:])[0x01]; string(t10.id) != "ACME    disk0:"+testSerial+"\x00" {
					t.Fatalf("T10 vendor id %q", t10.id)
				}
			}},
		{name: "VPD 83 without a serial", edit: func(c *DiskConfig) { c.UnitSerial = "" },
			cdb: inquiryCDB(true, 0x83, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				ds := designators(t, b[4:])
				if _, ok := ds[0x03]; ok {
					t.Fatal("NAA designator without a serial")
				}
				if t10 := ds[0x01]; string(t10.id) != "LIO-ORG \x00" {
					t.Fatalf("T10 vendor id %q", t10.id)
				}
			}},
		{name: "VPD 83 longest serial", edit: func(c *DiskConfig) { c.UnitSerial = strings.Repeat("s", maxSerialLen) },
			cdb: inquiryCDB(true, 0x83, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if int(binary.BigEndian.Uint16(b[2:]))+4 != len(b) {
					t.Fatalf("page length %d for %d bytes", binary.BigEndian.Uint16(b[2:]), len(b))
				}
				ds := designators(t, b[4:])
				want := ("LIO-ORG TCMU device:" + strings.Repeat("s", maxSerialLen))[:255]
				if t10 := ds[0x01]; string(t10.id) != want {
					t.Fatalf("T10 vendor id %q", t10.id)
				}
				if _, ok := ds[0x05]; !ok {
					t.Fatal("designators after the T10 one lost")
				}
			}},
		{name: "VPD 83 without port information", edit: func(c *DiskConfig) { c.RelativePortID, c.HasTargetPortGroup = 0, false },
			cdb: inquiryCDB(true, 0x83, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				ds := designators(t, b[4:])
				if _, ok := ds[0x04]; ok {
					t.Fatal("relative port reported")
				}
				if _, ok := ds[0x05]; ok {
					t.Fatal("target port group reported")
				}
			}},
		{name: "VPD 86", cdb: inquiryCDB(true, 0x86, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if len(b) != 64 || b[5] != 0x07 || b[6]&0x01 == 0 {
					t.Fatalf("got % x", b[:8])
				}
			}},
		{name: "VPD b0 thin", caps: thinCaps, cdb: inquiryCDB(true, 0xb0, 255), in: 255,
			edit: func(c *DiskConfig) { c.MaxUnmapDescriptors = 8 },
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if len(b) != 64 || binary.BigEndian.Uint16(b[2:]) != 0x3c {
					t.Fatalf("length %d", len(b))
				}
				be32 := func(i int) uint32 { return binary.BigEndian.Uint32(b[i:]) }
				if b[4]&1 != 0 || b[5] != 255 || binary.BigEndian.Uint16(b[6:]) != 1 || be32(8) != 1024 || be32(12) != 256 ||
					be32(20) != 4096 || be32(24) != 8 || binary.BigEndian.Uint64(b[36:]) != 4096 ||
					be32(44) != 8 || be32(48) != 8 || be32(52) != 1 || be32(56) != 0 || be32(60) != 0 {
					t.Fatalf("block limits % x", b)
				}
			}},
		{name: "VPD b0 thick has no unmap limits", cdb: inquiryCDB(true, 0xb0, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if binary.BigEndian.Uint32(b[20:]) != 0 || binary.BigEndian.Uint32(b[24:]) != 0 {
					t.Fatalf("unmap limits on a thick disk: % x", b[20:28])
				}
			}},
		{name: "VPD b0 unmap granularity", caps: granularCaps,
			cdb: inquiryCDB(true, 0xb0, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if binary.BigEndian.Uint32(b[28:]) != 8 {
					t.Fatalf("granularity % x", b[28:32])
				}
			}},
		{name: "VPD b1", cdb: inquiryCDB(true, 0xb1, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if binary.BigEndian.Uint16(b[4:]) != 1 {
					t.Fatalf("rotation rate % x", b[4:6])
				}
			}},
		{name: "VPD b2 thin", caps: thinCaps, cdb: inquiryCDB(true, 0xb2, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if len(b) != 8 || b[5] != 0xe4 || b[6]&0x07 != 2 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "VPD b2 thick", cdb: inquiryCDB(true, 0xb2, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[5] != 0 || b[6] != 0 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "VPD truncated by allocation length", cdb: inquiryCDB(true, 0xb0, 4), in: 255,
			check: func(t *testing.T, b []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 4 || binary.BigEndian.Uint16(b[2:]) != 0x3c {
					t.Fatalf("ReadLen %d % x", cmd.ReadLen, b)
				}
			}},
	})
}

// granularCaps is thinCaps with a 4 KiB unmap granularity.
var granularCaps = func() backends.Caps {
	c := thinCaps
	c.UnmapGranularity = 4096
	return c
}()

type designator struct {
	codeSet, assoc byte
	id             []byte
}

// designators decodes VPD 0x83 designation descriptors by designator type.
func designators(t *testing.T, b []byte) map[byte]designator {
	t.Helper()
	m := map[byte]designator{}
	for len(b) > 0 {
		if len(b) < 4 || int(b[3])+4 > len(b) {
			t.Fatalf("truncated designator % x", b)
		}
		m[b[1]&0x0f] = designator{codeSet: b[0] & 0x0f, assoc: b[1] >> 4 & 0x03, id: b[4 : 4+int(b[3])]}
		b = b[4+int(b[3]):]
	}
	return m
}

func TestNewDiskRejectsBadConfig(t *testing.T) {
	m := newMemBackend(1<<20, thinCaps)
	for name, cfg := range map[string]DiskConfig{
		"block size":        {BlockSize: 520},
		"capacity":          {Capacity: 2 << 20},
		"negative capacity": {Capacity: -1},
		"no block":          {Capacity: 511},
		"vendor":            {VendorID: "much too long"},
		"product":           {ProductID: strings.Repeat("x", 17)},
		"revision":          {Revision: "12345"},
		"serial":            {UnitSerial: "bad\x01serial"},
		"long serial":       {UnitSerial: strings.Repeat("a", 300)},
	} {
		if _, err := NewDisk(cfg, m); err == nil {
			t.Errorf("%s: NewDisk accepted %+v", name, cfg)
		}
	}
	if _, err := NewDisk(DiskConfig{}, nil); err == nil {
		t.Error("NewDisk accepted a nil backend")
	}
}
