package control

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	req, err := DecodeRequest([]byte(`  {"id":3,"method":"serve","params":{"configfs":"target/core/user_0/r1"},"future_field":true}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	var p PathParams
	if err := DecodeParams(req, &p); err != nil || req.ID != 3 || req.Method != MethodServe || p.ConfigPath != "target/core/user_0/r1" {
		t.Errorf("decoded %+v, %+v, %v", req, p, err)
	}
	for _, bad := range []string{"", "{}", `{"id":0,"method":"stats"}`, `{"id":1}`, `{"id":1,"method":"Stats"}`, `[1]`, `{"id":1,"method":"stats","params":"x"}`} {
		if _, err := DecodeRequest([]byte(bad)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("DecodeRequest(%q) = %v, want ErrBadRequest", bad, err)
		}
	}
	if req, err := DecodeRequest([]byte(`{"id":1,"method":"stats","params":null}`)); err != nil {
		t.Errorf("null params: %+v, %v", req, err)
	}
}

func TestReadHello(t *testing.T) {
	good, _ := json.Marshal(Hello{Protocol: Protocol, Version: Version, Daemon: "x", PID: 1})
	if _, err := ReadHello(good); err != nil {
		t.Errorf("good greeting: %v", err)
	}
	for line, want := range map[string]string{
		`SSH-2.0-OpenSSH`:      "not a tcmsh control socket",
		`{"protocol":"other"}`: `names protocol "other"`,
		`{"protocol":"tcmsh-control","version":1,"error":"uid 5 may not"}`: "refused the connection: uid 5 may not",
		`{"protocol":"tcmsh-control","version":99,"daemon":"9.0"}`:         "version 99",
	} {
		if _, err := ReadHello([]byte(line)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadHello(%s) = %v, want %q", line, err, want)
		}
	}
}

// FuzzDecodeRequest: no input makes the decoder panic; what it accepts
// has an id and a known method, and survives a round trip.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"id":1,"method":"subtypes"}`,
		`{"id":2,"method":"validate","params":{"dev_config":"ram/","size":1048576}}`,
		`{"id":3,"method":"serve","params":{"configfs":"target/core/user_0/r1"}}`,
		`{"id":4,"method":"workload","params":{"lun_configfs":"target/loopback/naa.5001405aaaaaaaaa/tpgt_1/lun/lun_0","spec":{"rw":"randrw","bs":4096,"qd":8,"time":1000000000}}}`,
		`{"id":5,"method":"cancel","params":{"id":4}}`,
		`{"id":18446744073709551615,"method":"stats","params":null}`,
		`{"id":1e3,"method":"stats"}`,
		"\x00\xff{",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := DecodeRequest(line)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v does not wrap ErrBadRequest", err)
			}
			return
		}
		if req.ID == 0 || !methods[req.Method] {
			t.Fatalf("accepted %+v", req)
		}
		var params map[string]any
		_ = DecodeParams(req, &params)
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", req, err)
		}
		back, err := DecodeRequest(again)
		if err != nil || back.ID != req.ID || back.Method != req.Method {
			t.Fatalf("round trip of %s: %+v, %v", again, back, err)
		}
		if !reflect.DeepEqual(compact(back.Params), compact(req.Params)) {
			t.Fatalf("params changed in a round trip: %s → %s", req.Params, back.Params)
		}
	})
}

func compact(raw json.RawMessage) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// AppendResponse writes what json.Marshal of the Response would, id first.
func TestAppendResponse(t *testing.T) {
	for _, resp := range []Response{
		{ID: 1},
		{ID: 2, Result: json.RawMessage(`{"ops":3,"s":"a\"b"}`)},
		{ID: 3, Error: &Error{Message: "dev_config \"x\": <bad> \u2028", Code: CodeBadRequest}},
		{ID: 4, Result: json.RawMessage(`[1,2]`), Error: &Error{Message: "partial"}},
	} {
		got, err := AppendResponse(nil, resp)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(resp)
		if string(got) != string(want)+"\n" {
			t.Errorf("AppendResponse = %s, json.Marshal = %s", got, want)
		}
		if !strings.HasPrefix(string(got), `{"id":`) {
			t.Errorf("%s does not start with the id", got)
		}
	}
}
