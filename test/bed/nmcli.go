// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Nmcli runs nmcli with args in ClientNS on the bed's bus and returns its
// combined output; the error carries the output too.
func (b *Bed) Nmcli(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return b.NmcliInput(t, nil, args...)
}

// NmcliInput is Nmcli with stdin fed from in (e.g. answers for `--ask`).
func (b *Bed) NmcliInput(t testing.TB, in io.Reader, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", b.ClientNS, "nmcli"}, args...)...)
	cmd.Env = append(os.Environ(), b.env()...)
	cmd.Stdin = in
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	s := out.String()
	if err != nil {
		return s, fmt.Errorf("nmcli %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(s))
	}
	return s, nil
}

// Retries values for Profile.AutoconnectRetries and Profile.AuthRetries.
const (
	// RetriesDefault leaves NM's default (the zero value).
	RetriesDefault = 0
	// RetriesUnlimited is NM's 0: retry without end.
	RetriesUnlimited = -1
)

// Profile is an ethernet connection profile. Zero values leave NM's default
// unless said otherwise.
type Profile struct {
	Name      string // connection.id (required)
	Interface string // connection.interface-name ("" = any device)
	// Autoconnect sets connection.autoconnect (false: "no").
	Autoconnect bool
	// AutoconnectRetries sets connection.autoconnect-retries; RetriesDefault
	// leaves NM's (4), RetriesUnlimited sets 0 (endless).
	AutoconnectRetries int
	// ClonedMAC sets ethernet.cloned-mac-address: an address, or preserve,
	// permanent, random, stable. "" leaves NM's default (preserve).
	ClonedMAC string
	// DHCPTimeout sets ipv4.dhcp-timeout in seconds; 0 leaves NM's (45 s).
	DHCPTimeout int
	// IPv4Method sets ipv4.method; "" means auto (DHCP).
	IPv4Method string
	// IPv6 sets ipv6.method auto (router solicitation, SLAAC, DHCPv6 when
	// the network says so; see StartDHCPv6); otherwise IPv6 is disabled.
	IPv6 bool
	// EAP makes it a wired 802.1X profile.
	EAP *EAP
	// AuthRetries sets connection.auth-retries; RetriesDefault leaves NM's
	// (-1: 3 tries), RetriesUnlimited sets 0 (endless).
	AuthRetries int
	// Extra are more property/value pairs for `nmcli connection add`,
	// e.g. {"connection.zone", "x"}.
	Extra []string
}

// EAP is the 802-1x setting of a profile.
type EAP struct {
	Method   string // "md5" (default) or "peap" (with phase2 mschapv2)
	Identity string // "" = the bed's user for Method (EAPIdentityMD5, EAPIdentityPEAP)
	Password string // "" = EAPPassword (the right one)
	// PasswordFlags sets 802-1x.password-flags: 0 stored in the profile,
	// 2 owned by a secret agent (e.g. `nmcli --ask`).
	PasswordFlags int
	// AuthTimeout sets 802-1x.auth-timeout in seconds; 0 leaves NM's (25 s).
	AuthTimeout int
}

// args returns the `nmcli connection add` arguments for p with uuid.
func (p Profile) args(uuid string) ([]string, error) {
	if p.Name == "" {
		return nil, fmt.Errorf("profile: no name")
	}
	yesNo := map[bool]string{true: "yes", false: "no"}
	method := p.IPv4Method
	if method == "" {
		method = "auto"
	}
	ip6 := "disabled"
	if p.IPv6 {
		ip6 = "auto"
	}
	a := []string{"connection", "add", "type", "ethernet", "con-name", p.Name,
		"connection.uuid", uuid, "connection.autoconnect", yesNo[p.Autoconnect],
		"ipv4.method", method, "ipv6.method", ip6}
	if p.Interface != "" {
		a = append(a, "connection.interface-name", p.Interface)
	}
	if v, ok := retries(p.AutoconnectRetries); ok {
		a = append(a, "connection.autoconnect-retries", v)
	}
	if v, ok := retries(p.AuthRetries); ok {
		a = append(a, "connection.auth-retries", v)
	}
	if p.ClonedMAC != "" {
		a = append(a, "ethernet.cloned-mac-address", p.ClonedMAC)
	}
	if p.DHCPTimeout > 0 {
		a = append(a, "ipv4.dhcp-timeout", strconv.Itoa(p.DHCPTimeout))
	}
	if e := p.EAP; e != nil {
		id, pass := e.Identity, e.Password
		if pass == "" {
			pass = EAPPassword
		}
		switch e.Method {
		case "", "md5":
			if id == "" {
				id = EAPIdentityMD5
			}
			a = append(a, "802-1x.eap", "md5")
		case "peap":
			if id == "" {
				id = EAPIdentityPEAP
			}
			a = append(a, "802-1x.eap", "peap", "802-1x.phase2-auth", "mschapv2")
		default:
			return nil, fmt.Errorf("profile %s: EAP method %q: want md5 or peap", p.Name, e.Method)
		}
		a = append(a, "802-1x.identity", id, "802-1x.password-flags", strconv.Itoa(e.PasswordFlags))
		if e.PasswordFlags == 0 {
			a = append(a, "802-1x.password", pass)
		}
		if e.AuthTimeout > 0 {
			a = append(a, "802-1x.auth-timeout", strconv.Itoa(e.AuthTimeout))
		}
	}
	if len(p.Extra)%2 != 0 {
		return nil, fmt.Errorf("profile %s: Extra has an odd number of items", p.Name)
	}
	return append(a, p.Extra...), nil
}

func retries(n int) (string, bool) {
	switch {
	case n == RetriesDefault:
		return "", false
	case n == RetriesUnlimited:
		return "0", true
	case n > 0:
		return strconv.Itoa(n), true
	}
	return strconv.Itoa(n), true // let NM reject it with its own error
}

// AddProfile adds p to NetworkManager (a keyfile in the bed's dir) and
// returns its UUID. A profile with Autoconnect may activate at once.
func (b *Bed) AddProfile(t testing.TB, p Profile) string {
	t.Helper()
	uuid, err := newUUID()
	if err != nil {
		t.Fatalf("bed: %v", err)
	}
	args, err := p.args(uuid)
	if err != nil {
		t.Fatalf("bed: %v", err)
	}
	if _, err := b.Nmcli(t, args...); err != nil {
		t.Fatalf("bed: add profile: %v", err)
	}
	return uuid
}

// Activate activates profile uuid on device iface ("" = the profile's) with
// `nmcli connection up` and waits for the result. It returns NM's error text
// on failure (and does not fail t).
func (b *Bed) Activate(t testing.TB, uuid, iface string) error {
	t.Helper()
	args := []string{"--wait", "120", "connection", "up", "uuid", uuid}
	if iface != "" {
		args = append(args, "ifname", iface)
	}
	_, err := b.Nmcli(t, args...)
	return err
}

// Deactivate deactivates profile uuid (`nmcli connection down`), a user's
// disconnect. It returns NM's error text on failure (and does not fail t).
func (b *Bed) Deactivate(t testing.TB, uuid string) error {
	t.Helper()
	_, err := b.Nmcli(t, "--wait", "60", "connection", "down", "uuid", uuid)
	return err
}

// newUUID returns a random (version 4) UUID.
func newUUID() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("random uuid: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]), nil
}
