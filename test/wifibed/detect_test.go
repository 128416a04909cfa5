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
// fed on the host with wpa_supplicant's signals (want), and by the service
// in the guest, which follows NetworkManager only (wantService).
type detectCase struct {
	want        []detect.Kind
	wantService []detect.Kind
	notes       string
}

func detectScenarios() map[string]detectCase {
	return map[string]detectCase{
		"first-connection": {nil, nil, "WPA2-PSK, the right passphrase stored in the profile, the private address accepted"},
		// wpa_supplicant's DisconnectReason 15 says the handshake failed:
		// a wrong passphrase, nothing raised. NM alone cannot tell it from
		// a refused address: the service raises an auth-failure worded so.
		"psk-wrong-passphrase": {nil, []detect.Kind{detect.KindAuthFailure}, "WPA2-PSK, a wrong passphrase stored in the profile, no secret agent"},
		// AuthStatusCode 1 at the first attempt; NM alone: FAILED 53 after
		// the association timeout, twice.
		"acl-refused": {[]detect.Kind{detect.KindAuthRejected}, []detect.Kind{detect.KindAssociationTimeout},
			"WPA2-PSK, the right passphrase, hostapd macaddr_acl=1 refusing the private address; two activations (as NM's autoconnect retry)"},
		"corp-connect": {nil, nil, "WPA2-Enterprise (PEAP/MSCHAPv2, hostapd's internal EAP server), the right password, the private address accepted"},
		"corp-wrong-password": {nil, []detect.Kind{detect.KindAuthFailure},
			"WPA2-Enterprise (PEAP/MSCHAPv2), a wrong password stored in the profile, no secret agent"},
		"corpacl-refused": {[]detect.Kind{detect.KindAuthRejected}, []detect.Kind{detect.KindAssociationTimeout},
			"WPA2-Enterprise (PEAP/MSCHAPv2), the right password, macaddr_acl=1 admitting only the real address; two activations"},
		"open-connect": {nil, nil, "open network, the private address accepted"},
		// The network was never tried (no secrets): nothing.
		"psk-no-agent": {nil, nil, "WPA2-PSK, the passphrase agent-owned (psk-flags 1) and no secret agent"},
		"openacl-refused": {[]detect.Kind{detect.KindAuthRejected}, []detect.Kind{detect.KindAssociationTimeout},
			"open network, hostapd macaddr_acl=1 refusing the private address; two activations"},
		"dhcpacl-refused": {[]detect.Kind{detect.KindDHCPFailure}, []detect.Kind{detect.KindDHCPFailure},
			"WPA2-PSK, association accepted, dnsmasq answering only the real address, ipv4.dhcp-timeout 10; two activations"},
	}
}

// checkDetect replays the scenario's events into the detector, checks
// what the service raised, and records or compares the trace.
func checkDetect(t *testing.T, r *Run, s Scenario, d detectCase) {
	t.Helper()
	t.Logf("events:\n%s", formatEvents(s.Events))
	det, err := detect.New(detect.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []detect.Kind
	for _, ev := range s.Events {
		for _, sp := range det.Feed(ev) {
			kinds = append(kinds, sp.Kind)
			t.Logf("detector raised %s (%s): %s", sp.Kind, sp.Confidence, sp.Reason)
		}
	}
	if diff := cmp.Diff(d.want, kinds); diff != "" {
		t.Errorf("detector fed NetworkManager's and wpa_supplicant's events: kinds (-want +got):\n%s", diff)
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
		t.Logf("suspicion %v after NM %d<-%d reason %d", dl, ev.State, ev.Old, ev.Reason)
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
