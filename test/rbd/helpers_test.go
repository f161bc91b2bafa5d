//go:build rbd

// Package rbd_test runs tcmsh's user:rbd backstores end to end against a
// real one-node Ceph cluster (test/cephtest): the ordinary shell and the
// in-process TCMU engine on the simulated kernel, the initiator's workload
// through a loopback LUN, and the image read back with the rbd command.
// It also loses the cluster's only OSD in the middle of a workload.
//
// Build tags rbd and pacific (Debian 12's Ceph 16); Ceph's daemons and
// client tools must be installed (test/cephtest says which packages):
//
//	go test -race -tags rbd,pacific ./test/rbd/
package rbd_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
	_ "github.com/tcmsh/tcmsh/backends/rbd" // registers the rbd subtype
	"github.com/tcmsh/tcmsh/cli"
	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/sim/initiator"
)

// tcmsh is the shell as the command line builds it on the simulated kernel
// (state in a temporary folder), with the TCMU engine in this process.
type tcmsh struct {
	t        *testing.T
	k        *sim.Kernel
	lio      *configfs.LIO
	eng      *engine.Local
	sh       *shell.Shell
	out, err bytes.Buffer
}

func newTcmsh(t *testing.T) *tcmsh {
	t.Helper()
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatalf("sim.Open: %v", err)
	}
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		k.Close()
		t.Fatalf("configfs.Open: %v", err)
	}
	eng, err := engine.NewLocal(engine.Options{LIO: lio, Sim: k, Logf: t.Logf})
	if err != nil {
		k.Close()
		t.Fatalf("engine.NewLocal: %v", err)
	}
	x := &tcmsh{t: t, k: k, lio: lio, eng: eng}
	x.sh = shell.New(shell.Env{LIO: lio, Kind: "sim", KernelVersion: "simulated", AvailableFabrics: sim.DefaultFabrics,
		UserSubtypes: backends.Subtypes(), Engine: eng},
		shell.Options{Out: &x.out, Err: &x.err, JSON: true, Batch: true})
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Errorf("engine Close: %v", err)
		}
		k.Close()
	})
	return x
}

// exec runs one shell command line made of words (quoted as the command
// line quotes them) and returns its output.
func (x *tcmsh) exec(ctx context.Context, words ...string) (string, error) {
	x.out.Reset()
	x.err.Reset()
	err := x.sh.Exec(ctx, cli.QuoteWords(words))
	return x.out.String(), err
}

// must runs words and fails the test when the command fails.
func (x *tcmsh) must(ctx context.Context, words ...string) string {
	x.t.Helper()
	out, err := x.exec(ctx, words...)
	if err != nil {
		x.t.Fatalf("%s: %v (stderr %q)", strings.Join(words, " "), err, x.err.String())
	}
	return out
}

const wwn = "naa.5001405aaaaaaaaa"

// lunPath is the loopback LUN that loopback makes.
const lunPath = "/loopback/" + wwn + "/luns/lun0"

// loopback exports backstore (a targetcli path) as lunPath.
func (x *tcmsh) loopback(ctx context.Context, backstore string) {
	x.t.Helper()
	x.must(ctx, "/loopback", "create", wwn)
	x.must(ctx, "/loopback/"+wwn+"/luns", "create", backstore)
}

// workload runs the shell's workload command on lunPath and decodes its
// JSON report.
func (x *tcmsh) workload(ctx context.Context, args ...string) (engine.WorkloadResult, error) {
	var res engine.WorkloadResult
	out, err := x.exec(ctx, append([]string{"workload", lunPath}, args...)...)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return res, fmt.Errorf("workload output %q: %v", out, err)
	}
	x.t.Logf("workload %s: ops=%d iops=%.0f MB/s=%.1f p99=%.0fus max=%.0fus errors=%d verify_errors=%d retries=%d first_error=%q",
		strings.Join(args, " "), res.Ops, res.IOPS, res.MBps, res.LatP99us, res.LatMaxus, res.Errors, res.VerifyErrors, res.Retries, res.FirstError)
	return res, nil
}

// clean runs a workload that must end with neither I/O nor verify errors.
func (x *tcmsh) clean(ctx context.Context, args ...string) engine.WorkloadResult {
	x.t.Helper()
	res, err := x.workload(ctx, args...)
	if err != nil {
		x.t.Fatalf("workload %s: %v", strings.Join(args, " "), err)
	}
	if res.Ops == 0 || res.Errors != 0 || res.VerifyErrors != 0 {
		x.t.Fatalf("workload %s: %d ops, %d errors, %d verify errors (first: %s)",
			strings.Join(args, " "), res.Ops, res.Errors, res.VerifyErrors, res.FirstError)
	}
	return res
}

// stats returns the `stats` figures of the backstore at path.
func (x *tcmsh) stats(ctx context.Context, path string) engine.DeviceStats {
	x.t.Helper()
	out := x.must(ctx, "stats", path)
	var all []engine.DeviceStats
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		x.t.Fatalf("stats output %q: %v", out, err)
	}
	for _, s := range all {
		if s.Path == path {
			return s
		}
	}
	x.t.Fatalf("stats has no %s: %s", path, out)
	return engine.DeviceStats{}
}

// engineStats is the engine's view of the device at path, read directly
// (safe while the shell runs a workload in another goroutine).
func (x *tcmsh) engineStats(ctx context.Context, path string) (engine.DeviceStats, bool) {
	all, err := x.eng.Stats(ctx)
	if err != nil {
		x.t.Errorf("engine Stats: %v", err)
		return engine.DeviceStats{}, false
	}
	for _, s := range all {
		if s.Path == path {
			return s, true
		}
	}
	return engine.DeviceStats{}, false
}

// checkBlocks checks that every blockSize block of img holds the
// initiator's verify pattern (initiator.FillPattern) of its own LBA with
// the generation it names (any generation), or with zeros, only zeros
// (never written), and returns the number of blocks that fail and the
// first failure.
func checkBlocks(img []byte, blockSize int, zeros bool) (bad int, first string) {
	want := make([]byte, blockSize)
	zero := make([]byte, blockSize)
	for off := 0; off+blockSize <= len(img); off += blockSize {
		lba := uint64(off / blockSize)
		if zeros && bytes.Equal(img[off:off+blockSize], zero) {
			continue
		}
		gen := binary.LittleEndian.Uint64(img[off+8:])
		initiator.FillPattern(want, blockSize, lba, gen)
		if !bytes.Equal(img[off:off+blockSize], want) {
			if bad == 0 {
				first = fmt.Sprintf("block %d (byte %d): header LBA %d generation %d magic %#x",
					lba, off, binary.LittleEndian.Uint64(img[off:]), gen, binary.LittleEndian.Uint64(img[off+16:]))
			}
			bad++
		}
	}
	return bad, first
}
