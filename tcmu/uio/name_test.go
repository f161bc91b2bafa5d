package uio

import (
	"errors"
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Name
		err  error
	}{
		{"tcm-user/0/test/demo/x", Name{0, "test", "demo/x", "demo", "x"}, nil},
		{"tcm-user/0/test/demo/x\n", Name{0, "test", "demo/x", "demo", "x"}, nil},
		{"tcm-user/12/disk/file//srv/disks/d.img", Name{12, "disk", "file//srv/disks/d.img", "file", "/srv/disks/d.img"}, nil},
		{"tcm-user/4294967295/d/rbd/pool/image@snap", Name{4294967295, "d", "rbd/pool/image@snap", "rbd", "pool/image@snap"}, nil},
		{"tcm-user/0/d/ram", Name{0, "d", "ram", "ram", ""}, nil},
		{"tcm-user/0/d/ram/", Name{0, "d", "ram/", "ram", ""}, nil},
		{"tcm-user/0/d", Name{0, "d", "", "", ""}, nil},
		{"tcm-user/0/d/a b:c/=;x y", Name{0, "d", "a b:c/=;x y", "a b:c", "=;x y"}, nil},
		{"tcm-user/0/d//leading", Name{0, "d", "/leading", "", "leading"}, nil},
		{"tcm-user/0/d/x\ny", Name{0, "d", "x\ny", "x\ny", ""}, nil},

		{"uio_pdrv_genirq", Name{}, ErrNotTCMU},
		{"", Name{}, ErrNotTCMU},
		{"tcm-user", Name{}, ErrNotTCMU},
		{"TCM-USER/0/d/ram", Name{}, ErrNotTCMU},
		{"tcm-user/", Name{}, ErrMalformedName},
		{"tcm-user/0", Name{}, ErrMalformedName},
		{"tcm-user/0/", Name{}, ErrMalformedName},
		{"tcm-user//d/ram", Name{}, ErrMalformedName},
		{"tcm-user/x/d/ram", Name{}, ErrMalformedName},
		{"tcm-user/-1/d/ram", Name{}, ErrMalformedName},
		{"tcm-user/+1/d/ram", Name{}, ErrMalformedName},
		{"tcm-user/01/d/ram", Name{}, ErrMalformedName},
		{"tcm-user/4294967296/d/ram", Name{}, ErrMalformedName},
		{"tcm-user/0//ram", Name{}, ErrMalformedName},
		{"tcm-user/0/../ram", Name{}, ErrMalformedName},
		{"tcm-user/0/./ram", Name{}, ErrMalformedName},
		{"tcm-user/0/d/", Name{}, ErrMalformedName},
		{"tcm-user/0/d\x00/ram", Name{}, ErrMalformedName},
		{"tcm-user/0/d/ram\x00x", Name{}, ErrMalformedName},
	} {
		got, err := ParseName(tc.in)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("ParseName(%q) err = %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseName(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseName(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if s := got.String(); s != strings.TrimSuffix(tc.in, "\n") {
			t.Errorf("ParseName(%q).String() = %q", tc.in, s)
		}
	}
}

func TestParseNameErrorNamesInput(t *testing.T) {
	_, err := ParseName("tcm-user/x/d/ram")
	if err == nil || !strings.Contains(err.Error(), `"tcm-user/x/d/ram"`) || !strings.Contains(err.Error(), `HBA "x"`) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParseName(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			if !errors.Is(err, ErrNotTCMU) && !errors.Is(err, ErrMalformedName) {
				t.Fatalf("ParseName(%q): unexpected error kind %v", s, err)
			}
			return
		}
		if got := n.String(); got != strings.TrimSuffix(s, "\n") {
			t.Fatalf("ParseName(%q).String() = %q", s, got)
		}
		again, err := ParseName(n.String() + "\n") // as sysfs shows it
		if err != nil || again != n {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
		if n.Device == "" || n.Device == "." || n.Device == ".." || strings.ContainsAny(n.Device, "/\x00") {
			t.Fatalf("ParseName(%q): unusable device name %q", s, n.Device)
		}
		if n.DevConfig != "" {
			joined := n.Subtype
			if strings.Contains(n.DevConfig, "/") {
				joined += "/" + n.CfgString
			}
			if joined != n.DevConfig {
				t.Fatalf("ParseName(%q): subtype %q + cfgstring %q != dev_config %q", s, n.Subtype, n.CfgString, n.DevConfig)
			}
		}
		if want := "target/core/user_"; !strings.HasPrefix(n.ConfigPath(), want) || strings.Count(n.ConfigPath(), "/") != 3 {
			t.Fatalf("ParseName(%q): config path %q", s, n.ConfigPath())
		}
	})
}
