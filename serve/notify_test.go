package serve_test

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/serve/servetest"
)

// Under a Type=notify unit the daemon says READY=1 once it takes requests
// and STOPPING=1 when it starts shutting down.
func TestSystemdNotify(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", addr)
	d := servetest.Start(t, fakeOptions(servetest.NewFake()))
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, 4096)
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute)) // only bounds a broken run
	for len(got) < 2 {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, string(buf[:n]))
	}
	if !strings.HasPrefix(got[0], "READY=1\n") || !strings.Contains(got[0], "MAINPID=") {
		t.Errorf("first notification %q, want READY=1 with MAINPID", got[0])
	}
	if got[1] != "STOPPING=1" {
		t.Errorf("second notification %q, want STOPPING=1", got[1])
	}
}
