// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
)

// MinSecretLen is the shortest machine secret mode stable accepts.
const MinSecretLen = 16

// maxTries bounds the redraws when a draw equals the real address or is
// all zeros (odds 2^-24 or less per draw).
const maxTries = 64

// Generate returns an address for device d on network n that Evaluate
// allows for the same inputs (with no exemptions): crypto/rand for
// keep-vendor, vendor and random; for stable a keyed hash (HMAC-SHA256)
// of secret, the device's real address and the network's identity (SSID,
// else connection UUID, else connection id), so the same device gets the
// same address on the same network and unrelated ones elsewhere; at rest
// (zero Network) stable draws a random address like random. For permanent
// it returns the real address (an error if unknown); for ignore, an error.
// A spoofed address is never the real one, never multicast, never zero.
func (p *Policy) Generate(d Device, n Network, secret []byte) (MAC, error) {
	return p.GenerateWith(d, n, nil, secret)
}

// GenerateWith is Generate with runtime exemptions (an exempt device gets
// its real address).
func (p *Policy) GenerateWith(d Device, n Network, ex []Exemption, secret []byte) (MAC, error) {
	v := p.Select(d, n, ex)
	var zero MAC
	if !v.Guarded {
		return zero, fmt.Errorf("device %s is not guarded (%s): there is no address to generate", d.Interface, v.Rule)
	}
	if !d.realKnown() {
		if v.Mode == ModePermanent {
			return zero, fmt.Errorf("device %s: policy says permanent but its real address is unknown", d.Interface)
		}
		return zero, fmt.Errorf("device %s: its real address is unknown, so no address can be shown to differ from it", d.Interface)
	}
	if d.Real.IsMulticast() {
		return zero, fmt.Errorf("device %s: real address %s is a multicast address, which cannot be right", d.Interface, d.Real)
	}
	if v.Mode == ModePermanent {
		return d.Real, nil
	}
	var draw func() MAC
	switch v.Mode {
	case ModeKeepVendor:
		draw = func() MAC { return withNIC(d.Real.OUI()) }
	case ModeVendor:
		kind := VendorKind(d.Type)
		prefixes := p.Vendors.Prefixes(kind)
		if len(prefixes) == 0 {
			return zero, fmt.Errorf("device %s: the %s has no %s prefixes", d.Interface, p.Vendors.Source, kind)
		}
		draw = func() MAC { return withNIC(prefixes[randIntn(len(prefixes))]) }
	case ModeRandom:
		draw = randomLocal
	case ModeStable:
		if n.IsZero() {
			draw = randomLocal
			break
		}
		if len(secret) < MinSecretLen {
			return zero, fmt.Errorf("device %s: mode stable needs a machine secret of at least %d bytes, got %d", d.Interface, MinSecretLen, len(secret))
		}
		return stable(secret, d, n)
	default:
		return zero, fmt.Errorf("device %s: mode %q is unknown", d.Interface, v.Mode)
	}
	for range maxTries {
		if m := draw(); m != d.Real && !m.IsZero() {
			return m, nil
		}
	}
	return zero, fmt.Errorf("device %s: every draw equalled the real address %s; the random source is broken", d.Interface, d.Real)
}

// withNIC returns prefix o with three random NIC-specific octets.
func withNIC(o OUI) MAC {
	var m MAC
	copy(m[:3], o[:])
	rand.Read(m[3:]) // never fails (crypto/rand since Go 1.24)
	return m
}

// randomLocal returns a random locally administered unicast address.
func randomLocal() MAC {
	var m MAC
	rand.Read(m[:])
	m[0] = m[0]&^0x01 | 0x02
	return m
}

// randIntn returns a uniform number in [0, n), n > 0, without modulo bias.
func randIntn(n int) int {
	limit := ^uint64(0) - ^uint64(0)%uint64(n)
	var b [8]byte
	for {
		rand.Read(b[:])
		if x := binary.LittleEndian.Uint64(b[:]); x < limit {
			return int(x % uint64(n))
		}
	}
}

// stable derives the address from HMAC-SHA256(secret, label | real | network).
func stable(secret []byte, d Device, n Network) (MAC, error) {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("mac-nmguard stable address v1\x00"))
	h.Write(d.Real[:])
	switch {
	case n.SSID != "":
		h.Write([]byte("\x00ssid\x00" + n.SSID))
	case n.UUID != "":
		h.Write([]byte("\x00uuid\x00" + strings.ToLower(n.UUID)))
	default:
		h.Write([]byte("\x00id\x00" + n.ID))
	}
	sum := h.Sum(nil)
	for off := 0; off+6 <= len(sum); off += 6 {
		var m MAC
		copy(m[:], sum[off:off+6])
		m[0] = m[0]&^0x01 | 0x02
		if m != d.Real {
			return m, nil
		}
	}
	return MAC{}, fmt.Errorf("device %s: every stable candidate equalled the real address", d.Interface)
}
