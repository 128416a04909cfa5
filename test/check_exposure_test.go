// SPDX-License-Identifier: GPL-3.0-or-later

//go:build linux

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// TestIntegrationCheckExposure: what check reports beside the MAC address,
// from a real NetworkManager: a Wi-Fi profile for a hidden network, a
// profile with ipv6.ip6-privacy off while NetworkManager.conf turns it on
// for every other profile (that one is not reported), and Bluetooth's
// privacy not known without BlueZ on the bus; in JSON and in text.
func TestIntegrationCheckExposure(t *testing.T) {
	bed.Require(t)
	b := bed.New(t, bed.Options{Devices: 1, NMConf: "[connection]\nipv6.ip6-privacy=2\n"})
	// bed.Profile is Ethernet only: the Wi-Fi profile is added by hand (no
	// Wi-Fi device needed: check audits it for any device).
	if _, err := b.Nmcli(t, "connection", "add", "type", "wifi", "con-name", "chk-hidden", "ssid", "corp-hidden",
		"802-11-wireless.hidden", "yes", "connection.autoconnect", "no", "ipv4.method", "auto", "ipv6.method", "disabled"); err != nil {
		t.Fatal(err)
	}
	off := b.AddProfile(t, bed.Profile{Name: "chk-ip6-off", Interface: "nmt0", ClonedMAC: "preserve",
		Extra: []string{"ipv6.method", "auto", "ipv6.ip6-privacy", "0"}})
	b.AddProfile(t, bed.Profile{Name: "chk-ip6-default", Interface: "nmt0", ClonedMAC: "preserve",
		Extra: []string{"ipv6.method", "auto"}})
	btConf := filepath.Join(b.Dir, "bluetooth-main.conf")
	if err := os.WriteFile(btConf, []byte("[General]\nPrivacy = off\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out := runCheck(t, b, "--json", "--bluetooth-conf", btConf)
	if code != inspect.CheckExitFindings {
		t.Fatalf("check --json exit code = %d, want %d\n%s", code, inspect.CheckExitFindings, out)
	}
	r := decodeReport(t, out)
	byKind := map[string][]inspect.Finding{}
	for _, f := range r.Findings {
		byKind[f.Kind] = append(byKind[f.Kind], f)
	}
	if h := byKind[inspect.KindWifiHidden]; len(h) != 1 || h[0].Profile != "chk-hidden" || h[0].Severity != inspect.SeverityFinding ||
		!strings.Contains(h[0].Message, `"corp-hidden"`) || !strings.Contains(h[0].Fix, "802-11-wireless.hidden no") {
		t.Errorf("wifi-hidden findings = %+v, want one finding naming chk-hidden and corp-hidden with its fix", h)
	}
	if p := byKind[inspect.KindIPv6PrivacyOff]; len(p) != 1 || p[0].Profile != "chk-ip6-off" || p[0].UUID != off ||
		p[0].Severity != inspect.SeverityFinding || !strings.Contains(p[0].Message, "from the profile") || !strings.Contains(p[0].Fix, off+" ipv6.ip6-privacy 2") {
		t.Errorf("ipv6-privacy-off findings = %+v, want one finding for chk-ip6-off (%s) only: chk-ip6-default gets 2 from NetworkManager.conf", p, off)
	}
	bt := append(byKind[inspect.KindBluetoothUnknown], byKind[inspect.KindBluetoothPrivacy]...)
	if len(bt) != 1 || !strings.Contains(bt[0].Message, "org.bluez) is not running") || !strings.Contains(bt[0].Message, "Privacy = off at "+btConf+":2") {
		t.Errorf("Bluetooth findings = %+v, want one saying BlueZ is not running and naming %s:2", bt, btConf)
	}

	code, out = runCheck(t, b, "--bluetooth-conf", btConf)
	if code != inspect.CheckExitFindings {
		t.Fatalf("check exit code = %d, want %d\n%s", code, inspect.CheckExitFindings, out)
	}
	for _, want := range []string{`"chk-hidden"`, "802-11-wireless.hidden no", `"chk-ip6-off"`, "ipv6.ip6-privacy 2", "Privacy = device"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}
