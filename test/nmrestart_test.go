// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// serviceView is what the service knows of NetworkManager and the cards,
// through its API, without what only time changes (drop counters, when a
// violation happened).
type serviceView struct {
	Devices    []api.Device
	NMRunning  bool
	Spoof      bool
	Held       bool
	Violations int
}

func viewOfService(t testing.TB, b *bed.Bed) serviceView {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	obj := conn.Object(api.BusName, api.Path)
	var devJS string
	if err := obj.CallWithContext(ctx, api.ListDevices, 0).Store(&devJS); err != nil {
		t.Fatalf("ListDevices: %v", err)
	}
	var v serviceView
	if err := json.Unmarshal([]byte(devJS), &v.Devices); err != nil {
		t.Fatalf("ListDevices %q: %v", devJS, err)
	}
	for i := range v.Devices {
		v.Devices[i].Dropped = 0
		// "spoofed" says the service set the compliant address itself,
		// "allowed" that it found one: the same state of the card.
		if v.Devices[i].Gate == "spoofed" {
			v.Devices[i].Gate = "allowed"
		}
	}
	st := status(t, b)
	v.NMRunning, v.Spoof, v.Held, v.Violations = st.NMRunning, st.Spoof, st.Held, len(st.Violations)
	return v
}

// settledService waits until the service's view stays the same for a
// second and returns it.
func settledService(t testing.TB, b *bed.Bed) serviceView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	prev := viewOfService(t, b)
	for {
		time.Sleep(time.Second)
		cur := viewOfService(t, b)
		if cmp.Equal(prev, cur) {
			return cur
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service's view did not settle within 30s: %s", cmp.Diff(prev, cur))
		}
		prev = cur
	}
}

// TestIntegrationResyncAfterNMRestart: NetworkManager takes its bus name
// before its objects exist, so a resync right at its (re)start finds
// nothing; the service retries until NetworkManager answers. After five NM
// restarts under a running service — one card activated with a good
// autoconnect profile, one whose autoconnect profile sets the real address
// and is blocked — and a reload, the service's view (devices, profiles'
// blocks, NM state, violations) equals the one a freshly started service
// has, and no ERROR was logged.
func TestIntegrationResyncAfterNMRestart(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 2}))
	devs := b.Devices()
	b.StartDHCP(t, nil)
	// The cards are unmanaged until the service hands them over (the
	// hotplug gate): the profiles are there before it starts.
	b.AddProfile(t, bed.Profile{Name: "good", Interface: devs[0].Name, Autoconnect: true, DHCPTimeout: 20})
	b.AddProfile(t, bed.Profile{Name: "leaky", Interface: devs[1].Name, Autoconnect: true, ClonedMAC: devs[1].MAC.String(), DHCPTimeout: 20})
	g := startGuard(t, b, "")
	b.WaitState(t, devs[0].Name, detect.StateActivated, 30*time.Second)
	g.waitLog(t, 10*time.Second, "-> blocked", "device="+devs[1].Name)
	before := settledService(t, b)

	for i := range 5 {
		appeared := g.countLog("NetworkManager (re)appeared")
		b.RestartNM(t)
		g.waitLogCount(t, appeared+1, 15*time.Second, "NetworkManager (re)appeared")
		b.WaitState(t, devs[0].Name, detect.StateActivated, 30*time.Second)
		t.Logf("NM restart %d: %d resyncs so far, %d retried", i+1, g.countLog(`msg="nm: resync"`),
			g.countLog("NetworkManager not ready for a resync yet"))
	}
	// A reload decides on every card again from what the service knows of
	// the profiles: one that lost them unblocks the card with the leaky
	// profile, which NetworkManager then autoconnects (and the gate
	// refuses in flight: a violation a fresh service does not have).
	reloads := g.countLog("policy: reloaded")
	if err := g.p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	g.waitLogCount(t, reloads+1, 10*time.Second, "policy: reloaded")
	restarted := settledService(t, b)
	var errs []string
	for _, line := range strings.Split(g.p.Log(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			errs = append(errs, line)
		}
	}
	if len(errs) != 0 {
		t.Errorf("%d ERROR lines across the NM restarts:\n%s", len(errs), strings.Join(errs, "\n"))
	}

	g.p.Stop(5 * time.Second)
	g.start(t)
	g.waitLog(t, 15*time.Second, `msg="nm: resync"`)
	b.WaitState(t, devs[0].Name, detect.StateActivated, 30*time.Second)
	fresh := settledService(t, b)
	if d := cmp.Diff(fresh, restarted); d != "" {
		t.Errorf("after 5 NM restarts the service's view differs from a fresh start's (-fresh +restarted):\n%s", d)
	}
	if d := cmp.Diff(before, restarted); d != "" {
		t.Logf("view before the restarts vs after (-before +after):\n%s", d)
	}
	for _, d := range restarted.Devices {
		t.Logf("%s: gate %s, NM %s, connection %q, backstop %s", d.Interface, d.Gate, d.NMState, d.Connection, d.Backstop)
	}
}
