// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// poEntry is one message of a gettext .po catalogue.
type poEntry struct {
	Ctxt    string // msgctxt ("" when none)
	HasCtxt bool
	ID      string // msgid; "" is the header
	Str     string // msgstr; "" when untranslated
	Fuzzy   bool   // flagged "#, fuzzy": not used, as msgfmt does
	Line    int    // line of its msgid
}

// parsePO reads a .po (or .pot) catalogue strictly: comments, msgctxt,
// msgid and msgstr with continuation lines, the escapes \n \t \" and \\.
// Plural forms (msgid_plural, msgstr[N]), other escapes, a keyword out of
// order, a missing msgstr, a repeated message, text that is not UTF-8 and
// a header that declares another charset are errors: a malformed catalogue
// is refused, never half read.
func parsePO(data []byte) ([]poEntry, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("po: not UTF-8")
	}
	p := poParser{seen: map[string]int{}}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		if err := p.line(i+1, strings.TrimRight(string(raw), "\r")); err != nil {
			return nil, err
		}
	}
	if err := p.flush(len(bytes.Split(data, []byte("\n")))); err != nil {
		return nil, err
	}
	for _, e := range p.out {
		if e.ID == "" && !e.HasCtxt {
			if err := checkPOHeader(e.Str); err != nil {
				return nil, fmt.Errorf("po: line %d: %w", e.Line, err)
			}
		}
	}
	return p.out, nil
}

// poParser is parsePO's state: the entry being read and the field its
// continuation lines belong to.
type poParser struct {
	cur   poEntry
	field string // "", "msgctxt", "msgid", "msgstr"
	has   map[string]bool
	fuzzy bool // the flags seen since the last entry say fuzzy
	out   []poEntry
	seen  map[string]int // context+"\x04"+msgid -> line
}

func (p *poParser) line(n int, l string) error {
	t := strings.TrimSpace(l)
	switch {
	case t == "":
		return p.flush(n)
	case strings.HasPrefix(t, "#"):
		if p.field != "" {
			if err := p.flush(n); err != nil {
				return err
			}
		}
		if strings.HasPrefix(t, "#,") {
			for _, f := range strings.Split(t[2:], ",") {
				if strings.TrimSpace(f) == "fuzzy" {
					p.fuzzy = true
				}
			}
		}
		return nil
	case strings.HasPrefix(t, `"`):
		if p.field == "" {
			return fmt.Errorf("po: line %d: a string outside any msgid or msgstr", n)
		}
		s, err := poUnquote(t)
		if err != nil {
			return fmt.Errorf("po: line %d: %w", n, err)
		}
		p.appendTo(s)
		return nil
	}
	kw, rest, _ := strings.Cut(t, " ")
	rest = strings.TrimSpace(rest)
	switch kw {
	case "msgctxt", "msgid", "msgstr":
	case "msgid_plural":
		return fmt.Errorf("po: line %d: plural forms are not supported", n)
	default:
		if strings.HasPrefix(kw, "msgstr[") {
			return fmt.Errorf("po: line %d: plural forms are not supported", n)
		}
		return fmt.Errorf("po: line %d: unknown keyword %q", n, kw)
	}
	// A new msgctxt, or a msgid not preceded by its msgctxt, starts an entry.
	if (kw == "msgctxt" || (kw == "msgid" && p.field != "msgctxt")) && p.field != "" {
		if err := p.flush(n); err != nil {
			return err
		}
	}
	if p.has == nil {
		p.has = map[string]bool{}
	}
	if p.has[kw] {
		return fmt.Errorf("po: line %d: %s twice in one message", n, kw)
	}
	switch {
	case kw == "msgid" && p.field != "" && p.field != "msgctxt":
		return fmt.Errorf("po: line %d: msgid out of order", n)
	case kw == "msgstr" && p.field != "msgid":
		return fmt.Errorf("po: line %d: msgstr without msgid", n)
	}
	s, err := poUnquote(rest)
	if err != nil {
		return fmt.Errorf("po: line %d: %w", n, err)
	}
	p.has[kw] = true
	p.field = kw
	if kw == "msgid" {
		p.cur.Line = n
	}
	if kw == "msgctxt" {
		p.cur.HasCtxt = true
	}
	p.appendTo(s)
	return nil
}

func (p *poParser) appendTo(s string) {
	switch p.field {
	case "msgctxt":
		p.cur.Ctxt += s
	case "msgid":
		p.cur.ID += s
	case "msgstr":
		p.cur.Str += s
	}
}

// flush ends the entry being read (at line n).
func (p *poParser) flush(n int) error {
	if p.field == "" {
		return nil
	}
	if p.field != "msgstr" {
		return fmt.Errorf("po: line %d: message without msgstr", n)
	}
	p.cur.Fuzzy = p.fuzzy
	key := p.cur.Ctxt + "\x04" + p.cur.ID
	if first, dup := p.seen[key]; dup {
		return fmt.Errorf("po: line %d: message %q already given at line %d", p.cur.Line, p.cur.ID, first)
	}
	p.seen[key] = p.cur.Line
	p.out = append(p.out, p.cur)
	p.cur, p.field, p.has, p.fuzzy = poEntry{}, "", nil, false
	return nil
}

// poUnquote reads one quoted string of a .po file.
func poUnquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("not a quoted string: %s", s)
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return "", errors.New(`unescaped " inside a string`)
		case '\\':
			if i+1 == len(s) {
				return "", errors.New(`string ends in \`)
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '"':
				b.WriteByte('"')
			case '\\':
				b.WriteByte('\\')
			default:
				return "", fmt.Errorf(`unsupported escape \%c`, s[i])
			}
		default:
			if c < 0x20 {
				return "", fmt.Errorf("control character %#02x inside a string", c)
			}
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// poQuote writes s as a .po string: one line, or "" followed by one line
// per line of s when it has several (as gettext's tools write them).
func poQuote(s string) string {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	if !strings.Contains(strings.TrimSuffix(s, "\n"), "\n") {
		return `"` + esc.Replace(s) + `"`
	}
	var b strings.Builder
	b.WriteString(`""`)
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("\n\"" + esc.Replace(l) + `"`)
		}
	}
	return b.String()
}

// checkPOHeader refuses a header whose Content-Type names a charset other
// than UTF-8.
func checkPOHeader(h string) error {
	for _, l := range strings.Split(h, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "Content-Type") {
			continue
		}
		_, cs, ok := strings.Cut(strings.ToLower(v), "charset=")
		if !ok {
			return errors.New("header: Content-Type without charset")
		}
		if cs = strings.TrimSpace(cs); cs != "utf-8" {
			return fmt.Errorf("header: charset %q, want UTF-8", cs)
		}
	}
	return nil
}
