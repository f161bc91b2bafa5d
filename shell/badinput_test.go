package shell

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// A preferences file that cannot be read whole is kept beside itself
// before the next save replaces it, and the message says where.
func TestDamagedPrefsFileIsKept(t *testing.T) {
	for _, content := range []string{`{"preferences": {"auto_cd_after_create": "true"`, `{"preferences": {"max_backup_files": "many", "colour": "1"}, "bookmarks": {"b": "/iscsi"}}`} {
		dir := t.TempDir()
		file := filepath.Join(dir, "prefs.json")
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		sh := New(Env{}, Options{Out: &out, Err: &out, PrefsPath: file})
		copies, _ := filepath.Glob(file + ".bad-*")
		if len(copies) != 1 {
			t.Fatalf("%s: copies %q; message %q", content, copies, out.String())
		}
		if b, err := os.ReadFile(copies[0]); err != nil || string(b) != content {
			t.Errorf("the copy holds %q (%v)", b, err)
		}
		if !strings.Contains(out.String(), "the file is kept as "+copies[0]) {
			t.Errorf("the message does not say where the copy is: %q", out.String())
		}
		if strings.Contains(content, "many") && (!strings.Contains(out.String(), `max_backup_files="many"`) || !strings.Contains(out.String(), `unknown preference "colour"`)) {
			t.Errorf("the message does not say what was ignored: %q", out.String())
		}
		sh.prefs.Bookmarks["x"] = "/"
		if err := sh.prefs.Save(); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(copies[0]); string(b) != content {
			t.Errorf("the copy changed on save: %q", b)
		}
	}
}

// Two backstores on one image file are two writers unaware of each
// other: refused, whichever kinds they are.
func TestSecondBackstoreOnOneImageIsRefused(t *testing.T) {
	sh, out, l := newTestShell(t, false)
	sh.env.Engine = &fakeEngine{lio: l}
	ctx := context.Background()
	image := filepath.Join(t.TempDir(), "u.img")
	if err := sh.Exec(ctx, "/backstores/user:file create u1 1M "+image); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, line := range []string{
		"/backstores/user:file create u2 1M " + image,
		"/backstores/user:file create u3 1M " + image + ";grow=true",
		"/backstores/fileio create f2 " + image + " 1M",
	} {
		err := sh.Exec(ctx, line)
		if err == nil || !strings.Contains(err.Error(), image+" is already the image of /backstores/user:file/u1") {
			t.Errorf("%s: %v", line, err)
		}
	}
	// And the other way round: a fileio image taken by a user:file one.
	disk1, err := sh.Resolve("/backstores/fileio/disk1")
	if err != nil {
		t.Fatal(err)
	}
	si, err := l.StorageObjectInfo(disk1.so)
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Exec(ctx, "/backstores/user:file create u4 1M "+si.Dev); err == nil || !strings.Contains(err.Error(), "is already the image of /backstores/fileio/disk1") {
		t.Errorf("user:file on fileio disk1's image: %v", err)
	}
	if sos, _ := l.StorageObjects(); len(sos) != 2 {
		t.Errorf("storage objects after the refusals: %v", sos)
	}
}

// user:file's help shows the cfgstring a create command takes, and the
// dev_config spelling typed as a cfgstring gets an error that says what to
// type instead.
func TestUserFileHelpAndErrorLeadToACfgstringThatWorks(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	sh.env.UserSubtypes = []string{"file", "ram"}
	ctx := context.Background()
	out.Reset()
	if err := sh.Exec(ctx, "/backstores/user:file help create"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "/backstores/user:file create disk0 10G /var/lib/tcmsh/disk0.img") {
		t.Errorf("help create does not show a cfgstring:\n%s", out)
	}
	image := filepath.Join(t.TempDir(), "u.img")
	err := sh.Exec(ctx, "/backstores/user:file create u1 1M file/"+image)
	if err == nil || !strings.Contains(err.Error(), "cfgstring is the path alone ("+image+")") {
		t.Errorf("cfgstring file/%s: %v", image, err)
	}
	if err := sh.Exec(ctx, "/backstores/user:file create u1 1M "+image); err != nil {
		t.Errorf("the cfgstring the error names is refused too: %v", err)
	}
}

// help fits the width and breaks lines between words only.
func TestHelpWrapsBetweenWordsWithinTheWidth(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	sh.env.UserSubtypes = []string{"file"}
	ctx := context.Background()
	for _, line := range []string{"help", "/backstores/fileio help create", "help workload", "/backstores/user:file help create"} {
		out.Reset()
		if err := sh.Exec(ctx, line); err != nil {
			t.Fatal(err)
		}
		words := map[string]bool{}
		for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
			if w := ansi.StringWidth(l); w > 80 {
				t.Errorf("%s: a line of %d columns: %q", line, w, l)
			}
			for _, w := range strings.Fields(l) {
				words[w] = true
			}
		}
		// Every word of every summary is whole somewhere in the output.
		n, _ := sh.Resolve(sh.Cwd())
		if strings.HasPrefix(line, "/") {
			n, _ = sh.Resolve(strings.Fields(line)[0])
		}
		for _, c := range sh.CommandsFor(n) {
			if line != "help" && !strings.HasSuffix(line, " "+c.Name) {
				continue
			}
			for _, w := range strings.Fields(firstSentence(c.Summary)) {
				if !words[w] {
					t.Errorf("%s: the word %q of %s's summary is broken", line, w, c.Name)
				}
			}
		}
	}
	if got := firstSentence("Wait for a while (in scripts, e.g. for a device to settle); Ctrl-C ends it. More."); got != "Wait for a while (in scripts, e.g. for a device to settle); Ctrl-C ends it." {
		t.Errorf("firstSentence stops at e.g.: %q", got)
	}
}

// ls pads tree lines by display width: a wide (CJK) name takes two
// columns a character, and its line ends at the width like the others.
func TestLsLinesWithWideNamesFitTheWidth(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	ctx := context.Background()
	if err := sh.Exec(ctx, "/backstores/ramdisk create ディスク一 1M"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := sh.Exec(ctx, "ls /backstores/ramdisk"); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if w := ansi.StringWidth(l); w != 80 {
			t.Errorf("a line of %d columns, want 80: %q", w, l)
		}
		found = found || strings.Contains(l, "ディスク一")
	}
	if !found {
		t.Fatalf("no line for the object:\n%s", out)
	}
}

// `set attribute <TAB>` offers the writable attributes (with `=`), `get
// attribute <TAB>` every one, each with its current value; after `=`,
// the current value.
func TestCompletionOfGroupNames(t *testing.T) {
	sh, _, _ := newTestShell(t, false)
	texts := func(before string) map[string]string {
		out := map[string]string{}
		for _, s := range sh.Complete(before) {
			out[s.Text] = s.Description
		}
		return out
	}
	set := texts("/backstores/fileio/disk1 set attribute ")
	if set["block_size="] != "512" || set["emulate_tpu="] == "" {
		t.Errorf("set attribute <TAB>: %v", set)
	}
	if _, ok := set["hw_block_size="]; ok {
		t.Errorf("set attribute offers the read-only hw_block_size: %v", set)
	}
	if got := texts("/backstores/fileio/disk1 set attribute emulate_t"); len(got) == 0 {
		t.Errorf("set attribute emulate_t<TAB>: nothing")
	} else {
		for k := range got {
			if !strings.HasPrefix(k, "emulate_t") {
				t.Errorf("set attribute emulate_t<TAB> offers %q", k)
			}
		}
	}
	if got := texts("/backstores/fileio/disk1 set attribute block_size=4096 "); got["block_size="] != "" {
		t.Errorf("a name already given is offered again: %v", got)
	}
	if got := texts("/backstores/fileio/disk1 set attribute block_size="); got["512"] != "current value" {
		t.Errorf("set attribute block_size=<TAB>: %v", got)
	}
	get := texts("/backstores/fileio/disk1 get attribute ")
	if get["hw_block_size"] != "512" || get["block_size"] != "512" {
		t.Errorf("get attribute <TAB>: %v", get)
	}
	if got := texts("set global auto_cd"); got["auto_cd_after_create="] != "false" {
		t.Errorf("set global auto_cd<TAB>: %v", got)
	}
	if got := texts("/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1 get parameter Max"); len(got) == 0 {
		t.Errorf("get parameter Max<TAB>: nothing")
	}
}
