package sim

import (
	"math"
	"strings"
	"syscall"
)

// The kernel parses attribute writes with kstrto*(): an optional sign, a
// radix prefix when base is 0 ("0x" hex, "0" octal), digits, and at most
// one trailing newline. These helpers reproduce that, errno for errno, so
// that a value the kernel refuses is refused here with the same error.

// parseRadix returns the base to use and the remaining digits (Linux's
// _parse_integer_fixup_radix for base 0).
func parseRadix(s string) (int, string) {
	if len(s) >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isHex(s[2]) {
		return 16, s[2:]
	}
	if len(s) >= 1 && s[0] == '0' {
		return 8, s
	}
	return 10, s
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// kstrtoull parses as the kernel's kstrtoull(s, 0, &v).
func kstrtoull(s string) (uint64, error) {
	s = strings.TrimPrefix(s, "+")
	base, digits := parseRadix(s)
	var v uint64
	n := 0
	overflow := false
	for n < len(digits) {
		d := digitVal(digits[n])
		if d >= base {
			break
		}
		if v > (math.MaxUint64-uint64(d))/uint64(base) {
			overflow = true
		}
		v = v*uint64(base) + uint64(d)
		n++
	}
	if n == 0 {
		return 0, syscall.EINVAL
	}
	rest := digits[n:]
	if rest != "" && rest != "\n" {
		return 0, syscall.EINVAL
	}
	if overflow {
		return 0, syscall.ERANGE
	}
	return v, nil
}

// kstrtoll parses as kstrtoll(s, 0, &v).
func kstrtoll(s string) (int64, error) {
	if strings.HasPrefix(s, "-") {
		u, err := kstrtoull(s[1:])
		if err != nil {
			return 0, err
		}
		if u > 1<<63 {
			return 0, syscall.ERANGE
		}
		return -int64(u), nil
	}
	u, err := kstrtoull(s)
	if err != nil {
		return 0, err
	}
	if u > math.MaxInt64 {
		return 0, syscall.ERANGE
	}
	return int64(u), nil
}

// kstrtou parses an unsigned value of at most max (kstrtou32, kstrtou16, kstrtou8...).
func kstrtou(s string, max uint64) (uint64, error) {
	v, err := kstrtoull(s)
	if err != nil {
		return 0, err
	}
	if v > max {
		return 0, syscall.ERANGE
	}
	return v, nil
}

// kstrtos parses a signed value within [min, max] (kstrtoint, kstrtos8...).
func kstrtos(s string, min, max int64) (int64, error) {
	v, err := kstrtoll(s)
	if err != nil {
		return 0, err
	}
	if v < min || v > max {
		return 0, syscall.ERANGE
	}
	return v, nil
}

// kstrtobool parses as the kernel's kstrtobool (strtobool): only the
// first one or two characters count.
func kstrtobool(s string) (bool, error) {
	if s == "" {
		return false, syscall.EINVAL
	}
	switch s[0] {
	case 'y', 'Y', '1':
		return true, nil
	case 'n', 'N', '0':
		return false, nil
	case 'o', 'O':
		if len(s) > 1 {
			switch s[1] {
			case 'n', 'N':
				return true, nil
			case 'f', 'F':
				return false, nil
			}
		}
	}
	return false, syscall.EINVAL
}

// intPrefix returns the length of the leading integer of s as
// simple_strtol (base 0) reads it, 0 when there is none. match_token's %d
// matches only when it is not 0.
func intPrefix(s string) int {
	i := 0
	if strings.HasPrefix(s, "-") {
		i = 1
	}
	base, digits := parseRadix(s[i:])
	skipped := len(s[i:]) - len(digits)
	n := 0
	for n < len(digits) && digitVal(digits[n]) < base {
		n++
	}
	if n == 0 {
		return 0
	}
	return i + skipped + n
}

// matchInt is match_int() on a token value that matched %d: only the
// integer prefix counts, and it is parsed again with kstrtoint, so an
// overflow is ERANGE. ok is false when %d does not match at all (the
// kernel then ignores the token).
func matchInt(arg string) (v int64, ok bool, err error) {
	n := intPrefix(arg)
	if n == 0 {
		return 0, false, nil
	}
	v, err = kstrtos(arg[:n], math.MinInt32, math.MaxInt32)
	return v, true, err
}

// stripNewline drops one trailing newline, as most store handlers do.
func stripNewline(s string) string { return strings.TrimSuffix(s, "\n") }
