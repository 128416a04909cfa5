// SPDX-License-Identifier: GPL-3.0-or-later

package api

import (
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// The service's D-Bus API on the system bus. The interface is versioned:
// an incompatible change gets Guard2.
const (
	BusName   = "io.github.macnmguard.Guard1"
	Path      = "/io/github/macnmguard/Guard1"
	Interface = "io.github.macnmguard.Guard1"

	// Methods. The listing methods return JSON (the types below), so that
	// `check --json` and the agent share one stable format.
	//   ListDevices() -> (s devices_json)           []Device
	//   ListSuspicions() -> (s suspicions_json)     []Suspicion
	//   Status() -> (s status_json)                 Status
	//   Restore(s device, s connection_uuid, s scope "once"|"always")
	//       starts the restore; the outcome comes as Restored or RestoreFailed.
	//       Scope once answering a pending suspicion on that device (and
	//       that connection, when given): polkit action restore; anything
	//       else (always, no suspicion): restore-always (administrator).
	//   KeepPrivate(s device, s connection_uuid)
	//       the same private address for that network at every connection
	//       from now on (mode stable, a lasting choice listed and forgotten
	//       as exemptions are), and reconnects; the outcome comes as
	//       Restored (with the private address) or RestoreFailed.
	//       Answering a pending portal-forgets suspicion on that device:
	//       polkit action restore; anything else: restore-always.
	//       A Restore "once" answers only the rejection kinds.
	//   Dismiss(s suspicion_id)
	//   SetSpoofing(b spoof)                        ends a boot-time hold too
	//   ListExemptions() -> (s exemptions_json)     []Exemption
	//   ForgetExemption(s id)                       polkit forget-exemption
	//   ForgetAllExemptions() -> (u forgotten)      polkit forget-exemption
	ListDevices    = Interface + ".ListDevices"
	ListSuspicions = Interface + ".ListSuspicions"
	StatusMethod   = Interface + ".Status"
	Restore        = Interface + ".Restore"
	KeepPrivate    = Interface + ".KeepPrivate"
	Dismiss        = Interface + ".Dismiss"
	SetSpoofing    = Interface + ".SetSpoofing"

	ListExemptions      = Interface + ".ListExemptions"
	ForgetExemption     = Interface + ".ForgetExemption"
	ForgetAllExemptions = Interface + ".ForgetAllExemptions"

	// Signals.
	//   Violation(s device, s address, s action, s reason)
	//   Suspicion(s suspicion_json)                 Suspicion
	//   Restored(s device, s connection_uuid, s address, u nm_state)
	//   RestoreFailed(s device, s connection_uuid, s reason)
	SignalViolation     = "Violation"
	SignalSuspicion     = "Suspicion"
	SignalRestored      = "Restored"
	SignalRestoreFailed = "RestoreFailed"

	// polkit actions (installed as io.github.macnmguard.policy).
	PolkitActionRestore     = "io.github.macnmguard.restore"      // allow_active: yes
	PolkitActionSetSpoofing = "io.github.macnmguard.set-spoofing" // auth_admin
	PolkitActionDismiss     = "io.github.macnmguard.dismiss"      // allow_active: yes
	// PolkitActionRestoreAlways: a restore that is not "this time, for the
	// network that seems to refuse the private address": scope always (a
	// lasting exemption), or no pending suspicion. auth_admin_keep.
	PolkitActionRestoreAlways = "io.github.macnmguard.restore-always"
	// PolkitActionForgetExemption: forget exemptions (only ever makes the
	// gate stricter). allow_active: yes.
	PolkitActionForgetExemption = "io.github.macnmguard.forget-exemption"
)

// Exemption is one exemption: a network that gets the real address.
type Exemption struct {
	// ID names it for ForgetExemption: the connection UUID (or "ssid:"
	// and the SSID when it has no UUID).
	ID        string `json:"id"`
	UUID      string `json:"uuid,omitempty"`
	SSID      string `json:"ssid,omitempty"`
	Interface string `json:"interface,omitempty"` // "" any device
	Scope     string `json:"scope"`               // "always" (state file) or "once" (this connection)
	// Mode is "" for the real address, "stable" for the same private
	// address at every connection (KeepPrivate).
	Mode string `json:"mode,omitempty"`
}

// Device is one device as the service sees it.
type Device struct {
	Interface   string     `json:"interface"`
	Type        string     `json:"type,omitempty"`     // NM device type ("" when NM does not know it)
	NMState     string     `json:"nm_state,omitempty"` // NM state name
	Address     string     `json:"address"`
	Real        string     `json:"real,omitempty"`
	RealSource  string     `json:"real_source,omitempty"`
	Connection  string     `json:"connection,omitempty"` // active profile id
	UUID        string     `json:"uuid,omitempty"`
	SSID        string     `json:"ssid,omitempty"`
	Gate        string     `json:"gate"`
	Allowed     bool       `json:"allowed"`
	Mode        string     `json:"mode"`
	Enforcement string     `json:"enforcement"`
	Rule        string     `json:"rule"`
	Reason      string     `json:"reason"`
	Exempt      bool       `json:"exempt,omitempty"`
	Backstop    string     `json:"backstop"` // "guarding REAL", "hold", "none"
	Dropped     uint64     `json:"dropped"`  // frames the backstop dropped
	HeldSince   *time.Time `json:"held_since,omitempty"`
}

// Suspicion is a pending suspicion.
type Suspicion struct {
	ID         string            `json:"id"`
	Device     string            `json:"device"`
	Connection detect.Connection `json:"connection"`
	Kind       string            `json:"kind"`
	Confidence string            `json:"confidence"`
	Reason     string            `json:"reason"`
	FirstSeen  time.Time         `json:"first_seen"`
	LastSeen   time.Time         `json:"last_seen"`
}

// Status is the service's overall view.
type Status struct {
	Version    string             `json:"version"`
	Spoof      bool               `json:"spoof"`
	Held       bool               `json:"held"`
	HeldSince  *time.Time         `json:"held_since,omitempty"`
	Policy     []string           `json:"policy_sources"`
	Exemptions []policy.Exemption `json:"exemptions"`
	Violations []Violation        `json:"violations"`
	NMRunning  bool               `json:"nm_running"`
}

// Violation is one refused or remediated address, kept for check and the
// D-Bus API.
type Violation struct {
	Time     time.Time     `json:"time"`
	Device   string        `json:"device"`
	Address  string        `json:"address"`
	Action   string        `json:"action"`
	Reason   string        `json:"reason"`
	Reaction time.Duration `json:"reaction_ns"` // from the event to the link down
}
