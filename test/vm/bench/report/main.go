// Command report turns the lines the real-kernel benchmark's guest prints
// (test/vm/bench) into the final BENCH lines on stdout, one per figure, the
// rounds of an io case averaged, and into the markdown report RESULTS.md.
//
// Input lines (from the guest's console):
//
//	BENCH io <case>@<placement> <contender> iops=… mbps=… p50_us=… p99_us=… [syscalls_per_io=…] [cswitch_per_io=…] round=<r>
//	BENCH io <case>@<placement> <contender> skipped=<reason> [round=<r>]
//	BENCH config <N> <step> <contender> seconds=… | skipped=<reason>
//	BENCH-OPS <N> <step> <contender> ops=<n> objects=<n> by=<syscall>:<n>,…
//	BENCH-INFO <key> <value…>
//	BENCH-DONE <uptime>
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	var o options
	flag.StringVar(&o.in, "in", "-", "the guest's BENCH lines (- for stdin)")
	flag.StringVar(&o.results, "results", "-", "write the markdown report to this file (- for none)")
	flag.StringVar(&o.wall, "wall", "", "the run's wall time in seconds")
	flag.StringVar(&o.loadStart, "load-start", "", "the host's load averages at the start")
	flag.StringVar(&o.loadEnd, "load-end", "", "the host's load averages at the end")
	flag.StringVar(&o.hostCPUs, "host-cpus", "", "the host's CPU count")
	flag.StringVar(&o.command, "command", "sudo test/vm/bench/run", "the command that made the run")
	flag.StringVar(&o.failure, "failure", "", "what went wrong in the run, if anything")
	flag.StringVar(&o.date, "date", "", "the run's date (default: now)")
	flag.Parse()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

type options struct {
	in, results, wall, loadStart, loadEnd, hostCPUs, command, failure, date string
}

func run(o options, stdout io.Writer) error {
	var r io.Reader = os.Stdin
	if o.in != "-" {
		f, err := os.Open(o.in)
		if err != nil {
			return fmt.Errorf("reading the bench lines: %w", err)
		}
		defer f.Close()
		r = f
	}
	res, err := parse(r)
	if err != nil {
		return err
	}
	lines := res.lines()
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	if o.results == "-" {
		return nil
	}
	md := res.markdown(o, lines)
	if err := os.WriteFile(o.results, []byte(md), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// readLines returns the lines of r, trimmed, without the empty ones.
func readLines(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the bench lines: %w", err)
	}
	return out, nil
}
