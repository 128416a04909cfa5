// SPDX-License-Identifier: GPL-3.0-or-later

//go:build linux

package test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// portalPort is where the bed's captive portal answers, on the bridge.
const portalPort = "8089"

// startPortal serves a captive portal on the bed's bridge (PeerNS): every
// request, NetworkManager's connectivity check included, is redirected to
// a sign-in page, which is what NetworkManager reports as
// NM_CONNECTIVITY_PORTAL. It returns the number of checks seen so far.
func startPortal(t *testing.T, b *bed.Bed) func() int {
	t.Helper()
	var ln net.Listener
	if err := b.InPeer(t, func() error {
		var err error
		ln, err = net.Listen("tcp", strings.Split(bed.BridgeCIDR, "/")[0]+":"+portalPort)
		return err
	}); err != nil {
		t.Fatalf("portal: listen in the peer namespace: %v", err)
	}
	checks := make(chan struct{}, 1024)
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>Sign in to the cafe's network</html>\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case checks <- struct{}{}:
		default:
		}
		http.Redirect(w, r, "http://"+r.Host+"/login", http.StatusFound)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return func() int { return len(checks) }
}

// portalNMConf turns NetworkManager's connectivity check on, against the
// bed's portal (a conf.d file: it wins over the bed's enabled=false).
func portalNMConf(t *testing.T, b *bed.Bed) {
	t.Helper()
	conf := "[connectivity]\nenabled=true\nuri=http://" + strings.Split(bed.BridgeCIDR, "/")[0] + ":" + portalPort + "/check\nresponse=NetworkManager is online\ninterval=60\n"
	if err := os.WriteFile(filepath.Join(b.Dir, "nm-conf.d", "60-portal.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ip4Connectivity reads a device's Ip4Connectivity from NetworkManager.
func ip4Connectivity(t *testing.T, b *bed.Bed, dev string) uint32 {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	v, err := conn.Object("org.freedesktop.NetworkManager", b.DevicePath(t, dev)).GetProperty("org.freedesktop.NetworkManager.Device.Ip4Connectivity")
	if err != nil {
		t.Fatalf("Ip4Connectivity of %s: %v", dev, err)
	}
	c, _ := v.Value().(uint32)
	return c
}

// connectBehindPortal activates profile uuid on dev, waits until it is
// connected with an address ok accepts and NetworkManager reports the
// portal, and returns the address.
func connectBehindPortal(t *testing.T, b *bed.Bed, g *guard, uuid, name, dev string, ok func(string) bool) string {
	t.Helper()
	if err := b.Activate(t, uuid, dev); err != nil {
		t.Logf("activation (may be redone by the service): %v", err)
	}
	addr := waitConnected(t, b, dev, name, ok, 60*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for ip4Connectivity(t, b, dev) != detect.ConnectivityPortal {
		if time.Now().After(deadline) {
			t.Fatalf("NetworkManager never reported the portal on %s (Ip4Connectivity %d)\nservice log:\n%s", dev, ip4Connectivity(t, b, dev), tail(g.p.Log(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return addr
}

// TestIntegrationPortalKeepsPrivateAddress: a network behind a captive
// portal (NetworkManager's connectivity check redirected) seen again with a
// new private address (mode random: a new one at every connection) raises
// portal-forgets; the offer is the same private address, taken over the API
// (D-Bus KeepPrivate) in two ways: `restore --keep-private`, and the agent's
// button picked from dunst's menu (the offer has no real-address choice; the
// outcome says how to undo it); the card reconnects with a stable private
// address, the next connection has the same one, and no frame ever carries
// the real address.
func TestIntegrationPortalKeepsPrivateAddress(t *testing.T) {
	t.Run("restore --keep-private", func(t *testing.T) {
		portalStory(t, func(t *testing.T, b *bed.Bed, g *guard, dev, uuid string) {
			out, err := cli(t, b, "restore", dev, "--keep-private", "--timeout", "60s")
			if err != nil {
				t.Fatalf("restore --keep-private: %v: %s\nservice log:\n%s", err, out, tail(g.p.Log(), 40))
			}
			t.Logf("restore --keep-private: %s", strings.TrimSpace(out))
			if !strings.Contains(out, "reconnected with the same private address for this network") {
				t.Errorf("restore --keep-private says:\n%s", out)
			}
		})
	})
	t.Run("agent on dunst", func(t *testing.T) {
		d := startDesktop(t)
		portalStory(t, func(t *testing.T, b *bed.Bed, g *guard, dev, uuid string) {
			agent := b.StartProcess(t, b.ClientNS, []string{"DBUS_SESSION_BUS_ADDRESS=" + d.SessionBus, "LC_ALL=C.UTF-8", "LANGUAGE="},
				binPath, "agent", "--log-level", "debug")
			e2eWaitProcLog(t, agent, 20*time.Second, "agent: notification server", "dunst")
			offer := d.Notifications.Wait(t, 0, 20*time.Second, e2eSummary("Network “cafe” forgets this computer"))
			if offer.Error != "" {
				t.Fatalf("dunst refused the offer: %s", offer.Error)
			}
			if l, ok := offer.Action("keep-same"); !ok || l != "Keep the same private address for this network" {
				t.Errorf("offer actions %q: want keep-same labelled as the choice", offer.Actions)
			}
			for _, k := range []string{"restore", "restore-always", "default"} {
				if _, ok := offer.Action(k); ok {
					t.Errorf("the portal offer has the action %q: %q", k, offer.Actions)
				}
			}
			if !strings.Contains(offer.Body, "never sees the real address") {
				t.Errorf("offer body %q", offer.Body)
			}
			e2eWaitDisplayed(t, d, 1, 10*time.Second)
			n := len(d.Notifications.Calls())
			t.Logf("dunst's menu:\n%s", d.d.InvokeAction(t, offer.ID, "keep-same"))
			e2eWaitProcLog(t, agent, 10*time.Second, "agent: user chose", "action=keep-same", "device="+dev)
			done := d.Notifications.Wait(t, n, 60*time.Second, e2eSummary("Connected to “cafe” with the same private address"))
			if want := "mac-nmguard exemptions forget " + uuid; done.Error != "" || !strings.Contains(done.Body, want) {
				t.Errorf("outcome %+v: want it shown, saying how to undo (%q)", done, want)
			}
		})
	})
	t.Run("default mode, service restarted", portalAcrossRestart)
}

// portalAcrossRestart: with the built-in default (mode keep-vendor: one
// private address per profile for a whole run of the service) the portal
// seen in one run, then, after the service restarted (a new address), seen
// again raises portal-forgets; the state file holds no address, and no
// frame carries the real address.
func portalAcrossRestart(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1, NoNM: true}))
	portalNMConf(t, b)
	b.StartNM(t)
	dev := b.Devices()[0]
	real := strings.ToLower(dev.MAC.String())
	b.StartDHCP(t, nil)
	startPortal(t, b)
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	waitAddrNot(t, b, dev.Name, real, 10*time.Second)

	uuid := b.AddProfile(t, bed.Profile{Name: "cafe", Interface: dev.Name})
	private := func(a string) bool { return a != real }
	first := connectBehindPortal(t, b, g, uuid, "cafe", dev.Name, private)
	if err := b.Deactivate(t, uuid); err != nil {
		t.Fatal(err)
	}
	if sus := suspicions(t, b); len(sus) != 0 {
		t.Fatalf("a suspicion after the first portal: %+v", sus)
	}
	if err := g.p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := g.p.Wait(10 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	g.start(t)
	g.waitLog(t, 10*time.Second, "api: serving")
	second := connectBehindPortal(t, b, g, uuid, "cafe", dev.Name, func(a string) bool { return private(a) && a != first })
	t.Logf("behind the portal with %s, then after a restart with %s", first, second)
	g.waitLog(t, 20*time.Second, "detect: the network may be rejecting", "kind=portal-forgets")
	sus := suspicions(t, b)
	if len(sus) != 1 || sus[0].Kind != string(detect.KindPortalForgets) || sus[0].Connection.UUID != uuid {
		t.Fatalf("pending suspicions = %+v, want one portal-forgets for %s", sus, uuid)
	}
	data, err := os.ReadFile(filepath.Join(g.stateDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	low := strings.ToLower(string(data))
	if !strings.Contains(low, `"portals"`) || !strings.Contains(low, uuid) {
		t.Errorf("state file has no portal sighting of %s:\n%s", uuid, data)
	}
	for _, a := range []string{first, second, real} {
		for _, form := range []string{a, strings.ReplaceAll(a, ":", ""), strings.ReplaceAll(a, ":", "-")} {
			if strings.Contains(low, form) {
				t.Errorf("state file holds the address %s (as %q):\n%s", a, form, data)
			}
		}
	}
	if err := b.Deactivate(t, uuid); err != nil {
		t.Fatal(err)
	}
	capt.Stop()
	if n := capt.Count(dev.MAC); n != 0 {
		t.Errorf("LEAK: %d frames from the real address %s", n, real)
	}
}

// portalStory is TestIntegrationPortalKeepsPrivateAddress with choose
// taking the offered choice.
func portalStory(t *testing.T, choose func(t *testing.T, b *bed.Bed, g *guard, dev, uuid string)) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1, NoNM: true}))
	portalNMConf(t, b)
	b.StartNM(t)
	dev := b.Devices()[0]
	real := strings.ToLower(dev.MAC.String())
	b.StartDHCP(t, nil)
	checks := startPortal(t, b)
	capt := b.StartCapture(t)
	g := startGuard(t, b, "[default]\nmode = \"random\"\n")
	waitAddrNot(t, b, dev.Name, real, 10*time.Second)

	uuid := b.AddProfile(t, bed.Profile{Name: "cafe", Interface: dev.Name})
	private := func(a string) bool { return a != real }
	first := connectBehindPortal(t, b, g, uuid, "cafe", dev.Name, private)
	if n := len(suspicions(t, b)); n != 0 {
		t.Fatalf("a suspicion after the first portal: %+v", suspicions(t, b))
	}
	if err := b.Deactivate(t, uuid); err != nil {
		t.Fatal(err)
	}
	second := connectBehindPortal(t, b, g, uuid, "cafe", dev.Name, func(a string) bool { return private(a) && a != first })
	t.Logf("behind the portal with %s, then %s (%d connectivity checks)", first, second, checks())
	g.waitLog(t, 20*time.Second, "detect: the network may be rejecting", "kind=portal-forgets")
	sus := suspicions(t, b)
	if len(sus) != 1 || sus[0].Kind != string(detect.KindPortalForgets) || sus[0].Connection.UUID != uuid || sus[0].Device != dev.Name {
		t.Fatalf("pending suspicions = %+v, want one portal-forgets for %s on %s", sus, uuid, dev.Name)
	}

	choose(t, b, g, dev.Name, uuid)
	isStable := func(a string) bool {
		m, err := net.ParseMAC(a)
		return err == nil && a != real && a != second && m[0]&2 != 0
	}
	stable := waitConnected(t, b, dev.Name, "cafe", isStable, 60*time.Second)
	if len(suspicions(t, b)) != 0 {
		t.Errorf("suspicion still pending after the choice: %+v", suspicions(t, b))
	}
	list, err := cli(t, b, "exemptions", "list", "--json")
	if err != nil {
		t.Fatalf("exemptions list: %v: %s", err, list)
	}
	var ex []api.Exemption
	if err := json.Unmarshal([]byte(list), &ex); err != nil {
		t.Fatalf("exemptions list --json %q: %v", list, err)
	}
	if len(ex) != 1 || ex[0].ID != uuid || ex[0].Mode != "stable" || ex[0].Scope != "always" {
		t.Errorf("exemptions = %+v, want the stable choice for %s", ex, uuid)
	}

	// The next connection: the same private address, and the portal seen
	// again with it raises nothing.
	if err := b.Deactivate(t, uuid); err != nil {
		t.Fatal(err)
	}
	waitAddrNot(t, b, dev.Name, real, 10*time.Second)
	again := connectBehindPortal(t, b, g, uuid, "cafe", dev.Name, private)
	if again != stable {
		t.Errorf("next connection with %s, want the same private address %s", again, stable)
	}
	if sus := suspicions(t, b); len(sus) != 0 {
		t.Errorf("suspicions after the next connection: %+v", sus)
	}
	capt.Stop()
	if n := capt.Count(dev.MAC); n != 0 {
		t.Errorf("LEAK: %d frames from the real address %s", n, real)
	}
	if capt.Count(mustHW(t, stable)) == 0 {
		t.Errorf("no frame from the stable private address %s", stable)
	}

	// Undone like an exemption.
	if out, err := cli(t, b, "exemptions", "forget", uuid); err != nil {
		t.Errorf("exemptions forget: %v: %s", err, out)
	}
}
