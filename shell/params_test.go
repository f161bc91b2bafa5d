package shell

import (
	"strings"
	"testing"
)

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "false": false, "1": true, "0": false, "yes": true, "no": false, "TRUE": true} {
		got, err := ParseBool(in)
		if err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseBool("maybe"); err == nil || !strings.Contains(err.Error(), "true or false") {
		t.Errorf("ParseBool(maybe): %v", err)
	}
}

func TestBind(t *testing.T) {
	cmd := &Command{Name: "create", Params: []Param{
		{Name: "name", Type: TypeName, Required: true},
		{Name: "size", Type: TypeSize},
		{Name: "write_back", Type: TypeBool, Default: "true"},
		{Name: "mode", Type: TypeEnum, Enum: []string{"fast", "slow"}},
		{Name: "lun", Type: TypeInt, Min: 0, Max: 255},
	}}
	tests := []struct {
		words []string
		check func(Args) bool
		err   string
	}{
		{[]string{"d1"}, func(a Args) bool { return a.Str("name") == "d1" && a.Bool("write_back") && !a.Given("write_back") }, ""},
		{[]string{"d1", "1G", "false"}, func(a Args) bool { return a.Size("size") == 1<<30 && !a.Bool("write_back") }, ""},
		{[]string{"size=2M", "d1"}, func(a Args) bool { return a.Str("name") == "d1" && a.Size("size") == 2<<20 }, ""},
		{[]string{"d1", "lun=7"}, func(a Args) bool { return a.Int("lun", -1) == 7 }, ""},
		{[]string{"d1", "lun=256"}, nil, `lun: "256" is not an integer from 0 to 255`},
		{[]string{"d1", "mode=fsat"}, nil, `mode: "fsat" is not one of fast, slow (did you mean "fast"?)`},
		{[]string{"d1", "colour=red"}, nil, `unknown parameter "colour"; create takes: name, size, write_back, mode, lun`},
		{[]string{"d1", "size=1M", "size=2M"}, nil, "parameter size given twice"},
		{[]string{}, nil, "missing name"},
		{[]string{"../x"}, nil, "contains '/'"},
		{[]string{"a\x01b"}, nil, "control character"},
		{[]string{"d1", "1M", "true", "fast", "3", "extra"}, nil, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		a, err := cmd.bind(tt.words)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("bind(%q): error %v, want %q", tt.words, err, tt.err)
			}
			continue
		}
		if err != nil || !tt.check(a) {
			t.Errorf("bind(%q) = %+v, %v", tt.words, a, err)
		}
	}
	if got := cmd.Usage(); got != "create name [size] [write_back=true] [mode] [lun]" {
		t.Errorf("Usage() = %q", got)
	}
}

func TestComplete(t *testing.T) {
	sh, _, _ := newTestShell(t, false)
	has := func(line, want string) {
		t.Helper()
		for _, s := range sh.Complete(line) {
			if s.Text == want {
				return
			}
		}
		t.Errorf("Complete(%q) = %v, want %q among them", line, sh.Complete(line), want)
	}
	has("l", "ls")
	has("/backstores/fi", "/backstores/fileio/")
	has("cd /isc", "/iscsi/")
	has("/backstores/fileio create d2 x 1M write_back=", "true")
	has("/backstores/fileio create d2 x 1M wri", "write_back=")
	has("/backstores/fileio delete ", "disk1")
	has("/backstores/fileio/disk1 get ", "attribute")
	has("bookmarks ", "add")
	has("/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1/luns create ", "/backstores/fileio/disk1")
	has("/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1/acls create ", "iqn.1994-05.com.redhat:client")
	has("/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1 ", "enable")
}
