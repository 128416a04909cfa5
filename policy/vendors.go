// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"strings"
)

//go:embed vendors.txt
var shippedVendorData []byte

// shippedVendorsName names the embedded list in messages and sources.
const shippedVendorsName = "shipped vendor list"

// The device kinds a vendor list distinguishes.
const (
	KindWifi     = "wifi"
	KindEthernet = "ethernet"
)

// VendorKind maps an NM device type to the vendor list kind: "wifi" for
// Wi-Fi devices, "ethernet" for everything else (wired, veth, unknown), so
// that a virtual or unknown device still looks like a common wired card.
func VendorKind(deviceType string) string {
	if deviceType == "wifi" {
		return KindWifi
	}
	return KindEthernet
}

// Vendor is one entry of a vendor list.
type Vendor struct {
	Kind string // KindWifi or KindEthernet
	OUI  OUI
	Name string // vendor and where it was seen
}

// VendorList is the set of vendor prefixes mode vendor picks from.
type VendorList struct {
	Source  string // file it came from, or "shipped vendor list"
	Entries []Vendor
}

// Prefixes returns the prefixes for a device kind, in list order.
func (l VendorList) Prefixes(kind string) []OUI {
	var out []OUI
	for _, v := range l.Entries {
		if v.Kind == kind {
			out = append(out, v.OUI)
		}
	}
	return out
}

// Has reports whether o is listed for kind.
func (l VendorList) Has(kind string, o OUI) bool {
	for _, v := range l.Entries {
		if v.Kind == kind && v.OUI == o {
			return true
		}
	}
	return false
}

// Count returns how many prefixes are listed for kind.
func (l VendorList) Count(kind string) int {
	n := 0
	for _, v := range l.Entries {
		if v.Kind == kind {
			n++
		}
	}
	return n
}

// ParseVendors parses vendor list data (the format of the shipped
// vendors.txt: "<kind> <oui> <vendor...>", '#' comments). Every kind must
// have at least one entry; errors name name:line.
func ParseVendors(name string, data []byte) (VendorList, error) {
	l := VendorList{Source: name}
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 {
			return VendorList{}, fmt.Errorf("%s:%d: want \"<kind> <oui> <vendor>\", got %q", name, line, strings.TrimSpace(text))
		}
		kind := fields[0]
		if kind != KindWifi && kind != KindEthernet {
			return VendorList{}, fmt.Errorf("%s:%d: unknown kind %q (want %q or %q)", name, line, kind, KindWifi, KindEthernet)
		}
		p, err := ParsePrefix(fields[1])
		if err != nil || len(p) != 3 {
			return VendorList{}, fmt.Errorf("%s:%d: invalid OUI %q: want three hex octets like 00:1b:77", name, line, fields[1])
		}
		o := OUI{p[0], p[1], p[2]}
		if o[0]&0x01 != 0 {
			return VendorList{}, fmt.Errorf("%s:%d: OUI %s is a multicast prefix; a device address cannot use it", name, line, o)
		}
		if o[0]&0x02 != 0 {
			return VendorList{}, fmt.Errorf("%s:%d: OUI %s is locally administered, not a vendor prefix", name, line, o)
		}
		key := kind + " " + o.String()
		if first, dup := seen[key]; dup {
			return VendorList{}, fmt.Errorf("%s:%d: %s %s is already listed at line %d", name, line, kind, o, first)
		}
		seen[key] = line
		l.Entries = append(l.Entries, Vendor{Kind: kind, OUI: o, Name: strings.Join(fields[2:], " ")})
	}
	if err := sc.Err(); err != nil {
		return VendorList{}, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	for _, k := range []string{KindWifi, KindEthernet} {
		if l.Count(k) == 0 {
			return VendorList{}, fmt.Errorf("%s: no %q prefixes: a vendor list needs at least one for each kind (%q, %q)", name, k, KindWifi, KindEthernet)
		}
	}
	return l, nil
}

// shippedVendors parses the embedded list. It is compiled in and checked
// by the tests, so a failure here is a build defect.
func shippedVendors() VendorList {
	l, err := ParseVendors(shippedVendorsName, shippedVendorData)
	if err != nil {
		panic(fmt.Sprintf("policy: embedded vendor list: %v", err))
	}
	return l
}
