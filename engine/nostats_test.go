package engine_test

import (
	"context"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/sim"
)

// NoStats (tcmsh serve --stats=false) serves as usual and keeps no
// per-command statistics; by default they are kept.
func TestNoStatsKeepsNoCommandStatistics(t *testing.T) {
	for _, noStats := range []bool{false, true} {
		k, err := sim.Open("", sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
		if err != nil {
			t.Fatal(err)
		}
		eng, err := engine.NewLocal(engine.Options{LIO: lio, Sim: k, NoStats: noStats})
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		so, err := lio.CreateStorageObject(configfs.StorageSpec{Plugin: "user", Name: "r1", Control: []configfs.KV{
			{Key: "dev_config", Value: "ram/"}, {Key: "dev_size", Value: "4194304"}, {Key: "nl_reply_supported", Value: "-1"}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := eng.Serve(ctx, so.Path()); err != nil {
			t.Fatal(err)
		}
		tgt, _ := lio.CreateTarget("loopback", "")
		tpg, _ := lio.CreateTPG(tgt, 1)
		lio.SetNexus(tpg, "")
		lun, err := lio.CreateLUN(tpg, 0, so, "")
		if err != nil {
			t.Fatal(err)
		}
		spec, _ := engine.ParseWorkloadSpec([]string{"rw=randrw", "bs=4k", "qd=4", "count=200", "verify=true"})
		res, err := eng.Workload(ctx, lun.Path(), spec)
		if err != nil || res.Errors != 0 || res.VerifyErrors != 0 {
			t.Fatalf("NoStats %v: workload %+v, %v", noStats, res, err)
		}
		stats, err := eng.Stats(ctx)
		if err != nil || len(stats) != 1 {
			t.Fatalf("NoStats %v: stats %v, %v", noStats, stats, err)
		}
		if got := stats[0].Commands; noStats && got != 0 || !noStats && got < 200 {
			t.Errorf("NoStats %v: %d commands counted", noStats, got)
		}
	}
}
