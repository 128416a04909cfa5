// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"regexp"
	"strings"
	"testing"
)

func TestProfileArgs(t *testing.T) {
	tests := []struct {
		name string
		p    Profile
		want string // the args after the uuid, space-joined
		err  string
	}{
		{"plain", Profile{Name: "p"}, "connection.autoconnect no ipv4.method auto ipv6.method disabled", ""},
		{"dhcp", Profile{Name: "p", Interface: "nmt0", Autoconnect: true, AutoconnectRetries: 3, DHCPTimeout: 4, ClonedMAC: "random"},
			"connection.autoconnect yes ipv4.method auto ipv6.method disabled connection.interface-name nmt0 " +
				"connection.autoconnect-retries 3 ethernet.cloned-mac-address random ipv4.dhcp-timeout 4", ""},
		{"endless auth", Profile{Name: "p", AuthRetries: RetriesUnlimited, EAP: &EAP{PasswordFlags: 2, AuthTimeout: 5}},
			"connection.autoconnect no ipv4.method auto ipv6.method disabled connection.auth-retries 0 " +
				"802-1x.eap md5 802-1x.identity md5user 802-1x.password-flags 2 802-1x.auth-timeout 5", ""},
		{"peap stored", Profile{Name: "p", EAP: &EAP{Method: "peap", Password: "x"}},
			"connection.autoconnect no ipv4.method auto ipv6.method disabled 802-1x.eap peap 802-1x.phase2-auth mschapv2 " +
				"802-1x.identity peapuser 802-1x.password-flags 0 802-1x.password x", ""},
		{"no name", Profile{}, "", "no name"},
		{"bad method", Profile{Name: "p", EAP: &EAP{Method: "tls"}}, "", "want md5 or peap"},
		{"odd extra", Profile{Name: "p", Extra: []string{"a"}}, "", "odd number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := tt.p.args("U")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			head := "connection add type ethernet con-name " + tt.p.Name + " connection.uuid U "
			if got := strings.Join(args, " "); got != head+tt.want {
				t.Errorf("args =\n %s\nwant\n %s", got, head+tt.want)
			}
		})
	}
}

func TestNewUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, err := newUUID()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newUUID()
	if !re.MatchString(a) || a == b {
		t.Errorf("uuids %q, %q: want two different version-4 UUIDs", a, b)
	}
}

func TestDeviceNamesAndMACs(t *testing.T) {
	seen := map[string]bool{}
	for i := range MaxDevices {
		mac := DeviceMAC(i)
		if mac[0]&0x03 != 0 {
			t.Fatalf("DeviceMAC(%d) = %s: want a universally administered unicast address", i, mac)
		}
		if seen[mac.String()] || seen[DeviceName(i)] {
			t.Fatalf("device %d: name %s or address %s repeats", i, DeviceName(i), mac)
		}
		seen[mac.String()], seen[DeviceName(i)] = true, true
		if len(DeviceName(i))+1 > 15 {
			t.Fatalf("DeviceName(%d) = %s: peer name too long", i, DeviceName(i))
		}
	}
}

func TestMissingNamesTheReason(t *testing.T) {
	reason := missing([]string{"surely-not-a-program-xyz"})
	if reason == "" || !(strings.Contains(reason, "root") || strings.Contains(reason, "surely-not-a-program-xyz")) {
		t.Errorf("missing() = %q, want a reason naming root or the absent program", reason)
	}
}
