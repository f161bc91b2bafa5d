package tcmu

import (
	"strings"
	"testing"
	"time"
)

func TestTSCUsable(t *testing.T) {
	both := map[string]bool{"constant_tsc": true, "nonstop_tsc": true, "fpu": true}
	tests := []struct {
		src   string
		flags map[string]bool
		ok    bool
		why   string
	}{
		{"tsc", nil, true, ""},
		{"kvm-clock", both, true, ""},
		{"kvm-clock", map[string]bool{"constant_tsc": true}, false, "nonstop_tsc"},
		{"kvm-clock", nil, false, "constant_tsc"},
		{"hpet", both, false, "clocksource hpet"},
		{"hpet", map[string]bool{"tsc": true, "hypervisor": true}, true, ""},
		{"acpi_pm", map[string]bool{"tsc": true, "hypervisor": true}, true, ""},
		{"hpet", map[string]bool{"hypervisor": true}, false, "clocksource hpet"},
		{"xen", map[string]bool{"tsc": true, "hypervisor": true}, false, "clocksource xen"},
		{"acpi_pm", both, false, "is not the TSC"},
		{"", both, false, "no clocksource"},
	}
	for _, tt := range tests {
		why := tscUsable(tt.src, tt.flags)
		if (why == "") != tt.ok || !strings.Contains(why, tt.why) {
			t.Errorf("tscUsable(%q, %v) = %q", tt.src, tt.flags, why)
		}
	}
}

func TestCPUFlags(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu tsc constant_tsc nonstop_tsc rdtscp\nbugs\t\t: sysret_ss_attrs\n\n" +
		"processor\t: 1\nflags\t\t: fpu\n"
	f := cpuFlags([]byte(info))
	if !f["constant_tsc"] || !f["nonstop_tsc"] || !f["rdtscp"] || f["sysret_ss_attrs"] || len(f) != 5 {
		t.Errorf("cpuFlags = %v", f)
	}
	if f := cpuFlags([]byte("processor: 0\n")); f != nil {
		t.Errorf("no flags line: %v", f)
	}
}

// TestTSCLineCheck: a CPU whose counter, converted on the calibration's
// line, falls outside the monotonic reads around it (beyond the allowed
// skew) makes the TSC unusable.
func TestTSCLineCheck(t *testing.T) {
	// 1 tick = 0.5 ns (a 2 GHz counter); at nanotime 1 s the counter read 10^9.
	l := tscLine{n: 1e9, c: 1e9, mult: 1 << 31}
	at := func(cpu int, ns, tickOffset int64) tscSample {
		return tscSample{cpu: cpu, n0: ns - 50, n1: ns + 50, c: 1e9 + (ns-1e9)*2 + tickOffset}
	}
	skewTicks := int64(tscCPUSkew) * 2
	tests := []struct {
		name    string
		samples []tscSample
		bad     string
	}{
		{"in step", []tscSample{at(0, 2e9, 0), at(1, 2e9+7, 10), at(2, 5e8, -10)}, ""},
		{"before the calibration", []tscSample{at(0, 5e8, 0)}, ""},
		{"within the skew", []tscSample{at(0, 2e9, skewTicks)}, ""},
		{"ahead", []tscSample{at(0, 2e9, 0), at(3, 2e9, 2*skewTicks+1000)}, "CPU 3"},
		{"behind", []tscSample{at(1, 2e9, -2*skewTicks-1000)}, "CPU 1"},
		{"far behind the calibration", []tscSample{at(2, 3e9, -4e9)}, "CPU 2"},
		{"none sampled", nil, ""},
	}
	for _, tt := range tests {
		why := l.check(tt.samples)
		if (why == "") != (tt.bad == "") || !strings.Contains(why, tt.bad) {
			t.Errorf("%s: check = %q", tt.name, why)
		}
	}
}

// TestClockHere reports what this machine's statistics clock is and, on
// the TSC, that every CPU the process may use was sampled and in step.
func TestClockHere(t *testing.T) {
	initClock()
	if !clock.tsc {
		t.Logf("statistics clock: the monotonic clock (%s)", clock.why)
		return
	}
	s := samplePerCPU()
	if len(s) == 0 {
		t.Fatal("no CPU sampled")
	}
	n, c := tightRead()
	l := tscLine{n: n, c: c, mult: clock.mult}
	time.Sleep(time.Millisecond)
	// A second look, after calibration: still in step.
	if why := l.check(samplePerCPU()); why != "" {
		t.Errorf("after calibration: %s", why)
	}
	t.Logf("statistics clock: the TSC, %.4f ns a tick, %d CPUs in step", float64(clock.mult)/(1<<32), len(s))
}
