// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/backstop"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// inspectDevice is one device being judged: what the kernel and NM say
// about it and the policy's view.
type inspectDevice struct {
	name     string
	link     links.Link
	inKernel bool
	nm       nm.Device
	inNM     bool
	current  net.HardwareAddr
	real     net.HardwareAddr
	source   string
	why      string // why the real address is unknown
	pd       policy.Device
	network  policy.Network
	active   *profileInfo
}

// ConfDevice is the device as NetworkManager.conf match specs see it.
func (d *inspectDevice) confDevice() *ConfDevice {
	cd := &ConfDevice{Interface: d.name, Driver: d.nm.Driver, Type: d.nm.Type}
	for _, a := range []net.HardwareAddr{d.current, d.real} {
		if len(a) == 6 {
			cd.MACs = append(cd.MACs, a.String())
		}
	}
	return cd
}

// builder holds the state of one buildReport run.
type builder struct {
	s        *inspectSnapshot
	r        *CheckReport
	pol      *policy.Policy
	ex       []policy.Exemption
	devs     []*inspectDevice // the devices reported (selected on the command line)
	allDevs  []*inspectDevice // every device
	selected map[string]bool  // nil: every device
}

// buildReport judges a snapshot. It does no I/O.
func buildReport(s *inspectSnapshot) CheckReport {
	r := CheckReport{Format: CheckFormat, Time: s.Now, Devices: []CheckDevice{}, Findings: []Finding{}}
	b := &builder{s: s, r: &r}
	if len(s.Interfaces) > 0 {
		b.selected = map[string]bool{}
		for _, n := range s.Interfaces {
			b.selected[n] = true
		}
	}
	b.policy()
	b.sources()
	b.collectDevices()
	for _, d := range b.devs {
		b.device(d)
	}
	b.profiles()
	b.nmConfFindings()
	b.bluetoothFindings()
	b.p2pFindings()
	b.serviceFindings()
	b.finish()
	return r
}

func (b *builder) add(f Finding) { b.r.Findings = append(b.r.Findings, f) }

// policy settles the policy to evaluate with: the files, or the built-in
// default when they are invalid (a finding), with the runtime spoof switch
// of the state file applied.
func (b *builder) policy() {
	s, r := b.s, b.r
	r.Policy.Sources = append([]string{}, s.PolicySources...)
	r.Policy.StateFile = s.StatePath
	r.Policy.BootStateFile = s.BootStatePath
	pol := s.Policy
	if s.PolicyErr != nil || pol == nil {
		pol = policy.FailClosed()
		r.Policy.BuiltinDefault = true
		msg := "the policy could not be used"
		if s.PolicyErr != nil {
			msg = s.PolicyErr.Error()
			r.Policy.Error = msg
		}
		b.add(Finding{Severity: SeverityFinding, Kind: KindPolicyInvalid,
			Message: "invalid policy: " + msg + "; check evaluated with the built-in default (spoof every device, keep-vendor, refuse)",
			Fix:     "fix the file (mac-nmguard policy validate names file:line:column); a running service keeps its last good policy until then"})
	} else {
		r.Policy.BuiltinDefault = len(pol.Sources) == 0
	}
	if bs := s.BootState; bs != nil && bs.Spoof != nil {
		r.Policy.SpoofOverride = bs.Spoof
		if *bs.Spoof != pol.Spoof {
			p := *pol
			p.Spoof = *bs.Spoof
			pol = &p
		}
	}
	r.Policy.Spoof = pol.Spoof
	b.pol = pol
	if s.StateErr != nil {
		r.Policy.StateError = s.StateErr.Error()
		b.add(Finding{Severity: SeverityNote, Kind: KindStateUnreadable,
			Message: "the service's state file could not be read (" + s.StateErr.Error() + "): its lasting exemptions are unknown"})
	}
	if s.BootStateErr != nil {
		r.Policy.BootStateError = s.BootStateErr.Error()
		b.add(Finding{Severity: SeverityNote, Kind: KindStateUnreadable,
			Message: "the service's per-boot state could not be read (" + s.BootStateErr.Error() + "): this boot's first-seen real addresses and runtime spoof switch are unknown, so devices without a permanent address count as unknown (fail closed)"})
	}
	switch {
	case s.Service.Status != nil:
		b.ex = s.Service.Status.Exemptions
	case s.State != nil:
		b.ex = s.State.Exemptions
	}
}

// sources records what could be read and the errors that make the check
// incomplete.
func (b *builder) sources() {
	s, r := b.s, b.r
	if s.LinksErr != nil {
		r.Kernel.Error = s.LinksErr.Error()
		b.add(Finding{Severity: SeverityNote, Kind: KindKernelUnavailable,
			Message: "could not read the kernel's devices over netlink: " + s.LinksErr.Error()})
	}
	if s.GuardErr != nil {
		r.Kernel.BackstopError = s.GuardErr.Error()
		b.add(Finding{Severity: SeverityNote, Kind: KindBackstopUnknown,
			Message: "could not read the kernel backstop (nftables; needs root): " + s.GuardErr.Error()})
	}
	r.NM.Running = s.NMErr == nil
	r.NM.Version = s.NMVersion
	r.NM.Hostname = s.Hostname
	r.NM.Profiles = len(s.Profiles)
	r.NM.ConfFiles = append([]string{}, s.Conf.Files...)
	if s.NMErr != nil {
		r.NM.Error = s.NMErr.Error()
		b.add(Finding{Severity: SeverityNote, Kind: KindNMUnavailable,
			Message: "could not read NetworkManager: " + s.NMErr.Error() + "; devices are shown as the kernel sees them, profiles were not audited",
			Fix:     "start NetworkManager (systemctl start NetworkManager) and run check again"})
	}
	if s.ConfErr != nil {
		r.NM.ConfError = s.ConfErr.Error()
		b.add(Finding{Severity: SeverityNote, Kind: KindConfUnreadable,
			Message: "could not read NetworkManager's configuration files: " + s.ConfErr.Error() + "; wifi.scan-rand-mac-address and the connection defaults were not checked"})
	}
	r.Service.Running = s.Service.Running
	r.Service.Status = s.Service.Status
	r.Service.Suspicions = append([]api.Suspicion{}, s.Service.Suspicions...)
	if s.Service.Err != nil {
		r.Service.Error = s.Service.Err.Error()
	}
}

// collectDevices merges the kernel's links and NM's devices by name.
func (b *builder) collectDevices() {
	s := b.s
	byName := map[string]*inspectDevice{}
	get := func(name string) *inspectDevice {
		d, ok := byName[name]
		if !ok {
			d = &inspectDevice{name: name}
			byName[name] = d
			b.devs = append(b.devs, d)
		}
		return d
	}
	for _, l := range s.Links {
		if !gate.Guardable(l.Name, l.Addr) {
			continue
		}
		d := get(l.Name)
		d.link, d.inKernel = l, true
	}
	for _, nd := range s.NMDevices {
		if nd.Interface == "" || nd.Interface == "lo" || nd.Type == "loopback" {
			continue
		}
		hw, err := net.ParseMAC(nd.HwAddress)
		if _, ok := byName[nd.Interface]; !ok && (err != nil || len(hw) != 6) {
			continue // not an Ethernet-style device (and not in the kernel view)
		}
		d := get(nd.Interface)
		d.nm, d.inNM = nd, true
	}
	sort.SliceStable(b.devs, func(i, j int) bool {
		a, c := b.devs[i], b.devs[j]
		if a.inKernel != c.inKernel {
			return a.inKernel
		}
		if a.link.Index != c.link.Index {
			return a.link.Index < c.link.Index
		}
		return a.name < c.name
	})
	profiles := map[string]*profileInfo{}
	for i := range s.Profiles {
		profiles[string(s.Profiles[i].Path)] = &s.Profiles[i]
	}
	for _, d := range b.devs {
		d.current = d.link.Addr
		if !d.inKernel {
			d.current, _ = net.ParseMAC(d.nm.HwAddress)
		}
		d.real, d.source, d.why = RealAddress(d.link, d.inKernel, d.nm.PermHwAddress, b.s.BootState)
		d.pd = policy.Device{Interface: d.name, Type: d.nm.Type, Driver: d.nm.Driver}
		if m, err := policy.FromHardwareAddr(d.current); err == nil {
			d.pd.Current = m
		}
		if m, err := policy.FromHardwareAddr(d.real); err == nil {
			d.pd.Real, d.pd.RealKnown = m, true
		}
		if ap, ok := s.Active[d.nm.Path]; ok && d.inNM {
			pi := profileInfo{Profile: ap}
			if full, ok := profiles[string(ap.Path)]; ok {
				pi = *full
			}
			d.active = &pi
			if gate.Activating(d.nm.State) {
				d.network = policy.Network{UUID: ap.UUID, ID: ap.ID, SSID: ap.SSID}
			}
		}
	}
	b.classifyDevices()
	b.allDevs = b.devs
	if b.selected != nil {
		var kept []*inspectDevice
		for _, d := range b.devs {
			if b.selected[d.name] {
				kept = append(kept, d)
			}
		}
		b.devs = kept
	}
}

// RealAddress is the service's real-address rule (gate.PermanentAddress,
// then the first-seen address), read-only, for a link (inKernel: the kernel
// knows it) whose NetworkManager PermHwAddress is nmPerm: the kernel's
// permanent address, NM's PermHwAddress, the first address the service saw
// (its per-boot state st, same ifindex only), else unknown. It returns the
// address, where it came from and, when unknown, why.
func RealAddress(link links.Link, inKernel bool, nmPerm string, st *state.BootState) (net.HardwareAddr, string, string) {
	if hw, src := gate.PermanentAddress(link.PermAddr, nmPerm); hw != nil {
		return hw, src, ""
	}
	if st == nil {
		return nil, gate.RealUnknown, "no permanent address in the kernel or NetworkManager, and no per-boot state of the service for this boot to say which address it saw first"
	}
	fs, ok := st.FirstSeen[state.Key(link.Name)]
	if !ok {
		return nil, gate.RealUnknown, "no permanent address in the kernel or NetworkManager, and the service has not recorded a first-seen address for it in this boot"
	}
	if inKernel && fs.Index != link.Index {
		return nil, gate.RealUnknown, fmt.Sprintf("no permanent address; the service's first-seen address %s belongs to an earlier device of this name (ifindex %d, now %d)", fs.Addr, fs.Index, link.Index)
	}
	if fs.Addr == "" {
		return nil, gate.RealUnknown, "no permanent address, and the service lost its record of this card's first address while the card was up: its real address cannot be known in this boot"
	}
	hw, ok := gate.ParseKnownAddress(fs.Addr)
	if !ok {
		return nil, gate.RealUnknown, fmt.Sprintf("the first-seen address %q in the per-boot state is not valid", fs.Addr)
	}
	return hw, gate.RealFromFirstSeen, ""
}

// autoconnectProfiles are the autoconnect profiles NM could activate on d,
// with NM's configured default cloned-mac-address applied where the
// profile leaves it unset.
func (b *builder) autoconnectProfiles(d *inspectDevice) []nm.Profile {
	var out []nm.Profile
	for i := range b.s.Profiles {
		p := &b.s.Profiles[i]
		// As the service does (profilesFor): NM could autoconnect it here.
		if !p.Autoconnect || !p.AppliesTo(d.name, d.nm.Type) {
			continue
		}
		np := p.Profile
		np.ClonedMAC, _ = b.effectiveCloned(p, d)
		out = append(out, np)
	}
	return out
}

// device judges one device and reports it.
func (b *builder) device(d *inspectDevice) {
	view := gate.View{Device: d.pd, State: d.nm.State, Network: d.network, Profiles: b.autoconnectProfiles(d)}
	if d.active != nil {
		view.ActiveClonedMAC, _ = b.effectiveCloned(d.active, d)
	}
	dec := gate.Decide(b.pol, view, b.ex, nil)
	v := dec.Verdict
	cd := CheckDevice{
		Interface:   d.name,
		Index:       d.link.Index,
		Kind:        d.link.Kind,
		Up:          d.link.Up,
		Carrier:     d.link.Carrier,
		NMType:      d.nm.Type,
		Driver:      d.nm.Driver,
		Address:     d.current.String(),
		RealSource:  d.source,
		Mode:        string(v.Mode),
		Enforcement: string(v.Enforcement),
		Rule:        v.Rule,
		Exempt:      v.Exempt,
		Reason:      v.Reason,
		Gate:        gateWords(dec, view),
		Backstop:    "none",
	}
	if d.inNM {
		cd.NMState = nm.StateName(d.nm.State)
	}
	if d.real != nil {
		cd.Real = d.real.String()
	}
	if d.active != nil {
		cd.Connection, cd.UUID, cd.SSID = d.active.ID, d.active.UUID, d.active.SSID
		cd.Identifiers = b.identifiers(d, d.active, b.s.BootState)
	}
	switch {
	case !v.Guarded:
		cd.Verdict = VerdictNotGuarded
	case v.Allowed:
		cd.Verdict = VerdictCompliant
	default:
		cd.Verdict = VerdictViolation
	}
	if !d.pd.RealKnown {
		cd.Reason += " (" + d.why + ")"
	}
	for _, a := range b.s.IPv6[d.link.Index] {
		if d.inKernel {
			cd.IPv6 = append(cd.IPv6, a.String())
		}
	}
	for _, sd := range b.s.Service.Devices {
		if sd.Interface == d.name {
			cd.ServiceGate = sd.Gate
		}
	}
	b.backstop(d, &cd, v)
	if cd.Verdict == VerdictViolation {
		b.add(b.deviceViolation(d, v))
	}
	b.eui64(d)
	if d.nm.Type == "wifi" && gate.Spoofs(v) {
		b.add(Finding{Severity: SeverityNote, Kind: KindWifiManagement, Devices: []string{d.name},
			Message: d.name + " is Wi-Fi: probe, authentication and association frames are built by the driver and never pass the kernel backstop, so only the gate's at-rest layer (an address set before NetworkManager associates) protects them"})
	}
	b.r.Devices = append(b.r.Devices, cd)
}

// gateWords says in plain words what the gate does about the device.
func gateWords(dec gate.Decision, view gate.View) string {
	v := dec.Verdict
	switch {
	case !v.Guarded:
		return "not guarded"
	case v.Enforcement == policy.EnforceAudit && !v.Allowed:
		return "audit only: the violation is logged, not enforced"
	case dec.Block && !view.Device.RealKnown:
		return "keeps it down: the real address is unknown"
	case dec.Disconnect && dec.Spoof:
		return "remediates: takes the link down, disconnects, sets a compliant address and reconnects"
	case dec.Disconnect:
		return "refuses: takes the link down, disconnects it and turns NetworkManager's autoconnect off"
	case dec.Spoof:
		return "sets a compliant address while the device is down"
	case dec.Block:
		return "blocks autoconnect: " + dec.Reason
	}
	return "allows it"
}

// deviceViolation is the finding of a device whose address breaks policy.
func (b *builder) deviceViolation(d *inspectDevice, v policy.Verdict) Finding {
	f := Finding{Severity: SeverityViolation, Kind: KindDeviceViolation, Devices: []string{d.name},
		Message: fmt.Sprintf("%s: %s", d.name, v.Reason)}
	switch {
	case !d.pd.RealKnown && gate.Spoofs(v):
		f.Kind = KindRealUnknown
		f.Message = fmt.Sprintf("%s: the real address is unknown (%s), so nothing shows that %s differs from it", d.name, d.why, d.current)
		f.Fix = "run the service (mac-nmguard run): it records the address it sees first as the real one for devices without a permanent address, and keeps the device down until then"
	case d.pd.RealKnown && d.pd.Current == d.pd.Real && gate.Spoofs(v):
		f.Fix = fmt.Sprintf("run the service (mac-nmguard run): it sets a compliant address while %s is down; or allow the real address for it in the policy (a [[device]] or [[network]] rule with mode = \"permanent\")", d.name)
	case v.Mode == policy.ModePermanent:
		f.Fix = fmt.Sprintf("give %s its real address back (ip link set %s down; ip link set %s address %s), or change the policy", d.name, d.name, d.name, d.real)
	default:
		f.Fix = fmt.Sprintf("run the service (mac-nmguard run): it sets a compliant address while %s is down; or change the policy rule that applies (%s)", d.name, v.Rule)
	}
	return f
}

// backstop fills the device's backstop state and reports a missing guard.
func (b *builder) backstop(d *inspectDevice, cd *CheckDevice, v policy.Verdict) {
	if b.s.GuardErr != nil {
		cd.Backstop = "unknown"
		return
	}
	var rule *backstop.Rule
	for i := range b.s.Guards {
		if b.s.Guards[i].Interface == d.name {
			rule = &b.s.Guards[i]
		}
	}
	if rule != nil {
		cd.Dropped = rule.Dropped
		if rule.Hold {
			cd.Backstop = "hold"
		} else {
			cd.Backstop = "guarding " + rule.Real.String()
		}
	}
	if !d.inKernel || !gate.Spoofs(v) || !d.pd.RealKnown {
		return
	}
	fix := "run the service (mac-nmguard run): it installs the backstop for every device whose policy spoofs; the rules stay in the kernel when it stops"
	switch {
	case rule == nil:
		b.add(Finding{Severity: SeverityFinding, Kind: KindBackstopMissing, Devices: []string{d.name},
			Message: fmt.Sprintf("no kernel backstop guards %s: a frame sent with the real address %s would leave the machine", d.name, d.real),
			Fix:     fix})
	case !rule.Hold && !bytes.Equal(rule.Real, d.real):
		b.add(Finding{Severity: SeverityFinding, Kind: KindBackstopMissing, Devices: []string{d.name},
			Message: fmt.Sprintf("the kernel backstop on %s drops frames from %s, but its real address is %s", d.name, rule.Real, d.real),
			Fix:     fix})
	}
}

// eui64 reports IPv6 addresses whose interface identifier is the EUI-64
// of the real address: they carry it beyond the local link.
func (b *builder) eui64(d *inspectDevice) {
	if !d.inKernel || !d.pd.RealKnown {
		return
	}
	iid := eui64IID(d.real)
	var bad []string
	for _, a := range b.s.IPv6[d.link.Index] {
		if a.Is6() && !a.Is4In6() {
			b16 := a.As16()
			if bytes.Equal(b16[8:], iid[:]) {
				bad = append(bad, a.String())
			}
		}
	}
	if len(bad) == 0 {
		return
	}
	b.add(Finding{Severity: SeverityFinding, Kind: KindIPv6EUI64Address, Devices: []string{d.name},
		Message: fmt.Sprintf("%s has IPv6 address(es) %s built from the real address %s (EUI-64): every IPv6 peer can read the real address from them", d.name, strings.Join(bad, ", "), d.real),
		Fix:     fmt.Sprintf("set ipv6.addr-gen-mode stable-privacy on the profile used on %s (nmcli connection modify UUID ipv6.addr-gen-mode stable-privacy) and reactivate it; an address the kernel made before NetworkManager managed the device goes with ip -6 addr flush dev %s scope link", d.name, d.name)})
}

// eui64IID is the modified EUI-64 interface identifier of a MAC address.
func eui64IID(mac net.HardwareAddr) [8]byte {
	return [8]byte{mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}
}

// serviceFindings reports the service's state.
func (b *builder) serviceFindings() {
	s := b.s.Service
	switch {
	case !s.Running:
		msg := "the service is not running: nothing gates new activations (a kernel backstop left in place still drops frames with the real address)"
		if s.Err != nil {
			msg += " (" + s.Err.Error() + ")"
		}
		b.add(Finding{Severity: SeverityNote, Kind: KindServiceDown, Message: msg,
			Fix: "start it: systemctl start mac-nmguard (or mac-nmguard run)"})
	case s.Err != nil:
		b.add(Finding{Severity: SeverityNote, Kind: KindServiceError,
			Message: "the service runs but did not answer every question: " + s.Err.Error()})
	}
	for _, sp := range s.Suspicions {
		if b.selected != nil && !b.selected[sp.Device] {
			continue
		}
		net := sp.Connection.ID
		if sp.Connection.SSID != "" {
			net = sp.Connection.SSID
		}
		b.add(Finding{Severity: SeverityNote, Kind: KindSuspicion, Devices: []string{sp.Device}, Profile: sp.Connection.ID, UUID: sp.Connection.UUID,
			Message: fmt.Sprintf("network %q on %s may reject the private address (%s, %s confidence): %s", net, sp.Device, sp.Kind, sp.Confidence, sp.Reason),
			Fix:     "answer the desktop notification: use the real address for this network, or keep the private address"})
	}
}

// severityRank orders findings: violations first, notes last.
func severityRank(sev string) int {
	switch sev {
	case SeverityViolation:
		return 0
	case SeverityFinding:
		return 1
	}
	return 2
}

// finish orders the findings and sets the verdict and the exit code.
func (b *builder) finish() {
	r := b.r
	sort.SliceStable(r.Findings, func(i, j int) bool {
		return severityRank(r.Findings[i].Severity) < severityRank(r.Findings[j].Severity)
	})
	r.Compliant = true
	for _, f := range r.Findings {
		if f.Severity != SeverityNote {
			r.Compliant = false
		}
	}
	switch {
	case b.s.NMErr != nil || b.s.LinksErr != nil:
		r.ExitCode = CheckExitNoCheck
		r.Compliant = false
	case !r.Compliant:
		r.ExitCode = CheckExitFindings
	default:
		r.ExitCode = CheckExitCompliant
	}
}

// ipv6Sorted returns the addresses of m sorted, for stable output.
func ipv6Sorted(as []netip.Addr) []netip.Addr {
	out := append([]netip.Addr(nil), as...)
	slices.SortFunc(out, func(a, c netip.Addr) int { return a.Compare(c) })
	return out
}
