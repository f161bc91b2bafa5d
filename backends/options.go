package backends

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// option is one `key=value` (or bare `key`) element of a cfgstring.
type option struct {
	key   string
	value string
	bare  bool // given as `key` without `=`
}

// splitOptions splits the `;`-separated options that follow a cfgstring's
// head (tcmu-runner style). Empty elements, as left by a trailing `;`, are
// skipped; a key given twice is an error because which one wins would be a
// guess.
func splitOptions(s string) ([]option, error) {
	var opts []option
	for elem := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(elem) == "" {
			continue
		}
		key, value, hasValue := strings.Cut(elem, "=")
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, fmt.Errorf("option %q: empty name before '='", elem)
		}
		for _, o := range opts {
			if o.key == key {
				return nil, fmt.Errorf("option %q given twice", key)
			}
		}
		opts = append(opts, option{key: key, value: strings.TrimSpace(value), bare: !hasValue})
	}
	return opts, nil
}

// text is the option as it was written (trimmed).
func (o option) text() string {
	if o.bare {
		return o.key
	}
	return o.key + "=" + o.value
}

// unknownOptionError names the unknown key and lists the valid ones.
func unknownOptionError(key string, valid []string) error {
	if len(valid) == 0 {
		return fmt.Errorf("unknown option %q (this subtype takes no options)", key)
	}
	sorted := slices.Clone(valid)
	slices.Sort(sorted)
	return fmt.Errorf("unknown option %q (valid: %s)", key, strings.Join(sorted, ", "))
}

// needValue rejects a bare key for an option that is not a boolean.
func (o option) needValue(example string) error {
	if o.bare || o.value == "" {
		return fmt.Errorf("option %q needs a value (e.g. %s=%s)", o.key, o.key, example)
	}
	return nil
}

// parseBool accepts a bare key as true, and the usual spellings.
func (o option) parseBool() (bool, error) {
	if o.bare {
		return true, nil
	}
	switch strings.ToLower(o.value) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("option %q: %q is not a boolean (true or false)", o.key, o.value)
}

// parseDuration accepts a non-negative Go duration (2ms, 1.5s, 300us).
func (o option) parseDuration() (time.Duration, error) {
	if err := o.needValue("2ms"); err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(o.value)
	if err != nil {
		return 0, fmt.Errorf("option %q: %q is not a duration (e.g. 2ms)", o.key, o.value)
	}
	if d < 0 {
		return 0, fmt.Errorf("option %q: %q is negative; a duration must be 0 or more", o.key, o.value)
	}
	return d, nil
}

// parseProbability accepts a number between 0 and 1 inclusive.
func (o option) parseProbability() (float64, error) {
	if err := o.needValue("0.01"); err != nil {
		return 0, err
	}
	p, err := strconv.ParseFloat(o.value, 64)
	if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
		return 0, fmt.Errorf("option %q: %q is not a probability between 0 and 1 (e.g. 0.01)", o.key, o.value)
	}
	return p, nil
}

// parseCount accepts a whole number >= 0.
func (o option) parseCount(what string) (uint64, error) {
	if err := o.needValue("1000"); err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(o.value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("option %q: %q is not a whole number of %s (e.g. 1000)", o.key, o.value, what)
	}
	return n, nil
}

// parseInt accepts any 64-bit integer.
func (o option) parseInt() (int64, error) {
	if err := o.needValue("42"); err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(o.value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("option %q: %q is not an integer (e.g. 42)", o.key, o.value)
	}
	return n, nil
}

// parseChoice accepts one of the given words.
func (o option) parseChoice(choices ...string) (string, error) {
	if err := o.needValue(choices[0]); err != nil {
		return "", err
	}
	v := strings.ToLower(o.value)
	if slices.Contains(choices, v) {
		return v, nil
	}
	return "", fmt.Errorf("option %q: %q is not one of %s", o.key, o.value, strings.Join(choices, ", "))
}

// parseByteSize accepts a byte count with an optional binary suffix:
// 4096, 64k, 64KiB, 1M, 1MiB, 1G, 1GiB.
func parseByteSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	lower := strings.ToLower(s)
	for _, suffix := range []struct {
		text string
		mult int64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	} {
		if strings.HasSuffix(lower, suffix.text) {
			mult = suffix.mult
			s = s[:len(s)-len(suffix.text)]
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

// formatBytes prints a power-of-two friendly size for messages.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<50 && n%(1<<50) == 0:
		return fmt.Sprintf("%d PiB", n>>50)
	case n >= 1<<40 && n%(1<<40) == 0:
		return fmt.Sprintf("%d TiB", n>>40)
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
