// SPDX-License-Identifier: GPL-3.0-or-later

// Package inspect is `mac-nmguard check`: it gathers (Inspect) the kernel's
// devices and backstop, NetworkManager's devices, profiles and
// configuration, the policy, the service's files and, when the service
// runs, its own view, changing nothing; builds the report from that
// snapshot with the service's rules (gate), purely (CheckReport and its
// findings); and reads NetworkManager.conf (LoadNMConf, NMConf.Lookup,
// EffectiveCloned), which the service uses too, since NetworkManager has no
// D-Bus API for its configuration.
package inspect
