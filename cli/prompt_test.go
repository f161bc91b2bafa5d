package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/elk-language/go-prompt"
)

// burstReader returns all its bytes in one read, as a terminal does with
// pasted or fast-typed keys.
type burstReader struct {
	prompt.Reader
	data []byte
}

func (b *burstReader) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, errors.New("EAGAIN")
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func TestKeyReaderSplitsABurstIntoKeys(t *testing.T) {
	in := "pwd\rversion\rls /ba\t\x1b[A\x1bOB\x1bb\x7fé\x04"
	r := &keyReader{Reader: &burstReader{data: []byte(in)}}
	var got []string
	buf := make([]byte, 1024)
	for {
		n, err := r.Read(buf)
		if err != nil {
			break
		}
		got = append(got, string(buf[:n]))
	}
	want := []string{"pwd", "\r", "version", "\r", "ls /ba", "\t", "\x1b[A", "\x1bOB", "\x1bb", "\x7f", "é", "\x04"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("keys %q, want %q", got, want)
	}
	for _, w := range want {
		if k := prompt.GetKey([]byte(w)); w == "\r" && k != prompt.ControlM || w == "\t" && k != prompt.Tab || w == "\x1b[A" && k != prompt.Up {
			t.Errorf("go-prompt reads %q as %v", w, k)
		}
	}
}
