// Package size reads and writes byte counts the way targetcli does: sizes
// typed by people (64M, 10GiB, base 1024) and sizes shown to them (1.0GiB).
package size

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse reads a size in bytes: a number with an optional unit k, m, g, t
// (or K, M, G, T), optionally followed by B or iB; all units are base 1024.
func Parse(v string) (int64, error) {
	s := strings.TrimSpace(v)
	lower := strings.ToLower(s)
	lower = strings.TrimSuffix(lower, "ib")
	lower = strings.TrimSuffix(lower, "b")
	mult := int64(1)
	if lower != "" {
		switch lower[len(lower)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			lower = lower[:len(lower)-1]
		}
	}
	n, err := strconv.ParseFloat(lower, 64)
	if err != nil || n < 0 || math.IsNaN(n) || math.IsInf(n, 0) || lower == "" || strings.ContainsAny(lower, "eEx+") {
		return 0, fmt.Errorf("%q is not a size (examples: 512, 64M, 10GiB, 1T; base 1024)", v)
	}
	bytes := n * float64(mult)
	if bytes > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q is too large", v)
	}
	return int64(bytes), nil
}

// Format writes bytes as targetcli does: 512B, 1.0GiB.
func Format(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d%s", n, units[0])
	}
	return fmt.Sprintf("%.1f%s", f, units[i])
}
