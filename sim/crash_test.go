package sim

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKillNine kills a writing process with SIGKILL at arbitrary moments
// (snapshots are taken every few operations, so some kills land inside a
// compaction) and checks after each kill that the state opens and is
// exactly the worker's operations up to some point: HBAs rd_mcp_0..n-1,
// each with its object, no gap, no partial object.
func TestKillNine(t *testing.T) {
	if dir := os.Getenv("SIM_CRASH_DIR"); dir != "" {
		crashWorker(dir)
		return
	}
	dir := t.TempDir()
	last := 0
	for round := 0; round < 6; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillNine$")
		cmd.Env = append(os.Environ(), "SIM_CRASH_DIR="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+round*70) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()

		k, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("round %d: state does not open after kill -9: %v", round, err)
		}
		n := 0
		for {
			es, err := k.ReadDir(fmt.Sprintf("target/core/rd_mcp_%d", n))
			if err != nil {
				break
			}
			if len(es) < 3 { // hba_info, hba_mode and the object, unless the kill fell between the two mkdirs
				if _, err := k.Stat(fmt.Sprintf("target/core/rd_mcp_%d", n+1)); err == nil {
					t.Fatalf("round %d: rd_mcp_%d has no object but a later HBA exists", round, n)
				}
			}
			n++
		}
		es, _ := k.ReadDir("target/core")
		hbas := 0
		for _, e := range es {
			if strings.HasPrefix(e.Name, "rd_mcp_") {
				hbas++
			}
		}
		if hbas != n {
			t.Fatalf("round %d: %d HBAs but only rd_mcp_0..%d are contiguous", round, hbas, n-1)
		}
		if n < last {
			t.Fatalf("round %d: %d HBAs, fewer than the %d of the previous round", round, n, last)
		}
		last = n
		k.Close()
	}
	if last == 0 {
		t.Fatal("the worker never got to write anything")
	}
	t.Logf("%d HBAs written across 6 kills", last)
}

func crashWorker(dir string) {
	k, err := Open(dir, Options{CompactBytes: 4096})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	for n := 0; ; n++ {
		hba := fmt.Sprintf("target/core/rd_mcp_%d", n)
		if _, err := k.Stat(hba); err == nil {
			if _, err := k.Stat(hba + "/r"); err != nil {
				_ = k.Mkdir(hba + "/r") // finish what the last kill interrupted
			}
			continue
		}
		if err := k.Mkdir(hba); err != nil {
			fmt.Println("mkdir:", err)
			os.Exit(1)
		}
		if err := k.Mkdir(hba + "/r"); err != nil {
			fmt.Println("mkdir object:", err)
			os.Exit(1)
		}
	}
}
