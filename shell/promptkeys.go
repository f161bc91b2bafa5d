package shell

import (
	prompt "github.com/elk-language/go-prompt"
)

// keyReader hands go-prompt one key at a time. A terminal delivers pasted
// or fast-typed text in one read, and go-prompt takes a read holding
// several keys for a paste: Enter inside it became a newline in the line
// (`pwd⏎version⏎` ran as one unknown command) and Tab a blank instead of
// a completion. Here a read gives a run of plain text, one control key or
// one escape sequence, so each Enter runs its line and each Tab completes.
type keyReader struct {
	prompt.Reader
	pending []byte
}

func (r *keyReader) Read(p []byte) (int, error) {
	if len(r.pending) == 0 {
		buf := make([]byte, 1024)
		n, err := r.Reader.Read(buf)
		if n <= 0 {
			return n, err
		}
		r.pending = buf[:n]
	}
	n := copy(p, r.pending[:nextKey(r.pending)])
	r.pending = r.pending[n:]
	return n, nil
}

// nextKey is the length of the first key in b (b is not empty): an
// escape sequence, a control character, or plain text up to the next of
// those.
func nextKey(b []byte) int {
	switch c := b[0]; {
	case c == 0x1b:
		return escapeLen(b)
	case c < 0x20 || c == 0x7f:
		return 1
	}
	n := 1
	for n < len(b) && b[n] >= 0x20 && b[n] != 0x7f {
		n++
	}
	return n
}

// escapeLen is the length of the escape sequence at b[0] (ESC): CSI
// (ESC [ parameters final), SS3 (ESC O x), or ESC and one byte (Alt+key).
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 1
	}
	switch b[1] {
	case '[':
		for i := 2; i < len(b); i++ {
			if b[i] >= 0x40 && b[i] <= 0x7e {
				return i + 1
			}
		}
		return len(b)
	case 'O':
		return min(3, len(b))
	case 0x1b:
		return 1
	}
	return 2
}
