// SPDX-License-Identifier: GPL-3.0-or-later

package policy

// stableKAT is the stable address for realAddr, SSID "Cafe" and testSecret,
// computed independently with Python's hmac module:
// hmac.new(b'\x5a'*32, b'mac-nmguard stable address v1\x00' + bytes.fromhex('001b77123456')
// + b'\x00ssid\x00Cafe', 'sha256').digest()[:6], first octet |0x02 &~0x01.
const stableKAT = "6e:47:2e:ee:41:b4"
