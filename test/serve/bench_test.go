package serve_test

import (
	"context"
	"testing"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/serve"
)

// benchEnv is a daemon serving one user:ram device that has run a
// workload (so that its statistics are full), and a client.
func benchEnv(b *testing.B) (*env, engine.Engine, string) {
	e := newEnv(b, serve.Options{}, true)
	eng := e.dial()
	so := e.userBackstore(eng, "r1", "ram/", 16<<20)
	lun := e.loopbackLUN(so)
	if _, err := eng.Workload(context.Background(), lun, engine.WorkloadSpec{RW: "randrw", Count: 5000}); err != nil {
		b.Fatal(err)
	}
	return e, eng, lun
}

// Stats of one busy device: in the daemon's process (what the metrics
// collector pays) and through the control socket (what a shell pays).
func BenchmarkStatsInProcess(b *testing.B) {
	e, _, _ := benchEnv(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.local.Stats(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStatsThroughSocket(b *testing.B) {
	_, eng, _ := benchEnv(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eng.Stats(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// A 4 KiB random-read workload run in the daemon, started through the
// socket versus called on the daemon's engine directly: the socket adds
// one round trip per workload, not per I/O. Reported as ns per I/O.
func benchmarkWorkload(b *testing.B, viaSocket bool) {
	e, eng, lun := benchEnv(b)
	if !viaSocket {
		eng = e.local
	}
	const ops = 2000
	b.ReportAllocs()
	for b.Loop() {
		res, err := eng.Workload(context.Background(), lun, engine.WorkloadSpec{RW: "randread", QueueDepth: 8, Count: ops})
		if err != nil || res.Errors != 0 {
			b.Fatalf("%+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ops), "ns/io")
}

func BenchmarkWorkloadInProcess(b *testing.B)     { benchmarkWorkload(b, false) }
func BenchmarkWorkloadThroughSocket(b *testing.B) { benchmarkWorkload(b, true) }
