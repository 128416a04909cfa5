// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// Classify answers from k.hw; a link not listed is unclassified (a card).
func (k *fakeKernel) Classify(l links.Link) links.Hardware {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.hw[l.Name]
}

// fakeSysfs builds root/class/net/NAME/ifindex for each link, with the
// entries given ("device" a link to a bus device bound to driver, or
// "phy80211").
func fakeSysfs(t *testing.T, root string, name string, index int, driver string, entries ...string) {
	t.Helper()
	dir := filepath.Join(root, "class", "net", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ifindex"), []byte(strconv.Itoa(index)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		target := filepath.Join(root, "devices", name+"-"+e)
		if err := os.MkdirAll(target, 0o755); err != nil {
			t.Fatal(err)
		}
		if e == "device" && driver != "" {
			drv := filepath.Join(root, "bus", "usb", "drivers", driver)
			if err := os.MkdirAll(drv, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(drv, filepath.Join(target, "driver")); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(target, filepath.Join(dir, e)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClassifyLink(t *testing.T) {
	root := t.TempDir()
	fakeSysfs(t, root, "enp0s31f6", 2, "e1000e", "device")
	fakeSysfs(t, root, "enx001122334455", 3, "ipheth", "device")
	fakeSysfs(t, root, "wlan0", 4, "", "phy80211") // mac80211_hwsim: a wiphy, no bus device
	fakeSysfs(t, root, "wlp2s0", 5, "iwlwifi", "device", "phy80211")
	fakeSysfs(t, root, "docker0", 6, "")
	fakeSysfs(t, root, "veth1a2b", 7, "")
	fakeSysfs(t, root, "renamed", 99, "", "device") // ifindex differs from the link's
	// ifindex unreadable: a directory where the file should be.
	bad := filepath.Join(root, "class", "net", "broken")
	if err := os.MkdirAll(filepath.Join(bad, "ifindex"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		link   links.Link
		class  policy.Class
		driver string
		why    string
	}{
		{links.Link{Index: 2, Name: "enp0s31f6"}, policy.ClassCard, "e1000e", ""},
		{links.Link{Index: 3, Name: "enx001122334455"}, policy.ClassCard, "ipheth", ""},
		{links.Link{Index: 4, Name: "wlan0"}, policy.ClassCard, "", ""},
		{links.Link{Index: 5, Name: "wlp2s0"}, policy.ClassCard, "iwlwifi", ""},
		{links.Link{Index: 6, Name: "docker0"}, policy.ClassVirtual, "", ""},
		{links.Link{Index: 7, Name: "veth1a2b"}, policy.ClassVirtual, "", ""},
		{links.Link{Index: 8, Name: "renamed"}, policy.ClassUnknown, "", "says ifindex \"99\", the link has 8"},
		{links.Link{Index: 9, Name: "gone"}, policy.ClassUnknown, "", "no such file"},
		{links.Link{Index: 10, Name: "broken"}, policy.ClassUnknown, "", "is a directory"},
		{links.Link{Index: 11, Name: ".."}, policy.ClassUnknown, "", "cannot be looked up"},
	}
	for _, c := range cases {
		got := links.ClassifyLink(root, c.link)
		if got.Class != c.class || got.Driver != c.driver || !strings.Contains(got.Why, c.why) || (c.why == "") != (got.Why == "") {
			t.Errorf("classifyLink(%s) = %+v, want class %q driver %q why ~ %q", c.link.Name, got, c.class, c.driver, c.why)
		}
	}
	// No sysfs at all (not mounted, or unreadable): every link unknown.
	if got := links.ClassifyLink(filepath.Join(root, "absent"), links.Link{Index: 2, Name: "enp0s31f6"}); got.Class != policy.ClassUnknown {
		t.Errorf("without sysfs: %+v, want unknown", got)
	}
}

// TestServiceGuardsCardsAndCarriersOnly: under the built-in default (guard
// = "auto") the service spoofs a card, a device of unknown class and a
// bridge carrying the card's real address, and touches neither a Docker-like
// bridge nor its veth.
func TestServiceGuardsCardsAndCarriersOnly(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	dockerAddr := hw(t, "02:42:ac:11:00:01")
	vethAddr := hw(t, "5a:11:22:33:44:55")
	tapReal := hw(t, "00:16:3e:00:00:07")
	k := newFakeKernel(
		links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true},
		links.Link{Index: 3, Name: "docker0", Kind: "bridge", Addr: dockerAddr, Up: true},
		links.Link{Index: 4, Name: "vethab12", Kind: "veth", Addr: vethAddr, Up: true},
		links.Link{Index: 5, Name: "br0", Kind: "bridge", Addr: real0, Up: true},
		links.Link{Index: 6, Name: "tap0", Kind: "tun", Addr: tapReal, Up: true},
	)
	k.hw = map[string]links.Hardware{
		"eth0":     {Class: policy.ClassCard, Driver: "e1000e"},
		"docker0":  {Class: policy.ClassVirtual},
		"vethab12": {Class: policy.ClassVirtual},
		"br0":      {Class: policy.ClassVirtual},
		"tap0":     {Class: policy.ClassUnknown, Why: "sysfs: permission denied"},
	}
	svc := startService(t, k, "")
	if addr := waitGate(t, svc, "eth0", gateSpoofed); addr == real0.String() {
		t.Fatal("eth0 kept its real address")
	}
	if addr := waitGate(t, svc, "br0", gateSpoofed); addr == real0.String() {
		t.Fatal("br0 kept the card's real address")
	}
	if r := k.List2()["br0"]; r.Real.String() != real0.String() {
		t.Errorf("backstop on br0 = %+v, want it to drop the card's real address %s", r, real0)
	}
	if addr := waitGate(t, svc, "tap0", gateSpoofed); addr == tapReal.String() {
		t.Fatal("tap0 (class unknown) kept its first address: not failing closed")
	}
	for _, name := range []string{"docker0", "vethab12"} {
		waitGate(t, svc, name, gateIgnored)
		var verdict policy.Verdict
		if err := svc.do(t.Context(), func() { verdict = svc.devs[name].verdict }); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(verdict.Reason, "virtual device without a card's address") {
			t.Errorf("%s: verdict reason %q", name, verdict.Reason)
		}
		for _, c := range k.Calls() {
			if strings.Contains(c, " "+name) {
				t.Errorf("the service acted on %s: %s", name, c)
			}
		}
	}
	if l, _ := k.Get("docker0"); l.Addr.String() != dockerAddr.String() || !l.Up {
		t.Errorf("docker0 changed: %+v", l)
	}
	// Nothing about the devices left alone is written to the state file.
	if err := svc.do(t.Context(), func() {
		for _, name := range []string{"docker0", "vethab12"} {
			if _, ok := svc.boot.FirstSeen[state.Key(name)]; ok {
				t.Errorf("first-seen address of %s saved", name)
			}
		}
		if _, ok := svc.boot.FirstSeen[state.Key("tap0")]; !ok {
			t.Error("first-seen address of tap0 (guarded) not saved")
		}
	}); err != nil {
		t.Fatal(err)
	}
}

// TestServiceGuardsVirtualDeviceThatTakesACardsAddress: a bridge left
// alone becomes guarded when its address changes to a card's real address
// (a port enslaved), and a guard = "always" rule guards a virtual device.
func TestServiceGuardsVirtualDeviceThatTakesACardsAddress(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	brAddr := hw(t, "2e:00:00:00:00:01")
	k := newFakeKernel(
		links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true},
		links.Link{Index: 3, Name: "br0", Kind: "bridge", Addr: brAddr, Up: true},
		links.Link{Index: 4, Name: "nmt0", Kind: "veth", Addr: hw(t, "02:00:00:00:00:09"), Up: true},
	)
	k.hw = map[string]links.Hardware{"eth0": {Class: policy.ClassCard}, "br0": {Class: policy.ClassVirtual}, "nmt0": {Class: policy.ClassVirtual}}
	svc := startService(t, k, "[[device]]\ninterface = \"nmt*\"\nguard = \"always\"\n")
	waitGate(t, svc, "eth0", gateSpoofed)
	waitGate(t, svc, "br0", gateIgnored)
	waitGate(t, svc, "nmt0", gateSpoofed)
	took := links.Link{Index: 3, Name: "br0", Kind: "bridge", Addr: real0, Up: true}
	k.mu.Lock()
	k.links["br0"] = took
	k.mu.Unlock()
	k.events <- links.Event{Link: took}
	if addr := waitGate(t, svc, "br0", gateSpoofed); addr == real0.String() {
		t.Fatal("br0 kept the card's real address")
	}
	if r := k.List2()["br0"]; r.Real.String() != real0.String() {
		t.Errorf("backstop on br0 = %+v, want the card's real address %s", r, real0)
	}
}

// TestServiceFailsClosedToGuardAlways: a policy that cannot be loaded
// guards every device, virtual ones too.
func TestServiceFailsClosedToGuardAlways(t *testing.T) {
	first := hw(t, "02:42:ac:11:00:01")
	k := newFakeKernel(links.Link{Index: 3, Name: "docker0", Kind: "bridge", Addr: first, Up: true})
	k.hw = map[string]links.Hardware{"docker0": {Class: policy.ClassVirtual}}
	svc := startService(t, k, "[default]\nguard = \"bogus\"\n")
	if addr := waitGate(t, svc, "docker0", gateSpoofed); addr == first.String() {
		t.Fatal("docker0 kept its address under an unreadable policy")
	}
}
