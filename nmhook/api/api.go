// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// The service's D-Bus API on the system bus. The interface is versioned:
// an incompatible change gets Guard2.
const (
	APIBusName   = "io.github.macnmguard.Guard1"
	APIPath      = "/io/github/macnmguard/Guard1"
	APIInterface = "io.github.macnmguard.Guard1"

	// Methods. The listing methods return JSON (the types below), so that
	// `check --json` and the agent share one stable format.
	//   ListDevices() -> (s devices_json)           []APIDevice
	//   ListSuspicions() -> (s suspicions_json)     []APISuspicion
	//   Status() -> (s status_json)                 APIStatus
	//   Restore(s device, s connection_uuid, s scope "once"|"always")
	//       starts the restore; the outcome comes as Restored or RestoreFailed.
	//       Scope once answering a pending suspicion on that device (and
	//       that connection, when given): polkit action restore; anything
	//       else (always, no suspicion): restore-always (administrator).
	//   Dismiss(s suspicion_id)
	//   SetSpoofing(b spoof)                        ends a boot-time hold too
	//   ListExemptions() -> (s exemptions_json)     []APIExemption
	//   ForgetExemption(s id)                       polkit forget-exemption
	//   ForgetAllExemptions() -> (u forgotten)      polkit forget-exemption
	APIListDevices    = APIInterface + ".ListDevices"
	APIListSuspicions = APIInterface + ".ListSuspicions"
	APIStatusMethod   = APIInterface + ".Status"
	APIRestore        = APIInterface + ".Restore"
	APIDismiss        = APIInterface + ".Dismiss"
	APISetSpoofing    = APIInterface + ".SetSpoofing"

	APIListExemptions      = APIInterface + ".ListExemptions"
	APIForgetExemption     = APIInterface + ".ForgetExemption"
	APIForgetAllExemptions = APIInterface + ".ForgetAllExemptions"

	// Signals.
	//   Violation(s device, s address, s action, s reason)
	//   Suspicion(s suspicion_json)                 APISuspicion
	//   Restored(s device, s connection_uuid, s address, u nm_state)
	//   RestoreFailed(s device, s connection_uuid, s reason)
	APISignalViolation     = "Violation"
	APISignalSuspicion     = "Suspicion"
	APISignalRestored      = "Restored"
	APISignalRestoreFailed = "RestoreFailed"

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

// APIExemption is one exemption: a network that gets the real address.
type APIExemption struct {
	// ID names it for ForgetExemption: the connection UUID (or "ssid:"
	// and the SSID when it has no UUID).
	ID        string `json:"id"`
	UUID      string `json:"uuid,omitempty"`
	SSID      string `json:"ssid,omitempty"`
	Interface string `json:"interface,omitempty"` // "" any device
	Scope     string `json:"scope"`               // "always" (state file) or "once" (this connection)
}

// APIDevice is one device as the service sees it.
type APIDevice struct {
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

// APISuspicion is a pending suspicion.
type APISuspicion struct {
	ID         string            `json:"id"`
	Device     string            `json:"device"`
	Connection detect.Connection `json:"connection"`
	Kind       string            `json:"kind"`
	Confidence string            `json:"confidence"`
	Reason     string            `json:"reason"`
	FirstSeen  time.Time         `json:"first_seen"`
	LastSeen   time.Time         `json:"last_seen"`
}

// APIStatus is the service's overall view.
type APIStatus struct {
	Version    string             `json:"version"`
	Spoof      bool               `json:"spoof"`
	Held       bool               `json:"held"`
	HeldSince  *time.Time         `json:"held_since,omitempty"`
	Policy     []string           `json:"policy_sources"`
	Exemptions []policy.Exemption `json:"exemptions"`
	Violations []Violation        `json:"violations"`
	NMRunning  bool               `json:"nm_running"`
}
