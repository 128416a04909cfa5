// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"fmt"
	"strings"
	"time"
)

// Mode says which address a guarded device may use.
type Mode string

// The modes. See the package documentation for what each allows.
const (
	ModeKeepVendor Mode = "keep-vendor" // real vendor prefix, random NIC bytes
	ModeVendor     Mode = "vendor"      // prefix from the vendor list, random NIC bytes
	ModeRandom     Mode = "random"      // random, locally administered, unicast
	ModeStable     Mode = "stable"      // keyed hash of a machine secret and the network
	ModePermanent  Mode = "permanent"   // the real address (the opt-out)
	ModeIgnore     Mode = "ignore"      // not guarded at all
)

// Modes returns every valid mode, in documentation order.
func Modes() []Mode {
	return []Mode{ModeKeepVendor, ModeVendor, ModeRandom, ModeStable, ModePermanent, ModeIgnore}
}

// Valid reports whether m is one of the defined modes.
func (m Mode) Valid() bool {
	for _, v := range Modes() {
		if m == v {
			return true
		}
	}
	return false
}

// Spoofs reports whether m asks for an address other than the real one.
func (m Mode) Spoofs() bool {
	switch m {
	case ModeKeepVendor, ModeVendor, ModeRandom, ModeStable:
		return true
	}
	return false
}

// ParseMode parses a mode name; the error lists the valid ones.
func ParseMode(s string) (Mode, error) {
	if m := Mode(s); m.Valid() {
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q (want one of %s)", s, joinQuoted(Modes()))
}

// Enforcement says what the gate does about a violation.
type Enforcement string

// The enforcements.
const (
	EnforceRefuse    Enforcement = "refuse"    // block the device and tell the user
	EnforceRemediate Enforcement = "remediate" // set a compliant address, then reactivate
	EnforceAudit     Enforcement = "audit"     // log only
)

// Enforcements returns every valid enforcement.
func Enforcements() []Enforcement {
	return []Enforcement{EnforceRefuse, EnforceRemediate, EnforceAudit}
}

// Valid reports whether e is one of the defined enforcements.
func (e Enforcement) Valid() bool {
	for _, v := range Enforcements() {
		if e == v {
			return true
		}
	}
	return false
}

// ParseEnforcement parses an enforcement name; the error lists the valid ones.
func ParseEnforcement(s string) (Enforcement, error) {
	if e := Enforcement(s); e.Valid() {
		return e, nil
	}
	return "", fmt.Errorf("unknown enforcement %q (want one of %s)", s, joinQuoted(Enforcements()))
}

// Offer says whether the desktop is offered the real address when a
// network seems to refuse the private one.
type Offer string

// The offer settings.
const (
	// OfferAsk: the service signals a suspicion, and the desktop agent asks
	// the user (within the limits the service keeps against hostile
	// networks).
	OfferAsk Offer = "ask"
	// OfferNever: a suspicion is only logged; nothing is offered. For
	// systems where no network may make the computer show its real address
	// on its own (Tails-like systems).
	OfferNever Offer = "never"
)

// Offers returns every valid offer setting.
func Offers() []Offer { return []Offer{OfferAsk, OfferNever} }

// Valid reports whether o is one of the defined offer settings.
func (o Offer) Valid() bool { return o == OfferAsk || o == OfferNever }

// ParseOffer parses an offer setting; the error lists the valid ones.
func ParseOffer(s string) (Offer, error) {
	if o := Offer(s); o.Valid() {
		return o, nil
	}
	return "", fmt.Errorf("unknown offer %q (want one of %s)", s, joinQuoted(Offers()))
}

func joinQuoted[T ~string](vs []T) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// Device is what the policy needs to know about a network device.
type Device struct {
	Interface string // kernel name
	Type      string // NM device type name: "ethernet", "wifi", "veth", ... ("" unknown)
	Driver    string
	Current   MAC  // address in use (or the one a profile would set)
	Real      MAC  // real (permanent) address; meaningful only when RealKnown
	RealKnown bool // false, or a zero Real, means the real address is unknown
	// Class is what is behind the device (sysfs); unset and unknown are
	// treated as a card.
	Class Class
	// Carries names the device (guarded on its own) whose real address a
	// virtual device carries ("" none): such a device is guarded under
	// guard = "auto".
	Carries string
}

// realKnown reports whether the real address can be relied on: a zero
// address is treated as unknown (fail closed).
func (d Device) realKnown() bool { return d.RealKnown && !d.Real.IsZero() }

// Network identifies the network a device is (about to be) connected to.
// The zero value means no network: the device is at rest.
type Network struct{ UUID, ID, SSID string }

// IsZero reports whether n names no network.
func (n Network) IsZero() bool { return n == Network{} }

// Scope is how long a runtime exemption lasts.
type Scope string

// The scopes.
const (
	ScopeOnce   Scope = "once"   // this connection attempt only
	ScopeAlways Scope = "always" // until revoked
)

// Exemption is a runtime decision of the user: use the real address on
// this network, or (Mode stable) keep one private address for it. The
// service keeps them in its state file and passes them to Select and
// Evaluate.
type Exemption struct {
	Interface string // "" = any device
	UUID      string // match by connection UUID, or
	SSID      string // by SSID (either may be empty, not both; both set: both must match)
	Scope     Scope
	// Mode is "" for the real address (the exemption proper), or
	// ModeStable: the same private address for this network at every
	// connection (a captive portal that forgets the address), which
	// spoof = false still overrides.
	Mode Mode `json:",omitempty"`
}

// Real reports whether the exemption gives the network the real address.
func (e Exemption) Real() bool { return e.Mode == "" }

// Validate reports what is wrong with e.
func (e Exemption) Validate() error {
	if e.UUID == "" && e.SSID == "" {
		return fmt.Errorf("exemption names neither a connection UUID nor an SSID")
	}
	if e.UUID != "" {
		if err := checkUUID(e.UUID); err != nil {
			return fmt.Errorf("exemption: %w", err)
		}
	}
	if e.Scope != ScopeOnce && e.Scope != ScopeAlways {
		return fmt.Errorf("exemption: unknown scope %q (want %q or %q)", e.Scope, ScopeOnce, ScopeAlways)
	}
	if e.Mode != "" && e.Mode != ModeStable {
		return fmt.Errorf("exemption: mode %q (want none for the real address, or %q)", e.Mode, ModeStable)
	}
	return nil
}

// matches reports whether e applies to device d on network n.
func (e Exemption) matches(d Device, n Network) bool {
	if n.IsZero() || (e.UUID == "" && e.SSID == "") {
		return false
	}
	if e.Interface != "" && e.Interface != d.Interface {
		return false
	}
	if e.UUID != "" && !strings.EqualFold(e.UUID, n.UUID) {
		return false
	}
	if e.SSID != "" && e.SSID != n.SSID {
		return false
	}
	return true
}

func (e Exemption) describe() string {
	scope := e.Scope
	if scope == "" {
		scope = ScopeOnce
	}
	var b strings.Builder
	if e.Mode == ModeStable {
		fmt.Fprintf(&b, "the user's choice: the same private address (%s)", scope)
	} else {
		fmt.Fprintf(&b, "exemption (%s)", scope)
	}
	if e.SSID != "" {
		fmt.Fprintf(&b, " ssid %q", e.SSID)
	}
	if e.UUID != "" {
		fmt.Fprintf(&b, " uuid %s", e.UUID)
	}
	if e.Interface != "" {
		fmt.Fprintf(&b, " on %s", e.Interface)
	}
	return b.String()
}

// Verdict is the policy's answer for one device on one network.
type Verdict struct {
	Allowed     bool
	Guarded     bool        // false for mode ignore, and when the guard setting leaves the device alone
	Mode        Mode        // the mode that applied (after spoof=false / exemptions)
	Enforcement Enforcement // what to do about a violation
	Rule        string      // where it came from, e.g. "built-in default"
	Reason      string      // plain words, e.g. "address equals the real address but policy says keep-vendor"
	Exempt      bool        // a runtime exemption applied
	// Identifiers is the identifiers setting that applied (hide or
	// report) and IdentifiersRule where it came from; see HidesIdentifiers.
	Identifiers     Identifiers
	IdentifiersRule string
}

// DetectSettings are the [detect] section: thresholds of the failure
// detector.
type DetectSettings struct {
	Window              Duration `json:"window"`               // default 5m
	AuthLoopRounds      int      `json:"auth_loop_rounds"`     // default 3 (NEED_AUTH rounds for one connection within Window)
	AuthFailures        int      `json:"auth_failures"`        // default 1 (FAILED with 7..11)
	DHCPFailures        int      `json:"dhcp_failures"`        // default 2 (FAILED with 5, with carrier)
	AssociationTimeouts int      `json:"association_timeouts"` // default 2 (NEED_AUTH reason 0 after CONFIG)
}

// Duration is a time.Duration written as "5m", "30s" in TOML and JSON.
type Duration struct{ time.Duration }

// String returns the shortest form: "5m", "1h30m", "30s", "0s".
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText encodes d like String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration string; negative durations are an error.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return Duration{}, fmt.Errorf("invalid duration %q: want a number with a unit, like \"30s\" or \"5m\"", s)
	}
	if v < 0 {
		return Duration{}, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return Duration{v}, nil
}

// Rule is the [default] section. ModeSource and EnforcementSource say
// where each value was set ("" = built-in default).
type Rule struct {
	Mode              Mode
	Enforcement       Enforcement
	Guard             Guard       // "" only in a hand-built Policy: treated as always
	Identifiers       Identifiers // "" only in a hand-built Policy: treated as hide
	ModeSource        string
	EnforcementSource string
	GuardSource       string
	IdentifiersSource string
}

// DeviceRule is one [[device]] table. Every matcher that is set must match;
// Mode or Enforcement may be empty (not set by this rule).
type DeviceRule struct {
	Name        string
	Interface   string // glob, path.Match syntax
	Type        string
	Driver      string
	RealPrefix  Prefix
	Mode        Mode
	Enforcement Enforcement
	Guard       Guard
	Identifiers Identifiers
	Source      string // "file:line"
}

// NetworkRule is one [[network]] table. Every matcher that is set must
// match; Mode or Enforcement may be empty.
type NetworkRule struct {
	Name        string
	SSID        string
	UUID        string
	ID          string
	Mode        Mode
	Enforcement Enforcement
	Identifiers Identifiers
	Source      string // "file:line"
}

// Policy is the effective MAC policy: the built-in default with the
// configuration files applied in order. Treat it as read-only once built;
// it is safe for concurrent use then.
type Policy struct {
	Spoof       bool     // global switch (login screen); false => every guarded mode becomes permanent
	Hold        bool     // boot-time hold: keep guarded devices down until the service has applied the policy
	HoldTimeout Duration // 0 = none
	Offer       Offer    // "ask": offer the real address when a network seems to refuse the private one; "never": only log
	Default     Rule
	Devices     []DeviceRule
	Networks    []NetworkRule
	Detect      DetectSettings
	Sources     []string // files that made it, in order

	// SpoofSource is where spoof was last set ("" = built-in default).
	SpoofSource string
	// OfferSource is where offer was last set ("" = built-in default).
	OfferSource string
	// VendorsFile is the vendor list named by vendors_file (absolute or
	// relative to the working directory after resolution), "" = shipped list.
	VendorsFile string
	// Vendors is the vendor prefix list used by mode vendor.
	Vendors VendorList
}

// Default returns the built-in policy: spoof every network card (and every
// virtual device carrying a card's real address) in keep-vendor mode and
// refuse violations; other virtual devices are left alone (guard = auto).
func Default() *Policy {
	return &Policy{
		Spoof:   true,
		Offer:   OfferAsk,
		Default: Rule{Mode: ModeKeepVendor, Enforcement: EnforceRefuse, Guard: GuardAuto, Identifiers: IdentifiersHide},
		Detect: DetectSettings{
			Window:              Duration{5 * time.Minute},
			AuthLoopRounds:      3,
			AuthFailures:        1,
			DHCPFailures:        2,
			AssociationTimeouts: 2,
		},
		Vendors: shippedVendors(),
	}
}
