package engine

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim/initiator"
	"github.com/tcmsh/tcmsh/sim/ring"
)

// workloadTarget is what a workload runs against: the simulated ring of a
// LUN's storage object, or the LUN's block device on the real kernel.
type workloadTarget struct {
	target    initiator.Target
	blockSize int
	size      int64 // bytes of the device the workload may use
	close     func() error
}

// DefaultWorkloadTime is the run time of a workload that gives neither a
// time nor a count.
const DefaultWorkloadTime = 10 * time.Second

// Workload runs an initiator workload against the LUN at lunConfigPath
// ("target/loopback/<wwn>/tpgt_N/lun/lun_M"). On the simulated kernel the
// simulated initiator submits to the ring of the LUN's storage object,
// which this engine must serve; on the real kernel it reads and writes
// the LUN's /dev/sdX with O_DIRECT. Either way the LUN must be a disk: a
// loopback LUN linked while its TPG had an I_T nexus. I/O errors are
// counted in the result; the error is for a workload that could not run,
// or that stopped because the device went away (the result then holds
// what was done until then).
func (l *Local) Workload(ctx context.Context, lunConfigPath string, spec WorkloadSpec) (WorkloadResult, error) {
	p := strings.TrimPrefix(path.Clean("/"+lunConfigPath), "/")
	if i := strings.Index(p, "/"+configfs.Root+"/"); i >= 0 && strings.HasPrefix(p, "sys/") {
		p = p[i+1:] // given under the configfs mount point
	}
	wt, err := l.kern.workloadTarget(p)
	if err != nil {
		return WorkloadResult{}, err
	}
	defer wt.close()
	cfg := initiator.Config{
		RW:        spec.RW,
		BS:        spec.BlockSize,
		QD:        spec.QueueDepth,
		Time:      spec.Duration,
		Count:     spec.Count,
		Verify:    spec.Verify,
		Rate:      spec.Rate,
		BlockSize: wt.blockSize,
		Size:      wt.size,
	}
	if cfg.RW == "" {
		cfg.RW = "randread"
	}
	if cfg.BS == 0 {
		cfg.BS = 4096
	}
	if cfg.Time <= 0 && cfg.Count <= 0 {
		cfg.Time = DefaultWorkloadTime
	}
	// A removed device never answers again: end the workload there
	// rather than let every worker fail command after command.
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rep, err := initiator.Run(ctx, removalStopper{wt.target, cancel}, cfg)
	if err != nil {
		return WorkloadResult{}, fmt.Errorf("engine: workload on %s: %w", p, err)
	}
	res := WorkloadResult{
		Ops:          rep.Ops,
		IOPS:         rep.IOPS,
		MBps:         rep.MBps,
		LatP50us:     micros(rep.P50),
		LatP99us:     micros(rep.P99),
		LatMaxus:     micros(rep.Max),
		Errors:       rep.Errors,
		VerifyErrors: rep.VerifyErrors,
		Seconds:      rep.Elapsed.Seconds(),
		Retries:      rep.Retries,
		FirstError:   rep.FirstError,
	}
	if cause := context.Cause(ctx); parent.Err() == nil && cause != nil && isRemoved(cause) {
		return res, fmt.Errorf("engine: workload on %s: the device went away after %d I/Os: %w", p, res.Ops, cause)
	}
	return res, nil
}

// ParseWorkloadSpec reads the key=value words of the shell's `workload`
// command (rw, bs with k/m suffixes, qd, time as a Go duration, count,
// verify, rate), with the simulated initiator's defaults: rw=randread, bs=4k,
// qd=1. Keys the initiator knows but a WorkloadSpec cannot carry are
// refused by name.
func ParseWorkloadSpec(args []string) (WorkloadSpec, error) {
	for _, a := range args {
		switch k, _, _ := strings.Cut(a, "="); k {
		case "rw", "bs", "qd", "iodepth", "time", "runtime", "count", "verify", "rate":
		default:
			return WorkloadSpec{}, fmt.Errorf("workload: unknown option %q (valid: rw, bs, qd, time, count, verify, rate)", k)
		}
	}
	cfg, err := initiator.ParseArgs(args)
	if err != nil {
		return WorkloadSpec{}, fmt.Errorf("workload: %w", err)
	}
	return WorkloadSpec{RW: cfg.RW, BlockSize: cfg.BS, QueueDepth: cfg.QD, Duration: cfg.Time, Count: cfg.Count, Verify: cfg.Verify, Rate: cfg.Rate}, nil
}

// removalStopper ends a workload (through its context) when the device is
// removed under it.
type removalStopper struct {
	target initiator.Target
	cancel context.CancelCauseFunc
}

func (r removalStopper) Submit(ctx context.Context, req *ring.Request) (ring.Result, error) {
	res, err := r.target.Submit(ctx, req)
	if err != nil && isRemoved(err) {
		r.cancel(err)
	}
	return res, err
}
