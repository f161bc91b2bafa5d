package shell

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/config"
	"github.com/tcmsh/tcmsh/configfs"
)

// TestSessionsListsDemoModeLogins reads a configfs-shaped directory as a
// real kernel with one ACL session and two demo-mode sessions.
func TestSessionsListsDemoModeLogins(t *testing.T) {
	root := t.TempDir()
	const tpg = "target/iscsi/iqn.2003-01.org.example:t/tpgt_1"
	const acl = "iqn.1994-05.com.example:acl"
	files := map[string]string{
		"target/version":          "Target Engine Core ConfigFS Infrastructure v5.0\n",
		tpg + "/enable":           "1\n",
		tpg + "/dynamic_sessions": "iqn.1994-05.com.example:demo1\n\x00iqn.1994-05.com.example:demo2\n\x00",
		tpg + "/acls/" + acl + "/info": "InitiatorName: " + acl + "\nInitiatorAlias: client\n" +
			"LIO Session ID: 7   ISID: 0x23d000000000  TSIH: 1  SessionType: Normal\n",
		tpg + "/lun/.keep":               "",
		"target/core/.keep":              "",
		"target/iscsi/discovery_auth/.k": "",
	}
	for p, body := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := configfs.Open(configfs.NewRealFS(root), root, configfs.Options{Kind: "real"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(jsonOut bool, line string) string {
		t.Helper()
		var out bytes.Buffer
		sh := New(Env{LIO: l, Kind: "real"}, Options{Out: &out, Err: &out, JSON: jsonOut, Width: 80, Version: "test"})
		if err := sh.Exec(context.Background(), line); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out.String())
		}
		return out.String()
	}

	var got []config.Session
	if err := json.Unmarshal([]byte(run(true, "sessions")), &got); err != nil {
		t.Fatal(err)
	}
	var dyn, acls []string
	for _, s := range got {
		if s.Dynamic {
			dyn = append(dyn, s.Initiator)
		} else {
			acls = append(acls, s.Initiator)
		}
		if s.Path != "/iscsi/iqn.2003-01.org.example:t/tpg1" && s.Path != "/iscsi/iqn.2003-01.org.example:t/tpg1/acls/"+acl {
			t.Errorf("path %q", s.Path)
		}
	}
	if !slices.Equal(dyn, []string{"iqn.1994-05.com.example:demo1", "iqn.1994-05.com.example:demo2"}) || !slices.Equal(acls, []string{acl}) {
		t.Fatalf("dynamic %q, per ACL %q", dyn, acls)
	}

	text := run(false, "sessions")
	if !strings.Contains(text, "iqn.1994-05.com.example:demo1 /iscsi/iqn.2003-01.org.example:t/tpg1 (dynamic)") ||
		!strings.Contains(text, acl+" /iscsi/iqn.2003-01.org.example:t/tpg1/acls/"+acl+"\n") {
		t.Errorf("sessions:\n%s", text)
	}
	// A SID names an ACL's session (the LIO Session ID, not the ISID);
	// demo-mode sessions show none.
	if text := run(false, "sessions detail sid=7"); strings.Contains(text, "demo1") || !strings.Contains(text, "LIO Session ID: 7") {
		t.Errorf("sessions detail sid=7:\n%s", text)
	}
	if text := run(false, "sessions detail sid=0"); !strings.Contains(text, "(no open sessions)") {
		t.Errorf("sessions detail sid=0 (the ISID's digits):\n%s", text)
	}
}
