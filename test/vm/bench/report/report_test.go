package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFinalLines(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{
			name: "rounds averaged, cost fields kept, order fixed",
			in: `BENCH io randread-qd1@pinned user:ram iops=100 mbps=0.4 p50_us=900 p99_us=2000 syscalls_per_io=26.0 cswitch_per_io=8.00 round=1
BENCH io randread-qd1@pinned user:ram iops=300 mbps=1.2 p50_us=700 p99_us=1000 syscalls_per_io=24.0 cswitch_per_io=6.00 round=2
BENCH io randread-qd1@free cref iops=1000 mbps=4.1 p50_us=50 p99_us=90 round=1`,
			want: []string{
				"BENCH io randread-qd1@free cref iops=1000 mbps=4.1 p50_us=50 p99_us=90",
				"BENCH io randread-qd1@pinned user:ram iops=200 mbps=0.8 p50_us=800 p99_us=1500 syscalls_per_io=25.0 cswitch_per_io=7.00",
			},
		},
		{
			name: "a skipped contender keeps its reason; a measured round wins over a skipped one",
			in: `BENCH io seqread-1m@free tcmu-runner skipped=no-handler
BENCH io seqread-1m@free cref skipped=fio-failed round=1
BENCH io seqread-1m@free cref iops=80 mbps=83.9 p50_us=40000 p99_us=90000 round=2`,
			want: []string{
				"BENCH io seqread-1m@free cref iops=80 mbps=83.9 p50_us=40000 p99_us=90000",
				"BENCH io seqread-1m@free tcmu-runner skipped=no-handler",
			},
		},
		{
			name: "config: ops per object only at the counted N",
			in: `BENCH config 200 bulk tcmsh seconds=3.5 cpu_user=1.2 cpu_sys=2
BENCH config 50 bulk tcmsh seconds=1.25
BENCH config 50 ls targetcli skipped=timeout-after-600s
BENCH-OPS 50 bulk tcmsh ops=608 objects=152 by=openat:300,write:300,mkdir:8
BENCH-INFO kernel 6.1.0-57-amd64
BENCH-DONE 100.1
console noise that is not a bench line`,
			want: []string{
				"BENCH config 50 bulk tcmsh seconds=1.25 ops_per_object=4.0",
				"BENCH config 50 ls targetcli skipped=timeout-after-600s",
				"BENCH config 200 bulk tcmsh seconds=3.50 cpu_user=1.20 cpu_sys=2.00",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := parse(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got := res.lines()
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestBadLines(t *testing.T) {
	for _, in := range []string{
		"BENCH io randread-qd2@free cref iops=1 round=1",
		"BENCH io randread-qd1@nowhere cref iops=1 round=1",
		"BENCH io randread-qd1@free nobody iops=1 round=1",
		"BENCH io randread-qd1@free cref mbps=1 round=1",
		"BENCH io randread-qd1@free cref iops=fast round=1",
		"BENCH config fifty bulk tcmsh seconds=1",
		"BENCH config 50 build tcmsh seconds=1",
		"BENCH config 50 bulk tcmsh seconds=slow",
		"BENCH config 50 bulk tcmsh seconds=1 cpu_user=x cpu_sys=1",
		"BENCH-OPS 50 bulk tcmsh ops=1 objects=0",
		"BENCH disk x y z",
	} {
		if _, err := parse(strings.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		} else if !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: error %q does not name the line", in, err)
		}
	}
}

func TestMarkdownEndsWithTheLines(t *testing.T) {
	in := `BENCH-INFO kernel 6.1.0-57-amd64
BENCH-INFO cpus 2 mem_mb 3915
BENCH-INFO quiet-config busy 0.2% of the guest over 2 s; tasks that ran: sh(300)=1
BENCH io randread-qd1@pinned cref iops=1000 mbps=4.1 p50_us=50 p99_us=90 syscalls_per_io=2.0 cswitch_per_io=1.50 round=1
BENCH io randread-qd1@pinned user:ram iops=400 mbps=1.6 p50_us=600 p99_us=900 syscalls_per_io=26.0 cswitch_per_io=8.00 round=1
BENCH config 50 bulk targetcli seconds=40.00
BENCH config 50 bulk tcmsh seconds=4.00
BENCH config 50 bulk raw seconds=0.50
BENCH-DONE 1`
	dir := t.TempDir()
	out := filepath.Join(dir, "RESULTS.md")
	inFile := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(inFile, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	if err := run(options{in: inFile, results: out, date: "2026-01-01 00:00 UTC", wall: "100"}, &stdout); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"| guest kernel | 6.1.0-57-amd64 (2 vCPUs, 3915 MiB) |",
		"| randread-qd1@pinned | 0.40 |", // tcmsh/cref
		"| guest before the config suite | busy 0.2% of the guest over 2 s; tasks that ran: sh(300)=1 |",
		"| pinned | user:ram | 26.0 | 8.00 |",
		"| 50 | bulk | 40.00 | 4.00 | 0.50 | 10.00 | 8.00 |",
		"```\n" + stdout.String() + "```\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q:\n%s", want, md)
		}
	}
	if !strings.HasSuffix(md, "```\n") {
		t.Error("RESULTS.md does not end with the fenced lines")
	}
}
