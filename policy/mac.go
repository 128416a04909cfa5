// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"encoding/hex"
	"fmt"
	"net"
)

// MAC is an IEEE 802 48-bit hardware address.
type MAC [6]byte

// ParseMAC parses "aa:bb:cc:dd:ee:ff" or "aa-bb-cc-dd-ee-ff", in any case.
// Anything else (other lengths, mixed separators, EUI-64, dotted forms) is
// an error that names the input.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, fmt.Errorf("invalid MAC address %q: want six hex octets like aa:bb:cc:dd:ee:ff", s)
	}
	sep := s[2]
	if sep != ':' && sep != '-' {
		return m, fmt.Errorf("invalid MAC address %q: octets must be separated by ':' or '-'", s)
	}
	for i := range 6 {
		if i > 0 && s[3*i-1] != sep {
			return m, fmt.Errorf("invalid MAC address %q: octets must be separated by one kind of separator", s)
		}
		b, ok := hexByte(s[3*i], s[3*i+1])
		if !ok {
			return m, fmt.Errorf("invalid MAC address %q: %q is not a hex octet", s, s[3*i:3*i+2])
		}
		m[i] = b
	}
	return m, nil
}

// MustParseMAC is ParseMAC for constants in tests and tables; it panics on
// bad input.
func MustParseMAC(s string) MAC {
	m, err := ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexDigit(hi)
	l, ok2 := hexDigit(lo)
	return h<<4 | l, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String returns the lower-case colon form; it round-trips with ParseMAC.
func (m MAC) String() string {
	var b [17]byte
	for i, o := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		hex.Encode(b[3*i:3*i+2], []byte{o})
	}
	return string(b[:])
}

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

// IsMulticast reports whether the I/G bit (group address) is set.
func (m MAC) IsMulticast() bool { return m[0]&0x01 != 0 }

// IsLocal reports whether the U/L bit (locally administered) is set.
func (m MAC) IsLocal() bool { return m[0]&0x02 != 0 }

// OUI returns the first three octets, the vendor prefix.
func (m MAC) OUI() OUI { return OUI{m[0], m[1], m[2]} }

// HardwareAddr returns m as a fresh net.HardwareAddr.
func (m MAC) HardwareAddr() net.HardwareAddr {
	a := make(net.HardwareAddr, 6)
	copy(a, m[:])
	return a
}

// MarshalText encodes m in the colon form (for JSON and TOML).
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses the forms ParseMAC accepts.
func (m *MAC) UnmarshalText(b []byte) error {
	v, err := ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// FromHardwareAddr converts a 6-byte net.HardwareAddr; other lengths
// (EUI-64, InfiniBand) are an error.
func FromHardwareAddr(a net.HardwareAddr) (MAC, error) {
	var m MAC
	if len(a) != 6 {
		return m, fmt.Errorf("hardware address %q has %d octets, want 6", a.String(), len(a))
	}
	copy(m[:], a)
	return m, nil
}

// OUI is a vendor prefix: the first three octets of an address.
type OUI [3]byte

// String returns the lower-case colon form "aa:bb:cc".
func (o OUI) String() string { return MAC{o[0], o[1], o[2]}.String()[:8] }

// Prefix is an address prefix of 3 to 6 octets (a rule's real_prefix).
type Prefix []byte

// ParsePrefix parses "aa:bb:cc" up to a full address, ':' or '-'
// separated, any case.
func ParsePrefix(s string) (Prefix, error) {
	n := (len(s) + 1) / 3
	if len(s)%3 != 2 || n < 3 || n > 6 {
		return nil, fmt.Errorf("invalid address prefix %q: want 3 to 6 hex octets like aa:bb:cc", s)
	}
	sep := byte(':')
	if n > 1 {
		sep = s[2]
	}
	if sep != ':' && sep != '-' {
		return nil, fmt.Errorf("invalid address prefix %q: octets must be separated by ':' or '-'", s)
	}
	p := make(Prefix, n)
	for i := range n {
		if i > 0 && s[3*i-1] != sep {
			return nil, fmt.Errorf("invalid address prefix %q: octets must be separated by one kind of separator", s)
		}
		b, ok := hexByte(s[3*i], s[3*i+1])
		if !ok {
			return nil, fmt.Errorf("invalid address prefix %q: %q is not a hex octet", s, s[3*i:3*i+2])
		}
		p[i] = b
	}
	return p, nil
}

// String returns the lower-case colon form.
func (p Prefix) String() string {
	var m MAC
	copy(m[:], p)
	if len(p) == 0 {
		return ""
	}
	return m.String()[:3*len(p)-1]
}

// MarshalText encodes p in the colon form.
func (p Prefix) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Matches reports whether m starts with p. An empty prefix matches nothing.
func (p Prefix) Matches(m MAC) bool {
	if len(p) == 0 || len(p) > 6 {
		return false
	}
	for i, b := range p {
		if m[i] != b {
			return false
		}
	}
	return true
}
