// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"strings"
	"testing"
)

func TestShippedVendors(t *testing.T) {
	l, err := ParseVendors("vendors.txt", shippedVendorData)
	if err != nil {
		t.Fatal(err)
	}
	if n := l.Count(KindWifi); n < 20 {
		t.Errorf("only %d wifi prefixes", n)
	}
	if n := l.Count(KindEthernet); n < 15 {
		t.Errorf("only %d ethernet prefixes", n)
	}
	for _, v := range l.Entries {
		if v.OUI[0]&0x03 != 0 {
			t.Errorf("%s %s is not a globally administered unicast prefix", v.Kind, v.OUI)
		}
		if v.Name == "" {
			t.Errorf("%s %s has no vendor name", v.Kind, v.OUI)
		}
	}
	// Spot checks against the IEEE registry.
	for _, c := range []struct{ kind, oui, vendor string }{
		{KindWifi, "00:1b:77", "Intel"}, {KindWifi, "00:26:bb", "Apple"}, {KindEthernet, "00:19:b9", "Dell"},
	} {
		p, _ := ParsePrefix(c.oui)
		found := false
		for _, v := range l.Entries {
			if v.Kind == c.kind && v.OUI == (OUI{p[0], p[1], p[2]}) && strings.Contains(v.Name, c.vendor) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s (%s) missing", c.kind, c.oui, c.vendor)
		}
	}
}

func TestVendorKind(t *testing.T) {
	for typ, want := range map[string]string{"wifi": KindWifi, "ethernet": KindEthernet, "veth": KindEthernet, "": KindEthernet, "bridge": KindEthernet} {
		if got := VendorKind(typ); got != want {
			t.Errorf("VendorKind(%q) = %q; want %q", typ, got, want)
		}
	}
}

func TestParseVendorsErrors(t *testing.T) {
	both := "wifi 00:1b:77 Intel\nethernet 00:19:b9 Dell\n"
	cases := []struct{ in, want string }{
		{"wifi 00:1b:77 Intel\n", `v.txt: no "ethernet" prefixes`},
		{"# only comments\n", `v.txt: no "wifi" prefixes`},
		{both + "bluetooth 00:1b:77 x\n", `v.txt:3: unknown kind "bluetooth"`},
		{both + "wifi 00:1b\n", `v.txt:3: invalid OUI "00:1b"`},
		{both + "wifi 00:1b:77:01\n", `v.txt:3: invalid OUI`},
		{both + "wifi 01:00:5e Multicast\n", "v.txt:3: OUI 01:00:5e is a multicast prefix"},
		{both + "wifi 02:00:00 Local\n", "v.txt:3: OUI 02:00:00 is locally administered"},
		{both + "wifi 00:1B:77 Again\n", "v.txt:3: wifi 00:1b:77 is already listed at line 1"},
		{both + "wifi\n", `v.txt:3: want "<kind> <oui> <vendor>"`},
	}
	for _, c := range cases {
		_, err := ParseVendors("v.txt", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseVendors(%q) = %v; want %q", c.in, err, c.want)
		}
	}
	l, err := ParseVendors("v.txt", []byte("  # c\nwifi 00:1B:77 Intel # trailing\n\nethernet 00-19-b9\n"))
	if err != nil || len(l.Entries) != 2 || l.Entries[0].Name != "Intel" || l.Entries[1].OUI != (OUI{0x00, 0x19, 0xb9}) {
		t.Fatalf("ParseVendors = %+v, %v", l, err)
	}
}
