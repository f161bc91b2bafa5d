package config

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRunStepsSideBySide: steps made to go together run at the same time
// (each waits for all the others to have started, which a serial run
// never lets happen), and the steps around them keep their order.
func TestRunStepsSideBySide(t *testing.T) {
	const n = 8
	var started sync.WaitGroup
	started.Add(n)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	steps := []Step{{Path: "before", do: func(context.Context) error { note("before"); return nil }}}
	for i := range n {
		steps = append(steps, Step{Path: fmt.Sprint(i), together: "luns", do: func(context.Context) error {
			started.Done()
			select {
			case <-all:
			case <-time.After(30 * time.Second): // a deadlock's bound, not a speed limit
				return errors.New("the other steps of the run never started")
			}
			note("lun")
			return nil
		}})
	}
	steps = append(steps, Step{Path: "after", do: func(context.Context) error { note("after"); return nil }})
	if err := (Store{}).Execute(context.Background(), &Plan{Steps: steps}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, " "); got != "before"+strings.Repeat(" lun", n)+" after" {
		t.Errorf("order %q", got)
	}
}

// TestRunStepsErrors: a failing run stops Execute before the next steps
// and reports the failure of the first failing step in plan order; a
// rollback (stop false) makes every step and reports every failure.
func TestRunStepsErrors(t *testing.T) {
	var mu sync.Mutex
	ran := map[string]bool{}
	step := func(name, together string, fail bool) Step {
		return Step{Op: "create", Path: name, together: together, do: func(context.Context) error {
			mu.Lock()
			ran[name] = true
			mu.Unlock()
			if fail {
				return errors.New("refused")
			}
			return nil
		}}
	}
	steps := []Step{step("a", "", false), step("l1", "luns", false), step("l2", "luns", true), step("l3", "luns", true), step("z", "", false)}
	err := (Store{}).Execute(context.Background(), &Plan{Steps: steps})
	if err == nil || err.Error() != "create l2: refused" {
		t.Errorf("Execute error %v, want the first failing step's", err)
	}
	if !ran["l1"] || !ran["l3"] || ran["z"] {
		t.Errorf("ran %v: the whole failing run, nothing after it", ran)
	}
	clear(ran)
	err = runSteps(steps, func(s Step) error { return s.do(context.Background()) }, false)
	if len(ran) != len(steps) || err == nil || strings.Count(err.Error(), "refused") != 2 {
		t.Errorf("without stop: ran %v, error %v", ran, err)
	}
}

// TestPlanMakesLUNsTogether: a TPG's LUN creations are one run of steps
// that go together, and nothing else is in it.
func TestPlanMakesLUNsTogether(t *testing.T) {
	st, _, dir := newStore(t)
	plan := st.MakePlan(&Config{}, sample(filepath.Join(dir, "f.img")), PlanOptions{})
	runs := map[string][]string{}
	for _, s := range plan.Steps {
		if s.together != "" {
			runs[s.together] = append(runs[s.together], s.Op+" "+s.Path)
		}
	}
	want := map[string][]string{
		"create /iscsi/iqn.2003-01.org.example:a/tpg1/luns": {"create /iscsi/iqn.2003-01.org.example:a/tpg1/luns/lun0", "create /iscsi/iqn.2003-01.org.example:a/tpg1/luns/lun3"},
		"create /loopback/naa.5001405aaaaaaaaa/luns":        {"create /loopback/naa.5001405aaaaaaaaa/luns/lun0"},
	}
	if !reflect.DeepEqual(runs, want) {
		t.Errorf("steps made together: %v, want %v", runs, want)
	}
}
