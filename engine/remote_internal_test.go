package engine

import (
	"encoding/json"
	"testing"
)

// FuzzRemoteResponseID: the fast id reader agrees with encoding/json on
// every line it accepts, and never panics.
func FuzzRemoteResponseID(f *testing.F) {
	for _, seed := range []string{
		`{"id":1}`, `{"id":42,"result":{"ops":1}}`, `{"id":18446744073709551615,"error":{"message":"x"}}`,
		`{"id":18446744073709551616}`, `{"id":}`, `{"id":7`, `{"id": 7}`, `{"id":-1}`, `{"id":1e3}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		id, ok := responseID(line)
		if !ok {
			return
		}
		var v struct {
			ID uint64 `json:"id"`
		}
		if err := json.Unmarshal(line, &v); err == nil && v.ID != id {
			t.Fatalf("responseID(%q) = %d, encoding/json reads %d", line, id, v.ID)
		}
	})
}

func TestRemoteResponseID(t *testing.T) {
	for line, want := range map[string]uint64{`{"id":1}`: 1, `{"id":42,"result":[]}`: 42, `{"id":18446744073709551615}`: 1<<64 - 1} {
		if id, ok := responseID([]byte(line)); !ok || id != want {
			t.Errorf("responseID(%s) = %d, %v; want %d", line, id, ok, want)
		}
	}
	for _, line := range []string{`{"id":18446744073709551616}`, `{"id":}`, `{"id":7`, `{"id": 7}`, `{"id":1e3}`, `{"x":1}`} {
		if id, ok := responseID([]byte(line)); ok {
			t.Errorf("responseID(%s) = %d, want no id", line, id)
		}
	}
}
