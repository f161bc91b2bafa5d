// Package engine is the one way the shell and the TUI reach the TCMU
// engine: the ring loops that serve `user` backstores, their statistics
// and initiator workloads. The engine runs in this process (Local) or in a
// `tcmsh serve` daemon reached over its control socket; callers cannot
// tell the difference.
//
// NewLocal builds the in-process engine over the configfs model of the
// real kernel (devices through /dev/uioN and TCM-USER netlink) or of the
// simulated one (Options.Sim: rings in this process, through sim/ring).
// Each served device is a tcmu.Ring over a scsi.Disk over a backend opened
// from its dev_config; the ring loop is supervised, reattached through the
// block_dev → reset_ring → unblock recipe after a failure, and reported
// down when it cannot be restarted.
package engine

import (
	"context"
	"time"
)

// Engine serves TCMU devices and reports on them. Implementations are safe
// for concurrent use.
type Engine interface {
	// Subtypes lists the user backstore subtypes served (ram, file, …).
	Subtypes() []string
	// Validate checks a dev_config ("<subtype>/<cfgstring>") for a device
	// of size bytes before a backstore is created; the error names the bad
	// field.
	Validate(devConfig string, size int64) error
	// Serve starts serving the enabled user backstore at its configfs path
	// ("target/core/user_N/name"). Serving one that is already served is
	// not an error.
	Serve(ctx context.Context, configPath string) error
	// Release stops serving a backstore (before it is deleted): in-flight
	// commands complete, the device is left blocked cleanly.
	Release(ctx context.Context, configPath string) error
	// Stats returns one snapshot per served device, ordered by path.
	Stats(ctx context.Context) ([]DeviceStats, error)
	// Workload runs an initiator workload against a LUN, given by its
	// configfs path ("target/loopback/naa…/tpgt_1/lun/lun_0").
	Workload(ctx context.Context, lunConfigPath string, spec WorkloadSpec) (WorkloadResult, error)
	// InProcess reports whether the devices are served by this process
	// (so they stop when it exits) rather than by a daemon.
	InProcess() bool
	// Close stops serving every device this engine serves in-process.
	Close() error
}

// DeviceStats is a snapshot of one served device. The JSON names are a
// contract with scripts (`stats --json`).
type DeviceStats struct {
	Path       string `json:"path"`     // targetcli path, /backstores/user:ram/r1
	ConfigPath string `json:"configfs"` // target/core/user_0/r1
	UIO        string `json:"uio"`      // uio0
	Subtype    string `json:"subtype"`
	Up         bool   `json:"up"`
	// LastError says why the device is down (or why its ring loop was
	// last restarted); empty when nothing went wrong.
	LastError string `json:"last_error,omitempty"`
	// Attaches counts the times the device was attached (the first serve
	// and every reattach); Restarts those after a ring loop failed.
	// BackendError says why the storage behind the device is unreachable
	// (a lost cluster connection); empty while the backend is healthy.
	BackendError string `json:"backend_error,omitempty"`
	Attaches     int    `json:"attaches"`
	Restarts     int    `json:"restarts"`
	QueueDepth   int    `json:"queue_depth"` // commands served at once

	Commands   uint64 `json:"commands"`
	ReadBytes  uint64 `json:"read_bytes"`
	WriteBytes uint64 `json:"write_bytes"`
	Errors     uint64 `json:"errors"` // commands that ended in CHECK CONDITION

	Inflight    uint64 `json:"inflight"`
	InflightMax uint64 `json:"inflight_max"`

	RingUsedBytes    uint64 `json:"ring_used_bytes"`
	RingUsedMaxBytes uint64 `json:"ring_used_max_bytes"`
	RingSizeBytes    uint64 `json:"ring_size_bytes"`
	DataUsedBytes    uint64 `json:"data_used_bytes"`
	DataUsedMaxBytes uint64 `json:"data_used_max_bytes"`
	DataSizeBytes    uint64 `json:"data_size_bytes"`

	LatP50us float64 `json:"lat_p50_us"`
	LatP99us float64 `json:"lat_p99_us"`
	LatMaxus float64 `json:"lat_max_us"`
	// LatencyBuckets[b] counts commands whose latency was in [2^(b-1), 2^b) ns.
	LatencyBuckets []uint64 `json:"latency_buckets_ns_log2"`
	// LatencyHistogram is the finer histogram the percentiles come from:
	// its non-empty buckets, in order of latency, each counting the
	// commands with lo_ns ≤ latency < hi_ns. Buckets are 1 ns wide below
	// 32 ns; above, each power of two [2^k, 2^(k+1)) ns is split into 16
	// buckets 2^(k-4) ns wide (at most 6.25 % of their lo_ns). Summed by
	// power of two they give latency_buckets_ns_log2.
	LatencyHistogram []LatencyBucket `json:"latency_histogram"`

	ByOpcode        []OpcodeStats     `json:"by_opcode"`
	CheckConditions map[string]uint64 `json:"check_conditions"` // by sense key name
	Recent          []RecentCommand   `json:"recent"`
	Time            time.Time         `json:"time"` // when the snapshot was taken
}

// OpcodeStats counts one SCSI opcode.
type OpcodeStats struct {
	Opcode   byte   `json:"opcode"`
	Name     string `json:"name"`
	Commands uint64 `json:"commands"`
	Bytes    uint64 `json:"bytes"`
}

// RecentCommand is one entry of a device's log of recent commands.
type RecentCommand struct {
	Opcode    byte      `json:"opcode"`
	Name      string    `json:"name"`
	LBA       uint64    `json:"lba"`
	Length    uint64    `json:"length"`
	LatencyUs float64   `json:"latency_us"`
	Status    byte      `json:"status"`
	Finished  time.Time `json:"finished"`
}

// WorkloadSpec describes an initiator workload
// (`workload <lun> rw=… bs=… qd=… time=… count=… verify=… rate=…`).
type WorkloadSpec struct {
	RW         string        `json:"rw"` // read, write, randread, randwrite, randrw
	BlockSize  int           `json:"bs"`
	QueueDepth int           `json:"qd"`
	Duration   time.Duration `json:"time"`
	Count      int64         `json:"count"`
	Verify     bool          `json:"verify"`
	// Rate caps the I/Os started per second (over the whole queue
	// depth); 0 means no cap.
	Rate int `json:"rate,omitempty"`
}

// WorkloadResult reports a finished workload. The JSON names are a contract
// with scripts (`workload --json`).
type WorkloadResult struct {
	Ops          int64   `json:"ops"`
	IOPS         float64 `json:"iops"`
	MBps         float64 `json:"mbps"`
	LatP50us     float64 `json:"lat_p50_us"`
	LatP99us     float64 `json:"lat_p99_us"`
	LatMaxus     float64 `json:"lat_max_us"`
	Errors       int64   `json:"errors"`
	VerifyErrors int64   `json:"verify_errors"`
	Seconds      float64 `json:"seconds"`
	// Retries counts commands sent again after BUSY, TASK SET FULL, NOT
	// READY or UNIT ATTENTION, as Linux's sd driver would.
	Retries int64 `json:"retries"`
	// FirstError describes the first failed I/O or verify mismatch.
	FirstError string `json:"first_error,omitempty"`
}
