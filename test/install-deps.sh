#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs the Debian packages the tests and the demo need, only those that
# are missing. It never starts a service: Debian's policy-rc.d (exit 101) is
# put in place for the duration of the install when none exists.
set -euo pipefail

pkgs=(network-manager dbus dnsmasq-base hostapd wpasupplicant tcpdump iproute2
      ethtool nftables libglib2.0-bin polkitd xvfb dunst xdotool imagemagick
      libxml2-utils openssl systemd zsh fish groff-base
      dbus-user-session libpam-systemd
      qemu-system-x86 linux-image-amd64 busybox-static iw
      debhelper dpkg-dev fakeroot lintian git)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi

made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	made_policy=1
fi
trap '[ $made_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT

echo "install-deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
