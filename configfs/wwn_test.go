package configfs

import (
	"strings"
	"testing"
)

func TestValidateWWN(t *testing.T) {
	iscsi, _ := LookupFabric("iscsi")
	loop, _ := LookupFabric("loopback")
	fc, _ := LookupFabric("qla2xxx")
	tests := []struct {
		wwn     string
		allowed []WWNType
		want    string
		errPart string
	}{
		{"iqn.2003-01.org.linux-iscsi.host.x8664:sn.0123456789ab", iscsi.WWNTypes, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.0123456789ab", ""},
		{"IQN.2003-01.ORG.example:Disk", iscsi.WWNTypes, "iqn.2003-01.org.example:disk", ""},
		{"iqn.2003-01.org.example_bad", iscsi.WWNTypes, "", "not valid here"},
		{"iqn.03-01.org.example", iscsi.WWNTypes, "", "iqn.YYYY-MM"},
		{"naa.5001405abcdef012", iscsi.WWNTypes, "naa.5001405abcdef012", ""},
		{"eui.0014050123456789", iscsi.WWNTypes, "eui.0014050123456789", ""},
		{"naa.5001405abcdef012", loop.WWNTypes, "naa.5001405abcdef012", ""},
		{"naa.5001405abcdef01", loop.WWNTypes, "", "naa. followed by 16 hex"},
		{"naa.4001405abcdef012", loop.WWNTypes, "", "not valid"},
		{"iqn.2003-01.org.example", loop.WWNTypes, "", "not valid"},
		{"naa.60014051234567890123456789abcdef", loop.WWNTypes, "naa.60014051234567890123456789abcdef", ""},
		{"21:00:00:24:ff:31:4c:48", []WWNType{WWNFCColon}, "21:00:00:24:ff:31:4c:48", ""},
		{"", iscsi.WWNTypes, "", "empty"},
		{"naa.5001405abc/ef012", loop.WWNTypes, "", "slash"},
		{"anything-goes", []WWNType{WWNFreeForm}, "anything-goes", ""},
		// The spellings rtslib cleans up (targetcli-fb's man page: "with
		// or without colons").
		{"naa.50:01:40:5a:bc:de:f0:12", loop.WWNTypes, "naa.5001405abcdef012", ""},
		{"0x5001405ABCDEF012", loop.WWNTypes, "naa.5001405abcdef012", ""},
		{"eui.00-14-05-01-23-45-67-89", iscsi.WWNTypes, "eui.0014050123456789", ""},
		{"naa.21000024ff314c48", fc.WWNTypes, "naa.21000024ff314c48", ""},
		{"21:00:00:24:FF:31:4C:48", fc.WWNTypes, "21:00:00:24:ff:31:4c:48", ""},
		{"naa.4100", fc.WWNTypes, "", "not valid"},
	}
	for _, tt := range tests {
		got, err := ValidateWWN(tt.wwn, tt.allowed)
		if tt.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errPart) {
				t.Errorf("ValidateWWN(%q) error = %v, want one containing %q", tt.wwn, err, tt.errPart)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ValidateWWN(%q) = %q, %v; want %q", tt.wwn, got, err, tt.want)
		}
	}
}

func TestGenerateWWN(t *testing.T) {
	for _, typ := range []WWNType{WWNIQN, WWNNAA, WWNEUI, WWNIB, WWNFCColon} {
		seen := map[string]bool{}
		for i := 0; i < 20; i++ {
			w := GenerateWWN(typ)
			if got := ClassifyWWN(w); got != typ {
				t.Fatalf("GenerateWWN(%s) = %q, classified as %q", typ, w, got)
			}
			if seen[w] {
				t.Fatalf("GenerateWWN(%s) repeated %q", typ, w)
			}
			seen[w] = true
		}
	}
	if w := GenerateWWN(WWNNAA); !strings.HasPrefix(w, "naa.5001405") {
		t.Errorf("naa %q does not carry LIO's OUI prefix", w)
	}
	for i := 0; i < 20; i++ {
		if s := GenerateUnitSerial(); !ValidUnitSerial(s) || s[14] != '4' {
			t.Fatalf("GenerateUnitSerial() = %q, not a v4 UUID", s)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", "x\ny", "tab\there", strings.Repeat("x", 256)} {
		if ValidName("storage object", bad) == nil {
			t.Errorf("ValidName(%q) accepted", bad)
		}
	}
	for _, good := range []string{"disk1", "my-disk_2", "a.b", "ü"} {
		if err := ValidName("storage object", good); err != nil {
			t.Errorf("ValidName(%q) = %v", good, err)
		}
	}
}

func TestInfoFields(t *testing.T) {
	f := infoFields("Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 16384\n        TCM FILEIO ID: 0        File: /var/lib/disk.img  Size: 1073741824  Mode: O_DSYNC Async: 0\n")
	if f["File"] != "/var/lib/disk.img" || f["Size"] != "1073741824" || !strings.HasPrefix(f["Status"], "ACTIVATED") {
		t.Errorf("fileio info parsed as %v", f)
	}
	f = infoFields("Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 128\n        Config: ram/ Size: 67108864 MaxDataAreaMB: 1024 DataPagesPerBlk: 1 CmdRingSizeMB: 8\n")
	if f["Config"] != "ram/" || f["Size"] != "67108864" {
		t.Errorf("user info parsed as %v", f)
	}
}

func TestPortalName(t *testing.T) {
	if got := PortalName("0.0.0.0", 3260); got != "0.0.0.0:3260" {
		t.Errorf("IPv4 portal name %q", got)
	}
	if got := PortalName("::1", 3260); got != "[::1]:3260" {
		t.Errorf("IPv6 portal name %q", got)
	}
}

// Fibre Channel fabrics: configfs names ports and initiators in colon form,
// rtslib's files and targetcli-fb in naa. form; the FCoE fabric is tcm_fc
// there and fc in configfs.
func TestFibreChannelNames(t *testing.T) {
	for _, f := range []string{"qla2xxx", "efct", "fc"} {
		if got := ToFabricWWN(f, "naa.21000024ff314c48"); got != "21:00:00:24:ff:31:4c:48" {
			t.Errorf("ToFabricWWN(%s) = %q", f, got)
		}
		if got := FromFabricWWN(f, "21:00:00:24:ff:31:4c:48"); got != "naa.21000024ff314c48" {
			t.Errorf("FromFabricWWN(%s) = %q", f, got)
		}
	}
	if got := ToFabricWWN("loopback", "naa.5001405abcdef012"); got != "naa.5001405abcdef012" {
		t.Errorf("loopback WWN changed: %q", got)
	}
	if SavedFabricName("fc") != "tcm_fc" || FabricFromSaved("tcm_fc") != "fc" || FabricFromSaved("fc") != "fc" || SavedFabricName("iscsi") != "iscsi" {
		t.Error("fabric names")
	}
}
