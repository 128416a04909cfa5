// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"encoding/json"
	"fmt"

	"github.com/mac-nmguard/mac-nmguard/nmhook"
)

// marshalIndented is what a json.Encoder with SetIndent("", indent) writes
// for v, byte for byte, newline included, in a third of the time: the
// encoder indents by running JSON's validating scanner over every byte
// again (half of check --json's encoding time for 50 devices), while
// Marshal's output is known to be valid compact JSON, so indenting it only
// has to know whether it is inside a string.
func marshalIndented(v any, indent string) ([]byte, error) {
	compact, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return indentCompact(compact, indent)
}

// primeJSON encodes an empty report and drops the result: encoding/json
// builds its encoder for each type the first time it meets it, which for
// the report's types costs more than encoding a report of 50 devices does
// afterwards (about 1.3 ms of check's 30 on the test bed). check --json
// runs this while it waits for NetworkManager, so the real encoding finds
// the encoders built (the cache is safe for concurrent use; if this has
// not finished, the real encoding builds what is missing itself).
func primeJSON() {
	_, _ = json.Marshal(nmhook.CheckReport{})
}

// indentCompact indents compact JSON (as json.Marshal writes it: no
// whitespace outside strings) as json.Indent does with no prefix, and adds
// the trailing newline an Encoder writes. Input that is not compact JSON
// is an error.
func indentCompact(src []byte, indent string) ([]byte, error) {
	dst := make([]byte, 0, len(src)+len(src)/2)
	var open []byte // the brackets open at this point
	depth := 0
	newline := func() {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, indent...)
		}
	}
	inString, escaped := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			dst = append(dst, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			dst = append(dst, c)
		case '{', '[':
			dst = append(dst, c)
			// An empty object or array stays on one line.
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1])
				i++
				continue
			}
			open = append(open, c+2) // '{'+2 is '}', '['+2 is ']'
			depth++
			newline()
		case '}', ']':
			if depth == 0 || open[depth-1] != c {
				return nil, fmt.Errorf("indent JSON: unbalanced %q at byte %d", c, i)
			}
			open = open[:depth-1]
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		case ' ', '\t', '\n', '\r':
			return nil, fmt.Errorf("indent JSON: whitespace at byte %d: not compact", i)
		default:
			dst = append(dst, c)
		}
	}
	if inString || depth != 0 {
		return nil, fmt.Errorf("indent JSON: %d bytes end inside a value", len(src))
	}
	return append(dst, '\n'), nil
}
