// Package initiator owns the simulated SCSI initiator and workload
// generator: it drives a simulated TCMU device (sim/ring) with real READ
// and WRITE CDBs at a chosen queue depth, treats BUSY, TASK SET FULL, NOT
// READY and UNIT ATTENTION like Linux (bounded retries), optionally writes
// a self-describing pattern (LBA and a generation per block, so misplaced
// and stale data are both caught) and checks it on read-back, and reports
// ops, IOPS, MB/s and latency percentiles.
package initiator

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcmsh/tcmsh/internal/size"
	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim/ring"
	"github.com/tcmsh/tcmsh/tcmu"
)

// Target is what the initiator sends commands to: a sim/ring device.
type Target interface {
	Submit(ctx context.Context, req *ring.Request) (ring.Result, error)
}

// Config describes a workload, after fio's vocabulary.
type Config struct {
	RW        string        // read, write, randread, randwrite or randrw
	BS        int           // bytes per I/O, a multiple of BlockSize
	QD        int           // I/Os in flight
	Time      time.Duration // run time; 0 = until Count
	Count     int64         // I/Os to issue; 0 = until Time
	Verify    bool          // write a pattern and check it on read-back
	BlockSize int           // logical block size of the device
	Size      int64         // bytes of the device to use (from LBA 0)
	ReadMix   int           // percent reads for randrw (default 50)
	Seed      uint64
	Retries   int  // retries of BUSY and friends per I/O
	CDB16     bool // always send READ(16)/WRITE(16)
	// Rate caps the I/Os started per second, over all QD workers; 0: no
	// cap. A capped workload keeps a modest, steady load (the demo's).
	Rate int
}

// Defaults.
const (
	DefaultBlockSize = 512
	DefaultRetries   = 200
	maxBackoff       = 20 * time.Millisecond
)

// Report is the outcome of a workload.
type Report struct {
	Ops, Reads, Writes int64
	Bytes              int64
	VerifyReads        int64 // read-back I/Os after a write-only verify workload
	Elapsed            time.Duration
	IOPS, MBps         float64
	P50, P99, Max      time.Duration
	Errors             int64
	VerifyErrors       int64
	Retries            int64
	FirstError         string
}

func (r Report) String() string {
	s := fmt.Sprintf("ops=%d (read %d, write %d) iops=%.0f MB/s=%.1f lat p50=%v p99=%v max=%v errors=%d verify_errors=%d retries=%d",
		r.Ops, r.Reads, r.Writes, r.IOPS, r.MBps, r.P50, r.P99, r.Max, r.Errors, r.VerifyErrors, r.Retries)
	if r.FirstError != "" {
		s += " first_error=" + strconv.Quote(r.FirstError)
	}
	return s
}

// ParseArgs reads key=value words: rw, bs (with k/m suffixes), qd, time
// (a Go duration), count, verify, size, blocksize, rwmixread, seed, cdb16,
// rate (I/Os per second, 0: no cap).
func ParseArgs(args []string) (Config, error) {
	cfg := Config{RW: "randread", BS: 4096, QD: 1}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return cfg, fmt.Errorf("initiator: %q is not key=value", a)
		}
		var err error
		switch k {
		case "rw":
			cfg.RW = v
		case "bs":
			var n int64
			n, err = size.Parse(v)
			cfg.BS = int(n)
		case "size":
			cfg.Size, err = size.Parse(v)
		case "blocksize":
			var n int64
			n, err = size.Parse(v)
			cfg.BlockSize = int(n)
		case "qd", "iodepth":
			cfg.QD, err = strconv.Atoi(v)
		case "time", "runtime":
			cfg.Time, err = time.ParseDuration(v)
		case "count":
			cfg.Count, err = strconv.ParseInt(v, 10, 64)
		case "verify":
			cfg.Verify, err = strconv.ParseBool(v)
		case "rwmixread":
			cfg.ReadMix, err = strconv.Atoi(v)
		case "seed":
			cfg.Seed, err = strconv.ParseUint(v, 10, 64)
		case "cdb16":
			cfg.CDB16, err = strconv.ParseBool(v)
		case "rate":
			cfg.Rate, err = strconv.Atoi(v)
		default:
			return cfg, fmt.Errorf("initiator: unknown option %q", k)
		}
		if err != nil {
			return cfg, fmt.Errorf("initiator: %s=%s: %w", k, v, err)
		}
	}
	return cfg, nil
}

type mode struct{ random, reads, writes bool }

func (c *Config) validate() (mode, error) {
	var m mode
	switch c.RW {
	case "read":
		m = mode{reads: true}
	case "write":
		m = mode{writes: true}
	case "randread":
		m = mode{random: true, reads: true}
	case "randwrite":
		m = mode{random: true, writes: true}
	case "randrw", "rw", "readwrite":
		m = mode{random: c.RW == "randrw", reads: true, writes: true}
	default:
		return m, fmt.Errorf("initiator: rw=%q: want read, write, randread, randwrite or randrw", c.RW)
	}
	if c.BlockSize == 0 {
		c.BlockSize = DefaultBlockSize
	}
	if c.QD <= 0 {
		c.QD = 1
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.ReadMix == 0 {
		c.ReadMix = 50
	}
	switch {
	case c.BS <= 0 || c.BS%c.BlockSize != 0:
		return m, fmt.Errorf("initiator: bs=%d is not a multiple of the %d-byte block", c.BS, c.BlockSize)
	case c.Size < int64(c.BS):
		return m, fmt.Errorf("initiator: size=%d is smaller than bs=%d", c.Size, c.BS)
	case c.Time <= 0 && c.Count <= 0:
		return m, errors.New("initiator: give time or count")
	case c.Verify && c.BlockSize < 24:
		return m, errors.New("initiator: verify needs blocks of at least 24 bytes")
	case c.Rate < 0:
		return m, fmt.Errorf("initiator: rate=%d: want a number of I/Os per second, or 0 for no cap", c.Rate)
	}
	return m, nil
}

// chunk is one bs-sized, bs-aligned piece of the device. Only one I/O at a
// time owns a chunk, so that what a read returns is exactly what the last
// completed write wrote.
type chunk struct {
	busy atomic.Bool
	gen  atomic.Uint64 // generation of the last successful write; 0 = unknown
}

type run struct {
	cfg     Config
	mode    mode
	target  Target
	limit   *limiter // nil: no rate cap
	chunks  []chunk
	issued  atomic.Int64
	seqNext atomic.Uint64
	genNext atomic.Uint64

	mu         sync.Mutex
	report     Report
	hist       histogram
	firstError string
}

// Run runs the workload against t and reports. It returns an error only
// for a bad configuration; I/O failures are counted in the Report.
func Run(ctx context.Context, t Target, cfg Config) (Report, error) {
	m, err := cfg.validate()
	if err != nil {
		return Report{}, err
	}
	r := &run{cfg: cfg, mode: m, target: t, chunks: make([]chunk, cfg.Size/int64(cfg.BS))}
	if cfg.Rate > 0 {
		r.limit = newLimiter(cfg.Rate, time.Now)
	}
	if cfg.Time > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Time)
		defer cancel()
	}
	start := time.Now()
	r.parallel(func(w *worker) {
		for ctx.Err() == nil {
			if cfg.Count > 0 && r.issued.Add(1) > cfg.Count {
				return
			}
			if r.limit != nil && !r.limit.wait(ctx) {
				return
			}
			w.one(ctx)
		}
	})
	elapsed := time.Since(start)
	if cfg.Verify && m.writes && !m.reads {
		r.readBack(context.WithoutCancel(ctx))
	}
	rep := r.report
	rep.Elapsed = elapsed
	if secs := elapsed.Seconds(); secs > 0 {
		rep.IOPS = float64(rep.Ops) / secs
		rep.MBps = float64(rep.Bytes) / secs / 1e6
	}
	rep.P50, rep.P99 = r.hist.quantile(0.5), r.hist.quantile(0.99)
	rep.Max = r.hist.max
	rep.FirstError = r.firstError
	return rep, nil
}

// worker is one of QD loops, each with its own buffers.
type worker struct {
	r     *run
	rng   *rand.Rand
	req   ring.Request
	cdb   [16]byte
	buf   []byte
	local Report
	hist  histogram
	err   string
}

func (r *run) parallel(body func(w *worker)) {
	var wg sync.WaitGroup
	for i := 0; i < r.cfg.QD; i++ {
		w := &worker{r: r, rng: rand.New(rand.NewPCG(r.cfg.Seed, uint64(i)+1)), buf: make([]byte, r.cfg.BS)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(w)
			r.merge(w)
		}()
	}
	wg.Wait()
}

func (r *run) merge(w *worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &r.report
	rep.Ops += w.local.Ops
	rep.Reads += w.local.Reads
	rep.Writes += w.local.Writes
	rep.Bytes += w.local.Bytes
	rep.VerifyReads += w.local.VerifyReads
	rep.Errors += w.local.Errors
	rep.VerifyErrors += w.local.VerifyErrors
	rep.Retries += w.local.Retries
	r.hist.add(&w.hist)
	if r.firstError == "" {
		r.firstError = w.err
	}
}

// pick claims a chunk for this worker.
func (w *worker) pick() int {
	r := w.r
	n := uint64(len(r.chunks))
	for {
		var i uint64
		if r.mode.random {
			i = w.rng.Uint64N(n)
		} else {
			i = (r.seqNext.Add(1) - 1) % n
		}
		if r.chunks[i].busy.CompareAndSwap(false, true) {
			return int(i)
		}
	}
}

// one issues one I/O.
func (w *worker) one(ctx context.Context) {
	r := w.r
	isRead := r.mode.reads
	if r.mode.reads && r.mode.writes {
		isRead = w.rng.IntN(100) < r.cfg.ReadMix
	}
	c := w.pick()
	defer r.chunks[c].busy.Store(false)
	if isRead {
		w.read(ctx, c, false)
	} else {
		w.write(ctx, c)
	}
}

func (w *worker) lba(c int) uint64 { return uint64(c) * uint64(w.r.cfg.BS/w.r.cfg.BlockSize) }

// buildCDB fills a READ/WRITE(10) or (16) CDB.
func (w *worker) buildCDB(write bool, lba uint64, blocks uint32) []byte {
	cdb := w.cdb[:]
	clear(cdb)
	if !w.r.cfg.CDB16 && lba <= 0xFFFFFFFF && blocks <= 0xFFFF {
		cdb[0] = 0x28
		if write {
			cdb[0] = 0x2a
		}
		binary.BigEndian.PutUint32(cdb[2:], uint32(lba))
		binary.BigEndian.PutUint16(cdb[7:], uint16(blocks))
		return cdb[:10]
	}
	cdb[0] = 0x88
	if write {
		cdb[0] = 0x8a
	}
	binary.BigEndian.PutUint64(cdb[2:], lba)
	binary.BigEndian.PutUint32(cdb[10:], blocks)
	return cdb[:16]
}

func (w *worker) write(ctx context.Context, c int) {
	r := w.r
	ch := &r.chunks[c]
	lba := w.lba(c)
	gen := r.genNext.Add(1)
	if r.cfg.Verify {
		FillPattern(w.buf, r.cfg.BlockSize, lba, gen)
	}
	w.req = ring.Request{CDB: w.buildCDB(true, lba, uint32(r.cfg.BS/r.cfg.BlockSize)), DataOut: w.buf}
	// Until the write is known to have landed, the chunk's content is
	// unknown (a failed or cancelled write may have been applied or not).
	ch.gen.Store(0)
	if w.exec(ctx) {
		ch.gen.Store(gen)
		w.local.Writes++
	}
}

func (w *worker) read(ctx context.Context, c int, readBack bool) {
	r := w.r
	lba := w.lba(c)
	clear(w.buf)
	w.req = ring.Request{CDB: w.buildCDB(false, lba, uint32(r.cfg.BS/r.cfg.BlockSize)), DataIn: w.buf}
	if !w.exec(ctx) {
		return
	}
	if readBack {
		w.local.VerifyReads++
	} else {
		w.local.Reads++
	}
	if gen := r.chunks[c].gen.Load(); r.cfg.Verify && gen != 0 {
		if msg := CheckPattern(w.buf, r.cfg.BlockSize, lba, gen); msg != "" {
			w.local.VerifyErrors++
			if w.err == "" {
				w.err = msg
			}
		}
	}
}

// exec submits w.req with Linux's retry rules and accounts it.
func (w *worker) exec(ctx context.Context) bool {
	start := time.Now()
	ok := w.submit(ctx)
	if ok {
		w.local.Ops++
		w.local.Bytes += int64(len(w.req.DataOut) + len(w.req.DataIn))
		w.hist.record(time.Since(start))
	}
	return ok
}

func (w *worker) submit(ctx context.Context) bool {
	backoff := 100 * time.Microsecond
	for attempt := 0; ; attempt++ {
		res, err := w.r.target.Submit(ctx, &w.req)
		if err != nil {
			if ctx.Err() == nil {
				w.fail(err.Error())
			}
			return false
		}
		if res.Status == scsi.StatusGood || res.Status == scsi.StatusConditionMet {
			if len(w.req.DataIn) > 0 && res.DataIn < len(w.req.DataIn) {
				w.fail(fmt.Sprintf("short read: %d of %d bytes", res.DataIn, len(w.req.DataIn)))
				return false
			}
			return true
		}
		retry, wait := false, false
		switch res.Status {
		case scsi.StatusBusy, scsi.StatusTaskSetFull:
			retry, wait = true, true
		case scsi.StatusCheckCondition:
			switch res.SenseKey() {
			case 0x6: // UNIT ATTENTION: report once, then the command goes through
				retry = true
			case 0x2: // NOT READY: the sd driver retries a bounded number of times
				retry, wait = true, true
			}
		}
		if !retry || attempt >= w.r.cfg.Retries || ctx.Err() != nil {
			if ctx.Err() == nil {
				asc, ascq := res.ASC()
				w.fail(fmt.Sprintf("status 0x%02x sense key 0x%x asc 0x%02x/0x%02x after %d retries",
					res.Status, res.SenseKey(), asc, ascq, attempt))
			}
			return false
		}
		w.local.Retries++
		if wait {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return false
			}
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

func (w *worker) fail(msg string) {
	w.local.Errors++
	if w.err == "" {
		w.err = msg
	}
}

// readBack reads every chunk a write-only workload wrote and checks it.
func (r *run) readBack(ctx context.Context) {
	var next atomic.Int64
	r.parallel(func(w *worker) {
		for {
			c := int(next.Add(1) - 1)
			if c >= len(r.chunks) {
				return
			}
			if r.chunks[c].gen.Load() != 0 {
				w.read(ctx, c, true)
			}
		}
	})
}

const patternMagic = 0x6b6f6c62736d6374 // "tcmsblok" little-endian

// FillPattern fills buf, block by block, with the verify pattern that
// Config.Verify writes: each blockSize block holds its LBA (counting from
// lba), the generation gen and a magic number, then words derived from all
// three, so a block from another LBA or an older write never passes
// CheckPattern. Other tests use it to compute what a verifying workload
// left on a device.
func FillPattern(buf []byte, blockSize int, lba, gen uint64) {
	for off := 0; off+blockSize <= len(buf); off += blockSize {
		b := buf[off : off+blockSize]
		binary.LittleEndian.PutUint64(b[0:], lba)
		binary.LittleEndian.PutUint64(b[8:], gen)
		binary.LittleEndian.PutUint64(b[16:], patternMagic)
		seed := lba*0x9e3779b97f4a7c15 ^ gen<<32 ^ gen
		for i := 24; i+8 <= len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], seed+uint64(i))
		}
		lba++
	}
}

// CheckPattern returns "" when buf holds FillPattern(buf, blockSize, lba,
// gen), or else what the first block that does not hold it holds instead.
func CheckPattern(buf []byte, blockSize int, lba, gen uint64) string {
	for off := 0; off+blockSize <= len(buf); off += blockSize {
		b := buf[off : off+blockSize]
		gotLBA := binary.LittleEndian.Uint64(b[0:])
		gotGen := binary.LittleEndian.Uint64(b[8:])
		if gotLBA != lba || gotGen != gen || binary.LittleEndian.Uint64(b[16:]) != patternMagic {
			return fmt.Sprintf("LBA %d: block holds LBA %d generation %d, want generation %d", lba, gotLBA, gotGen, gen)
		}
		seed := lba*0x9e3779b97f4a7c15 ^ gen<<32 ^ gen
		for i := 24; i+8 <= len(b); i += 8 {
			if binary.LittleEndian.Uint64(b[i:]) != seed+uint64(i) {
				return fmt.Sprintf("LBA %d: corrupt at byte %d", lba, i)
			}
		}
		lba++
	}
	return ""
}

// histogram counts a workload's latencies in tcmu's log-linear buckets
// (tcmu.LatencyHistogram, the engine's too), with the maximum seen.
type histogram struct {
	counts tcmu.LatencyHistogram
	max    time.Duration
}

func (h *histogram) record(d time.Duration) {
	h.counts[tcmu.LatencyBucketIndex(int64(d))]++
	h.max = max(h.max, d)
}

func (h *histogram) add(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.max = max(h.max, o.max)
}

// quantile is tcmu.LatencyHistogram.Quantile, capped at the maximum.
func (h *histogram) quantile(q float64) time.Duration { return min(h.counts.Quantile(q), h.max) }
