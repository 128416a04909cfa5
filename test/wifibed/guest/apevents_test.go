// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"maps"
	"testing"
)

// hostapd's lines (hostapd -t, as in the Wi-Fi bed's logs): a station that
// authenticates and associates once, and one whose association request
// came again (the late association retry under TCG), then a new
// authentication and association, which is not a repeat.
func TestRepeatedAssociations(t *testing.T) {
	log := `1796607114.628384: wlan1: STA 02:00:00:42:a0:2e IEEE 802.11: authenticated
1796607114.695776: wlan1: STA 02:00:00:42:a0:2e IEEE 802.11: associated (aid 1)
1796607114.795241: wlan1: STA 02:00:00:42:a0:2e WPA: pairwise key handshake completed (RSN)
1796607115.000001: wlan1: STA 02:00:00:4A:23:50 IEEE 802.11: authenticated
1796607115.100001: wlan1: STA 02:00:00:4A:23:50 IEEE 802.11: associated (aid 2)
1796607115.400001: wlan1: STA 02:00:00:4a:23:50 IEEE 802.11: associated (aid 2)
1796607125.400001: wlan1: STA 02:00:00:4a:23:50 IEEE 802.11: disassociated
1796607126.000001: wlan1: STA 02:00:00:4a:23:50 IEEE 802.11: authenticated
1796607126.100001: wlan1: STA 02:00:00:4a:23:50 IEEE 802.11: associated (aid 2)
wlan1: AP-STA-CONNECTED 02:00:00:4a:23:50
`
	got := repeatedAssociations(log)
	want := map[string]int{"02:00:00:4a:23:50": 1}
	if !maps.Equal(got, want) {
		t.Errorf("repeatedAssociations = %v, want %v", got, want)
	}
}
