// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
)

// The message catalogues: po/mac-nmguard.pot is the English source (kept
// in step with the code by TestTemplate), po/LANG.po a translation.
//
//go:embed po/*.po po/mac-nmguard.pot
var catalogues embed.FS

// Catalog translates the agent's texts into one language. Messages are
// English msgids with named placeholders ("{network}"); a message the
// catalogue lacks (or marks fuzzy) stays English. A nil *Catalog is
// English.
type Catalog struct {
	lang string
	msgs map[string]string
}

// English is the catalogue of the source language.
func English() *Catalog { return &Catalog{lang: "en"} }

// Lang is the catalogue's language ("en", "de", ...).
func (c *Catalog) Lang() string {
	if c == nil {
		return "en"
	}
	return c.lang
}

// T is msgid in c's language.
func (c *Catalog) T(msgid string) string {
	if c != nil {
		if s, ok := c.msgs[msgid]; ok {
			return s
		}
	}
	return msgid
}

// F is msgid in c's language with its placeholders filled: kv is name,
// value, name, value, ... ("network", "“cafe”"). Values are put in as they
// are, never read as placeholders.
func (c *Catalog) F(msgid string, kv ...string) string {
	s := c.T(msgid)
	if len(kv)%2 != 0 {
		panic("notify: Catalog.F needs name, value pairs")
	}
	pairs := make([]string, 0, len(kv))
	for i := 0; i < len(kv); i += 2 {
		pairs = append(pairs, "{"+kv[i]+"}", kv[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// placeholderRE matches a placeholder in a message.
var placeholderRE = regexp.MustCompile(`\{[a-z_]+\}`)

// placeholders lists the placeholders of s, sorted (with repeats).
func placeholders(s string) []string {
	p := placeholderRE.FindAllString(s, -1)
	slices.Sort(p)
	return p
}

// parseCatalog reads a translation: every translated message must keep
// its msgid's placeholders (a translation that loses "{device}" would
// tell the user to run a command without the card's name).
func parseCatalog(lang string, data []byte) (*Catalog, error) {
	entries, err := parsePO(data)
	if err != nil {
		return nil, err
	}
	c := &Catalog{lang: lang, msgs: map[string]string{}}
	for _, e := range entries {
		if e.ID == "" || e.HasCtxt || e.Str == "" || e.Fuzzy {
			continue
		}
		if !slices.Equal(placeholders(e.ID), placeholders(e.Str)) {
			return nil, fmt.Errorf("po: line %d: translation of %q has placeholders %v, want %v", e.Line, e.ID, placeholders(e.Str), placeholders(e.ID))
		}
		c.msgs[e.ID] = e.Str
	}
	return c, nil
}

// Languages lists the embedded translations ("de", ...), sorted.
func Languages() []string {
	names, _ := fs.Glob(catalogues, "po/*.po")
	var out []string
	for _, n := range names {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(n, "po/"), ".po"))
	}
	slices.Sort(out)
	return out
}

// LoadCatalog returns the embedded catalogue for the first language of
// langs (see SessionLanguages) that has one; English when none has, or
// when English comes first.
func LoadCatalog(langs []string) (*Catalog, error) {
	have := Languages()
	for _, l := range langs {
		if l == "en" || strings.HasPrefix(l, "en_") {
			return English(), nil
		}
		if !slices.Contains(have, l) {
			continue
		}
		data, err := catalogues.ReadFile("po/" + l + ".po")
		if err != nil {
			return English(), fmt.Errorf("catalogue %s: %w", l, err)
		}
		c, err := parseCatalog(l, data)
		if err != nil {
			return English(), fmt.Errorf("catalogue %s: %w", l, err)
		}
		return c, nil
	}
	return English(), nil
}

// SessionLanguages is the order in which gettext looks for a translation,
// from the session's environment: the locale of messages is the first set
// of LC_ALL, LC_MESSAGES and LANG; when it is unset, "C" or "POSIX", the
// messages are English (gettext then ignores LANGUAGE too); otherwise
// LANGUAGE, a colon-separated list, comes first when set, else the locale.
// Each entry is given without codeset and modifier ("de_DE.UTF-8@euro" ->
// "de_DE"), followed by its language alone ("de").
func SessionLanguages(getenv func(string) string) []string {
	locale := ""
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			locale = v
			break
		}
	}
	if base := localeBase(locale); base == "" || base == "C" || base == "POSIX" {
		return nil
	}
	list := []string{locale}
	if l := getenv("LANGUAGE"); l != "" {
		list = strings.Split(l, ":")
	}
	var out []string
	for _, e := range list {
		base := localeBase(e)
		if base == "" || base == "C" || base == "POSIX" {
			continue
		}
		for _, cand := range []string{base, strings.SplitN(base, "_", 2)[0]} {
			if !slices.Contains(out, cand) {
				out = append(out, cand)
			}
		}
	}
	return out
}

// localeBase is a locale name without codeset and modifier.
func localeBase(l string) string {
	l, _, _ = strings.Cut(l, "@")
	l, _, _ = strings.Cut(l, ".")
	return strings.TrimSpace(l)
}
