// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

// templatePath is the English source catalogue, generated from the code.
const templatePath = "po/mac-nmguard.pot"

// updateEnv rewrites the template from the code when "1".
const updateEnv = "MAC_NMGUARD_UPDATE_POT"

// msg is one msgid found in the code, with its translator comment.
type msg struct {
	id, comment string
}

// extractMessages finds every message of the agent: the first argument of
// each .T and .F call in the package's non-test files, which must be a
// constant string (else the template could miss it).
func extractMessages(t *testing.T) []msg {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var out []msg
	seen := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "catalog.go" { // the catalogue itself passes msgids on
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(src), "\n")
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "T" && sel.Sel.Name != "F") || len(call.Args) == 0 {
				return true
			}
			pos := fset.Position(call.Pos())
			tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, exprString(t, src, fset, call.Args[0]))
			if err != nil || tv.Value == nil || tv.Value.Kind() != constant.String {
				t.Errorf("%s: the message of a %s call is not a constant string: translations would miss it", pos, sel.Sel.Name)
				return true
			}
			id := constant.StringVal(tv.Value)
			if seen[id] {
				return true
			}
			seen[id] = true
			m := msg{id: id}
			if pos.Line >= 2 {
				if _, c, ok := strings.Cut(lines[pos.Line-2], "// TRANSLATORS:"); ok {
					m.comment = "TRANSLATORS:" + c
				}
			}
			out = append(out, m)
			return true
		})
	}
	return out
}

// exprString is the source text of e.
func exprString(t *testing.T, src []byte, fset *token.FileSet, e ast.Expr) string {
	t.Helper()
	return string(src[fset.Position(e.Pos()).Offset:fset.Position(e.End()).Offset])
}

// renderTemplate writes the .pot for msgs.
func renderTemplate(msgs []msg) string {
	var b strings.Builder
	b.WriteString(`# Messages of the mac-nmguard desktop agent (package notify).
# Generated from the code: MAC_NMGUARD_UPDATE_POT=1 go test -run TestTemplate ./notify/
# Placeholders in braces ({network}, {device}, ...) must be kept as they are.
msgid ""
msgstr ""
"Project-Id-Version: mac-nmguard\n"
"MIME-Version: 1.0\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Content-Transfer-Encoding: 8bit\n"
`)
	for _, m := range msgs {
		b.WriteString("\n")
		if m.comment != "" {
			b.WriteString("#. " + m.comment + "\n")
		}
		b.WriteString("msgid " + poQuote(m.id) + "\nmsgstr \"\"\n")
	}
	return b.String()
}

// TestTemplate checks that po/mac-nmguard.pot holds exactly the messages
// of the code (MAC_NMGUARD_UPDATE_POT=1 rewrites it).
func TestTemplate(t *testing.T) {
	msgs := extractMessages(t)
	if len(msgs) < 40 {
		t.Fatalf("only %d messages found in the code", len(msgs))
	}
	want := renderTemplate(msgs)
	if os.Getenv(updateEnv) == "1" {
		if err := os.WriteFile(templatePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("%s is not the code's messages; run %s=1 go test -run TestTemplate ./notify/ (-want +got):\n%s", templatePath, updateEnv, diff)
	}
	entries, err := parsePO(got)
	if err != nil {
		t.Fatalf("the template does not parse: %v", err)
	}
	if len(entries) != len(msgs)+1 {
		t.Errorf("template has %d entries, want %d and the header", len(entries), len(msgs))
	}
}

// quoteMarks are the quotation marks each translation must use.
var quoteMarks = map[string][2]string{"de": {"„", "“"}, "fr": {"« ", " »"}}

// TestTranslationsComplete checks each embedded translation against the
// template: every message translated (none missing, fuzzy or extra), each
// with its msgid's placeholders, in the language's quotation marks.
func TestTranslationsComplete(t *testing.T) {
	langs := Languages()
	if len(langs) == 0 {
		t.Fatal("no translation embedded")
	}
	tmpl, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	te, err := parsePO(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range te {
		if e.ID != "" {
			ids = append(ids, e.ID)
		}
	}
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			data, err := catalogues.ReadFile("po/" + lang + ".po")
			if err != nil {
				t.Fatal(err)
			}
			entries, err := parsePO(data)
			if err != nil {
				t.Fatalf("malformed catalogue: %v", err)
			}
			if _, err := parseCatalog(lang, data); err != nil {
				t.Fatal(err)
			}
			got := map[string]poEntry{}
			for _, e := range entries {
				if e.ID != "" {
					got[e.ID] = e
				}
			}
			for _, id := range ids {
				e, ok := got[id]
				switch {
				case !ok:
					t.Errorf("missing: %q", id)
				case e.Str == "" || e.Fuzzy:
					t.Errorf("untranslated or fuzzy (line %d): %q", e.Line, id)
				case !slices.Equal(placeholders(id), placeholders(e.Str)):
					t.Errorf("line %d: placeholders %v, want %v", e.Line, placeholders(e.Str), placeholders(id))
				case strings.Contains(e.Str, `"`):
					t.Errorf("line %d: straight quotation marks in %q", e.Line, e.Str)
				}
				delete(got, id)
			}
			for id, e := range got {
				t.Errorf("line %d: not in the template: %q", e.Line, id)
			}
			if q, ok := quoteMarks[lang]; ok {
				c, _ := parseCatalog(lang, data)
				if s := quoted(c, "x"); s != q[0]+"x"+q[1] {
					t.Errorf("quoted name = %q, want %q", s, q[0]+"x"+q[1])
				}
			}
		})
	}
}

// pseudo is a catalogue that marks every message: ⟦message⟧.
func pseudo(t *testing.T) *Catalog {
	t.Helper()
	c := &Catalog{lang: "pseudo", msgs: map[string]string{}}
	for _, m := range extractMessages(t) {
		c.msgs[m.id] = "⟦" + m.id + "⟧"
	}
	return c
}

// everyMessage builds every kind of message the agent shows with c.
func everyMessage(c *Catalog) []Message {
	s := func(kind, ssid, id string) api.Suspicion {
		return api.Suspicion{ID: "x", Device: "wlan0", Kind: kind, Connection: detect.Connection{UUID: "u-1", SSID: ssid, ID: id}}
	}
	var out []Message
	for _, kind := range []string{"auth-loop", "auth-failure", "auth-rejected", "dhcp-failure", "association-timeout", "new"} {
		out = append(out, SuspicionMessage(c, s(kind, "cafe", "")))
	}
	for _, sp := range []api.Suspicion{s("x", "", "Office"), s("x", "", ""), {ID: "y", Kind: "x"}} {
		out = append(out, SuspicionMessage(c, sp), RestoringMessage(c, sp, ScopeOnce), RestoringMessage(c, sp, ScopeAlways))
	}
	for _, name := range []string{"cafe", ""} {
		for _, scope := range []string{ScopeOnce, ScopeAlways, ""} {
			out = append(out, RestoredMessage(c, name, "wlan0", "u-1", scope))
		}
		out = append(out, RestoreFailedMessage(c, name, "wlan0", "no carrier"), RestoreFailedMessage(c, name, "", ""))
	}
	for _, v := range [][2]string{
		{ViolationRefused, `the profile being activated is refused: profile "Office" would set cloned-mac-address=permanent: x`},
		{ViolationRefused, `x; the profile sets cloned-mac-address=permanent, so it cannot be remediated: refused`},
		{ViolationRefused, "the real address could not be determined, so the device is kept down"},
		{ViolationRefused, "held until the user decides whether to hide the address"},
		{ViolationRefused, "address equals the real address but policy says random"},
		{ViolationRemediated, "address equals the real address but policy says random"},
		{ViolationKeptDown, "set address: operation not supported"},
		{ViolationKeptDown, "set address: device busy"},
		{"something new", "r"},
	} {
		out = append(out, ViolationMessage(c, "eth0", v[0], v[1]))
	}
	out = append(out,
		RestoreFailedMessage(c, "cafe", "wlan0", callFailureText(c, errServiceDown)),
		RestoreFailedMessage(c, "cafe", "wlan0", callFailureText(c, errServiceLost)))
	return out
}

// TestNoStringBypassesCatalog builds every message with a catalogue that
// marks each message it translates: once the marked parts are taken out,
// nothing but space may remain (an English string glued on outside the
// catalogue would).
func TestNoStringBypassesCatalog(t *testing.T) {
	c := pseudo(t)
	marked := regexp.MustCompile(`⟦[^⟦⟧]*⟧`)
	check := func(what, s string) {
		if s == "" {
			return
		}
		rest := s
		for {
			next := marked.ReplaceAllString(rest, "")
			if next == rest {
				break
			}
			rest = next
		}
		if strings.TrimSpace(rest) != "" {
			t.Errorf("%s %q has text outside the catalogue: %q", what, s, rest)
		}
	}
	for _, m := range everyMessage(c) {
		check("summary", m.Summary)
		check("body", m.Body)
		check("commands", m.NoActions)
		for _, a := range m.Actions {
			check("label", a.Label)
		}
		n := notification("app", 0, m, serverFromCaps("", nil, false))
		check("notification body", n.Body)
	}
}

func TestTranslatedMessages(t *testing.T) {
	de, err := LoadCatalog([]string{"de_DE", "de"})
	if err != nil || de.Lang() != "de" {
		t.Fatalf("LoadCatalog(de) = %v, %v", de.Lang(), err)
	}
	m := SuspicionMessage(de, cafe("auth-loop"))
	if !strings.Contains(m.Summary, "„cafe-wifi“") {
		t.Errorf("German summary %q does not quote the network as German does", m.Summary)
	}
	if !strings.Contains(m.NoActions, "mac-nmguard restore wlan0 --always") {
		t.Errorf("German commands %q lack the command", m.NoActions)
	}
	english := everyMessage(English())
	for i, msg := range everyMessage(de) {
		if msg.Summary == english[i].Summary || msg.Body == english[i].Body {
			t.Errorf("left in English: %q / %q", msg.Summary, msg.Body)
		}
	}
}

func TestSessionLanguages(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want []string
		lang string
	}{
		{map[string]string{}, nil, "en"},
		{map[string]string{"LANG": "de_DE.UTF-8"}, []string{"de_DE", "de"}, "de"},
		{map[string]string{"LANG": "de_AT.UTF-8@euro"}, []string{"de_AT", "de"}, "de"},
		{map[string]string{"LANG": "C.UTF-8"}, nil, "en"},
		{map[string]string{"LANG": "POSIX", "LANGUAGE": "de"}, nil, "en"}, // gettext ignores LANGUAGE under C
		{map[string]string{"LANG": "en_US.UTF-8", "LANGUAGE": "fr:de"}, []string{"fr", "de"}, "de"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LANGUAGE": "en_GB:de"}, []string{"en_GB", "en", "de"}, "en"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "C"}, nil, "en"},
		{map[string]string{"LANG": "C", "LC_MESSAGES": "de_CH.UTF-8"}, []string{"de_CH", "de"}, "de"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "de_DE.UTF-8", "LC_ALL": "C"}, nil, "en"},
		{map[string]string{"LC_ALL": "de_DE.UTF-8", "LANG": "C"}, []string{"de_DE", "de"}, "de"},
		{map[string]string{"LANG": "sv_SE.UTF-8"}, []string{"sv_SE", "sv"}, "en"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LANGUAGE": "::"}, nil, "en"},
	}
	for _, tc := range tests {
		got := SessionLanguages(func(k string) string { return tc.env[k] })
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: languages %q, want %q", tc.env, got, tc.want)
		}
		c, err := LoadCatalog(got)
		if err != nil || c.Lang() != tc.lang {
			t.Errorf("%v: catalogue %s (%v), want %s", tc.env, c.Lang(), err, tc.lang)
		}
	}
}

func TestParsePO(t *testing.T) {
	good := `# comment
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"

#, fuzzy
msgid "a"
msgstr "b"

#. TRANSLATORS: x
#: file.go
msgctxt "menu"
msgid "a"
msgstr "c"

msgid ""
"two\n"
"lines \"q\" \\ \t"
msgstr "zwei"
`
	entries, err := parsePO([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []poEntry{
		{ID: "", Str: "Content-Type: text/plain; charset=UTF-8\n", Line: 2},
		{ID: "a", Str: "b", Fuzzy: true, Line: 7},
		{Ctxt: "menu", HasCtxt: true, ID: "a", Str: "c", Line: 13},
		{ID: "two\nlines \"q\" \\ \t", Str: "zwei", Line: 16},
	}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	bad := map[string]string{
		"plural":             "msgid \"a\"\nmsgid_plural \"as\"\nmsgstr[0] \"x\"\n",
		"indexed msgstr":     "msgid \"a\"\nmsgstr[0] \"x\"\n",
		"no msgstr":          "msgid \"a\"\n\nmsgid \"b\"\nmsgstr \"\"\n",
		"no msgstr at end":   "msgid \"a\"\n",
		"msgstr first":       "msgstr \"a\"\n",
		"duplicate":          "msgid \"a\"\nmsgstr \"x\"\n\nmsgid \"a\"\nmsgstr \"y\"\n",
		"two msgstr":         "msgid \"a\"\nmsgstr \"x\"\nmsgstr \"y\"\n",
		"bad escape":         "msgid \"a\\x41\"\nmsgstr \"\"\n",
		"unterminated":       "msgid \"a\nmsgstr \"\"\n",
		"inner quote":        "msgid \"a\"b\"\nmsgstr \"\"\n",
		"trailing backslash": "msgid \"a\\\"\nmsgstr \"\"\n",
		"stray string":       "\"a\"\n",
		"unknown keyword":    "msgfoo \"a\"\n",
		"not utf-8":          "msgid \"\xff\"\nmsgstr \"\"\n",
		"latin-1 header":     "msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=ISO-8859-1\\n\"\n",
		"comment inside":     "msgid \"a\"\n# c\nmsgstr \"\"\n",
		"bare keyword":       "msgid\nmsgstr \"\"\n",
		"control character":  "msgid \"a\tb\"\nmsgstr \"\"\n",
	}
	for name, in := range bad {
		if _, err := parsePO([]byte(in)); err == nil {
			t.Errorf("%s: parsed %q without error", name, in)
		}
	}
	// A translation that drops or renames a placeholder is refused.
	if _, err := parseCatalog("xx", []byte("msgid \"card {device}\"\nmsgstr \"Karte {gerät}\"\n")); err == nil {
		t.Error("a translation with other placeholders was accepted")
	}
	// Fuzzy and empty translations stay English.
	c, err := parseCatalog("xx", []byte("#, fuzzy\nmsgid \"a\"\nmsgstr \"b\"\n\nmsgid \"c\"\nmsgstr \"\"\n"))
	if err != nil || c.T("a") != "a" || c.T("c") != "c" {
		t.Errorf("fuzzy or empty translation used: %v %q %q", err, c.T("a"), c.T("c"))
	}
}

func TestCatalogF(t *testing.T) {
	c := &Catalog{msgs: map[string]string{"{a} and {b}": "{b} und {a}"}}
	// A value that looks like a placeholder is put in as it is.
	if got := c.F("{a} and {b}", "a", "{b}", "b", "x"); got != "x und {b}" {
		t.Errorf("F = %q", got)
	}
	var nilCat *Catalog
	if got := nilCat.F("{a}!", "a", "1"); got != "1!" {
		t.Errorf("nil catalogue F = %q", got)
	}
}

// renderPO writes entries back as a catalogue (for the fuzz round trip).
func renderPO(entries []poEntry) string {
	var b strings.Builder
	for _, e := range entries {
		if e.Fuzzy {
			b.WriteString("#, fuzzy\n")
		}
		if e.HasCtxt {
			b.WriteString("msgctxt " + poQuote(e.Ctxt) + "\n")
		}
		b.WriteString("msgid " + poQuote(e.ID) + "\nmsgstr " + poQuote(e.Str) + "\n\n")
	}
	return b.String()
}

// FuzzParsePO: parsePO never panics; what it accepts it reads back the
// same after writing it out again; a catalogue it accepts never yields a
// translation with other placeholders than its msgid.
func FuzzParsePO(f *testing.F) {
	for _, name := range []string{templatePath, "po/de.po"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("msgid \"a\"\nmsgstr \"b\\n\"\n"))
	f.Add([]byte("msgctxt \"c\"\nmsgid \"\"\n\"x\"\nmsgstr \"y\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parsePO(data)
		if err != nil {
			return
		}
		again, err := parsePO([]byte(renderPO(entries)))
		if err != nil {
			t.Fatalf("written back, the catalogue does not parse: %v", err)
		}
		norm := func(es []poEntry) []poEntry {
			out := slices.Clone(es)
			for i := range out {
				out[i].Line = 0
			}
			return out
		}
		if diff := cmp.Diff(norm(entries), norm(again)); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		c, err := parseCatalog("fuzz", data)
		if err != nil {
			return
		}
		for id, s := range c.msgs {
			if !slices.Equal(placeholders(id), placeholders(s)) {
				t.Fatalf("placeholders of %q changed in %q", id, s)
			}
		}
	})
}

// The embedded catalogues parse (a malformed one fails here, not at run
// time).
func TestEmbeddedCataloguesParse(t *testing.T) {
	for _, lang := range Languages() {
		if _, err := LoadCatalog([]string{lang}); err != nil {
			t.Errorf("%s: %v", lang, err)
		}
	}
	if _, err := LoadCatalog([]string{"zz"}); err != nil {
		t.Errorf("an unknown language is not an error: %v", err)
	}
}
