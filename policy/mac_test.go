// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

func TestParseMAC(t *testing.T) {
	good := map[string]MAC{
		"aa:bb:cc:dd:ee:ff": {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
		"AA:BB:CC:DD:EE:FF": {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
		"aA-0b-Cc-1d-eE-9f": {0xaa, 0x0b, 0xcc, 0x1d, 0xee, 0x9f},
		"00:00:00:00:00:00": {},
		"02:00:5e:10:00:01": {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01},
	}
	for in, want := range good {
		got, err := ParseMAC(in)
		if err != nil || got != want {
			t.Errorf("ParseMAC(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := []string{
		"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aabbccddeeff", "aa:bb:cc-dd:ee:ff",
		"aa:bb:cc:dd:ee:fg", " aa:bb:cc:dd:ee:f", "aa.bb.cc.dd.ee.ff", "aabb.ccdd.eeff",
		"a:bb:cc:dd:ee:fff", "aa:bb:cc:dd:ee:f ", "+a:bb:cc:dd:ee:ff", "00:00:5e:00:53:01:00:00",
	}
	for _, in := range bad {
		_, err := ParseMAC(in)
		if err == nil {
			t.Errorf("ParseMAC(%q) accepted", in)
			continue
		}
		if !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseMAC(%q) error %q does not name the input", in, err)
		}
	}
}

func TestMACBits(t *testing.T) {
	cases := []struct {
		in                     string
		zero, multicast, local bool
	}{
		{"00:00:00:00:00:00", true, false, false},
		{"00:1b:77:01:02:03", false, false, false},
		{"01:00:5e:00:00:01", false, true, false},
		{"02:00:00:00:00:01", false, false, true},
		{"03:00:00:00:00:01", false, true, true},
		{"ff:ff:ff:ff:ff:ff", false, true, true},
		{"fe:ff:ff:ff:ff:ff", false, false, true},
	}
	for _, c := range cases {
		m := MustParseMAC(c.in)
		if m.IsZero() != c.zero || m.IsMulticast() != c.multicast || m.IsLocal() != c.local {
			t.Errorf("%s: zero=%t multicast=%t local=%t; want %t %t %t", c.in,
				m.IsZero(), m.IsMulticast(), m.IsLocal(), c.zero, c.multicast, c.local)
		}
	}
}

func TestHardwareAddr(t *testing.T) {
	m := MustParseMAC("00:1b:77:0a:0b:0c")
	a := m.HardwareAddr()
	if a.String() != m.String() {
		t.Fatalf("HardwareAddr = %s; want %s", a, m)
	}
	a[0] = 0xff // a fresh copy: m must not change
	if m[0] != 0x00 {
		t.Fatal("HardwareAddr shares memory with the MAC")
	}
	back, err := FromHardwareAddr(m.HardwareAddr())
	if err != nil || back != m {
		t.Fatalf("FromHardwareAddr = %v, %v; want %v", back, err, m)
	}
	long, _ := net.ParseMAC("00:00:00:00:fe:80:00:00")
	if _, err := FromHardwareAddr(long); err == nil {
		t.Fatal("FromHardwareAddr accepted an EUI-64")
	}
	if _, err := FromHardwareAddr(nil); err == nil {
		t.Fatal("FromHardwareAddr accepted an empty address")
	}
}

func TestMACText(t *testing.T) {
	m := MustParseMAC("DE-AD-BE-EF-00-01")
	b, _ := m.MarshalText()
	if string(b) != "de:ad:be:ef:00:01" {
		t.Fatalf("MarshalText = %s", b)
	}
	var back MAC
	if err := back.UnmarshalText(b); err != nil || back != m {
		t.Fatalf("UnmarshalText = %v, %v", back, err)
	}
	if err := back.UnmarshalText([]byte("nope")); err == nil {
		t.Fatal("UnmarshalText accepted garbage")
	}
	if got := m.OUI().String(); got != "de:ad:be" {
		t.Fatalf("OUI = %s", got)
	}
}

func TestParsePrefix(t *testing.T) {
	good := map[string]string{
		"00:1B:77":          "00:1b:77",
		"00-1b-77-aa":       "00:1b:77:aa",
		"00:1b:77:aa:bb:cc": "00:1b:77:aa:bb:cc",
	}
	for in, want := range good {
		p, err := ParsePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, in := range []string{"", "00", "00:1b", "00:1b:77:", "00:1b:77:aa:bb:cc:dd", "00:1b-77", "0g:1b:77", "001b77"} {
		if _, err := ParsePrefix(in); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", in)
		}
	}
	p, _ := ParsePrefix("00:1b:77")
	if !p.Matches(MustParseMAC("00:1b:77:01:02:03")) || p.Matches(MustParseMAC("00:1b:78:01:02:03")) {
		t.Fatal("Prefix.Matches is wrong")
	}
	if (Prefix{}).Matches(MAC{}) {
		t.Fatal("an empty prefix matched")
	}
}

func FuzzMAC(f *testing.F) {
	for _, s := range []string{"aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "00:00:00:00:00:00", "aa:bb:cc-dd:ee:ff", "", "zz:zz:zz:zz:zz:zz", "ff:ff:ff:ff:ff:ff\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMAC(s)
		if err != nil {
			if !strings.Contains(err.Error(), "MAC address") {
				t.Fatalf("error %q does not say what was wrong", err)
			}
			// Whatever we reject, Go's own parser must not read as a 6-octet colon/dash form we forgot.
			if len(s) == 17 {
				if a, e := net.ParseMAC(s); e == nil && len(a) == 6 && (s[2] == ':' || s[2] == '-') {
					t.Fatalf("ParseMAC rejected %q that net.ParseMAC reads as %s", s, a)
				}
			}
			return
		}
		str := m.String()
		if str != strings.ToLower(strings.ReplaceAll(s, "-", ":")) {
			t.Fatalf("String() = %q for input %q", str, s)
		}
		back, err := ParseMAC(str)
		if err != nil || back != m {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
		if !bytes.Equal(m.HardwareAddr(), m[:]) {
			t.Fatal("HardwareAddr differs")
		}
		a, err := net.ParseMAC(s)
		if err != nil || !bytes.Equal(a, m[:]) {
			t.Fatalf("net.ParseMAC(%q) = %v, %v; ParseMAC gave %v", s, a, err, m)
		}
	})
}
