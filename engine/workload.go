package engine

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/tcmsh/tcmsh/sim/initiator"
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
// counted in the result; the error is for a workload that could not run.
func (l *Local) Workload(ctx context.Context, lunConfigPath string, spec WorkloadSpec) (WorkloadResult, error) {
	p := strings.TrimPrefix(path.Clean("/"+lunConfigPath), "/")
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
	rep, err := initiator.Run(ctx, wt.target, cfg)
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
	return res, nil
}
