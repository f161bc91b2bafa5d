package size

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"512", 512, false},
		{"1k", 1024, false},
		{"1K", 1024, false},
		{"64M", 64 << 20, false},
		{"64MB", 64 << 20, false},
		{"64MiB", 64 << 20, false},
		{"10GiB", 10 << 30, false},
		{"1t", 1 << 40, false},
		{"1.5G", 3 << 29, false},
		{"", 0, true},
		{"M", 0, true},
		{"12Q", 0, true},
		{"-1M", 0, true},
		{"1e3", 0, true},
		{"0x10", 0, true},
		{"NaN", 0, true},
		{"99999999999T", 0, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0B"}, {512, "512B"}, {1024, "1.0KiB"}, {1536, "1.5KiB"}, {64 << 20, "64.0MiB"}, {1 << 30, "1.0GiB"}, {1 << 50, "1.0PiB"},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
