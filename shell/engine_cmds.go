package shell

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tcmsh/tcmsh/config"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/internal/size"
)

// errNoEngine is returned by commands that need the TCMU engine when none
// is available.
var errNoEngine = errors.New("no TCMU engine is available in this process (user backstores are not served here)")

func cmdStatus(_ context.Context, sh *Shell, n *Node, _ Args) error {
	s, st := sh.Summary(n)
	if sh.opts.JSON {
		return sh.printJSON(map[string]string{"path": n.path, "summary": s, "status": st.String()})
	}
	if s == "" {
		s = "..."
	}
	sh.printf("%s: %s\n", n.path, s)
	return nil
}

// String names a status for JSON output.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusOff:
		return "off"
	case StatusWarn:
		return "warn"
	}
	return "none"
}

func cmdSessions(ctx context.Context, sh *Shell, _ *Node, a Args) error {
	out, err := sh.store().Sessions(ctx, a.Str("sid"))
	if err != nil {
		return err
	}
	if sh.opts.JSON {
		if out == nil {
			out = []config.Session{}
		}
		return sh.printJSON(out)
	}
	if len(out) == 0 {
		sh.printf("(no open sessions)\n")
		return nil
	}
	for _, s := range out {
		if s.Dynamic {
			sh.printf("%s %s (dynamic)\n", s.Initiator, s.Path)
		} else {
			sh.printf("%s %s\n", s.Initiator, s.Path)
		}
		if a.Str("action") == "detail" {
			sh.printf("  %s\n", strings.ReplaceAll(strings.TrimSpace(s.Info), "\n", "\n  "))
		}
	}
	return nil
}

func cmdStats(ctx context.Context, sh *Shell, n *Node, a Args) error {
	if sh.env.Engine == nil {
		return errNoEngine
	}
	prefix := n.path
	if p := a.Str("path"); p != "" {
		pn, err := sh.Resolve(p)
		if err != nil {
			return err
		}
		prefix = pn.path
	}
	all, err := sh.env.Engine.Stats(ctx)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	out := []engine.DeviceStats{}
	for _, s := range all {
		if prefix == "/" || s.Path == prefix || strings.HasPrefix(s.Path, prefix+"/") {
			out = append(out, s)
		}
	}
	if sh.opts.JSON {
		return sh.printJSON(out)
	}
	if len(out) == 0 {
		sh.printf("(no served user backstores below %s)\n", prefix)
		return nil
	}
	sh.printf("%-32s %-4s %10s %12s %12s %8s %10s %10s\n", "DEVICE", "UP", "COMMANDS", "READ", "WRITTEN", "ERRORS", "P50(us)", "P99(us)")
	for _, s := range out {
		up := "no"
		if s.Up {
			up = "yes"
		}
		sh.printf("%-32s %-4s %10d %12s %12s %8d %10.1f %10.1f\n", s.Path, up, s.Commands,
			size.Format(int64(s.ReadBytes)), size.Format(int64(s.WriteBytes)), s.Errors, s.LatP50us, s.LatP99us)
	}
	return nil
}

var workloadCommand = &Command{
	Name: "workload", Summary: "Run an initiator workload against a LUN through the TCMU engine and report IOPS, bandwidth and latency.",
	Params: []Param{
		{Name: "lun", Type: TypeNode, Required: true, Help: "a LUN path, e.g. /loopback/naa.…/luns/lun0"},
		{Name: "rw", Type: TypeEnum, Enum: []string{"read", "write", "randread", "randwrite", "randrw"}, Default: "randread"},
		{Name: "bs", Type: TypeSize, Default: "4k"},
		{Name: "qd", Type: TypeInt, Min: 1, Max: 1024, Default: "1"},
		{Name: "time", Type: TypeString, Default: "5s", Help: "how long, e.g. 10s, 1m"},
		{Name: "count", Type: TypeInt, Min: 0, Help: "stop after this many commands (0: no limit)"},
		{Name: "verify", Type: TypeBool, Default: "false"},
		{Name: "rate", Type: TypeInt, Min: 0, Help: "at most this many I/Os per second (0: no cap)"},
	},
	Run: cmdWorkload,
}

func cmdWorkload(ctx context.Context, sh *Shell, _ *Node, a Args) error {
	n, err := sh.Resolve(a.Str("lun"))
	if err != nil {
		return err
	}
	if n.kind != kindLUN {
		return usagef("workload: %s is not a LUN (give a path like /loopback/naa…/luns/lun0)", n.path)
	}
	d, err := time.ParseDuration(a.Str("time"))
	if err != nil || d < 0 {
		return usagef("workload: time: %q is not a duration (examples: 10s, 1m30s)", a.Str("time"))
	}
	bs := a.Size("bs")
	if bs < 512 || bs%512 != 0 || bs > 64<<20 {
		return usagef("workload: bs: %s is not a multiple of 512 between 512 and 64M", a.Str("bs"))
	}
	if sh.env.Engine == nil {
		return errNoEngine
	}
	// A one-shot `workload` runs in a process that served nothing yet: an
	// engine in this process serves the LUN's user backstore first (a no-op
	// when it already does), as a user expects `workload` to just work.
	if n.lun.Linked && n.lun.Storage.Plugin == "user" && sh.env.Engine.InProcess() {
		if err := sh.env.Engine.Serve(ctx, n.lun.Storage.Path()); err != nil {
			return fmt.Errorf("workload on %s: serving %s: %w", n.path, n.lun.Storage.Name, err)
		}
	}
	spec := engine.WorkloadSpec{RW: a.Str("rw"), BlockSize: int(bs), QueueDepth: int(a.Int("qd", 1)),
		Duration: d, Count: a.Int("count", 0), Verify: a.Bool("verify"), Rate: int(a.Int("rate", 0))}
	res, err := sh.env.Engine.Workload(ctx, n.lun.Path(), spec)
	if err != nil {
		return fmt.Errorf("workload on %s: %w", n.path, err)
	}
	if sh.opts.JSON {
		return sh.printJSON(res)
	}
	sh.printf("%s %s bs=%d qd=%d: %d ops in %.2fs, %.0f IOPS, %.1f MB/s, latency p50 %.1fus p99 %.1fus max %.1fus, %d errors",
		n.path, spec.RW, spec.BlockSize, spec.QueueDepth, res.Ops, res.Seconds, res.IOPS, res.MBps, res.LatP50us, res.LatP99us, res.LatMaxus, res.Errors)
	if spec.Verify {
		sh.printf(", %d verify errors", res.VerifyErrors)
	}
	sh.printf("\n")
	return nil
}

var sleepCommand = &Command{
	Name: "sleep", Summary: "Wait for a while (in scripts, e.g. for a device to settle); Ctrl-C ends the wait.",
	Params: []Param{{Name: "duration", Type: TypeString, Required: true, Help: "e.g. 500ms, 2s, 1m"}},
	Run: func(ctx context.Context, sh *Shell, _ *Node, a Args) error {
		d, err := time.ParseDuration(a.Str("duration"))
		if err != nil || d < 0 {
			return usagef("sleep: %q is not a duration (examples: 500ms, 2s, 1m)", a.Str("duration"))
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	},
}
