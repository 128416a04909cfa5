// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// replayWant names, per trace file, the kinds the detector must raise when
// fed the whole trace with DefaultConfig (nil = benign). Every file in
// testdata/traces must be listed, and every listed file must exist.
func replayWant() map[string][]Kind {
	return map[string][]Kind{
		// Built from NM's Wi-Fi behaviour (builtwifi_test.go), where the
		// Wi-Fi bed has no recorded counterpart.
		"built-wifi-psk-agent-success.jsonl":          nil,
		"built-wifi-psk-wrong-once-then-right.jsonl":  nil,
		"built-wifi-psk-handshake-loop.jsonl":         {KindAuthLoop},
		"built-wifi-assoc-timeout-real-address.jsonl": nil,

		// Recorded on the Wi-Fi bed (test/wifibed: NM 1.42.4, wpa_supplicant,
		// hostapd on mac80211_hwsim), with wpa_supplicant's signals.
		"real-wifi-first-connection.jsonl": nil,
		"real-wifi-open-connect.jsonl":     nil,
		"real-wifi-corp-connect.jsonl":     nil,
		// AuthStatusCode 1, 0.3 s into the first attempt; NM alone would
		// raise association-timeout at the second FAILED 53.
		"real-wifi-acl-refused.jsonl":     {KindAuthRejected},
		"real-wifi-corpacl-refused.jsonl": {KindAuthRejected},
		// DisconnectReason 15 / 23: the secrets were refused, a wrong
		// password looks the same: one failure raises nothing.
		"real-wifi-psk-wrong-passphrase.jsonl": nil,
		"real-wifi-corp-wrong-password.jsonl":  nil,
		"real-wifi-openacl-refused.jsonl":      {KindAuthRejected},
		// Associated, then no DHCP answer, twice; Wi-Fi carrier is already
		// down at the FAILED, it was up when IP_CONFIG began.
		"real-wifi-dhcpacl-refused.jsonl": {KindDHCPFailure},
		// Agent-owned passphrase, no agent: never tried.
		"real-wifi-psk-no-agent.jsonl": nil,

		// Recorded from the real NM 1.42.4 on the test bed.
		"dhcp-success.jsonl":   nil,
		"dhcp-allowlist.jsonl": {KindDHCPFailure},
		// NM's only signal of a wrong 802.1X password is the auth-timeout:
		// CONFIG -> NEED_AUTH reason 0, repeated. The second one raises.
		"8021x-wrong-password.jsonl": {KindAssociationTimeout},
		"8021x-endless-prompt.jsonl": {KindAssociationTimeout},
		"carrier-loss.jsonl":         nil,
		"user-disconnect.jsonl":      nil,
		"8021x-success.jsonl":        nil,
		// The same DHCP failure with the real address: never raised.
		"dhcp-down-real-address.jsonl": nil,
	}
}

func TestReplayTraces(t *testing.T) {
	dir := filepath.Join("testdata", "traces")
	want := replayWant()
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, f := range files {
		present[filepath.Base(f)] = true
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("%s is not in replayWant: add it with its expected kinds", f)
		}
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".jsonl"), func(t *testing.T) {
			if !present[name] {
				t.Fatalf("trace %s is listed but missing from %s", name, dir)
			}
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tr, err := ReadTrace(f)
			if err != nil {
				t.Fatal(err)
			}
			wantSource := "recorded"
			if strings.HasPrefix(name, "built-") {
				wantSource = "built"
			}
			if tr.Header.Source != wantSource || tr.Header.NMVersion == "" || tr.Header.Notes == "" {
				t.Errorf("header %+v: want source %q, an NM version and notes", tr.Header, wantSource)
			}
			if len(tr.Events) == 0 {
				t.Fatal("no events")
			}
			for i := 1; i < len(tr.Events); i++ {
				if tr.Events[i].Time.Before(tr.Events[i-1].Time) {
					t.Errorf("event %d goes back in time", i)
				}
			}
			d, err := New(DefaultConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := feedAll(d, tr.Events)
			if diff := cmp.Diff(want[name], kindsOf(got)); diff != "" {
				for _, sp := range got {
					t.Logf("raised %s (%s): %s", sp.Kind, sp.Confidence, sp.Reason)
				}
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
		})
	}
}
