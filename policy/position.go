// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"strconv"
	"strings"
)

// The TOML library reports positions for syntax errors only, and its key
// positions are private (and, for arrays of tables, those of the last
// element). keyPositions is a small scanner over text the library has
// already accepted: it records where every key and table header starts, so
// that validation errors can name file:line:column. It is forgiving: on
// text it does not understand it skips to the next line, and a key it
// cannot place falls back to its parent's position (finally 1:1).

// position is a 1-based line and byte column.
type position struct{ Line, Col int }

// pathKey joins canonical path segments; array-of-table elements are
// written "name[index]".
func pathKey(segs []string) string { return strings.Join(segs, "\x1f") }

// valueSeg is appended to a key's path to name where its value starts.
const valueSeg = "\x00value"

// keyPositions maps canonical key paths to where they appear.
type keyPositions map[string]position

// value returns where the value of key path starts (or lookup(path)).
func (kp keyPositions) value(path []string) position {
	if p, ok := kp[pathKey(append(append([]string{}, path...), valueSeg))]; ok {
		return p
	}
	return kp.lookup(path)
}

// lookup returns the position of path, or of its nearest recorded parent.
func (kp keyPositions) lookup(path []string) position {
	for n := len(path); n > 0; n-- {
		if p, ok := kp[pathKey(path[:n])]; ok {
			return p
		}
	}
	return position{1, 1}
}

type posScanner struct {
	src    string
	i      int
	line   int
	lineAt int // offset of the current line's first byte
	table  []string
	arrays map[string]int // canonical path of an array of tables -> elements seen
	out    keyPositions
}

func scanPositions(src string) keyPositions {
	s := &posScanner{src: src, line: 1, arrays: map[string]int{}, out: keyPositions{}}
	s.run()
	return s.out
}

func (s *posScanner) pos() position { return position{s.line, s.i - s.lineAt + 1} }

func (s *posScanner) eof() bool { return s.i >= len(s.src) }

// advance moves one byte, tracking lines.
func (s *posScanner) advance() {
	if s.src[s.i] == '\n' {
		s.line++
		s.lineAt = s.i + 1
	}
	s.i++
}

func (s *posScanner) skipBlanks() {
	for !s.eof() && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// skipLine moves past the next newline.
func (s *posScanner) skipLine() {
	for !s.eof() {
		c := s.src[s.i]
		s.advance()
		if c == '\n' {
			return
		}
	}
}

func (s *posScanner) record(path []string, p position) {
	k := pathKey(path)
	if _, ok := s.out[k]; !ok {
		s.out[k] = p
	}
}

func (s *posScanner) run() {
	for !s.eof() {
		s.skipBlanks()
		if s.eof() {
			return
		}
		switch c := s.src[s.i]; {
		case c == '\n' || c == '\r' || c == '#':
			s.skipLine()
		case c == '[':
			s.header()
		default:
			s.keyValue()
		}
	}
}

// header handles "[a.b]" and "[[a.b]]".
func (s *posScanner) header() {
	start := s.pos()
	s.i++
	array := !s.eof() && s.src[s.i] == '['
	if array {
		s.i++
	}
	segs, ok := s.keySegments(']')
	if !ok || s.eof() || s.src[s.i] != ']' {
		s.skipLine()
		return
	}
	path := s.resolve(nil, segs[:len(segs)-1])
	last := segs[len(segs)-1]
	if array {
		k := pathKey(append(append([]string{}, path...), last))
		idx := s.arrays[k]
		s.arrays[k] = idx + 1
		s.record(append(append([]string{}, path...), last), start)
		last += "[" + strconv.Itoa(idx) + "]"
	}
	s.table = append(path, last)
	s.record(s.table, start)
	s.skipLine()
}

// resolve turns key segments under base into a canonical path, naming
// the current element of any array of tables on the way.
func (s *posScanner) resolve(base, segs []string) []string {
	path := append([]string{}, base...)
	for _, seg := range segs {
		k := pathKey(append(append([]string{}, path...), seg))
		if n, ok := s.arrays[k]; ok && n > 0 {
			seg += "[" + strconv.Itoa(n-1) + "]"
		}
		path = append(path, seg)
	}
	return path
}

func (s *posScanner) keyValue() {
	start := s.pos()
	segs, ok := s.keySegments('=')
	if !ok || s.eof() || s.src[s.i] != '=' {
		s.skipLine()
		return
	}
	s.i++
	path := append(append([]string{}, s.table...), segs...)
	for n := len(s.table) + 1; n <= len(path); n++ {
		s.record(path[:n], start)
	}
	s.skipBlanks()
	s.record(append(path, valueSeg), s.pos())
	s.skipValue()
}

// keySegments reads a dotted key up to (not past) the stop byte.
func (s *posScanner) keySegments(stop byte) ([]string, bool) {
	var segs []string
	for {
		s.skipBlanks()
		if s.eof() {
			return nil, false
		}
		var seg string
		switch c := s.src[s.i]; {
		case c == '"':
			raw, ok := s.quoted('"')
			if !ok {
				return nil, false
			}
			if u, err := strconv.Unquote(`"` + raw + `"`); err == nil {
				raw = u
			}
			seg = raw
		case c == '\'':
			raw, ok := s.quoted('\'')
			if !ok {
				return nil, false
			}
			seg = raw
		case isBareKeyByte(c):
			j := s.i
			for j < len(s.src) && isBareKeyByte(s.src[j]) {
				j++
			}
			seg = s.src[s.i:j]
			s.i = j
		default:
			return nil, false
		}
		segs = append(segs, seg)
		s.skipBlanks()
		if s.eof() {
			return nil, false
		}
		switch s.src[s.i] {
		case '.':
			s.i++
		case stop:
			return segs, true
		default:
			return nil, false
		}
	}
}

func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quoted reads a one-line quoted key starting at the opening quote and
// returns its raw content.
func (s *posScanner) quoted(q byte) (string, bool) {
	j := s.i + 1
	for j < len(s.src) {
		c := s.src[j]
		switch {
		case c == '\n':
			return "", false
		case c == '\\' && q == '"':
			j += 2
			continue
		case c == q:
			raw := s.src[s.i+1 : j]
			s.i = j + 1
			return raw, true
		}
		j++
	}
	return "", false
}

// skipValue moves past a value (strings, nested arrays and inline tables,
// comments) to the end of its line.
func (s *posScanner) skipValue() {
	depth := 0
	for !s.eof() {
		c := s.src[s.i]
		switch {
		case c == '\n':
			if depth == 0 {
				s.advance()
				return
			}
			s.advance()
		case c == '#':
			for !s.eof() && s.src[s.i] != '\n' {
				s.i++
			}
		case c == '[' || c == '{':
			depth++
			s.i++
		case c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
			s.i++
		case c == '"' || c == '\'':
			s.skipString(c)
		default:
			s.i++
		}
	}
}

// skipString moves past a basic, literal or multi-line string.
func (s *posScanner) skipString(q byte) {
	triple := strings.Repeat(string(q), 3)
	if strings.HasPrefix(s.src[s.i:], triple) {
		s.i += 3
		for !s.eof() {
			if s.src[s.i] == '\\' && q == '"' {
				s.advance()
				if !s.eof() {
					s.advance()
				}
				continue
			}
			if strings.HasPrefix(s.src[s.i:], triple) {
				s.i += 3
				// A closing delimiter may carry up to two more quotes.
				for k := 0; k < 2 && !s.eof() && s.src[s.i] == q; k++ {
					s.i++
				}
				return
			}
			s.advance()
		}
		return
	}
	s.i++
	for !s.eof() {
		c := s.src[s.i]
		switch {
		case c == '\n':
			return
		case c == '\\' && q == '"':
			s.i++
			if !s.eof() && s.src[s.i] != '\n' {
				s.i++
			}
			continue
		case c == q:
			s.i++
			return
		}
		s.i++
	}
}
