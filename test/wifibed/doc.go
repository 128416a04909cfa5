// SPDX-License-Identifier: GPL-3.0-or-later

// Package wifibed is the real Wi-Fi test bed: one qemu guest (TCG, no KVM
// needed) boots Debian's kernel with mac80211_hwsim, the host's root shared
// read-only over 9p with a tmpfs overlay on top, and runs NetworkManager,
// wpa_supplicant, hostapd access points, dnsmasq and `mac-nmguard run` on
// simulated radios. hwsim0 sees every 802.11 frame of every radio.
//
// The host side (this package) builds a busybox initramfs with the few
// modules the guest needs into a temp dir, builds the guest runner
// (./guest, a static Go program that is the guest's PID 1 after
// switch_root) and the service, boots qemu once, and reads back the results
// (results.json and the hwsim0 capture) from a writable 9p share. One boot
// runs a list of scenarios (Plan); each scenario's frames are the capture's
// frames inside its time window, parsed here (radiotap and the 802.11
// header: kind, TA, SA; see capture.go) and classed as the client's real
// address, a private one, or an access point's.
//
// The qemu process is started by PID and killed at the end of the test;
// everything the guest started dies with it. A boot or scenario that hangs
// fails the test with the guest's console and logs attached.
//
// Running needs root (qemu here runs as the test's user, but the tests read
// the kernel image, mode 0600 on Debian) and the packages of
// test/install-deps.sh: qemu-system-x86, linux-image-amd64 (a kernel with
// mac80211_hwsim and its modules under /lib/modules), busybox-static, iw,
// NetworkManager, hostapd, wpasupplicant, dnsmasq-base and tcpdump.
package wifibed
