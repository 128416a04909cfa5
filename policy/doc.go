// SPDX-License-Identifier: GPL-3.0-or-later

// Package policy is the MAC policy engine of mac-nmguard: the configuration
// model and its parser, device and network matching, Evaluate (is this
// address allowed on this device for this network, and why) and Generate
// (a compliant address). It is pure: it does no I/O beyond reading the files
// it is given and imports nothing else from this module.
//
// # Configuration
//
// Load reads the main file (/etc/mac-nmguard/policy.toml) and then every
// *.toml in the drop-in directory in name order, each on top of the
// built-in Default (spoof every device, keep-vendor, refuse). A file that
// sets a scalar (spoof, offer, hold, hold_timeout, vendors_file, [default] mode
// or enforcement, a [detect] threshold) overrides earlier files; [[device]]
// and [[network]] rules accumulate. Every file is validated completely:
// syntax errors, unknown keys, wrong types, unknown modes, bad globs,
// address prefixes, UUIDs and thresholds are errors that name
// file:line:column and the key. Missing files mean the built-in default;
// an unreadable or invalid one is an error (the caller keeps the last
// good policy).
//
// # Modes
//
//   - keep-vendor: the real address's vendor prefix (first three octets,
//     so the locally-administered bit as the real address has it) with
//     random NIC bytes, never the real address.
//   - vendor: a prefix from the vendor list for the device kind (wifi for
//     NM type "wifi", ethernet for every other type), random NIC bytes.
//     The shipped list (vendors.txt, embedded) holds real OUIs of common
//     laptop Wi-Fi and Ethernet chips; vendors_file replaces it.
//   - random: random, locally administered, unicast.
//   - stable: locally administered unicast, derived with HMAC-SHA256 from a
//     per-machine secret, the device's real address and the network's
//     identity (SSID, else connection UUID, else connection id): the same
//     address each time on one network, unrelated ones elsewhere. Evaluate
//     has no secret, so it checks a stable address like a random one; at
//     rest (no network) Generate draws a random one.
//   - permanent: the real address (the opt-out).
//   - ignore: not guarded; Evaluate allows anything.
//
// # Precedence
//
// Select picks the mode and, separately, the enforcement:
// runtime exemption > [[network]] rule > [[device]] rule > [default] >
// built-in default. Among rules of one kind the LAST matching one wins,
// so drop-ins (read after the main file) override it. Every matcher a rule
// sets must match; a real_prefix never matches a device whose real address
// is unknown, and network rules never match a device at rest. An
// exemption (the user chose the real address for a network) makes a
// guarded device permanent; it does not touch an ignored one. spoof = false
// turns every mode except ignore into permanent. The same rule is printed
// by `mac-nmguard policy show` (see Precedence).
//
// # Failing closed
//
// An unknown real address (or a zero one) is unsafe: no spoofing mode is
// allowed then, since nothing shows the address in use differs from the
// real one. Zero and multicast addresses are never allowed on a guarded
// device. A hand-built Policy with an invalid mode or enforcement is
// treated as keep-vendor / refuse.
package policy
