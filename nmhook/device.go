// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"log/slog"
	"net"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// gateState is where the gate stands with one device.
type gateState string

const (
	gateNew         gateState = "new"
	gateAllowed     gateState = "allowed"     // compliant
	gateSpoofed     gateState = "spoofed"     // the service set a compliant address
	gateBlocked     gateState = "blocked"     // refused: kept down, autoconnect off
	gateRemediating gateState = "remediating" // remediate: compliant address set, reactivating
	gateFailed      gateState = "failed"      // the address could not be set: kept down (panic mode)
	gateAudit       gateState = "audit"       // violation logged only
	gateIgnored     gateState = "ignored"     // not guarded by policy
	gateHeld        gateState = "held"        // boot-time hold
)

// devState is everything the service knows of one device; only the service
// loop touches it.
type devState struct {
	iface      string
	link       links.Link
	real       net.HardwareAddr
	realSource string
	hw         links.Hardware // what is behind the link (sysfs), read when it appeared
	carries    string         // virtual device: the guarded device whose real address it carries

	nmKnown bool
	nm      nm.Device
	network detect.Connection
	profile dbus.ObjectPath // active profile's settings path
	cloned  string          // active profile's cloned-mac-address
	// profileAC is the active connection network, profile and cloned were
	// read from: when NM's ActiveConnection differs, they are stale.
	profileAC dbus.ObjectPath

	gate        gateState
	verdict     policy.Verdict
	guarded     net.HardwareAddr // real address the backstop drops, nil when none
	held        bool             // the backstop drops everything (hold)
	autoconnOff bool             // the service turned NM's autoconnect off
	restoring   *restore         // a restore of the real address under way
	released    bool             // the service handed the device to NM (Managed=true)
	refusedAC   dbus.ObjectPath  // the active connection last refused
	refusedAt   time.Time        // when
	fast        fastDown         // set during one evaluate

	// startedInRun: an activation of the card began in this run of the
	// service (PREPARE seen), so its address is of this run's address
	// generation (portal.go); false for one already under way at start.
	startedInRun bool
}

// restore is a "use the real address for this network" under way, or the
// reconnect of an exempt network that started with a private address.
type restore struct {
	conn    detect.Connection
	profile dbus.ObjectPath
	scope   policy.Scope // "" for the reconnect of an exempt network
	started time.Time
	phase   restorePhase
	retried bool // the activation was asked for once more (see restoreActivate)
	// keep: the same private address for this network (mode stable), not
	// the real address.
	keep bool
}

// restorePhase: the card is first disconnected (NM resets its address when
// the deactivation ends), then given its real address while down, then,
// once NM sees it DISCONNECTED again with carrier, the connection is
// activated.
type restorePhase int

const (
	restoreDisconnecting restorePhase = iota // waiting for NM to finish deactivating
	restoreSettling                          // real address set; waiting for NM to see the card ready
	restoreActivating                        // ActivateConnection called; waiting for the outcome
)

// setGate is the one place a device's gate state changes; it logs
// "old -> new (reason)".
func (s *Service) setGate(d *devState, to gateState, reason string) {
	if d.gate == to {
		return
	}
	s.log.Info("gate: "+string(d.gate)+" -> "+string(to)+" ("+reason+")",
		slog.String("device", d.iface), slog.String("address", d.link.Addr.String()),
		slog.String("from", string(d.gate)), slog.String("to", string(to)), slog.String("reason", reason))
	d.gate = to
}

// policyDevice is the policy's view of the device.
func (d *devState) policyDevice() policy.Device {
	pd := policy.Device{Interface: d.iface, Type: d.nm.Type, Driver: d.nm.Driver, Class: d.hw.Class, Carries: d.carries}
	if pd.Driver == "" {
		pd.Driver = d.hw.Driver // before NetworkManager knows the device
	}
	if m, err := policy.FromHardwareAddr(d.link.Addr); err == nil {
		pd.Current = m
	}
	if m, err := policy.FromHardwareAddr(d.real); err == nil && len(d.real) == 6 {
		pd.Real = m
		pd.RealKnown = true
	}
	return pd
}

// fastDown records that evaluate took the link down before deciding.
type fastDown struct {
	done     bool
	wasUp    bool
	reaction time.Duration
}

// forgetConnection drops what the service read about the device's active
// connection.
func (d *devState) forgetConnection() {
	d.network, d.profile, d.cloned, d.profileAC = detect.Connection{}, "", "", ""
}
