// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook"
)

// encoderOutput is what json.Encoder with SetIndent("", "  ") writes for v.
func encoderOutput(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMarshalIndentedMatchesEncoder: byte for byte what the encoder writes,
// for a check report (HTML-escaped characters, escapes, empty arrays and
// objects, nesting) and awkward values.
func TestMarshalIndentedMatchesEncoder(t *testing.T) {
	rep := sampleReport()
	rep.Time = time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	rep.Devices[0].Reason = `quote " backslash \ <tag> & ünïcode, colon: comma, {brace} [bracket]` + "\x01\n"
	rep.Devices[1].Interface = "we\\\"ird:{[,]}"
	values := []any{
		rep,
		nmhook.CheckReport{},
		map[string]any{"": []any{}, "a": map[string]any{}, "b": []any{[]any{}, map[string]any{"x": nil}}, "c": 1.5e300, "d": math.Copysign(0, -1)},
		[]string{`"`, `\`, `\"`, `\\"`, "]", "}", ",", ":"},
		"just a string", 42, nil, true,
	}
	for i, v := range values {
		got, err := marshalIndented(v, "  ")
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if want := encoderOutput(t, v); !bytes.Equal(got, want) {
			t.Errorf("value %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestIndentCompactRejectsNonCompact(t *testing.T) {
	for _, in := range []string{`{"a": 1}`, `[1, 2]`, `{"a":1`, `"open`, `]`, `{"a":[1}}`} {
		if out, err := indentCompact([]byte(in), "  "); err == nil && json.Valid(out) && strings.Contains(in, " ") {
			t.Errorf("%q: indented to %q without an error", in, out)
		} else if err == nil && !json.Valid([]byte(in)) {
			t.Errorf("%q (invalid): no error, gave %q", in, out)
		}
	}
}

// FuzzIndentCompact: for any valid JSON, made compact, the result is
// json.Indent's plus the encoder's newline.
func FuzzIndentCompact(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c\"]"}],"d":{}}`))
	f.Add([]byte(`[[],{},"\\",null]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, in); err != nil {
			t.Fatal(err)
		}
		got, err := indentCompact(compact.Bytes(), "  ")
		if err != nil {
			t.Fatalf("%q: %v", compact.Bytes(), err)
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		want.WriteByte('\n')
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%q:\n got %q\nwant %q", compact.Bytes(), got, want.Bytes())
		}
	})
}

// BenchmarkCheckJSON: encoding a report of 50 devices, the encoder's way
// and marshalIndented's.
func BenchmarkCheckJSON(b *testing.B) {
	rep := sampleReport()
	for len(rep.Devices) < 50 {
		rep.Devices = append(rep.Devices, rep.Devices[len(rep.Devices)%2])
	}
	b.Run("encoder", func(b *testing.B) {
		for range b.N {
			encoderOutput(b, rep)
		}
	})
	b.Run("marshalIndented", func(b *testing.B) {
		for range b.N {
			if _, err := marshalIndented(rep, "  "); err != nil {
				b.Fatal(err)
			}
		}
	})
}
