// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"strings"
	"testing"
)

func TestSafeText(t *testing.T) {
	tests := map[string]string{
		"eth0":             "eth0",
		"a\x1b[31mb":       `a\u001b[31mb`,
		"nm\xe9t":          `nm\xe9t`,
		"caf\u00e9":        "caf\u00e9",
		"x\u202eevil":      `x\u202eevil`,
		"tab\there":        `tab\u0009here`,
		"\xff\xfe":         `\xff\xfe`,
		"résumé ☕ network": "résumé ☕ network",
	}
	for in, want := range tests {
		if got := safeText(in); got != want {
			t.Errorf("safeText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSanitizedWalksNestedValues(t *testing.T) {
	type inner struct{ Name string }
	type outer struct {
		A  string
		L  []inner
		P  *inner
		M  map[string]inner
		un string
	}
	in := outer{A: "\x1b", L: []inner{{"\x07"}}, P: &inner{"\xff"}, M: map[string]inner{"k\x1b": {"\x1b"}}, un: "\x1b"}
	out := sanitized(in)
	for _, s := range []string{out.A, out.L[0].Name, out.P.Name, out.M[`k\u001b`].Name} {
		if strings.ContainsAny(s, "\x1b\x07") || strings.Contains(s, "\xff") {
			t.Errorf("not sanitized: %q", s)
		}
	}
	if in.A != "\x1b" || in.L[0].Name != "\x07" || in.P.Name != "\xff" {
		t.Errorf("the input was changed: %+v", in)
	}
}
