package backends

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var faultOptions = []string{"delay", "error_rate", "fail_after", "jitter", "ops", "readonly", "seed", "sense"}

var faultSubtype = subtype{
	Subtype: Subtype{
		Name:    "fault",
		Summary: "wraps another backend and injects latency and errors",
		Options: faultOptions,
		Help: `fault/<subtype>/<cfgstring>[;option...] — another backend, with injected faults.

The inner backend is written as its own dev_config would be (ram/, null/,
file//var/lib/x.img); the options that follow belong to fault when fault
knows their name, and to the inner backend otherwise. readonly goes to both
when the inner backend has it (a file is then opened read-only, and must
exist). fault cannot wrap fault.

Options (separated by ';'):
  delay=DURATION     added to every operation in scope (e.g. 2ms, 500us);
                     default 0. Waits on a timer, never spins.
  jitter=DURATION    adds a further delay drawn uniformly from [0, jitter);
                     default 0
  error_rate=P       probability from 0 to 1 that an operation in scope
                     fails (e.g. 0.01); default 0
  fail_after=N       the first N operations in scope succeed, every later
                     one fails; default: never
  sense=NAME|K/A/Q   the sense of an injected failure; default medium.
                     Names: medium (03/11/00 on reads, 03/0c/00 on writes),
                     hardware (04/44/00), not_ready (02/04/00),
                     write_protect (07/27/00), aborted (0b/08/00);
                     or a sense key, ASC and ASCQ in hex, e.g. 3/11/0
  ops=read|write|all which operations the delay and the failures apply to;
                     write covers writes, FUA writes, unmap, zeroing and
                     flush; default all
  seed=N             seed of the random choices (error_rate, jitter), for
                     runs that repeat exactly; default: random
  readonly           writes fail with DATA PROTECT, WRITE PROTECTED
                     (07/27/00) and the device reports write protect
Failures are returned as SCSI sense (CHECK CONDITION) to the initiator.

Examples:
  fault/ram/;delay=2ms
  fault/ram/;delay=1ms;jitter=4ms;ops=read
  fault/file//var/lib/tcmsh/x.img;error_rate=0.01;sense=medium;seed=7
  fault/null/;fail_after=1000;sense=not_ready
  fault/ram/chunk=64k;readonly`,
	},
	validate: func(cfg string, size int64) error {
		c, err := parseFaultConfig(cfg)
		if err != nil {
			return err
		}
		return validateConfig(c.inner, size)
	},
	open: func(cfg string, size int64, blockSize uint32) (Backend, error) {
		c, err := parseFaultConfig(cfg)
		if err != nil {
			return nil, err
		}
		inner, err := openConfig(c.inner, size, blockSize)
		if err != nil {
			return nil, err
		}
		return newFault(inner, c), nil
	},
}

// Operation classes that ops= selects.
const (
	faultReads  = "read"
	faultWrites = "write"
	faultAll    = "all"
)

type faultConfig struct {
	inner     string // the inner dev_config, with the options fault passed on
	delay     time.Duration
	jitter    time.Duration
	errorRate float64
	failAfter uint64
	hasFail   bool // fail_after was given
	sense     senseChoice
	ops       string
	seed      int64
	hasSeed   bool
	readonly  bool
}

func parseFaultConfig(cfg string) (faultConfig, error) {
	c := faultConfig{sense: namedSenses[0].choice, ops: faultAll}
	head, rest, _ := strings.Cut(cfg, ";")
	innerName, _, _ := strings.Cut(head, "/")
	if innerName == "" {
		return c, errors.New("missing inner backend: expected fault/<subtype>/<cfgstring>[;options], e.g. fault/ram/;delay=2ms")
	}
	if innerName == "fault" {
		return c, errors.New("fault cannot wrap fault: give all the options to one")
	}
	inner, err := lookupSubtype(innerName)
	if err != nil {
		return c, fmt.Errorf("inner backend: %w", err)
	}
	opts, err := splitOptions(rest)
	if err != nil {
		return c, err
	}
	innerConfig := []string{head}
	for _, o := range opts {
		var err error
		switch o.key {
		case "delay":
			c.delay, err = o.parseDuration()
		case "jitter":
			c.jitter, err = o.parseDuration()
		case "error_rate":
			c.errorRate, err = o.parseProbability()
		case "fail_after":
			c.failAfter, err = o.parseCount("operations")
			c.hasFail = true
		case "sense":
			c.sense, err = o.parseSense()
		case "ops":
			c.ops, err = o.parseChoice(faultAll, faultReads, faultWrites)
		case "seed":
			c.seed, err = o.parseInt()
			c.hasSeed = true
		case "readonly":
			c.readonly, err = o.parseBool()
			if slices.Contains(inner.Options, o.key) {
				// Writes never reach the inner backend, so it may as
				// well open read-only (an image file may be 0400).
				innerConfig = append(innerConfig, o.text())
			}
		default:
			if !slices.Contains(inner.Options, o.key) {
				valid := slices.Concat(faultOptions, inner.Options)
				return c, fmt.Errorf("%w (the inner %s backend's options included)", unknownOptionError(o.key, valid), inner.Name)
			}
			innerConfig = append(innerConfig, o.text())
		}
		if err != nil {
			return c, err
		}
	}
	if c.delay+c.jitter < c.delay {
		return c, fmt.Errorf("options delay and jitter: %v + %v overflows", c.delay, c.jitter)
	}
	c.inner = strings.Join(innerConfig, ";")
	return c, nil
}

// faultBackend wraps a backend and injects delays and failures into the
// operations in scope.
type faultBackend struct {
	inner Backend
	cfg   faultConfig
	count atomic.Uint64 // operations in scope so far
	rngMu sync.Mutex
	rng   *rand.Rand
	sleep func(time.Duration) // time.Sleep; tests record the waits instead
	// The errors to return, copied on each failure so that no caller
	// shares one with another.
	readErr   SenseError // for error_rate
	writeErr  SenseError
	readLate  SenseError // for fail_after
	writeLate SenseError
}

var (
	errInjected      = errors.New("injected by the fault backend (error_rate)")
	errInjectedAfter = errors.New("injected by the fault backend (fail_after)")
)

// NonBlocking is the inner backend's when no delay is injected.
func (b *faultBackend) NonBlocking() bool {
	if b.cfg.delay > 0 || b.cfg.jitter > 0 {
		return false
	}
	nb, ok := b.inner.(NonBlocker)
	return ok && nb.NonBlocking()
}

func newFault(inner Backend, c faultConfig) *faultBackend {
	seed := uint64(c.seed)
	if !c.hasSeed {
		seed = rand.Uint64()
	}
	senseErr := func(s SenseError, cause error) SenseError {
		s.Err = cause
		return s
	}
	return &faultBackend{
		inner:     inner,
		cfg:       c,
		rng:       rand.New(rand.NewPCG(seed, 0x74636d7368)),
		sleep:     time.Sleep,
		readErr:   senseErr(c.sense.read, errInjected),
		writeErr:  senseErr(c.sense.write, errInjected),
		readLate:  senseErr(c.sense.read, errInjectedAfter),
		writeLate: senseErr(c.sense.write, errInjectedAfter),
	}
}

// inject applies the delay and decides the failure of one operation.
func (b *faultBackend) inject(write bool) error {
	switch {
	case b.cfg.ops == faultReads && write, b.cfg.ops == faultWrites && !write:
		return nil
	}
	n := b.count.Add(1)
	wait := b.cfg.delay
	fail := false
	if b.cfg.jitter > 0 || (b.cfg.errorRate > 0 && b.cfg.errorRate < 1) {
		b.rngMu.Lock()
		if b.cfg.jitter > 0 {
			wait += time.Duration(b.rng.Int64N(int64(b.cfg.jitter)))
		}
		if b.cfg.errorRate > 0 {
			fail = b.rng.Float64() < b.cfg.errorRate
		}
		b.rngMu.Unlock()
	} else {
		fail = b.cfg.errorRate >= 1
	}
	if wait > 0 {
		b.sleep(wait)
	}
	late := b.cfg.hasFail && n > b.cfg.failAfter
	var e SenseError
	switch {
	case late && write:
		e = b.writeLate
	case late:
		e = b.readLate
	case fail && write:
		e = b.writeErr
	case fail:
		e = b.readErr
	default:
		return nil
	}
	return &e
}

// Operations returns how many operations have been in scope so far.
func (b *faultBackend) Operations() uint64 { return b.count.Load() }

func (b *faultBackend) ReadAt(p []byte, off int64) (int, error) {
	if err := b.inject(false); err != nil {
		return 0, err
	}
	return b.inner.ReadAt(p, off)
}

func (b *faultBackend) WriteAt(p []byte, off int64) (int, error) {
	if b.cfg.readonly {
		return 0, writeProtected()
	}
	if err := b.inject(true); err != nil {
		return 0, err
	}
	return b.inner.WriteAt(p, off)
}

func (b *faultBackend) WriteAtFUA(p []byte, off int64) (int, error) {
	if b.cfg.readonly {
		return 0, writeProtected()
	}
	if err := b.inject(true); err != nil {
		return 0, err
	}
	if fw, ok := b.inner.(FUAWriter); ok {
		return fw.WriteAtFUA(p, off)
	}
	n, err := b.inner.WriteAt(p, off)
	if err != nil {
		return n, err
	}
	return n, b.inner.Flush()
}

func (b *faultBackend) Unmap(off, length int64) error {
	if b.cfg.readonly {
		return writeProtected()
	}
	if err := b.inject(true); err != nil {
		return err
	}
	u, ok := b.inner.(Unmapper)
	if !ok {
		return errors.New("the inner backend does not support unmap")
	}
	return u.Unmap(off, length)
}

func (b *faultBackend) WriteZeroes(off, length int64) error {
	if b.cfg.readonly {
		return writeProtected()
	}
	if err := b.inject(true); err != nil {
		return err
	}
	z, ok := b.inner.(ZeroWriter)
	if !ok {
		return errors.New("the inner backend does not support writing zeroes")
	}
	return z.WriteZeroes(off, length)
}

// MappedExtent passes through to the inner backend, without delays or
// failures: it reads no data. Without an inner Mapper everything is mapped
// (and Caps, the inner backend's, does not claim Mapping).
func (b *faultBackend) MappedExtent(off int64) (bool, int64, error) {
	if m, ok := b.inner.(Mapper); ok {
		return m.MappedExtent(off)
	}
	size := b.inner.Size()
	if off < 0 || off >= size {
		return false, 0, checkRange(off, 1, size)
	}
	return true, size - off, nil
}

func (b *faultBackend) Flush() error {
	if b.cfg.readonly {
		return nil
	}
	if err := b.inject(true); err != nil {
		return err
	}
	return b.inner.Flush()
}

func (b *faultBackend) Caps() Caps {
	caps := b.inner.Caps()
	if b.cfg.readonly {
		caps.ReadOnly = true
	}
	// The wrapper implements every optional interface, falling back on
	// WriteAt plus Flush, so FUA is always available.
	caps.FUA = true
	return caps
}

func (b *faultBackend) Size() int64 { return b.inner.Size() }

func (b *faultBackend) Resize(size int64) error {
	r, ok := b.inner.(Resizer)
	if !ok {
		return errors.New("the inner backend cannot be resized")
	}
	return r.Resize(size)
}

func (b *faultBackend) Close() error { return b.inner.Close() }
