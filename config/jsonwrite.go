package config

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// writeIndentedJSON appends v to buf as encoding/json's Encoder with
// SetEscapeHTML(false) and SetIndent("", "  ") writes it, byte for byte,
// for the values a saveconfig tree holds: map[string]any and
// map[string]string (keys sorted), []any, string, bool, int, int64 and
// nil. A saveconfig of a few hundred objects is tens of thousands of
// values, and the reflecting encoder and its separate indenting pass were
// a third of the command's CPU time natively; anything else (a float, a
// struct) goes through encoding/json.
func writeIndentedJSON(buf *bytes.Buffer, v any, depth int) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case string:
		writeJSONString(buf, x)
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case int:
		buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(x), 10))
	case int64:
		buf.Write(strconv.AppendInt(buf.AvailableBuffer(), x, 10))
	case []any:
		if len(x) == 0 {
			buf.WriteString("[]")
			return nil
		}
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			newline(buf, depth+1)
			if err := writeIndentedJSON(buf, e, depth+1); err != nil {
				return err
			}
		}
		newline(buf, depth)
		buf.WriteByte(']')
	case map[string]any:
		return writeJSONObject(buf, x, depth, func(e any) error { return writeIndentedJSON(buf, e, depth+1) })
	case map[string]string:
		return writeJSONObject(buf, x, depth, func(s string) error { writeJSONString(buf, s); return nil })
	default:
		b, err := json.MarshalIndent(x, indentPrefix(depth), "  ")
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	return nil
}

// writeJSONObject writes an object's members in key order.
func writeJSONObject[V any](buf *bytes.Buffer, m map[string]V, depth int, value func(V) error) error {
	if len(m) == 0 {
		buf.WriteString("{}")
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		newline(buf, depth+1)
		writeJSONString(buf, k)
		buf.WriteString(": ")
		if err := value(m[k]); err != nil {
			return err
		}
	}
	newline(buf, depth)
	buf.WriteByte('}')
	return nil
}

func newline(buf *bytes.Buffer, depth int) {
	buf.WriteByte('\n')
	for range depth {
		buf.WriteString("  ")
	}
}

func indentPrefix(depth int) string {
	b := make([]byte, 2*depth)
	for i := range b {
		b[i] = ' '
	}
	return string(b)
}

// writeJSONString writes s quoted. Printable ASCII other than the quote
// and the backslash (every name and value of a saveconfig in practice)
// is copied; anything else is escaped by encoding/json, which also
// rewrites invalid UTF-8 and escapes U+2028 and U+2029.
func writeJSONString(buf *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			var quoted bytes.Buffer
			enc := json.NewEncoder(&quoted)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			buf.Write(bytes.TrimSuffix(quoted.Bytes(), []byte("\n")))
			return
		}
	}
	buf.WriteByte('"')
	buf.WriteString(s)
	buf.WriteByte('"')
}
