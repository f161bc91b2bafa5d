package main

import (
	"fmt"
	"strings"
	"time"
)

// ratio is one column of the ratio table: a over b, on IOPS.
type ratio struct{ name, a, b string }

var ioRatios = []ratio{
	{"tcmsh/cref (user:ram)", "user:ram", "cref"},
	{"tcmsh/rd_mcp (user:ram)", "user:ram", "rd_mcp"},
	{"stats off/on (user:ram)", "user:ram-nostats", "user:ram"},
	{"user:file/fileio", "user:file", "fileio"},
	{"user:null/cref", "user:null", "cref"},
	{"tcmu-runner/cref", "tcmu-runner", "cref"},
	{"tcmu-runner/user:file", "tcmu-runner", "user:file"},
}

func (res *results) iops(k ioKey) (float64, bool) {
	r := res.io[k]
	if r == nil {
		return 0, false
	}
	return r.mean("iops")
}

// cell is one io figure for the table: IOPS (p50 µs), or why it is missing.
func (res *results) cell(k ioKey) string {
	r := res.io[k]
	if r == nil {
		return ""
	}
	if len(r.rounds) == 0 {
		return "skipped: " + r.skipped
	}
	iops, _ := r.mean("iops")
	p50, _ := r.mean("p50_us")
	s := fmt.Sprintf("%.0f (%.0f µs)", iops, p50)
	if len(r.rounds) > 1 {
		lo, hi := iops, iops
		for _, rd := range r.rounds {
			lo, hi = min(lo, rd["iops"]), max(hi, rd["iops"])
		}
		s += fmt.Sprintf(" %.0f–%.0f", lo, hi)
	}
	return s
}

func (res *results) markdown(o options, lines []string) string {
	var b strings.Builder
	date := o.date
	if date == "" {
		date = time.Now().UTC().Format("2006-01-02 15:04 UTC")
	}
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Real-kernel benchmark results\n\n")
	p("Written by `%s` (test/vm/bench/README.md); the command rewrites this file.\n", o.command)
	p("Qemu TCG (software emulation): compare ratios within this run, not absolute figures.\n\n")
	if o.failure != "" {
		p("**This run did not complete: %s.** The figures below are those measured before it stopped.\n\n", o.failure)
	} else if !res.done {
		p("**The guest did not finish the bench**: the figures below are those measured before it stopped.\n\n")
	}
	p("| | |\n|---|---|\n")
	p("| date | %s |\n", date)
	p("| guest kernel | %s (%s vCPUs, %s MiB) |\n", res.info["kernel"], field(res.info["cpus"], 0), field(res.info["cpus"], 2))
	p("| Debian userland | %s |\n", res.info["debian"])
	p("| tcmsh | %s |\n", res.info["tcmsh"])
	p("| fio | %s |\n", res.info["fio"])
	p("| targetcli-fb | %s |\n", res.info["targetcli"])
	p("| tcmu-runner | %s%s |\n", res.info["tcmu-runner"], prefixed("; handler ", res.info["runner_handler"]))
	p("| host | %s CPUs; load average (1/5/15 min) %s at the start, %s at the end |\n", o.hostCPUs, o.loadStart, o.loadEnd)
	p("| wall time | %s s |\n", o.wall)
	for _, suite := range []string{"io", "config"} {
		if q := res.info["quiet-"+suite]; q != "" {
			p("| guest before the %s suite | %s |\n", suite, q)
		}
	}
	p("| parameters | %s |\n\n", res.info["params"])

	if len(res.io) > 0 {
		res.ioTables(p)
	}
	if len(res.config) > 0 {
		res.configTables(p)
	}
	p("## Raw lines\n\n```\n")
	for _, l := range lines {
		p("%s\n", l)
	}
	p("```\n")
	return b.String()
}

func (res *results) ioTables(p func(string, ...any)) {
	used := res.usedContenders()
	p("## io: IOPS (p50 completion latency), mean of the rounds, then the rounds' range\n\n")
	p("4 KiB random and 1 MiB sequential I/O from fio (libaio, direct) on a tcm_loop LUN per contender;\n")
	p("`pinned`: fio and the handler on the same vCPU (taskset), `free`: wherever the scheduler puts them.\n\n")
	p("| case |")
	for _, c := range used {
		p(" %s |", c)
	}
	p("\n|---|%s\n", strings.Repeat("---:|", len(used)))
	for _, cas := range ioCases {
		for _, pl := range placements {
			row := false
			for _, c := range used {
				if res.io[ioKey{cas, pl, c}] != nil {
					row = true
				}
			}
			if !row {
				continue
			}
			p("| %s@%s |", cas, pl)
			for _, c := range used {
				p(" %s |", res.cell(ioKey{cas, pl, c}))
			}
			p("\n")
		}
	}
	p("\n## io ratios (IOPS)\n\n| case |")
	for _, r := range ioRatios {
		p(" %s |", r.name)
	}
	p("\n|---|%s\n", strings.Repeat("---:|", len(ioRatios)))
	for _, cas := range ioCases {
		for _, pl := range placements {
			var cells []string
			have := false
			for _, r := range ioRatios {
				a, okA := res.iops(ioKey{cas, pl, r.a})
				bv, okB := res.iops(ioKey{cas, pl, r.b})
				if okA && okB && bv > 0 {
					cells = append(cells, fmt.Sprintf("%.2f", a/bv))
					have = true
				} else {
					cells = append(cells, "")
				}
			}
			if have {
				p("| %s@%s | %s |\n", cas, pl, strings.Join(cells, " | "))
			}
		}
	}
	p("\n## Cost per I/O, 4 KiB random read at QD 1\n\n")
	p("Syscalls: `perf stat -e raw_syscalls:sys_enter -p PID` (the kernel's syscall tracepoint, every thread of\n")
	p("the handler) during a separate, untimed fio run; strace, which stops each thread at each syscall, made a\n")
	p("handler with timers of its own pay for the tracer's slowness. Context switches: voluntary + involuntary\n")
	p("over /proc/PID/task/*/status before and after the timed run, over fio's I/O count.\n\n")
	p("| placement | contender | syscalls per I/O | context switches per I/O |\n|---|---|---:|---:|\n")
	for _, pl := range placements {
		for _, c := range used {
			r := res.io[ioKey{"randread-qd1", pl, c}]
			if r == nil {
				continue
			}
			sc, ok1 := r.mean("syscalls_per_io")
			cs, ok2 := r.mean("cswitch_per_io")
			if !ok1 && !ok2 {
				continue
			}
			p("| %s | %s | %s | %s |\n", pl, c, opt(sc, ok1, 1), opt(cs, ok2, 2))
		}
	}
	p("\n")
}

func (res *results) configTables(p func(string, ...any)) {
	p("## config: seconds on the guest clock\n\n")
	p("The same batch file (targetcli syntax: N fileio backstores, one iSCSI target, N LUNs, one ACL\n")
	p("mapping them all) to targetcli-fb and to tcmsh, then one-shot commands; `raw` makes the same\n")
	p("objects with only the configfs operations they need (test/vm/bench/raw). targetcli-fb is not run at N = 1,000.\n\n")
	p("| N | step | targetcli | tcmsh | raw | targetcli/tcmsh | tcmsh/raw |\n|---:|---|---:|---:|---:|---:|---:|\n")
	for _, n := range res.ns() {
		for _, st := range configSteps {
			var cells []string
			secs := map[string]float64{}
			for _, t := range configTools {
				c := res.config[configKey{n, st, t}]
				switch {
				case c == nil:
					cells = append(cells, "")
				case !c.has:
					cells = append(cells, "skipped: "+c.skipped)
				default:
					cells = append(cells, fmt.Sprintf("%.2f", c.seconds))
					secs[t] = c.seconds
				}
			}
			p("| %d | %s | %s | %s | %s |\n", n, st, strings.Join(cells, " | "),
				div(secs, "targetcli", "tcmsh"), div(secs, "tcmsh", "raw"))
		}
	}
	res.configCPUTable(p)
	if len(res.ops) > 0 {
		p("\n## configfs operations per object (N = %d)\n\n", res.opsN)
		p("Every syscall on a configfs path or file descriptor (`strace -f -y` in a separate, untimed\n")
		p("pass), over the objects (3N + 2: N backstores, N LUNs, N mapped LUNs, the target, the ACL).\n\n")
		p("| step | targetcli | tcmsh | raw |\n|---|---:|---:|---:|\n")
		for _, st := range configSteps {
			p("| %s |", st)
			for _, t := range configTools {
				if v, ok := res.opsPerObject(st, t); ok {
					p(" %.1f |", v)
				} else {
					p(" |")
				}
			}
			p("\n")
		}
		p("\nBy syscall (total over the step), and the seconds spent inside each kind of call under\n")
		p("strace (`-T`; where the kernel waits rather than computes; the tracer slows the calls too):\n\n")
		p("| step | tool | syscalls | seconds inside |\n|---|---|---|---|\n")
		for _, st := range configSteps {
			for _, t := range configTools {
				if c, ok := res.ops[configKey{res.opsN, st, t}]; ok {
					p("| %s | %s | %s | %s |\n", st, t, strings.ReplaceAll(c.by, ",", ", "), strings.ReplaceAll(c.waitBy, ",", ", "))
				}
			}
		}
	}
	p("\n")
}

// configCPUTable: where each step's time went, user space or the kernel
// (CPU seconds of the step's processes; the rest of the wall time is
// waiting), for the lines that carry it.
func (res *results) configCPUTable(p func(string, ...any)) {
	have := false
	for _, c := range res.config {
		have = have || c.hasCPU
	}
	if !have {
		return
	}
	p("\n## config: CPU seconds, user / system\n\n")
	p("What the step's processes spent in user space and in the kernel (cutime and cstime of the\n")
	p("bench's shell around the step); wall time beyond their sum is waiting.\n\n")
	p("| N | step | targetcli | tcmsh | raw |\n|---:|---|---:|---:|---:|\n")
	for _, n := range res.ns() {
		for _, st := range configSteps {
			var cells []string
			for _, t := range configTools {
				c := res.config[configKey{n, st, t}]
				if c == nil || !c.hasCPU {
					cells = append(cells, "")
					continue
				}
				cells = append(cells, fmt.Sprintf("%.2f / %.2f", c.user, c.sys))
			}
			p("| %d | %s | %s |\n", n, st, strings.Join(cells, " | "))
		}
	}
}

// usedContenders are the contenders with any io figure, in the fixed order.
func (res *results) usedContenders() []string {
	var out []string
	for _, c := range contenders {
		for k := range res.io {
			if k.contender == c {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func div(secs map[string]float64, a, b string) string {
	x, okA := secs[a]
	y, okB := secs[b]
	if !okA || !okB || y <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", x/y)
}

func opt(v float64, ok bool, prec int) string {
	if !ok {
		return ""
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func field(s string, i int) string {
	f := strings.Fields(s)
	if i < len(f) {
		return f[i]
	}
	return "?"
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
