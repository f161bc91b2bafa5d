package tcmu

import (
	"bufio"
	"bytes"
	"math"
	"math/bits"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// epoch anchors nanotime on the monotonic clock.
var epoch = time.Now()

// nanotime is monotonic nanoseconds; time.Since does not allocate.
func nanotime() int64 { return int64(time.Since(epoch)) }

// The statistics clock. Latency takes two clock reads per command, and
// reading the monotonic clock (a vDSO call: about 25 ns on the TSC, 30 ns
// on a KVM guest's kvm-clock) costs as much as the rest of the statistics
// together. Where the counter behind the monotonic clock is the
// time-stamp counter, the statistics read it directly (about 10 ns) and
// convert tick intervals to nanoseconds with a ratio calibrated once
// against the monotonic clock; elsewhere ticks are nanotime's nanoseconds.
//
// The TSC is that counter where the kernel's clocksource is tsc, and in a
// KVM guest on kvm-clock, which is the TSC scaled by the host's figures
// (the guest kernel may still refuse the TSC as its own clocksource, for
// example with tsc=unstable where the VM can be snapshotted; what matters
// here is that the counter ticks at a constant rate on every CPU, which
// the constant_tsc and nonstop_tsc flags say and the calibration checks).
// An interval that a migration or a restored snapshot makes negative
// counts as 0.
//
// A virtual machine whose kernel fell back to an emulated timer (hpet or
// acpi_pm: under software emulation the TSC fails the kernel's watchdog)
// has no vDSO clock: every clock_gettime is a system call of a few
// microseconds, as much as the whole command on a fast path. Its TSC is
// still the host's counter, read without leaving the guest; the
// statistics use it there too once the calibration finds its rate steady
// and every CPU's counter in step.
var clock struct {
	once  sync.Once
	tsc   bool
	mult  uint64 // nanoseconds per tick, 32.32 fixed point
	tick0 int64  // ticks at calibration: the origin of recent-log times
	why   string // why the TSC is not used, for tests and curious readers
}

// tscCalibration is how long the ratio of ticks to nanoseconds is
// measured over: the uncertainty of a tight read (tens of ns) at both ends
// is an error of about 1e-5.
const tscCalibration = 5 * time.Millisecond

// tscCPUSkew is how far a CPU's counter may stray from the line that the
// calibration drew through the monotonic clock, read on that CPU, before
// the counters count as unsynchronized: far above the reads' own
// uncertainty (well under a microsecond), far below a latency worth
// showing.
const tscCPUSkew = 2 * time.Microsecond

func initClock() { clock.once.Do(calibrateClock) }

func calibrateClock() {
	clock.mult = 1 << 32
	if !haveTSC {
		clock.why = "no time-stamp counter on this architecture"
		return
	}
	src, _ := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	if why := tscUsable(strings.TrimSpace(string(src)), cpuFlags(cpuinfo)); why != "" {
		clock.why = why
		return
	}
	n0, c0 := tightRead()
	time.Sleep(tscCalibration)
	n1, c1 := tightRead()
	if n1 <= n0 || c1 <= c0 {
		clock.why = "the counter did not advance with the monotonic clock"
		return
	}
	mult := uint64(n1-n0) << 32 / uint64(c1-c0)
	if mult < 1<<32/20 || mult > 20<<32 { // not a counter of 50 MHz to 20 GHz
		clock.why = "the counter's rate is not that of a TSC"
		return
	}
	line := tscLine{n: n1, c: c1, mult: mult}
	if why := line.check(samplePerCPU()); why != "" {
		clock.why = why
		return
	}
	clock.tsc, clock.mult, clock.tick0 = true, mult, c1
}

// tightRead reads the counter and the monotonic clock at one moment: the
// clock at the middle of the tightest of a few tries (tightSample).
func tightRead() (n, c int64) {
	s := tightSample()
	return s.n0 + (s.n1-s.n0)/2, s.c
}

// tightSample reads the counter between two monotonic clock reads, the
// narrowest of a few tries: a try preempted in between would put the
// counter's moment anywhere in its width.
func tightSample() tscSample {
	best := tscSample{n1: math.MaxInt64}
	for range 5 {
		n0 := nanotime()
		c := rdtsc()
		n1 := nanotime()
		if n1-n0 < best.n1-best.n0 {
			best = tscSample{n0: n0, n1: n1, c: c}
		}
	}
	return best
}

// tscUsable says why the TSC cannot be the statistics clock under this
// clocksource and these CPU flags ("" if it can).
func tscUsable(clocksource string, flags map[string]bool) string {
	switch clocksource {
	case "tsc":
		return ""
	case "kvm-clock":
		if flags["constant_tsc"] && flags["nonstop_tsc"] {
			return ""
		}
		return "kvm-clock over a TSC without constant_tsc and nonstop_tsc"
	case "hpet", "acpi_pm":
		if flags["hypervisor"] && flags["tsc"] {
			return ""
		}
	case "":
		return "no clocksource in sysfs"
	}
	return "clocksource " + clocksource + " is not the TSC"
}

// cpuFlags returns the flags of /proc/cpuinfo's first "flags" line.
func cpuFlags(cpuinfo []byte) map[string]bool {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "flags" {
			m := map[string]bool{}
			for _, f := range strings.Fields(v) {
				m[f] = true
			}
			return m
		}
	}
	return nil
}

// tscSample is one CPU's reading: the counter between two monotonic
// clock reads.
type tscSample struct {
	cpu    int
	n0, n1 int64 // nanotime before and after
	c      int64 // the counter
}

// tscLine is the calibration: at nanotime n the counter read c, and a
// tick is mult/2^32 ns.
type tscLine struct {
	n, c int64
	mult uint64
}

// check says which CPU's counter is off the line ("" if none): its
// reading, converted to nanoseconds, must fall between the monotonic
// clock reads around it, give or take tscCPUSkew.
func (l tscLine) check(samples []tscSample) string {
	skew := int64(tscCPUSkew)
	for _, s := range samples {
		d := s.c - l.c
		var ns int64
		if d >= 0 {
			ns = l.n + ticksToNSWith(d, l.mult)
		} else {
			ns = l.n - ticksToNSWith(-d, l.mult)
		}
		if ns < s.n0-skew || ns > s.n1+skew {
			return "the counter of CPU " + strconv.Itoa(s.cpu) + " is not in step with the others"
		}
	}
	return ""
}

// samplePerCPU reads the counter on each CPU this process may run on (up
// to 64), from a thread pinned to each in turn. The thread's affinity is
// put back before it is unlocked.
func samplePerCPU() []tscSample {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var orig unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err != nil {
		return nil
	}
	defer func() { _ = unix.SchedSetaffinity(0, &orig) }() // it was this thread's mask
	var out []tscSample
	for cpu := 0; cpu < 1024 && len(out) < 64; cpu++ {
		if !orig.IsSet(cpu) {
			continue
		}
		var one unix.CPUSet
		one.Set(cpu)
		if unix.SchedSetaffinity(0, &one) != nil {
			continue
		}
		sample := tightSample()
		sample.cpu = cpu
		out = append(out, sample)
	}
	return out
}

// ticks reads the statistics clock.
func ticks() int64 {
	if clock.tsc {
		return rdtsc()
	}
	return nanotime()
}

// ticksToNS converts an interval of ticks to nanoseconds (0 if negative).
func ticksToNS(d int64) int64 { return ticksToNSWith(d, clock.mult) }

func ticksToNSWith(d int64, mult uint64) int64 {
	if d <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(d), mult)
	if hi >= 1<<31 {
		return math.MaxInt64
	}
	return int64(hi<<32 | lo>>32)
}
