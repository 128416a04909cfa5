// SPDX-License-Identifier: GPL-3.0-or-later

// Package detect spots networks that probably reject the spoofed address:
// a pure state machine fed with the ordered stream of device events that
// raises a Suspicion (auth-loop, auth-failure, dhcp-failure,
// association-timeout, auth-rejected; and portal-forgets, a captive portal
// that forgets the private address, see KindPortalForgets) while spoofing
// is in effect. It does no I/O.
//
// Per (device, connection) it follows NM's activation (PREPARE, CONFIG,
// NEED_AUTH, IP_CONFIG ... ACTIVATED/FAILED) and counts, inside
// Config.Window, evidence from events where the spoofed address is in use
// and the network is not exempt:
//
//   - a NEED_AUTH round that ends (next NEED_AUTH, or FAILED) without
//     reaching IP_CONFIG, once the network was really tried: auth-loop;
//   - CONFIG -> NEED_AUTH with reason 0 that is not NM's immediate secrets
//     check (every 802.1X and agent-owned Wi-Fi activation has one): the
//     Wi-Fi association timeout or the 802.1X auth-timeout: association-timeout;
//   - FAILED ssid-not-found (53) from CONFIG after at least a second there:
//     NetworkManager's Wi-Fi association timeout ("association took too
//     long"), what a MAC allow-list's refusal looks like to it:
//     association-timeout;
//   - FAILED with NO_SECRETS or a supplicant reason (8-11) after a real
//     try: auth-failure, unless wpa_supplicant said the 4-way handshake or
//     802.1X failed (DisconnectReason 15 or 23): a wrong password looks
//     exactly like that, so only repeated rounds (auth-loop) raise then.
//     The Suspicion's reason says a wrong password and a refused address
//     cannot be told apart from NetworkManager's signals;
//   - FAILED/IP_CONFIG_UNAVAILABLE from IP_CONFIG with carrier (at the
//     FAILED, or when IP_CONFIG began: Wi-Fi loses its carrier as
//     NetworkManager fails the activation): dhcp-failure;
//   - wpa_supplicant's AuthStatusCode other than 0 during an attempt (the
//     access point refused the authentication, as hostapd's macaddr_acl
//     does, on the first attempt): auth-rejected, counted against
//     Config.AuthFailures.
//
// Events with Supplicant set carry wpa_supplicant's interface properties
// (fi.w1.wpa_supplicant1.Interface AuthStatusCode, DisconnectReason), which
// the service follows next to NetworkManager's signals; without them (e.g.
// NetworkManager over iwd) the NetworkManager-only rules above still hold.
//
// When one event completes several thresholds the first of auth-rejected,
// auth-loop, association-timeout, auth-failure, dhcp-failure wins. At most one
// Suspicion is raised per episode; the episode ends on ACTIVATED, or on
// Resolve followed by ACTIVATED or a quiet Window. User disconnects (39) and
// carrier loss (40) are never evidence. When unsure the detector does not
// raise: a Suspicion offers to reveal the real address, so silence is the
// privacy-safe side.
package detect
