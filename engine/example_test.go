package engine_test

import (
	"context"
	"fmt"
	"log"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/sim"
)

// The engine on the simulated kernel: a user:ram backstore made through
// the configfs model, exported by a loopback LUN, served in this process
// and exercised by a verifying workload.
func ExampleNewLocal() {
	k, err := sim.Open("", sim.Options{}) // "" keeps the state in memory
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		log.Fatal(err)
	}
	eng, err := engine.NewLocal(engine.Options{LIO: lio, Sim: k})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	so, err := lio.CreateStorageObject(configfs.StorageSpec{Plugin: "user", Name: "r1", Control: []configfs.KV{
		{Key: "dev_config", Value: "ram/"}, {Key: "dev_size", Value: "16777216"}, {Key: "nl_reply_supported", Value: "-1"}}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := eng.Serve(ctx, so.Path()); err != nil {
		log.Fatal(err)
	}
	tgt, _ := lio.CreateTarget("loopback", "")
	tpg, _ := lio.CreateTPG(tgt, 1)
	lio.SetNexus(tpg, "") // before the LUN, or tcm_loop presents no disk
	lun, err := lio.CreateLUN(tpg, 0, so, "")
	if err != nil {
		log.Fatal(err)
	}

	spec, _ := engine.ParseWorkloadSpec([]string{"rw=randrw", "bs=4k", "qd=8", "count=1000", "verify=true"})
	res, err := eng.Workload(ctx, lun.Path(), spec)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ops:", res.Ops, "errors:", res.Errors, "verify errors:", res.VerifyErrors)

	stats, _ := eng.Stats(ctx)
	fmt.Println(stats[0].Path, stats[0].UIO, "up:", stats[0].Up)
	// Output:
	// ops: 1000 errors: 0 verify errors: 0
	// /backstores/user:ram/r1 uio0 up: true
}
