//go:build rbd

package rbd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rados"
	cephrbd "github.com/ceph/go-ceph/rbd"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/test/cephtest"
)

// benchImageSize is the size of the benchmark images: 32 objects of 4 MiB,
// written in full first, so that reads reach the OSD (librbd's object map
// answers reads of objects never written without asking it).
const benchImageSize = 128 << 20

// BenchmarkRBD4K compares 4 KiB random reads and writes at queue depth 1
// and 32 through tcmsh's user:rbd (the simulated kernel's ring, the engine,
// the SCSI layer, this backend) with go-ceph called directly by as many
// goroutines as the queue depth, in the same run against the same
// cluster. The two alternate in rounds so that a change in the cluster's
// speed shows in both; each has an image of its own (two clients writing
// one image would pass its exclusive lock back and forth). It reports
// both rates over all rounds, the median of the rounds' ratios
// (tcmsh/direct) and, as ns/op, tcmsh's time per I/O. Run it with a fixed
// count, e.g.
//
//	go test -tags rbd,pacific -run '^$' -bench RBD4K -benchtime 20000x ./backends/rbd/
func BenchmarkRBD4K(b *testing.B) {
	c := cephtest.Shared(b)
	direct := newDirectBench(b, c)
	viaTcmsh := newTcmshBench(b, c)
	for _, rw := range []string{"randread", "randwrite"} {
		for _, qd := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/qd%d", rw, qd), func(b *testing.B) {
				const rounds = 8
				n := max(b.N, rounds*qd)
				var directTime, tcmshTime time.Duration
				var directOps, tcmshOps int64
				ratios := make([]float64, 0, rounds)
				for r := range rounds {
					count := n / rounds
					if r == rounds-1 {
						count = n - (rounds-1)*(n/rounds)
					}
					var d, t time.Duration
					var dk, tk int64
					// Each goes first in half the rounds.
					if r%2 == 0 {
						d, dk = direct.run(b, rw, qd, count)
						t, tk = viaTcmsh.run(b, rw, qd, count)
					} else {
						t, tk = viaTcmsh.run(b, rw, qd, count)
						d, dk = direct.run(b, rw, qd, count)
					}
					directTime += d
					directOps += dk
					tcmshTime += t
					tcmshOps += tk
					ratios = append(ratios, (float64(tk)/t.Seconds())/(float64(dk)/d.Seconds()))
				}
				// The median of the rounds' ratios: a burst of other load
				// on the machine during one round does not decide it.
				slices.Sort(ratios)
				b.ReportMetric(float64(directOps)/directTime.Seconds(), "direct-IOPS")
				b.ReportMetric(float64(tcmshOps)/tcmshTime.Seconds(), "tcmsh-IOPS")
				b.ReportMetric((ratios[rounds/2-1]+ratios[rounds/2])/2, "tcmsh/direct")
				b.ReportMetric(float64(tcmshTime.Nanoseconds())/float64(tcmshOps), "ns/op")
			})
		}
	}
}

// directBench is go-ceph on an image of its own, with the connection
// options tcmsh sets (librbd's cache off).
type directBench struct {
	conn  *rados.Conn
	ioctx *rados.IOContext
	img   *cephrbd.Image
}

func newDirectBench(b *testing.B, c *cephtest.Cluster) *directBench {
	const name = "bench-direct"
	createFilled(b, c, name)
	conn, err := rados.NewConnWithUser(c.ID)
	if err != nil {
		b.Fatal(err)
	}
	if err := conn.ReadConfigFile(c.Conf); err != nil {
		b.Fatal(err)
	}
	if err := conn.SetConfigOption("rbd_cache", "false"); err != nil {
		b.Fatal(err)
	}
	if err := conn.Connect(); err != nil {
		b.Fatal(err)
	}
	ioctx, err := conn.OpenIOContext(c.Pool)
	if err != nil {
		b.Fatal(err)
	}
	img, err := cephrbd.OpenImage(ioctx, name, cephrbd.NoSnapshot)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		img.Close()
		ioctx.Destroy()
		conn.Shutdown()
	})
	return &directBench{conn: conn, ioctx: ioctx, img: img}
}

// run does count 4 KiB I/Os at random aligned offsets from qd goroutines.
func (d *directBench) run(b *testing.B, rw string, qd, count int) (time.Duration, int64) {
	var wg sync.WaitGroup
	errs := make(chan error, qd)
	start := time.Now()
	for w := range qd {
		n := count / qd
		if w < count%qd {
			n++
		}
		wg.Add(1)
		go func(seed uint64, n int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 42))
			buf := make([]byte, 4096)
			for i := range buf {
				buf[i] = byte(seed) + byte(i)
			}
			for range n {
				off := rng.Int64N(benchImageSize/4096) * 4096
				var err error
				if rw == "randread" {
					_, err = d.img.ReadAt(buf, off)
				} else {
					_, err = d.img.WriteAt(buf, off)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(uint64(w)+1, n)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatalf("go-ceph %s: %v", rw, err)
	}
	return elapsed, int64(count)
}

// tcmshBench is a user:rbd backstore on the simulated kernel, served by
// the engine in this process and exported by a loopback LUN, driven by the
// simulated initiator.
type tcmshBench struct {
	eng *engine.Local
	lun string
}

func newTcmshBench(b *testing.B, c *cephtest.Cluster) *tcmshBench {
	const name = "bench-tcmsh"
	createFilled(b, c, name)
	s := serveOnSim(b, c.CfgString(name), benchImageSize)
	return &tcmshBench{eng: s.eng, lun: s.lun}
}

// simServed is a user:rbd backstore on the simulated kernel, served by the
// engine in this process and exported by a loopback LUN.
type simServed struct {
	eng *engine.Local
	lio *configfs.LIO
	so  configfs.StorageObject
	lun string // the LUN's configfs path, for Workload
}

func serveOnSim(tb testing.TB, cfg string, size int64) simServed {
	tb.Helper()
	k, err := sim.Open("", sim.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close() })
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := engine.NewLocal(engine.Options{LIO: lio, Sim: k})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close() })
	so, err := lio.CreateStorageObject(configfs.StorageSpec{Plugin: "user", Name: "r1", Control: []configfs.KV{
		{Key: "dev_config", Value: "rbd/" + cfg},
		{Key: "dev_size", Value: strconv.FormatInt(size, 10)},
		{Key: "nl_reply_supported", Value: "-1"}}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := eng.Serve(context.Background(), so.Path()); err != nil {
		tb.Fatal(err)
	}
	tgt, err := lio.CreateTarget("loopback", "")
	if err != nil {
		tb.Fatal(err)
	}
	tpg, err := lio.CreateTPG(tgt, 1)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := lio.SetNexus(tpg, ""); err != nil {
		tb.Fatal(err)
	}
	lun, err := lio.CreateLUN(tpg, 0, so, "")
	if err != nil {
		tb.Fatal(err)
	}
	return simServed{eng: eng, lio: lio, so: so, lun: lun.Path()}
}

func (t *tcmshBench) run(b *testing.B, rw string, qd, count int) (time.Duration, int64) {
	spec := engine.WorkloadSpec{RW: rw, BlockSize: 4096, QueueDepth: qd, Count: int64(count)}
	start := time.Now()
	res, err := t.eng.Workload(context.Background(), t.lun, spec)
	elapsed := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if res.Errors != 0 || res.Ops != int64(count) {
		b.Fatalf("tcmsh %s: %d of %d I/Os, %d errors, first %q", rw, res.Ops, count, res.Errors, res.FirstError)
	}
	return elapsed, res.Ops
}

// createFilled creates an image and writes all of it.
func createFilled(b *testing.B, c *cephtest.Cluster, name string) {
	if err := c.CreateImage(name, benchImageSize); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.RemoveImage(name) })
	im, err := Open(c.CfgString(name), benchImageSize)
	if err != nil {
		b.Fatal(err)
	}
	defer im.Close()
	chunk := make([]byte, 4<<20)
	for i := range chunk {
		chunk[i] = byte(i * 13)
	}
	for off := int64(0); off < benchImageSize; off += int64(len(chunk)) {
		if _, err := im.WriteAt(chunk, off); err != nil {
			b.Fatal(err)
		}
	}
}
