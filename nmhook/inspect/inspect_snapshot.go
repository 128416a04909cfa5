// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/backstop"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// inspectSnapshot is everything check read, before any judgement: Inspect
// fills it from the system, buildReport turns it into a report (pure, so
// the judgement is table-tested without a system).
type inspectSnapshot struct {
	Now        time.Time
	Interfaces []string // only these devices ([] = all)

	Policy        *policy.Policy // nil when PolicyErr
	PolicySources []string
	PolicyErr     error
	StatePath     string
	State         *state.State // nil when there is no state file (or it is unreadable)
	StateErr      error
	BootStatePath string
	BootState     *state.BootState // nil when there is none of this boot
	BootStale     bool             // there is one, of another boot (ignored)
	BootStateErr  error

	Links    []links.Link
	LinksErr error
	Hardware map[int]links.Hardware // what sysfs says is behind each link, by ifindex
	IPv6     map[int][]netip.Addr   // by ifindex
	Guards   []backstop.Rule
	GuardErr error
	// UseTempaddr is net.ipv6.conf.default.use_tempaddr (NM's fallback for
	// ipv6.ip6-privacy); -1 when it could not be read.
	UseTempaddr int

	NMErr        error // NetworkManager could not be read (bus absent, NM not running)
	NMVersion    string
	NMDevices    []nm.Device
	Active       map[dbus.ObjectPath]nm.Profile // device path -> active profile
	Profiles     []profileInfo
	Hostname     string
	HostnameFrom string

	Conf    NMConf
	ConfErr error

	Service serviceView

	Bluetooth bluetoothView
	P2P       p2pView
}

// serviceView is what the service said over its D-Bus API.
type serviceView struct {
	Running    bool
	Err        error
	Status     *api.Status
	Devices    []api.Device
	Suspicions []api.Suspicion
}

// profileInfo is one connection profile as check audits it: nm.Profile plus
// the settings that can give the machine away whatever its MAC address.
// Pointers are nil when NetworkManager left the property out (its default).
type profileInfo struct {
	nm.Profile
	IPv4Method    string
	IPv6Method    string
	SendHostname4 *bool
	SendHostname6 *bool
	Hostname4     string // ipv4.dhcp-hostname
	Hostname6     string // ipv6.dhcp-hostname
	FQDN4         string // ipv4.dhcp-fqdn
	ClientID      string // ipv4.dhcp-client-id
	DUID          string // ipv6.dhcp-duid
	AddrGenMode   *int32 // ipv6.addr-gen-mode
	IP6Privacy    *int32 // ipv6.ip6-privacy
	Token         string // ipv6.token
	Hidden        bool   // 802-11-wireless.hidden
	// Idents are the identifier properties (nm.Idents) the profile sets,
	// in nm.IdentOf's text form.
	Idents map[string]string
}

// profileInfoFromSettings reads a GetSettings answer; values of unexpected
// types are treated as absent.
func profileInfoFromSettings(path dbus.ObjectPath, s map[string]map[string]dbus.Variant) profileInfo {
	p := profileInfo{Profile: nm.ProfileFromSettings(path, s)}
	str := func(sect, key string) string {
		v, _ := s[sect][key].Value().(string)
		return v
	}
	boolp := func(sect, key string) *bool {
		if v, ok := s[sect][key].Value().(bool); ok {
			return &v
		}
		return nil
	}
	int32p := func(sect, key string) *int32 {
		if v, ok := s[sect][key].Value().(int32); ok {
			return &v
		}
		return nil
	}
	p.IPv4Method = str("ipv4", "method")
	p.IPv6Method = str("ipv6", "method")
	p.SendHostname4 = boolp("ipv4", "dhcp-send-hostname")
	p.SendHostname6 = boolp("ipv6", "dhcp-send-hostname")
	p.Hostname4 = str("ipv4", "dhcp-hostname")
	p.Hostname6 = str("ipv6", "dhcp-hostname")
	p.FQDN4 = str("ipv4", "dhcp-fqdn")
	p.ClientID = str("ipv4", "dhcp-client-id")
	p.DUID = str("ipv6", "dhcp-duid")
	p.AddrGenMode = int32p("ipv6", "addr-gen-mode")
	p.IP6Privacy = int32p("ipv6", "ip6-privacy")
	p.Token = str("ipv6", "token")
	p.Hidden, _ = s["802-11-wireless"]["hidden"].Value().(bool)
	p.Idents = map[string]string{}
	for _, id := range nm.Idents() {
		if v, ok := nm.IdentOf(s, id); ok {
			p.Idents[id.Name()] = v
		}
	}
	return p
}

// label names a profile for people: "id" (uuid).
func (p profileInfo) label() string {
	return fmt.Sprintf("%q (%s)", p.ID, p.UUID)
}

// nmcliRef is how nmcli names the profile in a fix: its UUID when known.
func (p profileInfo) nmcliRef() string {
	if p.UUID != "" {
		return p.UUID
	}
	return shellQuote(p.ID)
}

// audited reports whether check audits this profile's type.
func (p profileInfo) audited() bool {
	switch p.Type {
	case nm.ConnTypeEthernet, nm.ConnTypeWifi, nm.ConnTypeVeth:
		return true
	}
	return false
}

// nmDeviceType is the NM device type name a profile of this type runs on
// (for policy rules that match a type), "" when unknown.
func (p profileInfo) nmDeviceType() string {
	switch p.Type {
	case nm.ConnTypeEthernet:
		return "ethernet"
	case nm.ConnTypeWifi:
		return "wifi"
	case nm.ConnTypeVeth:
		return "veth"
	}
	return ""
}

// shellQuote quotes s for a shell command line shown to the user.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
