package scsi

import "testing"

func TestNames(t *testing.T) {
	for op, want := range map[byte]string{0x28: "READ(10)", 0x8a: "WRITE(16)", 0x00: "TEST UNIT READY", 0x12: "INQUIRY", 0xee: "OPCODE 0xee"} {
		if got := OpcodeName(op); got != want {
			t.Errorf("OpcodeName(%#x) = %q, want %q", op, got, want)
		}
	}
	for key, want := range map[byte]string{2: "not_ready", 5: "illegal_request", 6: "unit_attention", 0xe: "miscompare", 0x15: "illegal_request"} {
		if got := SenseKeyName(key); got != want {
			t.Errorf("SenseKeyName(%#x) = %q, want %q", key, got, want)
		}
	}
}

func TestStatusNameAndCDBLength(t *testing.T) {
	for s, want := range map[byte]string{0x00: "GOOD", 0x02: "CHECK CONDITION", 0x18: "RESERVATION CONFLICT"} {
		if got := StatusName(s); got != want {
			t.Errorf("StatusName(%#x) = %q, want %q", s, got, want)
		}
	}
	none := func() (byte, bool) { return 0, false }
	for op, want := range map[byte]int{0x00: 6, 0x28: 10, 0x55: 10, 0x88: 16, 0xa8: 12, 0x7f: 0, 0xc0: 0} {
		if got := CDBLength(op, none); got != want {
			t.Errorf("CDBLength(%#x) = %d, want %d", op, got, want)
		}
	}
	if got := CDBLength(0x7f, func() (byte, bool) { return 24, true }); got != 32 {
		t.Errorf("CDBLength(0x7f, additional 24) = %d, want 32", got)
	}
	for _, tt := range []struct {
		sense []byte
		want  byte
	}{{[]byte{0x70, 0, 0x05}, 5}, {[]byte{0x72, 0x06}, 0}, {[]byte{0x72, 0x06, 0}, 6}, {nil, 0}} {
		if got := SenseKeyOf(tt.sense); got != tt.want {
			t.Errorf("SenseKeyOf(% x) = %d, want %d", tt.sense, got, tt.want)
		}
	}
}
