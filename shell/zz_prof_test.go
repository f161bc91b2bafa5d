package shell

import (
	"context"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

func TestZZProf(t *testing.T) {
	w := newOpWorld(t)
	sh, _ := w.process()
	if err := sh.RunBatch(context.Background(), strings.NewReader(w.bulkScript(1000)), BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"ls", "ls /backstores", "saveconfig " + w.dir + "/s.json"} {
		f, _ := os.Create("/tmp/prof-" + strings.Fields(line)[len(strings.Fields(line))-1][:2] + ".out")
		pprof.StartCPUProfile(f)
		start := time.Now()
		for i := 0; i < 5; i++ {
			w.oneShot(line)
		}
		pprof.StopCPUProfile()
		f.Close()
		t.Logf("%s: %v per run", line, time.Since(start)/5)
	}
}
