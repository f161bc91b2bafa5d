package scsi

import "testing"

func TestQuick(t *testing.T) {
	for _, tc := range []struct {
		name string
		cdb  []byte
		want bool
	}{
		{"empty", nil, false},
		{"READ(10)", []byte{0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0}, true},
		{"WRITE(16)", []byte{0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}, true},
		{"READ(6)", []byte{0x08, 0, 0, 0, 1, 0}, true},
		{"WRITE(12)", []byte{0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, true},
		{"INQUIRY", []byte{0x12, 0, 0, 0, 36, 0}, true},
		{"TEST UNIT READY", []byte{0x00, 0, 0, 0, 0, 0}, true},
		{"READ CAPACITY(16)", []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, true},
		{"GET LBA STATUS", []byte{0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, false},
		{"service action byte missing", []byte{0x9e}, false},
		{"WRITE SAME(16)", []byte{0x93, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false},
		{"UNMAP", []byte{0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, false},
		{"SYNCHRONIZE CACHE(10)", []byte{0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false},
		{"COMPARE AND WRITE", []byte{0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, false},
		{"VERIFY(10)", []byte{0x2f, 0, 0, 0, 0, 0, 0, 0, 8, 0}, false},
		{"FORMAT UNIT", []byte{0x04, 0, 0, 0, 0, 0}, false},
	} {
		if got := Quick(tc.cdb); got != tc.want {
			t.Errorf("%s: Quick = %v, want %v", tc.name, got, tc.want)
		}
	}
}
