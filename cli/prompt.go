package cli

import (
	"strings"

	prompt "github.com/elk-language/go-prompt"
	pstrings "github.com/elk-language/go-prompt/strings"

	"github.com/tcmsh/tcmsh/shell"
)

// goPrompt is the LineReader on a terminal. go-prompt reads /dev/tty
// itself and restores the terminal's settings when it returns.
type goPrompt struct {
	history []string
	color   bool
}

// Loop is shell.LineReader's.
func (g *goPrompt) Loop(prefix func() string, complete func(string) []shell.Suggestion, handle func(string) bool) error {
	exit := false
	opts := []prompt.Option{
		prompt.WithPrefixCallback(prefix),
		prompt.WithCompleter(func(d prompt.Document) ([]prompt.Suggest, pstrings.RuneNumber, pstrings.RuneNumber) {
			before := d.TextBeforeCursor()
			word := before[strings.LastIndexAny(before, " \t")+1:]
			if i := strings.IndexByte(word, '='); i >= 0 {
				word = word[i+1:]
			}
			end := d.CurrentRuneIndex()
			start := end - pstrings.RuneCountInString(word)
			var out []prompt.Suggest
			for _, s := range complete(before) {
				out = append(out, prompt.Suggest{Text: s.Text, Description: s.Description})
			}
			return out, start, end
		}),
		prompt.WithCompletionWordSeparator(" ="),
		prompt.WithHistory(g.history),
		prompt.WithExitChecker(func(string, bool) bool { return exit }),
		prompt.WithTitle("tcmsh"),
	}
	if !g.color {
		// NO_COLOR: plain prompt and input (the completion menu keeps its
		// reverse video, or it could not be seen).
		opts = append(opts, prompt.WithPrefixTextColor(prompt.DefaultColor), prompt.WithInputTextColor(prompt.DefaultColor))
	}
	opts = append(opts, prompt.WithReader(&keyReader{Reader: prompt.NewStdinReader()}))
	p := prompt.New(func(line string) {
		// Kept for a Loop that starts again (after a Ctrl-D that did not
		// leave).
		g.history = append(g.history, line)
		exit = handle(line)
	}, opts...)
	p.Run()
	return nil
}

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
