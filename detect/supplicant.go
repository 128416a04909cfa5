// SPDX-License-Identifier: GPL-3.0-or-later

package detect

// wpa_supplicant's interface properties the detector reads
// (fi.w1.wpa_supplicant1.Interface).
const (
	// PropAuthStatusCode is the IEEE 802.11 status code of the last
	// authentication attempt: not 0 when the access point refused it (a MAC
	// allow-list answers 1, "unspecified failure", at once).
	PropAuthStatusCode = "AuthStatusCode"
	// PropDisconnectReason is the IEEE 802.11 reason code of the last
	// disconnection, negative when wpa_supplicant itself disconnected.
	PropDisconnectReason = "DisconnectReason"
)

// IEEE 802.11 reason codes that mean the keys or credentials did not match.
const (
	reason4WayHandshakeTimeout = 15 // WPA/WPA2-PSK: wrong passphrase (or a per-station key)
	reason8021XAuthFailed      = 23 // 802.1X: the credentials were refused
)

// feedSupplicant takes a wpa_supplicant property change of the device's
// interface during an activation attempt:
//
//   - AuthStatusCode != 0: the access point refused the authentication of
//     the address in use. With the private address that is evidence of its
//     own kind (auth-rejected, counted against Config.AuthFailures): a MAC
//     allow-list says so at the first attempt, 0.7 s after it starts,
//     where NetworkManager reports only a FAILED "ssid-not-found" (53) 25 s
//     later.
//   - DisconnectReason 15 or 23 (the 4-way handshake or 802.1X failed): the
//     attempt's secrets were refused. A wrong passphrase looks exactly like
//     this, so the FAILED that follows is not counted as an auth-failure
//     (only repeated rounds, auth-loop, still raise).
func (d *Detector) feedSupplicant(ev Event) []Suspicion {
	key, ok := d.current[ev.Device]
	if !ok {
		return nil
	}
	ep := d.episodes[key]
	if ep == nil {
		return nil
	}
	switch ep.state.phase {
	case phasePrepare, phaseConfig, phaseNeedAuth:
	default:
		return nil // not inside an attempt: a late or stale property change
	}
	if ev.Time.After(ep.lastSeen) {
		ep.lastSeen = ev.Time
	}
	sig := ev.Supplicant
	switch sig.Property {
	case PropAuthStatusCode:
		if sig.Value == 0 {
			return nil
		}
		ep.rejected = true
		if !d.addEvidence(ep, catAuthReject, ev) {
			return nil
		}
	case PropDisconnectReason:
		v := sig.Value
		if v < 0 {
			v = -v
		}
		if v == reason4WayHandshakeTimeout || v == reason8021XAuthFailed {
			ep.keyMismatch = true
		}
		return nil
	default:
		return nil
	}
	return d.judge(ep, ev)
}
