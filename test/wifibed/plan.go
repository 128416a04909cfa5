// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// Files on the shared folder (the host's temp dir, /mnt/wifibed in the
// guest).
const (
	PlanFile    = "plan.json"       // what the guest runs (Plan), written by the host
	ResultsFile = "results.json"    // what the guest saw (Results), written at the end
	CaptureFile = "hwsim0.pcap"     // every frame of the boot, from hwsim0
	GuestBinary = "guest"           // the guest runner, PID 1 after switch_root
	ServiceBin  = "mac-nmguard"     // the service binary built on the host
	LogDir      = "logs"            // daemons' logs, copied out at the end
	DebFile     = "mac-nmguard.deb" // the package the systemd boot installs
	// KeepTag is the 9p tag of Options.Keep, mounted on KeepMount.
	KeepTag   = "keep"
	KeepMount = "/var/lib/mac-nmguard"
	// GuestMount is where the shared folder is mounted in the guest (never
	// under /tmp: see ../../../shared/notes/systemd-vm-facts.md).
	GuestMount = "/mnt/wifibed"
)

// Plan is what one boot runs: the scenarios, in order.
type Plan struct {
	Scenarios []string `json:"scenarios"`
	// ScenarioTimeout bounds each scenario (the guest gives up on it and
	// goes on with the next).
	ScenarioTimeout time.Duration `json:"scenario_timeout"`
	// RestoreRounds repeats the restore of the restore scenarios (0: once).
	RestoreRounds int `json:"restore_rounds,omitempty"`
	// Boot is how the guest boots: "" (BootRunner) runs the scenarios
	// from the runner as PID 1; BootSystemd installs the project's .deb
	// and boots this machine's systemd, which runs them from a unit.
	Boot string `json:"boot,omitempty"`
}

// The two ways to boot the one guest image (Plan.Boot).
const (
	BootRunner  = ""        // the guest runner is PID 1 and starts every daemon itself
	BootSystemd = "systemd" // systemd is PID 1; see systemd.go and guest/systemd.go
)

// Network is one access point of the bed.
type Network struct {
	SSID     string `json:"ssid"`
	Iface    string `json:"iface"`    // the AP radio's interface in the guest
	BSSID    string `json:"bssid"`    // the AP radio's address
	Security string `json:"security"` // "wpa-psk", "wpa-eap", "open"
	// ACL: hostapd's macaddr_acl=1 with this allow-list ("" entries none).
	ACL []string `json:"acl,omitempty"`
	// DHCPOnly: dnsmasq answers only these addresses (none: everyone).
	DHCPOnly []string `json:"dhcp_only,omitempty"`
	Subnet   string   `json:"subnet"` // dnsmasq's /24, e.g. 10.42.1
}

// Results is what the guest reports.
type Results struct {
	Kernel    string     `json:"kernel"`
	NMVersion string     `json:"nm_version"`
	Client    string     `json:"client"`      // the guarded radio's interface
	Real      string     `json:"real"`        // its permanent (real) address
	Networks  []Network  `json:"networks"`    // the access points
	Uptime    float64    `json:"uptime"`      // guest uptime (s) when the runner started
	ReadyAt   float64    `json:"ready_at"`    // guest uptime (s) when the bed was ready
	SetupErr  string     `json:"setup_error"` // the bed could not be set up
	Scenarios []Scenario `json:"scenarios"`
	// Hotplugged are the radios added while running (their real addresses).
	Hotplugged map[string]string `json:"hotplugged,omitempty"`
}

// Scenario is one scenario's outcome.
type Scenario struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"` // guest clock, as the capture's
	End   time.Time `json:"end"`
	Err   string    `json:"error,omitempty"` // the scenario itself failed (not the gate)
	Log   []string  `json:"log,omitempty"`   // what it did, for people
	// Events are NetworkManager's state changes of the client radio and
	// wpa_supplicant's AuthStatusCode/DisconnectReason changes, in order.
	Events []detect.Event `json:"events,omitempty"`
	// Suspicions the service signalled, with the guest time it did.
	Suspicions []SeenSuspicion `json:"suspicions,omitempty"`
	// Extra real addresses (hotplugged radios) guarded in this scenario.
	Reals []string `json:"reals,omitempty"`
}

// SeenSuspicion is one Suspicion signal of the service.
type SeenSuspicion struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	Reason     string    `json:"reason"`
	Connection string    `json:"connection"`
}
