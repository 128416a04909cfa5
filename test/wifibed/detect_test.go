// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// RecordEnv makes TestIntegrationWifi write the traces of the detection
// scenarios to detect/testdata/traces/real-wifi-NAME.jsonl (`make traces`);
// without it a stored trace's NetworkManager state sequence is compared
// with the live one.
const RecordEnv = "MAC_NMGUARD_RECORD_TRACES"

// tracesDir holds the traces package detect replays.
const tracesDir = "../../detect/testdata/traces"

// detectCase is what a scenario's events must make the detector raise:
// fed on the host (want), and by the service in the guest (wantService),
// which follows NetworkManager and wpa_supplicant too.
type detectCase struct {
	want        []detect.Kind
	wantService []detect.Kind
	notes       string
}

func detectScenarios() map[string]detectCase {
	return map[string]detectCase{
		"first-connection": {nil, nil, "WPA2-PSK, the right passphrase stored in the profile, the private address accepted"},
		// wpa_supplicant's DisconnectReason 15 says the handshake failed:
		// a wrong passphrase looks the same, one failure raises nothing.
		// (NetworkManager alone: an auth-failure saying so.)
		"psk-wrong-passphrase": {nil, nil, "WPA2-PSK, a wrong passphrase stored in the profile, no secret agent"},
		// AuthStatusCode 1 at the first attempt. (NetworkManager alone:
		// association-timeout at the second FAILED 53.)
		"acl-refused": {[]detect.Kind{detect.KindAuthRejected}, []detect.Kind{detect.KindAuthRejected},
			"WPA2-PSK, the right passphrase, hostapd macaddr_acl=1 refusing the private address; two activations (as NM's autoconnect retry)"},
		"corp-connect": {nil, nil, "WPA2-Enterprise (PEAP/MSCHAPv2, hostapd's internal EAP server), the right password, the private address accepted"},
		"corp-wrong-password": {nil, nil,
			"WPA2-Enterprise (PEAP/MSCHAPv2), a wrong password stored in the profile, no secret agent"},
		"corpacl-refused": {[]detect.Kind{detect.KindAuthRejected}, []detect.Kind{detect.KindAuthRejected},
			"WPA2-Enterprise (PEAP/MSCHAPv2), the right password, macaddr_acl=1 admitting only the real address; two activations"},
		"open-connect": {nil, nil, "open network, the private address accepted"},
		// The network was never tried (no secrets): nothing.
		"psk-no-agent": {nil, nil, "WPA2-PSK, the passphrase agent-owned (psk-flags 1) and no secret agent"},
		"openacl-refused": {[]detect.Kind{detect.KindAuthRejected}, []detect.Kind{detect.KindAuthRejected},
			"open network, hostapd macaddr_acl=1 refusing the private address; two activations"},
		"dhcpacl-refused": {[]detect.Kind{detect.KindDHCPFailure}, []detect.Kind{detect.KindDHCPFailure},
			"WPA2-PSK, association accepted, dnsmasq answering only the real address, ipv4.dhcp-timeout 10; two activations"},
	}
}

// nmOnlyWant is detectCase.wantNM by scenario (nil for the others).
func nmOnlyWant() map[string][]detect.Kind {
	return map[string][]detect.Kind{
		"psk-wrong-passphrase": {detect.KindAuthFailure},
		"corp-wrong-password":  {detect.KindAuthFailure},
		"acl-refused":          {detect.KindAssociationTimeout},
		"corpacl-refused":      {detect.KindAssociationTimeout},
		"openacl-refused":      {detect.KindAssociationTimeout},
		"dhcpacl-refused":      {detect.KindDHCPFailure},
	}
}

// feedKinds feeds evs to a detector with the built-in thresholds (only
// NetworkManager's events when nmOnly) and returns the kinds raised.
func feedKinds(t *testing.T, evs []detect.Event, nmOnly bool) []detect.Kind {
	t.Helper()
	det, err := detect.New(detect.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []detect.Kind
	for _, ev := range evs {
		if nmOnly && ev.Supplicant != nil {
			continue
		}
		for _, sp := range det.Feed(ev) {
			kinds = append(kinds, sp.Kind)
			t.Logf("detector (NetworkManager only: %v) raised %s (%s): %s", nmOnly, sp.Kind, sp.Confidence, sp.Reason)
		}
	}
	return kinds
}

// checkDetect replays the scenario's events into the detector, checks
// what the service raised, and records or compares the trace.
func checkDetect(t *testing.T, r *Run, s Scenario, d detectCase) {
	t.Helper()
	t.Logf("events:\n%s", formatEvents(s.Events))
	if diff := cmp.Diff(d.want, feedKinds(t, s.Events, false)); diff != "" {
		t.Errorf("detector fed NetworkManager's and wpa_supplicant's events: kinds (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(nmOnlyWant()[s.Name], feedKinds(t, s.Events, true)); diff != "" {
		t.Errorf("detector fed NetworkManager's events only: kinds (-want +got):\n%s", diff)
	}
	var service []detect.Kind
	for _, sp := range s.Suspicions {
		t.Logf("service signalled %s: %s", sp.Kind, sp.Reason)
		service = append(service, detect.Kind(sp.Kind))
	}
	if diff := cmp.Diff(d.wantService, service); diff != "" {
		t.Errorf("the service's suspicions (-want +got):\n%s", diff)
	}
	if dl, ev, ok := suspicionDelay(s); ok {
		t.Logf("suspicion %v after %s", dl, describe(ev))
		if f, ok := firstFailed(s); ok {
			t.Logf("suspicion %v from NetworkManager's first FAILED (negative: before it)", s.Suspicions[0].Time.Sub(f))
		}
	}
	tr := detect.Trace{
		Header: detect.TraceHeader{Trace: "real-wifi-" + s.Name, Source: "recorded", NMVersion: r.Results.NMVersion,
			Notes: d.notes + ". Recorded on the Wi-Fi bed (test/wifibed: mac80211_hwsim, hostapd, wpa_supplicant, " +
				r.Results.Kernel + "), the service guarding the client: NetworkManager's state changes and " +
				"wpa_supplicant's AuthStatusCode/DisconnectReason changes (supplicant events)."},
		Events: s.Events,
	}
	path := filepath.Join(tracesDir, tr.Header.Trace+".jsonl")
	if os.Getenv(RecordEnv) == "1" {
		var buf bytes.Buffer
		if err := detect.WriteTrace(&buf, tr); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d events)", path, len(tr.Events))
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("stored trace: %v (record it with `make traces`)", err)
		return
	}
	defer f.Close()
	stored, err := detect.ReadTrace(f)
	if err != nil {
		t.Fatalf("stored trace %s: %v", path, err)
	}
	if got, want := stateSeq(tr.Events), stateSeq(stored.Events); got != want {
		t.Errorf("live NetworkManager differs from %s:\n got  %s\n want %s", path, got, want)
	}
}

// stateSeq is the NetworkManager transitions of a trace, "new<-old/reason"
// each, repeated ones collapsed (NetworkManager's retries inside one
// attempt vary in number).
func stateSeq(evs []detect.Event) string {
	var parts []string
	for _, ev := range evs {
		if ev.Supplicant != nil {
			continue
		}
		p := fmt.Sprintf("%d<-%d/%d", ev.State, ev.Old, ev.Reason)
		if len(parts) == 0 || parts[len(parts)-1] != p {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}
