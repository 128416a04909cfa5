// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
)

// check shows, for the active connection, each identifier as sent or
// hidden and what decides it: the value mac-nmguard set in memory (its
// per-boot file says so), NetworkManager.conf's default, NetworkManager's
// built-in default, the profile.
func TestCheckShowsIdentifiersSentOrHidden(t *testing.T) {
	s := baseSnap()
	withProfile(s, func(p *profileInfo) {
		p.IPv6Method = "auto"
		p.Idents = map[string]string{"ipv4.dhcp-send-hostname": "false", "connection.llmnr": "2"}
	})
	s.NMDevices[1].State = 100
	s.NMDevices[1].ActiveConnection = "/ac/1"
	s.Active = map[dbus.ObjectPath]nm.Profile{s.NMDevices[1].Path: {Path: string(testProfile), UUID: testUUID, ID: "Wired 1"}}
	s.Conf = confOf(t, "[connection]\nipv6.dhcp-duid=ll\nconnection.mdns=0\n")
	s.BootState = state.NewBoot("b1")
	s.BootState.Identifiers = []state.IdentChange{{UUID: testUUID, Keys: []state.IdentKeyChange{
		{Key: "ipv4.dhcp-send-hostname", Set: "false"}}}}
	r := buildReport(s)
	got := map[string]CheckIdent{}
	for _, ci := range r.Devices[0].Identifiers {
		got[ci.Property] = ci
	}
	for _, w := range []struct{ prop, state, from, value string }{
		{"ipv4.dhcp-send-hostname", IdentHidden, "mac-nmguard (in memory)", "false"},
		{"ipv6.dhcp-send-hostname", IdentSent, "NetworkManager's built-in default", ""},
		{"ipv4.dhcp-client-id", IdentHidden, "NetworkManager's built-in default", ""},
		{"ipv6.dhcp-duid", IdentHidden, "NetworkManager.conf /etc/NetworkManager/conf.d/a.conf:2", "ll"},
		{"connection.mdns", IdentHidden, "NetworkManager.conf /etc/NetworkManager/conf.d/a.conf:3", "0"},
		{"connection.llmnr", IdentSent, "the profile", "2"},
		{"ipv6.addr-gen-mode", IdentSent, "NetworkManager's built-in default", ""},
	} {
		ci, ok := got[w.prop]
		if !ok || ci.State != w.state || ci.From != w.from || ci.Value != w.value {
			t.Errorf("%s = %+v, want %s from %q value %q", w.prop, ci, w.state, w.from, w.value)
		}
	}
	if len(got) != len(nm.Idents()) {
		t.Errorf("%d identifiers shown, want %d", len(got), len(nm.Idents()))
	}
}
