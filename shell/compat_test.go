package shell

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// execAll runs shell lines, failing the test on the first error.
func execAll(t *testing.T, sh *Shell, lines ...string) {
	t.Helper()
	for _, line := range lines {
		if err := sh.Exec(context.Background(), line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
}

const testIQN = "iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab"

// IPv6 portals are saved as targetcli-fb saves them, in brackets ("[::1]",
// which rtslib's restore makes the portal directory from); a file with
// either form restores the portal.
func TestSaveconfigIPv6Portal(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	execAll(t, sh, "/iscsi/"+testIQN+"/tpg1/portals create ::1 3261")
	file := filepath.Join(t.TempDir(), "saveconfig.json")
	if err := sh.SaveConfig(file, false); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"ip_address": "[::1]"`) || !strings.Contains(string(data), `"ip_address": "0.0.0.0"`) {
		t.Fatalf("saved portals:\n%s", data)
	}
	bare := filepath.Join(t.TempDir(), "bare.json")
	if err := os.WriteFile(bare, []byte(strings.ReplaceAll(string(data), `"[::1]"`, `"::1"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{file, bare} {
		execAll(t, sh, "clearconfig confirm=true", "restoreconfig "+f)
		out.Reset()
		execAll(t, sh, "ls /iscsi/"+testIQN+"/tpg1/portals")
		if !strings.Contains(out.String(), "0.0.0.0:3260") || !strings.Contains(out.String(), "[::1]:3261") {
			t.Errorf("%s restored portals:\n%s", filepath.Base(f), out)
		}
	}
}
