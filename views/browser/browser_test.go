package browser

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/golden"
	"github.com/tcmsh/tcmsh/views"
)

var sizes = []struct{ w, h int }{{80, 24}, {120, 40}, {60, 20}}

const lun0 = "/loopback/naa.5001405aaaaaaaaa/luns/lun0"

// states are the representative states of the golden views.
var states = []struct {
	name  string
	setup func(f *fixture)
}{
	{"empty", func(f *fixture) {}},
	{"tree", func(f *fixture) {
		f.populate()
		f.jump("/backstores/ramdisk/r1")
		f.jump(lun0)
	}},
	{"lun-details", func(f *fixture) {
		f.populate()
		f.jump(lun0)
		f.keys("tab")
	}},
	{"error", func(f *fixture) {
		f.populate()
		f.jump("/iscsi/iqn.2003-01.org.example:t2")
	}},
	{"create-form", func(f *fixture) {
		f.jump("/backstores/ramdisk")
		f.keys("c")
	}},
	{"delete-confirm", func(f *fixture) {
		f.populate()
		f.jump(lun0)
		f.keys("d")
	}},
}

func TestGoldenViews(t *testing.T) {
	for _, st := range states {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s-%dx%d", st.name, sz.w, sz.h), func(t *testing.T) {
				f := newFixture(t, sz.w, sz.h)
				st.setup(f)
				got := f.screen()
				checkFits(t, got, sz.w, sz.h)
				golden.Check(t, fmt.Sprintf("%s-%dx%d.golden", st.name, sz.w, sz.h), got)
			})
		}
	}
}

// checkFits fails when a view is not exactly w × h.
func checkFits(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw != w {
			t.Errorf("line %d is %d columns wide, want %d: %q", i, lw, w, l)
		}
	}
}

func TestViewFitsEverySize(t *testing.T) {
	all := append([]struct{ w, h int }{{30, 8}, {10, 4}, {1, 1}, {200, 60}}, sizes...)
	for _, st := range states {
		f := newFixture(t, 80, 24)
		st.setup(f)
		for _, sz := range all {
			f.m.SetSize(sz.w, sz.h)
			checkFits(t, f.m.View(), sz.w, sz.h)
		}
		f.m.SetSize(0, 0)
		if v := f.m.View(); v != "" {
			t.Errorf("%s: view at 0×0 is %q", st.name, v)
		}
	}
}

func TestNavigation(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.populate()
	if f.m.Selected() != "/" {
		t.Fatalf("starts at %s", f.m.Selected())
	}
	f.keys("down")
	if got := f.m.Selected(); got != "/backstores" {
		t.Fatalf("down: at %s, want /backstores", got)
	}
	f.keys("right") // expand (children loaded now)
	if !f.m.nodes["/backstores"].expanded || len(f.m.nodes["/backstores"].kids) != 4 {
		t.Fatalf("expand: /backstores = %+v", f.m.nodes["/backstores"])
	}
	f.keys("enter") // already expanded: to the first child
	if got := f.m.Selected(); got != "/backstores/block" {
		t.Fatalf("expand again: at %s, want the first child", got)
	}
	f.keys("left") // not expanded: to the parent
	if got := f.m.Selected(); got != "/backstores" {
		t.Fatalf("collapse on a leaf: at %s, want the parent", got)
	}
	f.keys("left") // collapse
	if f.m.nodes["/backstores"].expanded {
		t.Fatal("collapse: /backstores still expanded")
	}
	f.keys("G")
	if got := f.m.Selected(); got != "/vhost" {
		t.Fatalf("bottom: at %s, want /vhost", got)
	}
	f.keys("g")
	if got := f.m.Selected(); got != "/" {
		t.Fatalf("top: at %s", got)
	}

	// Jump, with completion, to a path several levels down.
	f.keys(":")
	f.m.input.SetValue("/loopback/naa")
	f.keys("tab")
	if got := f.m.input.Value(); got != "/loopback/naa.5001405aaaaaaaaa/" {
		t.Fatalf("completion: %q", got)
	}
	f.typeText("lu")
	f.keys("tab")
	f.typeText("lun0")
	f.keys("enter")
	if got := f.m.Selected(); got != lun0 {
		t.Fatalf("jump: at %s (status %q)", got, f.m.status.Text)
	}
	// An unknown path: an error naming it, the selection stays.
	f.jump("/loopback/nope")
	if f.m.status.Err == nil || !strings.Contains(f.m.status.Text, "/loopback/nope") {
		t.Fatalf("unknown path: status %+v", f.m.status)
	}
	if got := f.m.Selected(); got != lun0 {
		t.Fatalf("after a failed jump: at %s", got)
	}

	// Typing an absolute path replaces the prefilled one; a relative
	// name goes on from it.
	f.keys(":")
	f.typeText("/backstores/ramdisk")
	f.keys("enter")
	if got := f.m.Selected(); got != "/backstores/ramdisk" {
		t.Fatalf("typed absolute jump: at %s (status %q)", got, f.m.status.Text)
	}
	f.keys(":")
	f.typeText("r1")
	f.keys("enter")
	if got := f.m.Selected(); got != "/backstores/ramdisk/r1" {
		t.Fatalf("jump prefilled then continued: at %s (status %q)", got, f.m.status.Text)
	}

	// Filter the loaded tree: matches with their ancestors.
	f.jump("/backstores/ramdisk/r1")
	f.jump(lun0)
	f.keys("/")
	f.typeText("r1")
	if !f.m.Capturing() {
		t.Fatal("the filter does not capture keys")
	}
	f.keys("enter")
	var shown []string
	for _, r := range f.m.visible() {
		shown = append(shown, r.path)
	}
	want := "/ /backstores /backstores/ramdisk /backstores/ramdisk/r1"
	if got := strings.Join(shown, " "); got != want {
		t.Fatalf("filter r1 shows %q, want %q", got, want)
	}
	if got := f.m.Selected(); got != "/backstores/ramdisk/r1" {
		t.Fatalf("filter: at %s, want the first match", got)
	}
	f.keys("esc")
	if f.m.filter != "" || len(f.m.visible()) <= 4 {
		t.Fatalf("esc does not clear the filter: %q", f.m.filter)
	}
}

func TestCreateFormMakesABackstore(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.jump("/backstores/ramdisk")
	f.keys("c")
	if f.m.mode != modeForm {
		t.Fatalf("c opened no form (status %q)", f.m.status.Text)
	}
	f.typeText("r9")
	f.keys("enter")
	f.typeText("32M")
	if got := f.screen(); !strings.Contains(got, "runs: /backstores/ramdisk create name=r9 size=32M") {
		t.Fatalf("the form does not show its command:\n%s", got)
	}
	f.keys("enter", "enter", "enter") // nullio (default), wwn (generated)
	if f.m.mode != modeNormal {
		t.Fatalf("the form is still open:\n%s", f.screen())
	}
	so, err := f.lio.FindStorageObject("rd_mcp", "r9")
	if err != nil {
		t.Fatalf("the kernel has no r9 (status %q): %v", f.m.status.Text, err)
	}
	si, err := f.lio.StorageObjectInfo(so)
	if err != nil || si.Size != 32<<20 {
		t.Fatalf("r9: size %d, %v", si.Size, err)
	}
	if got := f.m.Selected(); got != "/backstores/ramdisk/r9" {
		t.Errorf("the new object is not selected: at %s", got)
	}
	if !strings.Contains(f.m.status.Text, "r9") || f.m.status.Err != nil {
		t.Errorf("status %+v", f.m.status)
	}
}

func TestCreateFormRefusesBadValues(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.jump("/backstores/ramdisk")
	f.keys("c")
	f.keys("enter") // name is required
	if f.m.mode != modeForm || !strings.Contains(f.screen(), "name is required") {
		t.Fatalf("an empty name was accepted:\n%s", f.screen())
	}
	f.typeText("r9")
	f.keys("enter")
	f.typeText("lots")
	f.keys("enter")
	if !strings.Contains(f.screen(), "is not a size") {
		t.Fatalf("a bad size was accepted:\n%s", f.screen())
	}
	f.keys("esc")
	if f.m.mode != modeNormal || !strings.Contains(f.m.status.Text, "cancelled") {
		t.Fatalf("esc: mode %v, status %q", f.m.mode, f.m.status.Text)
	}
	if _, err := f.lio.FindStorageObject("rd_mcp", "r9"); err == nil {
		t.Fatal("a cancelled form created r9")
	}
}

func TestCreateChooserAndTargetWithGeneratedWWN(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.jump("/backstores")
	f.keys("c")
	if f.m.mode != modeChoose {
		t.Fatalf("c on /backstores: mode %v", f.m.mode)
	}
	f.keys("down", "down", "down", "enter") // block, fileio, pscsi, ramdisk
	if f.m.mode != modeForm || f.m.cform.cc.Node != "/backstores/ramdisk" {
		t.Fatalf("chooser: mode %v, form %+v", f.m.mode, f.m.cform)
	}
	f.keys("esc")

	f.jump("/loopback")
	f.keys("c")
	if got := *f.m.cform.values["wwn"]; got != "naa.5001405000000001" {
		t.Fatalf("the WWN field holds %q, want the generated one", got)
	}
	f.keys("enter")
	if !f.lio.Exists(configfs.Target{Fabric: "loopback", WWN: "naa.5001405000000001"}.Path()) {
		t.Fatalf("no target made (status %q)", f.m.status.Text)
	}
	if got := f.m.Selected(); got != "/loopback/naa.5001405000000001" {
		t.Errorf("at %s", got)
	}
}

func TestCreateLUNPicksAStorageObject(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.populate()
	f.jump("/iscsi/iqn.2003-01.org.example:t1/tpg1")
	f.keys("c") // acls, luns, portals
	f.keys("down", "enter")
	if f.m.mode != modeForm || f.m.cform.cc.Kind != "luns" {
		t.Fatalf("chooser: mode %v", f.m.mode)
	}
	f.keys("enter") // storage object: the only one
	f.typeText("5")
	f.keys("enter", "enter")
	li, found, err := f.lio.LUNAt(configfs.TPG{Target: configfs.Target{Fabric: "iscsi", WWN: "iqn.2003-01.org.example:t1"}, Tag: 1}, 5)
	if err != nil || !found || li.Storage.Name != "r1" {
		t.Fatalf("LUN 5: %+v %v %v (status %q)", li, found, err, f.m.status.Text)
	}
	if got := f.m.Selected(); got != "/iscsi/iqn.2003-01.org.example:t1/tpg1/luns/lun5" {
		t.Errorf("the new LUN is not selected: at %s", got)
	}
}

// selectAttr moves the details' selection to an attribute.
func (f *fixture) selectAttr(name string) {
	f.t.Helper()
	if f.m.focus != paneDetails {
		f.keys("tab")
	}
	f.keys("home")
	for i, a := range f.m.attrs() {
		if a.attr.Name == name {
			for range i {
				f.keys("down")
			}
			return
		}
	}
	f.t.Fatalf("no attribute %s", name)
}

func TestEditRefusesAnInvalidValue(t *testing.T) {
	f := newFixture(t, 80, 24)
	img := filepath.Join(f.dir, "f1.img")
	f.shell("/backstores/fileio create f1 " + img + " 1M")
	f.jump("/backstores/fileio/f1")
	f.selectAttr("block_size")
	f.keys("e")
	if f.m.mode != modeEdit || f.m.input.Value() != "512" {
		t.Fatalf("edit: mode %v, value %q", f.m.mode, f.m.input.Value())
	}
	f.keys("backspace", "backspace", "backspace")
	f.typeText("abc")
	f.keys("enter")
	if f.m.status.Err == nil || !strings.Contains(f.m.status.Text, "allowed: 512, 1024, 2048, 4096") {
		t.Fatalf("status %+v", f.m.status)
	}
	attr := path.Join(configfs.Root, "core", "fileio_0", "f1", "attrib", "block_size")
	if v, err := f.lio.ReadAttr(attr); err != nil || v != "512" {
		t.Fatalf("block_size is %q, %v after a refused value", v, err)
	}
	if got := f.screen(); !strings.Contains(got, "error: set attribute block_size=abc") {
		t.Errorf("the error is not on the screen:\n%s", got)
	}

	// A good value goes through.
	f.keys("e", "backspace", "backspace", "backspace")
	f.typeText("4096")
	f.keys("enter")
	if v, _ := f.lio.ReadAttr(attr); v != "4096" || f.m.status.Err != nil {
		t.Fatalf("block_size = %q, status %+v", v, f.m.status)
	}
	// A read-only value is not edited.
	f.selectAttr("hw_block_size")
	f.keys("e")
	if f.m.mode != modeNormal || !strings.Contains(f.m.status.Text, "read-only") {
		t.Fatalf("editing a read-only value: mode %v, status %q", f.m.mode, f.m.status.Text)
	}
}

func TestDeleteAsksFirst(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.populate()
	f.jump(lun0)
	f.keys("d")
	if f.m.mode != modeConfirm || !strings.Contains(f.screen(), "Delete LUN "+lun0) {
		t.Fatalf("no confirmation:\n%s", f.screen())
	}
	f.keys("n")
	tpg := configfs.TPG{Target: configfs.Target{Fabric: "loopback", WWN: "naa.5001405aaaaaaaaa"}, Tag: 1}
	if _, found, _ := f.lio.LUNAt(tpg, 0); !found {
		t.Fatal("n deleted the LUN")
	}
	f.keys("d", "y")
	if _, found, _ := f.lio.LUNAt(tpg, 0); found {
		t.Fatalf("y did not delete the LUN (status %q)", f.m.status.Text)
	}
	if got := f.m.Selected(); got != path.Dir(lun0) {
		t.Errorf("after delete at %s, want the parent", got)
	}
	if _, ok := f.m.nodes[lun0]; ok {
		t.Error("the deleted LUN is still in the tree")
	}
	// A fixed node cannot be deleted.
	f.jump("/backstores")
	f.keys("d")
	if f.m.mode != modeNormal || f.m.status.Err == nil {
		t.Errorf("delete of /backstores: mode %v, status %+v", f.m.mode, f.m.status)
	}
}

func TestToggleEnablesATPG(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.populate()
	tpg := "/iscsi/iqn.2003-01.org.example:t1/tpg1"
	enable := path.Join(configfs.Root, "iscsi", "iqn.2003-01.org.example:t1", "tpgt_1", "enable")
	before, _ := f.lio.ReadAttr(enable)
	f.jump(tpg)
	f.keys("t")
	after, _ := f.lio.ReadAttr(enable)
	if before == after {
		t.Fatalf("t: enable %q → %q (status %q)", before, after, f.m.status.Text)
	}
	f.keys("t")
	if again, _ := f.lio.ReadAttr(enable); again != before {
		t.Fatalf("t twice: enable %q → %q", before, again)
	}
	f.jump("/backstores")
	f.keys("t")
	if f.m.status.Err == nil {
		t.Errorf("t on /backstores: status %+v", f.m.status)
	}
}

func TestSaveWritesTheDefaultFile(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.populate()
	f.keys("s")
	file := filepath.Join(f.dir, "saveconfig.json")
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("nothing saved (status %q): %v", f.m.status.Text, err)
	}
	if !strings.Contains(f.m.status.Text, "saved to "+file) {
		t.Errorf("status %q does not say where", f.m.status.Text)
	}
}

func TestShellOutputIsPutBack(t *testing.T) {
	f := newFixture(t, 80, 24)
	var buf strings.Builder
	f.sh.SetOutput(&buf, &buf)
	f.keys("r")
	if err := f.sh.Exec(context.Background(), "pwd"); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "/\n" {
		t.Errorf("the shell's output went elsewhere after the browser ran a command: %q", buf.String())
	}
}

// modes puts a fixture in each mode the browser has.
var modes = []struct {
	name  string
	setup func(f *fixture)
}{
	{"tree", func(f *fixture) { f.jump(lun0) }},
	{"details", func(f *fixture) { f.jump("/backstores/ramdisk/r1"); f.keys("tab") }},
	{"filter", func(f *fixture) { f.keys("/") }},
	{"jump", func(f *fixture) { f.keys(":") }},
	{"edit", func(f *fixture) { f.jump("/backstores/ramdisk/r1"); f.selectAttr("block_size"); f.keys("e") }},
	{"choose", func(f *fixture) { f.jump("/backstores"); f.keys("c") }},
	{"form", func(f *fixture) { f.jump("/backstores/fileio"); f.keys("c") }},
	{"confirm", func(f *fixture) { f.jump(lun0); f.keys("d") }},
}

func TestEveryKeyInEveryMode(t *testing.T) {
	k := newFixture(t, 80, 24).m.Keys
	var all []string
	for _, b := range []interface{ Keys() []string }{k.Quit, k.Help, k.Browser, k.Monitor, k.Focus, k.Up, k.Down,
		k.PageUp, k.PageDown, k.Top, k.Bottom, k.Expand, k.Collapse, k.Filter, k.Jump, k.Edit, k.Create,
		k.Delete, k.Toggle, k.Save, k.Refresh, k.Submit, k.Cancel, k.Yes, k.No, k.Pause} {
		all = append(all, b.Keys()...)
	}
	for _, md := range modes {
		for _, ks := range all {
			t.Run(md.name+"/"+ks, func(t *testing.T) {
				f := newFixture(t, 80, 24)
				f.populate()
				md.setup(f)
				f.keys(ks)
				checkFits(t, f.m.View(), 80, 24)
				f.m.SetSize(60, 20)
				checkFits(t, f.m.View(), 60, 20)
			})
		}
	}
}

func TestAncestors(t *testing.T) {
	for p, want := range map[string]string{"": "", "x": "", "/": "", "/a": "/", "/a/b/c": "/ /a /a/b", "/a/b/": "/ /a"} {
		if got := strings.Join(ancestors(p), " "); got != want {
			t.Errorf("ancestors(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestTheShellStaysWhereItWas(t *testing.T) {
	f := newFixture(t, 80, 24)
	if err := f.sh.Exec(context.Background(), "set global auto_cd_after_create=true"); err != nil {
		t.Fatal(err)
	}
	if err := f.sh.Exec(context.Background(), "cd /iscsi"); err != nil {
		t.Fatal(err)
	}
	f.jump("/backstores/ramdisk")
	f.keys("c")
	f.typeText("r3")
	f.keys("enter")
	f.typeText("1M")
	f.keys("enter", "enter", "enter")
	if _, err := f.lio.FindStorageObject("rd_mcp", "r3"); err != nil {
		t.Fatalf("not created: %v (status %q)", err, f.m.status.Text)
	}
	if got := f.sh.Cwd(); got != "/iscsi" {
		t.Errorf("the shell moved to %s", got)
	}
}

func TestEditFromTheTreeGoesToTheDetailsFirst(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.populate()
	f.jump("/backstores/ramdisk/r1")
	f.keys("e")
	if f.m.mode != modeNormal || f.m.focus != paneDetails {
		t.Fatalf("e on the tree: mode %v, focus %v", f.m.mode, f.m.focus)
	}
	if a := f.m.attrs()[f.m.detSel]; a.attr.ReadOnly {
		t.Fatalf("e selected the read-only %s", a.attr.Name)
	}
	f.keys("e")
	if f.m.mode != modeEdit {
		t.Fatalf("second e: mode %v", f.m.mode)
	}
	f.keys("esc")
	if f.m.mode != modeNormal || f.m.Capturing() {
		t.Fatal("esc does not end the edit")
	}
}

func TestColoursDoNotChangeTheLayout(t *testing.T) {
	for _, st := range states {
		plain := newFixture(t, 80, 24)
		st.setup(plain)
		coloured := newFixture(t, 80, 24)
		coloured.m.Styles = views.NewStyles(true)
		st.setup(coloured)
		if got, want := coloured.screen(), plain.screen(); got != want {
			t.Errorf("%s: with colours the screen differs:\n%s\n--- without\n%s", st.name, got, want)
		}
	}
}

func TestCreateACLSuggestsKnownInitiators(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.populate()
	f.shell("/iscsi create iqn.2003-01.org.example:t2")
	f.jump("/iscsi/iqn.2003-01.org.example:t2/tpg1/acls")
	f.keys("c")
	if f.m.mode != modeForm {
		t.Fatalf("mode %v", f.m.mode)
	}
	if got := f.m.cform.cc.Suggestions["wwn"]; len(got) != 1 || got[0] != "iqn.1994-05.com.redhat:client" {
		t.Fatalf("suggestions %q", got)
	}
	f.typeText("iqn.1994-05.com.redhat:client")
	f.keys("enter", "enter")
	if !f.lio.Exists(configfs.ACL{TPG: configfs.TPG{Target: configfs.Target{Fabric: "iscsi", WWN: "iqn.2003-01.org.example:t2"}, Tag: 1},
		NodeWWN: "iqn.1994-05.com.redhat:client"}.Path()) {
		t.Fatalf("no ACL (status %q)", f.m.status.Text)
	}
}

func TestLateAnswersAreDropped(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.populate()
	f.jump("/backstores/ramdisk/r1")
	old := f.m.reload("")() // a listing taken now…
	f.keys("d", "y")        // …then r1 is deleted and the tree listed again
	if _, ok := f.m.nodes["/backstores/ramdisk/r1"]; ok {
		t.Fatal("r1 still in the tree after delete")
	}
	f.run(f.m.Update(old)) // the old listing arrives late
	if _, ok := f.m.nodes["/backstores/ramdisk/r1"]; ok {
		t.Error("a late listing brought back the deleted r1")
	}
	oldDet := f.m.loadDetails()()
	f.run(f.m.loadDetails())
	current := f.m.det
	f.run(f.m.Update(oldDet))
	if f.m.det != current {
		t.Error("older details replaced newer ones")
	}
}

// walk lists every node's path below p, parents first.
func walk(t *testing.T, r *runner, p string) []string {
	t.Helper()
	kids, _, err := r.load([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{p}
	for _, k := range kids[p] {
		out = append(out, walk(t, r, k.Path)...)
	}
	return out
}

func TestRecreateLinesRemakeTheTree(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.populate()
	img := filepath.Join(f.dir, "f1.img")
	f.shell("/backstores/fileio create f1 "+img+" 1M write_back=false",
		"/iscsi/iqn.2003-01.org.example:t1/tpg1/acls/iqn.1994-05.com.redhat:client create 3 0 write_protect=true",
		"/iscsi/iqn.2003-01.org.example:t1/tpg1/portals create 192.0.2.1 3261",
		"/iscsi/iqn.2003-01.org.example:t1 create 2",
		"/backstores/ramdisk/r1/alua create ao 7")
	paths := walk(t, f.m.run, "/")
	var lines []string
	for _, p := range paths {
		d, err := f.m.run.details(p)
		if err != nil {
			t.Fatal(err)
		}
		if d.Recreate != "" {
			lines = append(lines, d.Recreate)
		}
	}
	// Mapped LUNs need their TPG LUN, which comes after the ACLs: last.
	mapping := func(l string) bool { return strings.Contains(l, " create mapped_lun=") }
	sort.SliceStable(lines, func(i, j int) bool { return !mapping(lines[i]) && mapping(lines[j]) })
	g := newFixture(t, 80, 24)
	for _, l := range lines {
		// The iSCSI target's create makes TPG 1 and its default portal.
		if err := g.sh.Exec(context.Background(), l); err != nil &&
			!strings.Contains(l, "tag=1") && !strings.Contains(l, "0.0.0.0") {
			t.Errorf("%s: %v", l, err)
		}
	}
	if got, want := strings.Join(walk(t, g.m.run, "/"), "\n"), strings.Join(paths, "\n"); got != want {
		t.Errorf("the recreated tree differs:\n%s\n--- want\n%s\nfrom the lines:\n%s", got, want, strings.Join(lines, "\n"))
	}
}

func TestTheRootOwnsTheSize(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.run(f.m.Update(tea.WindowSizeMsg{Width: 100, Height: 50}))
	checkFits(t, f.m.View(), 80, 24)
}

func TestAutoRefreshShowsOtherShellsChanges(t *testing.T) {
	f := newFixture(t, 80, 24)
	f.m.SetAutoRefresh(time.Second)
	tick := f.m.refreshTick()
	if tick == nil || !isTick(tick) {
		t.Fatal("SetAutoRefresh(1s) gives no tea.Tick")
	}
	f.jump("/backstores/ramdisk")
	f.keys("right")
	// Another shell (here: the same kernel through the LIO model, not
	// the browser's command layer) creates an object.
	so, err := f.lio.CreateStorageObject(configfs.StorageSpec{Plugin: "rd_mcp", Name: "other",
		Control: []configfs.KV{{Key: "rd_pages", Value: "256"}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(f.screen(), "other") {
		t.Fatal("shown before any refresh")
	}
	f.run(func() tea.Msg { return refreshTickMsg{gen: f.m.everyGen} })
	if !strings.Contains(f.screen(), "other") {
		t.Fatalf("a tick did not show the new backstore:\n%s", f.screen())
	}

	// While an input is open nothing moves under the user.
	f.keys(":")
	if err := f.lio.DeleteStorageObject(so); err != nil {
		t.Fatal(err)
	}
	f.run(func() tea.Msg { return refreshTickMsg{gen: f.m.everyGen} })
	f.keys("esc")
	if !strings.Contains(f.screen(), "other") {
		t.Fatal("a tick reloaded the tree while the go-to prompt was open")
	}
	f.run(func() tea.Msg { return refreshTickMsg{gen: f.m.everyGen} })
	if strings.Contains(f.screen(), "other") {
		t.Fatalf("the deleted backstore stays after a tick:\n%s", f.screen())
	}

	// A tick of an earlier setting does nothing; 0 turns it off.
	gen := f.m.everyGen
	f.m.SetAutoRefresh(0)
	if f.m.refreshTick() != nil {
		t.Fatal("SetAutoRefresh(0) still ticks")
	}
	if cmd := f.m.Update(refreshTickMsg{gen: gen}); cmd != nil {
		t.Fatal("a stale tick started a command")
	}
}

// A create the shell or kernel refuses opens the form again with what was
// typed and says why; fixing one field and submitting again creates it.
func TestRefusedCreateFormKeepsWhatWasTyped(t *testing.T) {
	f := newFixture(t, 100, 30)
	f.shell("/backstores/ramdisk create r9 16M")
	f.jump("/backstores/ramdisk")
	f.keys("c")
	f.typeText("r9")
	f.keys("enter")
	f.typeText("32M")
	f.keys("enter", "enter", "enter")
	if f.m.mode != modeForm || f.m.cform == nil {
		t.Fatalf("the refused form is not open again (mode %v, status %q):\n%s", f.m.mode, f.m.status.Text, f.screen())
	}
	if got := f.m.cform.line(); got != "/backstores/ramdisk create name=r9 size=32M" {
		t.Errorf("the form's values after the refusal make %q", got)
	}
	if scr := f.screen(); !strings.Contains(scr, "refused:") || !strings.Contains(scr, "already exists") {
		t.Errorf("the form does not say why it was refused:\n%s", scr)
	}
	if f.m.status.Err == nil {
		t.Errorf("status %+v", f.m.status)
	}
	f.keys("backspace")
	f.typeText("8")
	f.keys("enter", "enter", "enter", "enter")
	if f.m.mode != modeNormal {
		t.Fatalf("the corrected form is still open:\n%s", f.screen())
	}
	if _, err := f.lio.FindStorageObject("rd_mcp", "r8"); err != nil {
		t.Fatalf("r8 was not created (status %q): %v", f.m.status.Text, err)
	}
}
