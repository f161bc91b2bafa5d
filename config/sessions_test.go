package config

import (
	"slices"
	"testing"
)

func TestDynamicSessions(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"\n", nil},
		// 6.1 counts a NUL after each name's newline.
		{"iqn.1994-05.com.example:a\n\x00", []string{"iqn.1994-05.com.example:a"}},
		{"iqn.a\n\x00iqn.b\n\x00", []string{"iqn.a", "iqn.b"}},
		{"iqn.a\niqn.b\n", []string{"iqn.a", "iqn.b"}},
	}
	for _, tt := range tests {
		if got := dynamicSessions(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("dynamicSessions(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
