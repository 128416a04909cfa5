// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// NM's ipv6.addr-gen-mode values.
const (
	addrGenEUI64          = 0
	addrGenStablePrivacy  = 1
	addrGenDefaultOrEUI64 = 2
	addrGenDefault        = 3
)

// ip6PrivacyPreferTemp is ipv6.ip6-privacy=2: temporary addresses are made
// and preferred for outgoing connections.
const ip6PrivacyPreferTemp = 2

// placeholderReal stands for "the real address, whatever it is" when a
// profile asks for cloned-mac-address=permanent on a device whose real
// address check cannot determine: permanent is the real address by
// definition, so it is judged as equal to it.
var placeholderReal = policy.MAC{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}

// effectiveCloned is the cloned-mac-address NM applies for profile p on
// device d (nil: any device): the profile's own, else the default of
// NetworkManager.conf's [connection] sections; from says where a default
// came from ("" for the profile's own).
func (b *builder) effectiveCloned(p *profileInfo, d *inspectDevice) (value, from string) {
	var cd *ConfDevice
	if d != nil {
		cd = d.confDevice()
	}
	return b.s.Conf.EffectiveCloned(p.Profile, cd)
}

// connDefault is NetworkManager.conf's default for a per-profile key,
// judged for the profile's first device (or any device).
func (b *builder) connDefault(key string, devs []*inspectDevice) (NMConfValue, bool) {
	var cd *ConfDevice
	if len(devs) > 0 {
		cd = devs[0].confDevice()
	}
	v, ok, _ := b.s.Conf.Lookup("connection", key, cd)
	return v, ok
}

// profileDevices are the devices profile p can run on (NM's
// AvailableConnections) or runs on, among all devices, and among the
// devices selected on the command line.
func (b *builder) profileDevices(p *profileInfo) (all, selected []*inspectDevice) {
	for _, d := range b.allDevs {
		on := slices.Contains(d.nm.AvailableConnections, dbus.ObjectPath(p.Path)) || (d.active != nil && d.active.Path == p.Path) ||
			(d.inNM && p.AppliesTo(d.name, d.nm.Type))
		if !on {
			continue
		}
		all = append(all, d)
		if b.selected == nil || b.selected[d.name] {
			selected = append(selected, d)
		}
	}
	return all, selected
}

// profileNetwork is the network a profile identifies.
func profileNetwork(p *profileInfo) policy.Network {
	return policy.Network{UUID: p.UUID, ID: p.ID, SSID: p.SSID}
}

// anyDevice is the policy's view of "a device this profile may activate
// on" when NM offers it on none now.
func anyDevice(p *profileInfo) policy.Device {
	return policy.Device{Interface: p.InterfaceName, Type: p.nmDeviceType(), Current: placeholderReal, Real: placeholderReal, RealKnown: true}
}

// profiles audits every connection profile.
func (b *builder) profiles() {
	for i := range b.s.Profiles {
		p := &b.s.Profiles[i]
		if !p.audited() {
			continue
		}
		all, devs := b.profileDevices(p)
		if b.selected != nil && len(devs) == 0 && !(len(all) == 0 && b.selected[p.InterfaceName]) {
			continue
		}
		b.profileCloned(p, devs)
		if !b.profileSpoofs(p, devs) {
			continue // the user wants the real address there: identifiers are theirs to give
		}
		b.profileHostname(p, devs)
		b.profileClientID(p, devs)
		b.profileAddrGen(p, devs)
		b.profileDUID(p, devs)
		b.profileIP6Privacy(p, devs)
		b.profileHidden(p, devs)
	}
}

// profileSpoofs reports whether the policy hides the real address on at
// least one device the profile runs on.
func (b *builder) profileSpoofs(p *profileInfo, devs []*inspectDevice) bool {
	n := profileNetwork(p)
	if len(devs) == 0 {
		return gate.Spoofs(b.pol.Select(anyDevice(p), n, b.ex))
	}
	for _, d := range devs {
		if gate.Spoofs(b.pol.Select(d.pd, n, b.ex)) {
			return true
		}
	}
	return false
}

func (b *builder) profileCloned(p *profileInfo, devs []*inspectDevice) {
	var bad []string
	var why, from, value string
	judge := func(name string, pd policy.Device, eff, src string) {
		np := p.Profile
		np.ClonedMAC = eff
		if eff == "permanent" && !pd.RealKnown {
			pd.Real, pd.Current, pd.RealKnown = placeholderReal, placeholderReal, true
		}
		if ok, w := gate.ProfileViolates(b.pol, pd, np, b.ex); ok {
			if name != "" {
				bad = append(bad, name)
			}
			if why == "" {
				why, from, value = w, src, eff
			}
		}
	}
	if len(devs) == 0 {
		eff, src := b.effectiveCloned(p, nil)
		if eff == "permanent" {
			judge("", anyDevice(p), eff, src)
		}
	}
	for _, d := range devs {
		eff, src := b.effectiveCloned(p, d)
		judge(d.name, d.pd, eff, src)
	}
	if why == "" {
		return
	}
	// profileViolates speaks for the running gate; check says what holds now.
	why, _, _ = strings.Cut(why, "; autoconnect is blocked")
	f := Finding{Severity: SeverityViolation, Kind: KindProfileCloned, Devices: bad, Profile: p.ID, UUID: p.UUID, File: from}
	on := "on any device it activates on"
	if len(bad) > 0 {
		on = "on " + strings.Join(bad, ", ")
	}
	if p.Autoconnect && b.s.Service.Running {
		on += "; the gate blocks its autoconnect"
	}
	switch {
	case p.Unavailable && len(p.RefusedOn) > 0:
		on += "; the service keeps NetworkManager from activating it on " + strings.Join(p.RefusedOn, ", ") + " (match.interface-name, in memory)"
	case p.Unavailable:
		on += "; the service keeps NetworkManager from activating it (match.kernel-command-line " + nm.RefusalTerm + ", in memory)"
	}
	f.Message = fmt.Sprintf("%s (%s)", why, on)
	f.Fix = fmt.Sprintf("nmcli connection modify %s %s preserve", p.nmcliRef(), p.MACSetting())
	if from != "" {
		f.Message = fmt.Sprintf("%s: the value %s is NetworkManager's default from %s (the profile leaves it unset) (%s)", why, value, from, on)
		f.Fix = fmt.Sprintf("remove %s from %s, or give the profile its own: %s", p.MACSetting(), from, f.Fix)
	}
	b.add(f)
}

// genericHostname reports whether a host name identifies nothing (shared
// by every installation).
func genericHostname(h string) bool {
	switch strings.ToLower(h) {
	case "", "localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6":
		return true
	}
	return false
}

func dhcp4(p *profileInfo) bool { return p.IPv4Method == "" || p.IPv4Method == "auto" }

func dhcp6(p *profileInfo) bool {
	return p.IPv6Method == "" || p.IPv6Method == "auto" || p.IPv6Method == "dhcp"
}

func ipv6On(p *profileInfo) bool { return p.IPv6Method != "disabled" && p.IPv6Method != "ignore" }

func (b *builder) profileHostname(p *profileInfo, devs []*inspectDevice) {
	sent := func(on bool, send *bool, own string) string {
		if !on || (send != nil && !*send) {
			return ""
		}
		if own != "" {
			return own
		}
		return b.s.Hostname
	}
	h4 := sent(dhcp4(p), p.SendHostname4, p.Hostname4)
	if h4 == "" && dhcp4(p) && (p.SendHostname4 == nil || *p.SendHostname4) && p.FQDN4 != "" {
		h4 = p.FQDN4
	}
	h6 := sent(dhcp6(p), p.SendHostname6, p.Hostname6)
	var parts, fixes []string
	if !genericHostname(h4) {
		parts = append(parts, fmt.Sprintf("%q in DHCPv4 requests", h4))
		fixes = append(fixes, "ipv4.dhcp-send-hostname no")
	}
	if !genericHostname(h6) {
		parts = append(parts, fmt.Sprintf("%q in DHCPv6 requests (when the network offers DHCPv6)", h6))
		fixes = append(fixes, "ipv6.dhcp-send-hostname no")
	}
	if len(parts) == 0 {
		return
	}
	b.add(Finding{Severity: SeverityFinding, Kind: KindDHCPHostname, Devices: names(devs), Profile: p.ID, UUID: p.UUID,
		Message: fmt.Sprintf("profile %s sends the host name %s: every network it joins learns it, whatever the MAC address (dhcp-send-hostname is on by default)", p.label(), strings.Join(parts, " and ")),
		Fix:     fmt.Sprintf("nmcli connection modify %s %s", p.nmcliRef(), strings.Join(fixes, " "))})
}

func (b *builder) profileClientID(p *profileInfo, devs []*inspectDevice) {
	if !dhcp4(p) {
		return
	}
	cid, from := p.ClientID, "the profile"
	if cid == "" {
		if v, ok := b.connDefault("ipv4.dhcp-client-id", devs); ok {
			cid, from = v.Value, "NetworkManager's default from "+v.Where()
		}
	}
	plugin := "internal"
	if v, ok := b.s.Conf.mainValue("dhcp"); ok && v.Value != "" {
		plugin = v.Value
	}
	if cid == "" {
		if plugin != "internal" {
			b.add(Finding{Severity: SeverityNote, Kind: KindDHCPClientID, Devices: names(devs), Profile: p.ID, UUID: p.UUID,
				Message: fmt.Sprintf("profile %s sets no DHCPv4 client id and NetworkManager uses the %s DHCP client: the id it sends comes from that client's own configuration, which check does not read", p.label(), plugin)})
		}
		return // internal client: "mac", the address in use (the spoofed one)
	}
	fix := fmt.Sprintf("nmcli connection modify %s ipv4.dhcp-client-id mac (the address in use) or stable (per network)", p.nmcliRef())
	switch strings.ToLower(cid) {
	case "perm-mac":
		b.add(Finding{Severity: SeverityFinding, Kind: KindDHCPClientID, Devices: names(devs), Profile: p.ID, UUID: p.UUID,
			Message: fmt.Sprintf("profile %s sends the permanent (real) MAC address as DHCPv4 client id (ipv4.dhcp-client-id=perm-mac, from %s): the DHCP server learns the real address whatever address the frames carry", p.label(), from),
			Fix:     fix})
	case "duid":
		b.add(Finding{Severity: SeverityFinding, Kind: KindDHCPClientID, Devices: names(devs), Profile: p.ID, UUID: p.UUID,
			Message: fmt.Sprintf("profile %s sends a DHCPv4 client id built from a DUID derived from /etc/machine-id (ipv4.dhcp-client-id=duid, from %s): the same on every network, it links the machine across networks whatever its MAC address", p.label(), from),
			Fix:     fix})
	}
}

func (b *builder) profileAddrGen(p *profileInfo, devs []*inspectDevice) {
	if !ipv6On(p) || p.Token != "" {
		return
	}
	mode, from := int32(addrGenDefault), "NetworkManager's default"
	if p.AddrGenMode != nil {
		mode, from = *p.AddrGenMode, "the profile"
	}
	if mode == addrGenDefault || mode == addrGenDefaultOrEUI64 {
		fallback := int32(addrGenStablePrivacy)
		if mode == addrGenDefaultOrEUI64 {
			fallback = addrGenEUI64
		}
		mode = fallback
		if v, ok := b.connDefault("ipv6.addr-gen-mode", devs); ok {
			switch strings.ToLower(v.Value) {
			case "0", "eui64":
				mode = addrGenEUI64
			case "1", "stable-privacy":
				mode = addrGenStablePrivacy
			}
			from = "NetworkManager's default from " + v.Where()
		}
	}
	if mode != addrGenEUI64 {
		return
	}
	priv, pfrom := b.ip6Privacy(p, devs)
	if priv == ip6PrivacyPreferTemp {
		return
	}
	state := fmt.Sprintf("ipv6.ip6-privacy is %d (%s), so they are used for outgoing connections", priv, pfrom)
	if priv < 0 {
		state = "whether temporary addresses are preferred could not be determined (" + pfrom + ")"
	}
	b.add(Finding{Severity: SeverityFinding, Kind: KindIPv6AddrGenEUI64, Devices: names(devs), Profile: p.ID, UUID: p.UUID,
		Message: fmt.Sprintf("profile %s makes IPv6 addresses from the MAC address in use (ipv6.addr-gen-mode=eui64, from %s): every IPv6 peer sees the MAC address (the real one whenever the gate lets it through); %s", p.label(), from, state),
		Fix:     fmt.Sprintf("nmcli connection modify %s ipv6.addr-gen-mode stable-privacy ipv6.ip6-privacy 2", p.nmcliRef())})
}

// ip6Privacy is the ipv6.ip6-privacy NM applies: the profile's, else
// NetworkManager.conf's default, else the kernel's
// net.ipv6.conf.default.use_tempaddr; -1 when unknown.
func (b *builder) ip6Privacy(p *profileInfo, devs []*inspectDevice) (int32, string) {
	if p.IP6Privacy != nil && *p.IP6Privacy >= 0 {
		return *p.IP6Privacy, "the profile"
	}
	if v, ok := b.connDefault("ipv6.ip6-privacy", devs); ok {
		if n, err := strconv.Atoi(v.Value); err == nil && n >= 0 {
			return int32(n), "NetworkManager's default from " + v.Where()
		}
	}
	if b.s.UseTempaddr >= 0 {
		return int32(min(b.s.UseTempaddr, ip6PrivacyPreferTemp)), "net.ipv6.conf.default.use_tempaddr"
	}
	return -1, "net.ipv6.conf.default.use_tempaddr could not be read"
}

func (b *builder) profileDUID(p *profileInfo, devs []*inspectDevice) {
	if !dhcp6(p) {
		return
	}
	duid, from := p.DUID, "the profile"
	if duid == "" {
		duid, from = "lease", "NetworkManager's built-in default"
		if v, ok := b.connDefault("ipv6.dhcp-duid", devs); ok && v.Value != "" {
			duid, from = v.Value, "NetworkManager's default from "+v.Where()
		}
	}
	fix := fmt.Sprintf("nmcli connection modify %s ipv6.dhcp-duid stable-uuid (derived from the profile and a per-host key: one DUID per network)", p.nmcliRef())
	f := Finding{Severity: SeverityFinding, Kind: KindDHCPv6DUID, Devices: names(devs), Profile: p.ID, UUID: p.UUID, Fix: fix}
	switch strings.ToLower(duid) {
	case "lease":
		f.Message = fmt.Sprintf("profile %s uses ipv6.dhcp-duid=lease (from %s): the DUID of an earlier lease of this profile, else a DUID-UUID derived from /etc/machine-id — the same on every network, so DHCPv6 servers can link the machine across networks whatever its MAC address (check does not read NetworkManager's lease files, so which of the two is sent is not determined)", p.label(), from)
	case "llt":
		f.Message = fmt.Sprintf("profile %s uses ipv6.dhcp-duid=llt (from %s): built from the MAC address in use plus a timestamp NetworkManager keeps constant for every profile of this machine, which links it across networks", p.label(), from)
	default:
		return // ll (address in use), stable-* (per profile), or an explicit DUID of this profile
	}
	b.add(f)
}

// nmConfFindings audits NetworkManager.conf.
func (b *builder) nmConfFindings() {
	c := b.s.Conf
	const key = "wifi.scan-rand-mac-address"
	reported := map[string]bool{}
	for _, d := range b.devs {
		if d.nm.Type != "wifi" {
			continue
		}
		v, ok, exact := c.Lookup("device", key, d.confDevice())
		if !ok {
			continue
		}
		if on, valid := parseNMBool(v.Value); valid && on {
			continue
		}
		reported[v.Where()] = true
		msg := fmt.Sprintf("%s=%s at %s applies to %s: NetworkManager scans with the real address, which every access point in range sees", key, v.Value, v.Where(), d.name)
		if !exact {
			msg += " (its match-device has a part check does not evaluate; taken to match)"
		}
		b.add(Finding{Severity: SeverityFinding, Kind: KindScanRandOff, Devices: []string{d.name}, File: v.Where(), Message: msg,
			Fix: fmt.Sprintf("remove %s from %s (the default is yes) and restart NetworkManager", key, v.File)})
	}
	// Settings that no present Wi-Fi device uses now.
	for i, s := range c.Sections {
		if sectionFamily(s.Name) != "device" {
			continue
		}
		v, ok := s.Keys[key]
		if !ok || reported[v.Where()] {
			continue
		}
		if on, valid := parseNMBool(v.Value); valid && on {
			continue
		}
		spec, hasSpec := s.Keys["match-device"]
		if !hasSpec {
			if overriddenForAll(c.Sections[:i], key) {
				continue
			}
			b.add(Finding{Severity: SeverityFinding, Kind: KindScanRandOff, File: v.Where(),
				Message: fmt.Sprintf("%s=%s at %s applies to every Wi-Fi device: NetworkManager would scan with the real address", key, v.Value, v.Where()),
				Fix:     fmt.Sprintf("remove %s from %s (the default is yes) and restart NetworkManager", key, v.File)})
			continue
		}
		b.add(Finding{Severity: SeverityNote, Kind: KindScanRandOff, File: v.Where(),
			Message: fmt.Sprintf("%s=%s at %s applies to devices matching %q; none present now matches", key, v.Value, v.Where(), spec.Value)})
	}
	// A [connection] default that makes NM use the real address.
	for _, k := range []string{"ethernet.cloned-mac-address", "wifi.cloned-mac-address"} {
		for _, s := range c.Sections {
			if sectionFamily(s.Name) != "connection" {
				continue
			}
			v, ok := s.Keys[k]
			if !ok || !strings.EqualFold(v.Value, "permanent") {
				continue
			}
			if !gate.Spoofs(b.pol.Select(policy.Device{}, policy.Network{}, nil)) {
				continue
			}
			b.add(Finding{Severity: SeverityFinding, Kind: KindConfCloned, File: v.Where(),
				Message: fmt.Sprintf("%s=permanent at %s makes the real address NetworkManager's default for every profile that leaves %s unset, but the policy spoofs by default", k, v.Where(), k),
				Fix:     fmt.Sprintf("remove %s from %s and restart NetworkManager", k, v.File)})
		}
	}
}

// overriddenForAll reports whether a section of higher precedence without
// match-device sets key to yes.
func overriddenForAll(higher []NMConfSection, key string) bool {
	for _, s := range higher {
		if sectionFamily(s.Name) != "device" {
			continue
		}
		if _, has := s.Keys["match-device"]; has {
			continue
		}
		if v, ok := s.Keys[key]; ok {
			on, valid := parseNMBool(v.Value)
			return valid && on
		}
	}
	return false
}

func names(devs []*inspectDevice) []string {
	var out []string
	for _, d := range devs {
		out = append(out, d.name)
	}
	return out
}
