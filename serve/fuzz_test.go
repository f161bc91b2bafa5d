package serve_test

import (
	"bufio"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/engine/control"
	"github.com/tcmsh/tcmsh/serve/servetest"
)

// FuzzControlSocket writes arbitrary bytes to a live daemon's socket, then
// a well-formed request: whatever came before, the daemon must answer it
// (it did not crash, wedge, or lose the connection's framing).
func FuzzControlSocket(f *testing.F) {
	for _, seed := range []string{
		`{"id":1,"method":"serve","params":{"configfs":"target/core/user_0/r1"}}`,
		`{"id":2,"method":"workload","params":{"lun_configfs":"target/l","spec":{"count":3}}}`,
		`{"id":3,"method":"workload","params":{"lun_configfs":"target/l","spec":{"rw":5}}}`,
		`{"id":4,"method":"cancel","params":{"id":4}}`,
		`{"id":5,"method":"validate","params":{"dev_config":"ram/","size":-1}}`,
		`{"id":6,"method":"release","params":{"configfs":"target/core/user_0/nope"}}` + "\n" + `{"id":6,"method":"stats"}`,
		"{\"id\":7,\"method\":\"stats\"",
		"\n\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	d := servetest.Start(f, fakeOptions(servetest.NewFake()))
	f.Fuzz(func(t *testing.T, input []byte) {
		conn, err := net.Dial("unix", d.Listening.Socket)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		sc := bufio.NewScanner(conn)
		sc.Buffer(nil, control.MaxLine)
		if !sc.Scan() {
			t.Fatalf("no greeting: %v", sc.Err())
		}
		const probeID = 1 << 62
		probe, _ := json.Marshal(control.Request{ID: probeID, Method: control.MethodSubtypes})
		// A newline first ends whatever unterminated line the input left.
		msg := append(append(append([]byte{}, input...), '\n'), probe...)
		if _, err := conn.Write(append(msg, '\n')); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(time.Minute)) // a wedge fails instead of hanging the fuzzer
		for sc.Scan() {
			var r control.Response
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("unreadable response %q: %v", sc.Bytes(), err)
			}
			if r.ID == probeID {
				return // answered (an input that used the probe's id may have been answered instead: alive either way)
			}
		}
		t.Fatalf("connection ended before the probe was answered: %v", sc.Err())
	})
}
