// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

func TestExemptionsForgetArguments(t *testing.T) {
	for _, args := range [][]string{
		{"exemptions", "forget"},
		{"exemptions", "forget", "--all", "11111111-1111-4111-8111-111111111111"},
		{"exemptions", "forget", "a", "b"},
		{"exemptions"},
	} {
		root := newRootCmd()
		root.SetArgs(args)
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		err := root.Execute()
		if err == nil || exitCode(err) != exitUsage {
			t.Errorf("%q: %v (exit %d), want a usage error (exit %d)", args, err, exitCode(err), exitUsage)
		}
	}
}

func TestPrintExemptions(t *testing.T) {
	var b bytes.Buffer
	if err := printExemptions(&b, nil); err != nil || !strings.Contains(b.String(), "No exemptions") {
		t.Fatalf("empty list: %v %q", err, b.String())
	}
	b.Reset()
	err := printExemptions(&b, []api.Exemption{
		{ID: "11111111-1111-4111-8111-111111111111", UUID: "11111111-1111-4111-8111-111111111111", SSID: "Caf\x1b[31me", Scope: "always"},
		{ID: "22222222-2222-4222-8222-222222222222", Interface: "wlan0", Scope: "once"},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsRune(out, 0x1b) {
		t.Errorf("a hostile SSID reaches the terminal unescaped:\n%q", out)
	}
	for _, want := range []string{"ID", "SCOPE", "always", "once", "wlan0", "any", "11111111-1111-4111-8111-111111111111"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
