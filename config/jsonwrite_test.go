package config

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"
)

// referenceJSON is what writeIndentedJSON must match: encoding/json's
// Encoder as targetcli-fb's layout needs it.
func referenceJSON(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func ourJSON(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeIndentedJSON(&b, v, 0); err != nil {
		t.Fatal(err)
	}
	return b.String() + "\n"
}

func TestWriteIndentedJSONMatchesEncodingJSON(t *testing.T) {
	for name, v := range map[string]any{
		"empty object":  map[string]any{},
		"empty members": map[string]any{"a": []any{}, "b": map[string]any{}, "c": map[string]string{}, "d": nil},
		"scalars":       map[string]any{"n": int64(-12), "i": 7, "t": true, "f": false, "s": "x", "z": ""},
		"sorted keys":   map[string]any{"b": 1, "a": 2, "B": 3, "aa": 4, "a_b": 5, "a-b": 6},
		"nesting": map[string]any{"storage_objects": []any{
			map[string]any{"attributes": map[string]any{"block_size": int64(512)}, "alua_tpgs": []any{map[string]any{"name": "default_tg_pt_gp"}}},
			map[string]any{"name": "two", "parameters": map[string]string{"MaxConnections": "1", "AuthMethod": "CHAP,None"}},
		}},
		"escapes": []any{"quote\"", `back\slash`, "tab\t", "nl\n", "nul\x00", "del\x7f", "<&>", "é", "\u2028\u2029",
			"bad utf-8 \xff\xfe", "emoji 🙂"},
		"other types": map[string]any{"float": 1.5, "uint": uint8(3), "struct": struct{ A int }{4}, "list": []string{"x"}},
	} {
		if got, want := ourJSON(t, v), referenceJSON(t, v); got != want {
			t.Errorf("%s:\ngot  %s\nwant %s", name, got, want)
		}
	}
}

// TestWriteIndentedJSONRandomTrees compares random saveconfig-like trees.
func TestWriteIndentedJSONRandomTrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "name", "wwn", "iqn.2003-01.org.example:x", "\"", "\\", "\n", "é", "\xff", "<", " ", "0", "-1"}
	str := func() string {
		s := ""
		for range r.IntN(4) {
			s += pieces[r.IntN(len(pieces))]
		}
		return s
	}
	var tree func(depth int) any
	tree = func(depth int) any {
		switch k := r.IntN(8); {
		case depth > 3 || k < 3:
			switch r.IntN(5) {
			case 0:
				return str()
			case 1:
				return r.Int64N(1<<40) - 1<<39
			case 2:
				return r.IntN(2) == 0
			case 3:
				return nil
			default:
				return strconv.Itoa(r.IntN(100))
			}
		case k < 5:
			l := make([]any, r.IntN(4))
			for i := range l {
				l[i] = tree(depth + 1)
			}
			return l
		case k < 6:
			m := map[string]string{}
			for range r.IntN(4) {
				m[str()] = str()
			}
			return m
		default:
			m := map[string]any{}
			for range r.IntN(5) {
				m[str()] = tree(depth + 1)
			}
			return m
		}
	}
	for i := range 2000 {
		v := tree(0)
		if got, want := ourJSON(t, v), referenceJSON(t, v); got != want {
			t.Fatalf("tree %d:\ngot  %s\nwant %s", i, got, want)
		}
	}
}

func BenchmarkMarshalSaveconfig(b *testing.B) {
	c := &Config{}
	for i := range 200 {
		attrs := map[string]string{}
		for j := range 40 {
			attrs["attribute_"+strconv.Itoa(j)] = strconv.Itoa(i * j)
		}
		c.StorageObjects = append(c.StorageObjects, &SOConf{Name: "f" + strconv.Itoa(i), Plugin: "fileio",
			Dev: "/tmp/f" + strconv.Itoa(i) + ".img", Size: 1 << 20, WWN: "0123456789abcdef", Attributes: attrs,
			ALUA: []*ALUAConf{{Name: "default_tg_pt_gp", Fields: map[string]string{"alua_access_state": "0", "tg_pt_gp_id": "0", "preferred": "0"}}}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.MarshalSaveconfig(); err != nil {
			b.Fatal(err)
		}
	}
}
