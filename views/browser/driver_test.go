package browser

import (
	"context"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/keypress"
	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/views"
)

// fixture is a browser over a fresh simulated kernel.
type fixture struct {
	t   *testing.T
	m   *Model
	sh  *shell.Shell
	lio *configfs.LIO
	dir string
}

// newFixture returns a browser on an empty simulated kernel, without
// colours, at w × h, with its first load done.
func newFixture(t *testing.T, w, h int) *fixture {
	t.Helper()
	dir := t.TempDir()
	k, err := sim.Open(filepath.Join(dir, "sim"), sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	sh := shell.New(shell.Env{LIO: l, Kind: "sim", KernelVersion: "simulated", AvailableFabrics: sim.DefaultFabrics},
		shell.Options{Width: 80, Version: "test", Batch: true, SaveFile: filepath.Join(dir, "saveconfig.json")})
	c := &views.Common{Styles: views.NewStyles(false), Keys: views.DefaultKeyMap()}
	m := New(c, sh)
	m.gen = func(fabric string) string { return "naa.5001405000000001" }
	m.SetSize(w, h)
	f := &fixture{t: t, m: m, sh: sh, lio: l, dir: dir}
	f.run(m.Init())
	return f
}

// sh runs shell lines to set up a state (outside the browser), then
// reloads the browser.
func (f *fixture) shell(lines ...string) {
	f.t.Helper()
	for _, l := range lines {
		if err := f.sh.Exec(context.Background(), l); err != nil {
			f.t.Fatalf("%s: %v", l, err)
		}
	}
	f.run(f.m.reload(""))
}

// populate makes a ramdisk exported through a loopback LUN and an iSCSI
// target with a LUN, an ACL and a portal; names that would be random are
// fixed.
func (f *fixture) populate() {
	f.t.Helper()
	f.shell(
		"/backstores/ramdisk create r1 64M wwn=0b5d5a4e-2f7e-4b0c-9a34-6f0f1b2c3d4e",
		"/iscsi create iqn.2003-01.org.example:t1",
		"/iscsi/iqn.2003-01.org.example:t1/tpg1/acls create iqn.1994-05.com.redhat:client",
	)
	so, err := f.lio.FindStorageObject("rd_mcp", "r1")
	if err != nil {
		f.t.Fatal(err)
	}
	lt, err := f.lio.CreateTarget("loopback", "naa.5001405aaaaaaaaa")
	if err != nil {
		f.t.Fatal(err)
	}
	ltpg, err := f.lio.CreateTPG(lt, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.lio.SetNexus(ltpg, "naa.5001405bbbbbbbbb"); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.lio.CreateLUN(ltpg, 0, so, "a0b1c2d3e4"); err != nil {
		f.t.Fatal(err)
	}
	tpg := configfs.TPG{Target: configfs.Target{Fabric: "iscsi", WWN: "iqn.2003-01.org.example:t1"}, Tag: 1}
	if _, err := f.lio.CreateLUN(tpg, 0, so, "f5e6d7c8b9"); err != nil {
		f.t.Fatal(err)
	}
	f.run(f.m.reload(""))
}

// jump goes to a path with the Jump key.
func (f *fixture) jump(p string) {
	f.t.Helper()
	f.keys(":")
	f.m.input.SetValue(p)
	f.keys("enter")
}

// isBlink tells the cursor's blink timers, which the driver does not run
// (they sleep, and feed themselves for ever).
func isBlink(cmd tea.Cmd) bool {
	name := cmdName(cmd)
	return strings.Contains(name, "/cursor.") && strings.Contains(name, "Blink")
}

// cmdName is the name of the function a command is.
func cmdName(cmd tea.Cmd) string {
	return runtime.FuncForPC(reflect.ValueOf(cmd).Pointer()).Name()
}

// isTick tells tea.Tick's commands, which the driver does not run either:
// they sleep, and the auto-refresh feeds itself for ever; tests send the
// tick's message themselves.
func isTick(cmd tea.Cmd) bool { return strings.Contains(cmdName(cmd), "bubbletea/v2.Tick") }

// run executes cmd and every command its messages lead to, synchronously,
// feeding the messages back to the model.
func (f *fixture) run(cmd tea.Cmd) {
	f.t.Helper()
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10000 {
			f.t.Fatal("commands do not settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil || isBlink(c) || isTick(c) {
			continue
		}
		msg := c()
		if msg == nil {
			continue
		}
		// tea.Batch and tea.Sequence: lists of commands.
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
			for i := 0; i < v.Len(); i++ {
				queue = append(queue, v.Index(i).Interface().(tea.Cmd))
			}
			continue
		}
		if strings.HasPrefix(reflect.TypeOf(msg).String(), "tea.") && reflect.TypeOf(msg).PkgPath() != "" &&
			!strings.HasSuffix(reflect.TypeOf(msg).String(), "Msg") {
			continue
		}
		queue = append(queue, f.m.Update(msg))
	}
}

// keys presses keys in order, running what each starts.
func (f *fixture) keys(ks ...string) {
	f.t.Helper()
	for _, k := range ks {
		f.run(f.m.Update(keypress.Msg(k)))
	}
}

// typeText types text one key at a time.
func (f *fixture) typeText(s string) {
	f.t.Helper()
	for _, r := range s {
		f.run(f.m.Update(tea.KeyPressMsg{Code: r, Text: string(r)}))
	}
}

// screen is the view without ANSI, with the temporary directory replaced.
func (f *fixture) screen() string {
	return strings.ReplaceAll(ansi.Strip(f.m.View()), f.dir, "/TMP")
}
