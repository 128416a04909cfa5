// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

// CheckFormat is the version of the CheckReport JSON format. Fields are only
// ever added; a change that removes or redefines a field bumps it.
const CheckFormat = 1

// Exit codes of `mac-nmguard check` (CheckReport.ExitCode).
const (
	CheckExitCompliant = 0 // every device complies and nothing was found
	CheckExitFindings  = 1 // a violation or a finding
	CheckExitNoCheck   = 2 // could not check: NetworkManager or the kernel could not be read
)

// Severities of a Finding.
const (
	SeverityViolation = "violation" // a device or profile breaks the MAC policy
	SeverityFinding   = "finding"   // a setting that defeats spoofing or weakens the guard
	SeverityNote      = "note"      // information; does not change the exit code
)

// Verdicts of a CheckDevice.
const (
	VerdictCompliant  = "compliant"   // the address in use complies with the policy
	VerdictViolation  = "violation"   // it does not
	VerdictNotGuarded = "not-guarded" // mode ignore
)

// CheckReport is everything `mac-nmguard check` determined. It is the
// stable `check --json` format (documented in README.md, section "check").
type CheckReport struct {
	Format   int           `json:"format"` // CheckFormat
	Time     time.Time     `json:"time"`
	Policy   CheckPolicy   `json:"policy"`
	NM       CheckNM       `json:"networkmanager"`
	Kernel   CheckKernel   `json:"kernel"`
	Service  CheckService  `json:"service"`
	Devices  []CheckDevice `json:"devices"`
	Findings []Finding     `json:"findings"`
	// Compliant: no violation and no finding (notes do not count).
	Compliant bool `json:"compliant"`
	// ExitCode is CheckExitCompliant, CheckExitFindings or CheckExitNoCheck
	// (could not check wins over findings).
	ExitCode int `json:"exit_code"`
}

// CheckPolicy is the policy check evaluated with.
type CheckPolicy struct {
	Sources []string `json:"sources"` // files read, in order ([] = none)
	// BuiltinDefault: no file applied, the built-in default (spoof every
	// device, keep-vendor, refuse) is in force — also when a file is invalid.
	BuiltinDefault bool   `json:"builtin_default"`
	Error          string `json:"error,omitempty"` // why the files could not be used
	Spoof          bool   `json:"spoof"`           // effective global switch
	// SpoofOverride is the runtime switch decided in this boot (SetSpoofing,
	// decide, a hold's timeout) from the service's per-boot file, when set.
	SpoofOverride *bool  `json:"spoof_override,omitempty"`
	StateFile     string `json:"state_file"`
	StateError    string `json:"state_error,omitempty"`
	// BootStateFile is the service's per-boot file (runtime switch and
	// first-seen addresses of this boot); BootStateError why it could not
	// be read.
	BootStateFile  string `json:"boot_state_file,omitempty"`
	BootStateError string `json:"boot_state_error,omitempty"`
}

// CheckNM is what check could read from NetworkManager.
type CheckNM struct {
	Running  bool   `json:"running"`
	Version  string `json:"version,omitempty"`
	Error    string `json:"error,omitempty"`
	Hostname string `json:"hostname,omitempty"` // NM's (or the system's) host name: what DHCP would send
	// ConfFiles are the NetworkManager.conf files read, in NM's order.
	ConfFiles []string `json:"conf_files"`
	ConfError string   `json:"conf_error,omitempty"`
	Profiles  int      `json:"profiles"` // connection profiles audited
}

// CheckKernel is what check could read from the kernel.
type CheckKernel struct {
	Error         string `json:"error,omitempty"`          // netlink could not be read
	BackstopError string `json:"backstop_error,omitempty"` // nftables could not be read
}

// CheckService is the service's own view, when it runs.
type CheckService struct {
	Running    bool            `json:"running"`
	Error      string          `json:"error,omitempty"`
	Status     *api.Status     `json:"status,omitempty"`
	Suspicions []api.Suspicion `json:"suspicions"`
}

// CheckDevice is one network device.
type CheckDevice struct {
	Interface string `json:"interface"`
	Index     int    `json:"index,omitempty"` // kernel ifindex (0: not in the kernel)
	Kind      string `json:"kind,omitempty"`  // netlink link type ("veth", "device", ...)
	Up        bool   `json:"up"`
	Carrier   bool   `json:"carrier"`
	NMType    string `json:"nm_type,omitempty"`  // NM device type ("" when NM does not know it)
	NMState   string `json:"nm_state,omitempty"` // NM state name
	Driver    string `json:"driver,omitempty"`
	Address   string `json:"address"`
	Real      string `json:"real,omitempty"` // "" when unknown
	// RealSource: "kernel permanent address", "NetworkManager
	// PermHwAddress", "first address seen by the service", or "unknown".
	RealSource  string   `json:"real_source"`
	Connection  string   `json:"connection,omitempty"` // active profile id
	UUID        string   `json:"uuid,omitempty"`
	SSID        string   `json:"ssid,omitempty"`
	Mode        string   `json:"mode"`
	Enforcement string   `json:"enforcement"`
	Rule        string   `json:"rule"`
	Exempt      bool     `json:"exempt,omitempty"`
	Verdict     string   `json:"verdict"` // VerdictCompliant, VerdictViolation, VerdictNotGuarded
	Reason      string   `json:"reason"`
	Gate        string   `json:"gate"`                   // what the gate does about it now (plain words)
	Backstop    string   `json:"backstop"`               // "guarding REAL", "hold", "none", "unknown"
	Dropped     uint64   `json:"dropped"`                // frames the backstop dropped
	ServiceGate string   `json:"service_gate,omitempty"` // the service's gate state, when it runs
	IPv6        []string `json:"ipv6,omitempty"`         // IPv6 addresses (netlink)
	// Identifiers are what the active connection sends or hides besides
	// the address (none when no connection is active).
	Identifiers []CheckIdent `json:"identifiers,omitempty"`
}

// Finding is one problem check found, with how to fix it.
type Finding struct {
	Severity string   `json:"severity"` // SeverityViolation, SeverityFinding, SeverityNote
	Kind     string   `json:"kind"`     // stable identifier, see README
	Devices  []string `json:"devices,omitempty"`
	Profile  string   `json:"profile,omitempty"` // profile id
	UUID     string   `json:"uuid,omitempty"`    // profile uuid
	File     string   `json:"file,omitempty"`    // "path:line" of a config setting
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
}

// Finding kinds.
const (
	KindPolicyInvalid     = "policy-invalid"
	KindStateUnreadable   = "state-unreadable"
	KindNMUnavailable     = "nm-unavailable"
	KindKernelUnavailable = "kernel-unavailable"
	KindServiceDown       = "service-not-running"
	KindServiceError      = "service-error"
	KindDeviceViolation   = "device-violation"
	KindRealUnknown       = "real-address-unknown"
	KindBackstopMissing   = "backstop-missing"
	KindBackstopUnknown   = "backstop-unreadable"
	KindProfileCloned     = "profile-cloned-mac"
	KindConfCloned        = "conf-cloned-mac"
	KindScanRandOff       = "wifi-scan-rand-mac-off"
	KindConfUnreadable    = "nm-conf-unreadable"
	KindDHCPHostname      = "dhcp-hostname"
	KindDHCPClientID      = "dhcp-client-id"
	KindIPv6EUI64Address  = "ipv6-eui64-real-address"
	KindIPv6AddrGenEUI64  = "ipv6-addr-gen-eui64"
	KindDHCPv6DUID        = "dhcpv6-duid"
	KindWifiManagement    = "wifi-management-frames"
	KindSuspicion         = "suspicion"
)
