package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The figures' names and orders, as the issue fixes them.
var (
	ioCases     = []string{"randread-qd1", "randread-qd16", "randwrite-qd16", "seqread-1m", "seqwrite-1m"}
	placements  = []string{"free", "pinned"}
	contenders  = []string{"rd_mcp", "fileio", "cref", "tcmu-runner", "user:ram", "user:ram-nostats", "user:file", "user:null"}
	configSteps = []string{"bulk", "ls", "ls-backstores", "saveconfig", "clearconfig", "restoreconfig"}
	configTools = []string{"targetcli", "tcmsh", "raw"}
	ioFields    = []string{"iops", "mbps", "p50_us", "p99_us", "syscalls_per_io", "cswitch_per_io"}
)

// ioKey names one io figure.
type ioKey struct{ cas, placement, contender string }

// ioResult is one io figure over its rounds.
type ioResult struct {
	rounds  []map[string]float64 // the measured rounds' fields
	skipped string               // the first reason a round could not run
}

// mean averages a field over the rounds that have it.
func (r *ioResult) mean(field string) (float64, bool) {
	var sum float64
	var n int
	for _, rd := range r.rounds {
		if v, ok := rd[field]; ok {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

type configKey struct {
	n               int
	step, contender string
}

type configResult struct {
	seconds float64
	skipped string
	has     bool
	// user and sys: CPU seconds of the step's processes, when the line
	// has them (hasCPU).
	user, sys float64
	hasCPU    bool
}

// opsCount is a BENCH-OPS line: configfs operations of one step.
type opsCount struct {
	ops, objects int
	by           string
	waitBy       string // seconds inside each kind of call, largest first
}

type results struct {
	info    map[string]string
	io      map[ioKey]*ioResult
	config  map[configKey]*configResult
	ops     map[configKey]opsCount
	opsN    int // the N the operations were counted at
	done    bool
	unknown []string
}

func parse(r io.Reader) (*results, error) {
	lines, err := readLines(r)
	if err != nil {
		return nil, err
	}
	res := &results{info: map[string]string{}, io: map[ioKey]*ioResult{},
		config: map[configKey]*configResult{}, ops: map[configKey]opsCount{}}
	for i, l := range lines {
		if err := res.add(l); err != nil {
			return nil, fmt.Errorf("line %d %q: %w", i+1, l, err)
		}
	}
	return res, nil
}

// fields splits k=v words into a map, keeping the values as text.
func fields(words []string) (map[string]string, error) {
	m := map[string]string{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", w)
		}
		m[k] = v
	}
	return m, nil
}

func (res *results) add(l string) error {
	w := strings.Fields(l)
	switch w[0] {
	case "BENCH-DONE":
		res.done = true
		return nil
	case "BENCH-INFO":
		if len(w) < 2 {
			return fmt.Errorf("BENCH-INFO without a key")
		}
		res.info[w[1]] = strings.Join(w[2:], " ")
		return nil
	case "BENCH-OPS":
		if len(w) < 6 {
			return fmt.Errorf("BENCH-OPS needs N, step, tool, ops=, objects=")
		}
		n, err := strconv.Atoi(w[1])
		if err != nil {
			return fmt.Errorf("the size N %q: %w", w[1], err)
		}
		f, err := fields(w[4:])
		if err != nil {
			return err
		}
		ops, err1 := strconv.Atoi(f["ops"])
		objects, err2 := strconv.Atoi(f["objects"])
		if err1 != nil || err2 != nil || objects <= 0 {
			return fmt.Errorf("ops=%q objects=%q are not counts", f["ops"], f["objects"])
		}
		res.ops[configKey{n, w[2], w[3]}] = opsCount{ops, objects, f["by"], f["wait_by"]}
		res.opsN = n
		return nil
	case "BENCH":
	default:
		res.unknown = append(res.unknown, l)
		return nil
	}
	if len(w) < 5 {
		return fmt.Errorf("too few words")
	}
	switch w[1] {
	case "io":
		cas, pl, ok := strings.Cut(w[2], "@")
		if !ok || !slices.Contains(ioCases, cas) || !slices.Contains(placements, pl) {
			return fmt.Errorf("unknown case@placement %q", w[2])
		}
		if !slices.Contains(contenders, w[3]) {
			return fmt.Errorf("unknown contender %q", w[3])
		}
		f, err := fields(w[4:])
		if err != nil {
			return err
		}
		k := ioKey{cas, pl, w[3]}
		r := res.io[k]
		if r == nil {
			r = &ioResult{}
			res.io[k] = r
		}
		if why, ok := f["skipped"]; ok {
			if r.skipped == "" {
				r.skipped = why
			}
			return nil
		}
		round := map[string]float64{}
		for _, name := range ioFields {
			v, ok := f[name]
			if !ok {
				continue
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%s=%q: %w", name, v, err)
			}
			round[name] = x
		}
		if _, ok := round["iops"]; !ok {
			return fmt.Errorf("no iops")
		}
		r.rounds = append(r.rounds, round)
	case "config":
		n, err := strconv.Atoi(w[2])
		if err != nil {
			return fmt.Errorf("the size N %q: %w", w[2], err)
		}
		if !slices.Contains(configSteps, w[3]) || !slices.Contains(configTools, w[4]) {
			return fmt.Errorf("unknown step or tool %q %q", w[3], w[4])
		}
		f, err := fields(w[5:])
		if err != nil {
			return err
		}
		c := &configResult{}
		if why, ok := f["skipped"]; ok {
			c.skipped = why
		} else {
			c.seconds, err = strconv.ParseFloat(f["seconds"], 64)
			if err != nil {
				return fmt.Errorf("seconds=%q: %w", f["seconds"], err)
			}
			c.has = true
			if u, ok := f["cpu_user"]; ok {
				if c.user, err = strconv.ParseFloat(u, 64); err != nil {
					return fmt.Errorf("cpu_user=%q: %w", u, err)
				}
				if c.sys, err = strconv.ParseFloat(f["cpu_sys"], 64); err != nil {
					return fmt.Errorf("cpu_sys=%q: %w", f["cpu_sys"], err)
				}
				c.hasCPU = true
			}
		}
		res.config[configKey{n, w[3], w[4]}] = c
	default:
		return fmt.Errorf("unknown suite %q", w[1])
	}
	return nil
}

// ioLine is the final BENCH line of one io figure, or "" when none ran.
func (res *results) ioLine(k ioKey) string {
	r := res.io[k]
	if r == nil {
		return ""
	}
	head := fmt.Sprintf("BENCH io %s@%s %s", k.cas, k.placement, k.contender)
	if len(r.rounds) == 0 {
		return head + " skipped=" + r.skipped
	}
	var b strings.Builder
	b.WriteString(head)
	for _, name := range ioFields {
		v, ok := r.mean(name)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", name, formatField(name, v))
	}
	return b.String()
}

func formatField(name string, v float64) string {
	switch name {
	case "mbps", "syscalls_per_io":
		return strconv.FormatFloat(v, 'f', 1, 64)
	case "cswitch_per_io":
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// opsPerObject is the configfs operations per object of a step, if counted.
func (res *results) opsPerObject(step, tool string) (float64, bool) {
	c, ok := res.ops[configKey{res.opsN, step, tool}]
	if !ok {
		return 0, false
	}
	return float64(c.ops) / float64(c.objects), true
}

func (res *results) configLine(k configKey) string {
	c := res.config[k]
	if c == nil {
		return ""
	}
	head := fmt.Sprintf("BENCH config %d %s %s", k.n, k.step, k.contender)
	if !c.has {
		return head + " skipped=" + c.skipped
	}
	l := fmt.Sprintf("%s seconds=%.2f", head, c.seconds)
	if c.hasCPU {
		l += fmt.Sprintf(" cpu_user=%.2f cpu_sys=%.2f", c.user, c.sys)
	}
	if k.n == res.opsN {
		if v, ok := res.opsPerObject(k.step, k.contender); ok {
			l += fmt.Sprintf(" ops_per_object=%.1f", v)
		}
	}
	return l
}

// ns lists the config sizes seen, ascending.
func (res *results) ns() []int {
	var out []int
	for k := range res.config {
		if !slices.Contains(out, k.n) {
			out = append(out, k.n)
		}
	}
	slices.Sort(out)
	return out
}

// lines are the final BENCH lines in the order.
func (res *results) lines() []string {
	var out []string
	for _, cas := range ioCases {
		for _, pl := range placements {
			for _, c := range contenders {
				if l := res.ioLine(ioKey{cas, pl, c}); l != "" {
					out = append(out, l)
				}
			}
		}
	}
	for _, n := range res.ns() {
		for _, st := range configSteps {
			for _, t := range configTools {
				if l := res.configLine(configKey{n, st, t}); l != "" {
					out = append(out, l)
				}
			}
		}
	}
	return out
}
