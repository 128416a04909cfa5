// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
)

// offerWatch receives the service's Suspicion signals on the API bed's bus.
type offerWatch struct {
	fb   *apiFuzzBed
	sigs chan *dbus.Signal
}

func watchOffers(t *testing.T, fb *apiFuzzBed) *offerWatch {
	t.Helper()
	if err := fb.conn.AddMatchSignal(dbus.WithMatchInterface(api.Interface), dbus.WithMatchMember(api.SignalSuspicion)); err != nil {
		t.Fatal(err)
	}
	w := &offerWatch{fb: fb, sigs: make(chan *dbus.Signal, 16)}
	fb.conn.Signal(w.sigs)
	t.Cleanup(func() { fb.conn.RemoveSignal(w.sigs) })
	return w
}

// signalled returns the connection UUIDs of the Suspicion signals that
// arrive within wait, or as soon as there are more than want.
func (w *offerWatch) signalled(t *testing.T, wait time.Duration, want int) []string {
	t.Helper()
	var out []string
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case sig := <-w.sigs:
			if sig.Name != api.Interface+"."+api.SignalSuspicion || len(sig.Body) != 1 {
				continue
			}
			var sp api.Suspicion
			js, _ := sig.Body[0].(string)
			if err := json.Unmarshal([]byte(js), &sp); err != nil {
				t.Fatalf("Suspicion signal %q: %v", js, err)
			}
			out = append(out, sp.Connection.UUID)
			if len(out) > want {
				return out
			}
		case <-timer.C:
			return out
		}
	}
}

// listed returns the connection UUIDs of ListSuspicions.
func (w *offerWatch) listed(t *testing.T) []string {
	t.Helper()
	var js string
	if err := w.fb.conn.Object(api.BusName, api.Path).Call(api.ListSuspicions, 0).Store(&js); err != nil {
		t.Fatal(err)
	}
	var sps []api.Suspicion
	if err := json.Unmarshal([]byte(js), &sps); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, sp := range sps {
		out = append(out, sp.Connection.UUID)
	}
	return out
}

// failDHCP makes the service see two activations of profile p on eth0
// fail in IP configuration with carrier (the default dhcp_failures).
func failDHCP(t *testing.T, fb *apiFuzzBed, p nm.Profile, at *time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := fb.svc.do(ctx, func() {
		s := fb.svc
		if s.profiles == nil {
			s.profiles = map[dbus.ObjectPath]nm.Profile{}
		}
		s.profiles[dbus.ObjectPath(p.Path)] = p
		d := s.devs["eth0"]
		d.nm.Type = "wifi"
		d.link.Carrier = true
		for range 2 {
			for _, st := range [][3]uint32{
				{detect.StatePrepare, detect.StateDisconnected, 0},
				{detect.StateConfig, detect.StatePrepare, 0},
				{detect.StateIPConfig, detect.StateConfig, 0},
				{detect.StateFailed, detect.StateIPConfig, detect.ReasonIPConfigUnavailable},
				{detect.StateDisconnected, detect.StateFailed, 0},
			} {
				d.network, d.profile = p.Network(), dbus.ObjectPath(p.Path)
				*at = at.Add(time.Second)
				s.feedDetector(d, st[0], st[1], st[2], *at)
			}
		}
		d.forgetConnection()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestServiceOfferGate runs the offer gate inside the service, its API on a
// private bus: a suspicion the gate refuses is neither signalled nor
// listed; one it lets through is both; a reload to offer = "never"
// withdraws what is pending and offers nothing more.
func TestServiceOfferGate(t *testing.T) {
	fb := newAPIFuzzBed(t)
	w := watchOffers(t, fb)
	at := time.Now()
	const quiet = 300 * time.Millisecond

	open := nm.Profile{Path: "/p/open", UUID: offerUUID, ID: "FreeWifi", SSID: "FreeWifi", Type: "802-11-wireless"}
	failDHCP(t, fb, open, &at)
	if got := w.signalled(t, quiet, 0); len(got) != 0 {
		t.Errorf("DHCP failures on an open Wi-Fi network were signalled: %v", got)
	}
	if got := w.listed(t); len(got) != 0 {
		t.Errorf("DHCP failures on an open Wi-Fi network are listed: %v", got)
	}

	psk := nm.Profile{Path: "/p/psk", UUID: offerUUID2, ID: "Home", SSID: "Home", Type: "802-11-wireless", KeyMgmt: "wpa-psk"}
	failDHCP(t, fb, psk, &at)
	if got := w.signalled(t, 5*time.Second, 0); len(got) != 1 || got[0] != offerUUID2 {
		t.Fatalf("DHCP failures on a WPA network: signalled %v, want one for %s", got, offerUUID2)
	}
	if got := w.listed(t); len(got) != 1 || got[0] != offerUUID2 {
		t.Fatalf("DHCP failures on a WPA network: listed %v, want %s", got, offerUUID2)
	}

	// The user keeps the private address; the network fails again: not
	// offered again within the hour.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fb.svc.do(ctx, func() {
		for _, sp := range fb.svc.suspicions {
			fb.svc.dismiss(sp.ID)
		}
	}); err != nil {
		t.Fatal(err)
	}
	at = at.Add(10 * time.Minute) // a new episode for the detector
	failDHCP(t, fb, psk, &at)
	if got := w.signalled(t, quiet, 0); len(got) != 0 {
		t.Errorf("a second offer for the same network within the hour: %v", got)
	}
	if got := w.listed(t); len(got) != 0 {
		t.Errorf("a second suspicion for the same network within the hour is listed: %v", got)
	}

	// Another secured network is offered; then the policy says never.
	other := nm.Profile{Path: "/p/eap", UUID: "7b2a0d9c-5e3f-4a41-9cad-9e8f7a6b5c4d", ID: "Work", SSID: "Work", Type: "802-11-wireless", KeyMgmt: "wpa-eap"}
	failDHCP(t, fb, other, &at)
	if got := w.signalled(t, 5*time.Second, 0); len(got) != 1 {
		t.Fatalf("another network: signalled %v, want one", got)
	}
	if err := state.WriteFileAtomic(fb.svc.cfg.PolicyFile, []byte("offer = \"never\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var reloadErr error
	if err := fb.svc.do(ctx, func() { reloadErr = fb.svc.doReload(ctx) }); err != nil || reloadErr != nil {
		t.Fatalf("reload: %v, %v", err, reloadErr)
	}
	if got := w.listed(t); len(got) != 0 {
		t.Errorf("pending offers not withdrawn by offer = \"never\": %v", got)
	}
	third := nm.Profile{Path: "/p/sae", UUID: "8c3b1e0d-6f40-4b52-8dbe-af09b8c7d6e5", ID: "Flat", SSID: "Flat", Type: "802-11-wireless", KeyMgmt: "sae"}
	failDHCP(t, fb, third, &at)
	if got := w.signalled(t, quiet, 0); len(got) != 0 {
		t.Errorf("offer = \"never\": signalled %v", got)
	}
	if got := w.listed(t); len(got) != 0 {
		t.Errorf("offer = \"never\": listed %v", got)
	}
}
