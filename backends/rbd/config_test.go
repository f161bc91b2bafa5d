package rbd

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		cfg  string
		want Config
	}{
		{"rbd/disk1", Config{Pool: "rbd", Image: "disk1"}},
		{"rbd/disk1;", Config{Pool: "rbd", Image: "disk1"}},
		{"rbd/disk1;;", Config{Pool: "rbd", Image: "disk1"}},
		{"rbd/disk1@gold", Config{Pool: "rbd", Image: "disk1", Snap: "gold"}},
		// What ceph-iscsi writes, and the three options of tcmu-runner.
		{"iscsi-pool/lun-0;osd_op_timeout=30", Config{Pool: "iscsi-pool", Image: "lun-0", Timeout: 30 * time.Second}},
		{"rbd/disk1;osd_op_timeout=30;conf=/etc/ceph/ceph.conf;id=admin",
			Config{Pool: "rbd", Image: "disk1", Timeout: 30 * time.Second, Conf: "/etc/ceph/ceph.conf", ID: "admin"}},
		{"rbd/disk1;id=iscsi;conf=/etc/ceph/other.conf", Config{Pool: "rbd", Image: "disk1", Conf: "/etc/ceph/other.conf", ID: "iscsi"}},
		{"rbd/disk1@s1;osd_op_timeout=2.5", Config{Pool: "rbd", Image: "disk1", Snap: "s1", Timeout: 2500 * time.Millisecond}},
		{"rbd/disk1;osd_op_timeout=1m30s", Config{Pool: "rbd", Image: "disk1", Timeout: 90 * time.Second}},
		{"rbd/disk1; osd_op_timeout=5", Config{Pool: "rbd", Image: "disk1", Timeout: 5 * time.Second}},
		{"p.1_x/img-2.raw", Config{Pool: "p.1_x", Image: "img-2.raw"}},
		{"rbd/disk1;conf=relative.conf", Config{Pool: "rbd", Image: "disk1", Conf: "relative.conf"}},
	}
	for _, tt := range tests {
		t.Run(tt.cfg, func(t *testing.T) {
			got, err := ParseConfig(tt.cfg)
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if got != tt.want {
				t.Fatalf("ParseConfig = %+v, want %+v", got, tt.want)
			}
			// String gives back a cfgstring that means the same.
			again, err := ParseConfig(got.String())
			if err != nil || again != got {
				t.Fatalf("ParseConfig(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		cfg, want string
	}{
		{"", `rbd cfgstring: "": expected <pool>/<image>[@snap], e.g. rbd/disk1`},
		{"disk1", `rbd cfgstring: "disk1": expected <pool>/<image>[@snap], e.g. rbd/disk1`},
		{"disk1;osd_op_timeout=30", `rbd cfgstring: "disk1": expected <pool>/<image>[@snap], e.g. rbd/disk1`},
		{"/disk1", `rbd cfgstring: "/disk1": empty pool name before '/'`},
		{"rbd/", `rbd cfgstring: "rbd/": empty image name after '/'`},
		{"rbd/;id=admin", `rbd cfgstring: "rbd/": empty image name after '/'`},
		{"rbd/disk1@", `rbd cfgstring: "rbd/disk1@": empty snapshot name after '@'`},
		{"rbd/ns/disk1", `rbd cfgstring: image "ns/disk1": an image name has no '/' (namespaces are not supported)`},
		{"rbd/disk1@a@b", `rbd cfgstring: snapshot "a@b": '@' is not allowed in a snapshot name`},
		{"r d/disk1", `rbd cfgstring: pool "r d": ' ' is not allowed in a pool name`},
		{"rbd/disk:1", `rbd cfgstring: image "disk:1": ':' is not allowed in a image name`},
		{"rbd/disk1;timeout=3", `rbd cfgstring: unknown option "timeout" (valid: osd_op_timeout, conf, id)`},
		{"rbd/disk1;osd_op_timeout", `rbd cfgstring: option "osd_op_timeout" needs a value (e.g. osd_op_timeout=30)`},
		{"rbd/disk1;conf=", `rbd cfgstring: option "conf" needs a value (e.g. conf=/etc/ceph/ceph.conf)`},
		{"rbd/disk1;id", `rbd cfgstring: option "id" needs a value (e.g. id=admin)`},
		{"rbd/disk1;id=a;id=b", `rbd cfgstring: option "id" given twice`},
		{"rbd/disk1;id=client.admin", `rbd cfgstring: option "id": "client.admin": give the id without "client." (id=admin)`},
		{"rbd/disk1;id=a b", `rbd cfgstring: id "a b": ' ' is not allowed in a id name`},
		{"rbd/disk1;osd_op_timeout=0", `rbd cfgstring: option "osd_op_timeout": 0 seconds is out of range (more than 0, at most 24h0m0s); 0, which Ceph reads as no timeout, is refused because an operation must never hang`},
		{"rbd/disk1;osd_op_timeout=86401", `rbd cfgstring: option "osd_op_timeout": 86401 seconds is out of range (more than 0, at most 24h0m0s); 0, which Ceph reads as no timeout, is refused because an operation must never hang`},
		{"rbd/disk1;osd_op_timeout=-1", `rbd cfgstring: option "osd_op_timeout": -1 seconds is out of range (more than 0, at most 24h0m0s); 0, which Ceph reads as no timeout, is refused because an operation must never hang`},
		{"rbd/disk1;osd_op_timeout=-1s", `rbd cfgstring: option "osd_op_timeout": -1s is out of range (more than 0, at most 24h0m0s)`},
		{"rbd/disk1;osd_op_timeout=NaN", `rbd cfgstring: option "osd_op_timeout": "NaN" is not a number of seconds (e.g. osd_op_timeout=30)`},
		{"rbd/disk1;osd_op_timeout=inf", `rbd cfgstring: option "osd_op_timeout": "inf" is not a number of seconds (e.g. osd_op_timeout=30)`},
		{"rbd/disk1;osd_op_timeout=0x10", `rbd cfgstring: option "osd_op_timeout": "0x10" is not a number of seconds (e.g. osd_op_timeout=30)`},
		{"rbd/disk1;osd_op_timeout=10ns", `rbd cfgstring: option "osd_op_timeout": 10ns is below a millisecond`},
		{"rbd/disk1;osd_op_timeout=1.2.3", `rbd cfgstring: option "osd_op_timeout": "1.2.3" is not a number of seconds (e.g. osd_op_timeout=30)`},
	}
	for _, tt := range tests {
		t.Run(tt.cfg, func(t *testing.T) {
			_, err := ParseConfig(tt.cfg)
			if err == nil {
				t.Fatalf("ParseConfig(%q) succeeded", tt.cfg)
			}
			if err.Error() != tt.want {
				t.Fatalf("ParseConfig(%q)\n got %s\nwant %s", tt.cfg, err, tt.want)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
		})
	}
}

func TestConfigNames(t *testing.T) {
	tests := []struct {
		cfg          string
		spec, client string
		readOnly     bool
	}{
		{"rbd/disk1", "rbd/disk1", "client.admin", false},
		{"rbd/disk1@gold;id=iscsi", "rbd/disk1@gold", "client.iscsi", true},
	}
	for _, tt := range tests {
		c, err := ParseConfig(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c.Spec() != tt.spec || c.Client() != tt.client || c.ReadOnly() != tt.readOnly {
			t.Errorf("%q: Spec %q Client %q ReadOnly %v; want %q %q %v", tt.cfg, c.Spec(), c.Client(), c.ReadOnly(), tt.spec, tt.client, tt.readOnly)
		}
	}
}

// TestHelpExamples checks that every example of the help parses and every
// option is documented.
func TestHelpExamples(t *testing.T) {
	_, examples, ok := strings.Cut(Help, "Examples:")
	if !ok {
		t.Fatal("help has no examples")
	}
	n := 0
	for line := range strings.Lines(examples) {
		ex := strings.TrimSpace(line)
		cfg, ok := strings.CutPrefix(ex, "rbd/")
		if !ok {
			continue
		}
		n++
		if _, err := ParseConfig(cfg); err != nil {
			t.Errorf("example %q: %v", ex, err)
		}
	}
	if n == 0 {
		t.Error("no rbd/ example in the help")
	}
	for _, opt := range Options {
		if !strings.Contains(Help, "  "+opt+"=") {
			t.Errorf("help does not document %q", opt)
		}
	}
}

// FuzzParseConfig checks that ParseConfig never panics, that what it
// accepts formats back into a cfgstring meaning the same, and that
// accepted names hold none of the separators.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		"rbd/disk1", "rbd/disk1@gold;osd_op_timeout=30;conf=/etc/ceph/ceph.conf;id=admin",
		"rbd/disk1;osd_op_timeout=1m", "/", ";;", "a/b;c=d=e", "a/b@c@d", "rbd/disk1;osd_op_timeout=1e3",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cfg string) {
		c, err := ParseConfig(cfg)
		if err != nil {
			if !errors.Is(err, ErrSyntax) || err.Error() == "" {
				t.Fatalf("ParseConfig(%q): bad error %v", cfg, err)
			}
			return
		}
		for _, name := range []string{c.Pool, c.Image, c.Snap, c.ID} {
			if strings.ContainsAny(name, "/@;: \t\n") {
				t.Fatalf("ParseConfig(%q) accepted the name %q", cfg, name)
			}
		}
		if c.Pool == "" || c.Image == "" || c.Timeout < 0 || c.Timeout > MaxTimeout {
			t.Fatalf("ParseConfig(%q) = %+v", cfg, c)
		}
		again, err := ParseConfig(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseConfig(%q) = %+v; its String %q parses as %+v, %v", cfg, c, c.String(), again, err)
		}
	})
}
