// SPDX-License-Identifier: GPL-3.0-or-later

//go:build linux

package test

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// TestIntegrationBedDisconnected: NM manages the veth without udev and
// brings it to DISCONNECTED; its NM state stays in the bed's dir.
func TestIntegrationBedDisconnected(t *testing.T) {
	bed.Require(t)
	_, err := os.Stat("/run/NetworkManager")
	hostRunNM := err == nil
	b := bed.New(t, bed.Options{Devices: 1})
	d := b.Devices()[0]
	b.WaitState(t, d.Name, detect.StateDisconnected, 10*time.Second)
	out, err := b.Nmcli(t, "-t", "-f", "DEVICE,TYPE,STATE", "device")
	if err != nil {
		t.Fatal(err)
	}
	if want := d.Name + ":ethernet:disconnected"; !containsLine(out, want) {
		t.Errorf("nmcli device = %q, want a line %q", out, want)
	}
	// NM's runtime state goes to the bed's dir, not the host's /run.
	if ents, err := os.ReadDir(filepath.Join(b.Dir, "nm-run", "devices")); err != nil || len(ents) == 0 {
		t.Errorf("NM's /run/NetworkManager/devices is not in the bed's dir (%v, %d entries)", err, len(ents))
	}
	if !hostRunNM {
		if _, err := os.Stat("/run/NetworkManager"); err == nil {
			t.Errorf("the bed's NetworkManager created the host's /run/NetworkManager")
		}
	}
	// A hotplugged device is managed too.
	hot := b.AddDevice(t, "hot0", net.HardwareAddr{0x00, 0x1b, 0x21, 0x0f, 0x00, 0x01})
	b.WaitState(t, hot.Name, detect.StateDisconnected, 10*time.Second)
}

// TestIntegrationBedDHCPActivated: a DHCP profile reaches ACTIVATED with the
// documented transitions, and the recorder sees them in order with the
// device's address and connection.
func TestIntegrationBedDHCPActivated(t *testing.T) {
	bed.Require(t, "dnsmasq")
	b := bed.New(t, bed.Options{Devices: 1})
	d := b.Devices()[0]
	b.StartDHCP(t, nil)
	rec := b.Recorder(t)
	uuid := b.AddProfile(t, bed.Profile{Name: "bed-dhcp", Interface: d.Name, DHCPTimeout: 10})
	if err := b.Activate(t, uuid, d.Name); err != nil {
		t.Fatalf("activate: %v", err)
	}
	b.WaitState(t, d.Name, detect.StateActivated, 5*time.Second)
	rec.Wait(t, 5*time.Second, bed.Is(detect.StateActivated, -1, -1))
	got := stateSeq(rec.Transitions())
	want := "40,30,0 50,40,0 70,50,0 80,70,0 90,80,0 100,90,0"
	if got != want {
		t.Errorf("transitions = %s, want %s", got, want)
	}
	for _, ev := range rec.Transitions() {
		if ev.Device != d.Name || ev.Connection.UUID != uuid || ev.Address != d.MAC.String() || ev.Spoofed || !ev.Carrier {
			t.Errorf("event %+v: want device %s, connection %s, address %s (not spoofed), carrier", ev, d.Name, uuid, d.MAC)
		}
	}
}

// TestIntegrationBedAllowListFails: dnsmasq with an allow-list ignores a
// spoofed address: the activation fails with IP_CONFIG_UNAVAILABLE (5).
func TestIntegrationBedAllowListFails(t *testing.T) {
	bed.Require(t, "dnsmasq")
	b := bed.New(t, bed.Options{Devices: 1})
	d := b.Devices()[0]
	b.StartDHCP(t, []net.HardwareAddr{d.MAC})
	spoofed := net.HardwareAddr{0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}
	b.SetAddress(t, d.Name, spoofed)
	rec := b.Recorder(t)
	uuid := b.AddProfile(t, bed.Profile{Name: "bed-allow", Interface: d.Name, DHCPTimeout: 3})
	err := b.Activate(t, uuid, d.Name)
	if err == nil {
		t.Fatal("activation with an address outside the allow-list succeeded")
	}
	ev := rec.Wait(t, 10*time.Second, bed.Is(detect.StateFailed, -1, -1))
	if ev.Reason != detect.ReasonIPConfigUnavailable || ev.Old != detect.StateIPConfig {
		t.Errorf("failure = %d<-%d reason %d, want 120<-70 reason 5", ev.State, ev.Old, ev.Reason)
	}
	if ev.Address != spoofed.String() || ev.Real != d.MAC.String() || !ev.Spoofed {
		t.Errorf("failure event address %s real %s spoofed %v, want %s, %s, true", ev.Address, ev.Real, ev.Spoofed, spoofed, d.MAC)
	}
	if log := b.DHCP().Log(); !strings.Contains(log, spoofed.String()+" ignored") {
		t.Errorf("dnsmasq did not log the spoofed address as ignored:\n%s", log)
	}
}

// TestIntegrationBed8021XWrongPassword: wired 802.1X with a wrong stored
// password ends in FAILED with NO_SECRETS (7).
func TestIntegrationBed8021XWrongPassword(t *testing.T) {
	bed.Require(t, "hostapd", "wpa_supplicant")
	b := bed.New(t, bed.Options{Devices: 1})
	d := b.Devices()[0]
	b.Start8021X(t)
	rec := b.Recorder(t)
	uuid := b.AddProfile(t, bed.Profile{Name: "bed-8021x", Interface: d.Name, DHCPTimeout: 5,
		EAP: &bed.EAP{Password: "wrongpass", AuthTimeout: 3}})
	err := b.Activate(t, uuid, d.Name)
	if err == nil {
		t.Fatal("activation with a wrong 802.1X password succeeded")
	}
	ev := rec.Wait(t, 30*time.Second, bed.Is(detect.StateFailed, -1, -1))
	if ev.Reason != detect.ReasonNoSecrets {
		t.Errorf("failure reason = %d, want %d; transitions:\n%s", ev.Reason, detect.ReasonNoSecrets, bed.FormatEvents(rec.Transitions()))
	}
	if n := strings.Count(b.Hostapd().Log(), "CTRL-EVENT-EAP-FAILURE"); n == 0 {
		t.Errorf("hostapd logged no EAP failure:\n%s", b.Hostapd().Log())
	}
}

// TestIntegrationBed8021XSuccess: the right password reaches ACTIVATED,
// through one NEED_AUTH round.
func TestIntegrationBed8021XSuccess(t *testing.T) {
	bed.Require(t, "hostapd", "wpa_supplicant", "dnsmasq")
	b := bed.New(t, bed.Options{Devices: 1})
	d := b.Devices()[0]
	b.Start8021X(t)
	b.StartDHCP(t, nil)
	for _, method := range []string{"md5", "peap"} {
		uuid := b.AddProfile(t, bed.Profile{Name: "bed-ok-" + method, Interface: d.Name, DHCPTimeout: 10,
			EAP: &bed.EAP{Method: method, AuthTimeout: 10}})
		if err := b.Activate(t, uuid, d.Name); err != nil {
			t.Fatalf("%s: activate: %v", method, err)
		}
		if err := b.Deactivate(t, uuid); err != nil {
			t.Fatalf("%s: deactivate: %v", method, err)
		}
	}
}

// TestIntegrationBedCapture: the capture counts the DHCP frames of a known
// source and none of an absent one.
func TestIntegrationBedCapture(t *testing.T) {
	bed.Require(t, "dnsmasq")
	b := bed.New(t, bed.Options{Devices: 2})
	d := b.Devices()[0]
	b.StartDHCP(t, nil)
	c := b.StartCapture(t)
	uuid := b.AddProfile(t, bed.Profile{Name: "bed-cap", Interface: d.Name, DHCPTimeout: 10})
	if err := b.Activate(t, uuid, d.Name); err != nil {
		t.Fatalf("activate: %v", err)
	}
	absent := net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x00, 0x99}
	c.Stop()
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	if n := c.Count(d.MAC); n < 2 {
		t.Errorf("frames from %s = %d, want >= 2 (DHCP discover and request); all: %v", d.MAC, n, c.Sources())
	}
	if n := c.Count(absent); n != 0 {
		t.Errorf("frames from absent %s = %d, want 0", absent, n)
	}
	// Only the bed's two client devices send (the idle one may send IPv6
	// link-local frames once NM sets its link up): nothing from the network
	// side is counted.
	for src := range c.Sources() {
		if src != d.MAC.String() && src != b.Devices()[1].MAC.String() {
			t.Errorf("frames from unexpected source %s: %v", src, c.Sources())
		}
	}
}

// TestIntegrationBedCleanup makes and removes beds BED_RUNS times (default
// 3) and checks that nothing of its own beds remains: namespaces,
// processes, mounts, dirs. Mounts are judged by bed name, so another bed
// up at the same time (the test/bed package runs alongside) does not count.
func TestIntegrationBedCleanup(t *testing.T) {
	bed.Require(t, "dnsmasq")
	runs := 3
	if s := os.Getenv("BED_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BED_RUNS=%q: want a positive integer", s)
		}
		runs = n
	}
	for i := range runs {
		var name, dir string
		var pids []int
		t.Run("run"+strconv.Itoa(i), func(t *testing.T) {
			b := bed.New(t, bed.Options{Devices: 2})
			b.StartDHCP(t, nil)
			name, dir = b.Name, b.Dir
			pids = []int{b.NM().PID(), b.DHCP().PID()}
			// The host sees the bed's namespaces, and nothing of the
			// mount namespace NetworkManager runs in.
			want := []string{"/run/netns/" + b.ClientNS, "/run/netns/" + b.PeerNS}
			var got []string
			for _, m := range bedMounts(t, name) {
				got = append(got, m.point)
				if !slices.Contains(want, m.point) {
					t.Errorf("a mount of the bed's NetworkManager is visible on the host: %s", m.line)
				}
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("the host's mount table lacks the bed's namespace %s (got %q)", w, got)
				}
			}
			if !nsExists(b.ClientNS) || !nsExists(b.PeerNS) {
				t.Fatalf("namespaces %s, %s not created", b.ClientNS, b.PeerNS)
			}
			for _, pid := range pids {
				if !alive(pid) {
					t.Fatalf("pid %d not running during the bed", pid)
				}
			}
		})
		if nsExists(name+"-cli") || nsExists(name+"-peer") {
			t.Errorf("run %d: namespaces of %s remain", i, name)
		}
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("run %d: pid %d still running", i, pid)
			}
		}
		if _, err := os.Stat(dir); err == nil && os.Getenv(bed.KeepEnv) != "1" {
			t.Errorf("run %d: dir %s remains", i, dir)
		}
		for _, m := range bedMounts(t, name) {
			t.Errorf("run %d: a mount of bed %s remains: %s", i, name, m.line)
		}
	}
}

// bedMount is one line of the host's mountinfo.
type bedMount struct {
	point, line string
}

// bedMounts are the host's mounts that belong to the bed named name (its
// namespaces under /run/netns, anything bound from its dir, its
// NetworkManager's /run tmpfs, whose source is the dir's name): the lines of
// /proc/self/mountinfo that name it. Other beds running at the same time
// (another test package) have other names.
func bedMounts(t *testing.T, name string) []bedMount {
	t.Helper()
	var out []bedMount
	for _, line := range strings.Split(readFile(t, "/proc/self/mountinfo"), "\n") {
		if !strings.Contains(line, name) {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 {
			t.Fatalf("mountinfo line %q: too few fields", line)
		}
		out = append(out, bedMount{point: f[4], line: line})
	}
	return out
}

// TestIntegrationBedLifecycle exercises the rest of the harness: NM crash
// and restarts, a bus restart, hotplug and unplug, carrier, StartProcess and
// InClient.
func TestIntegrationBedLifecycle(t *testing.T) {
	bed.Require(t)
	b := bed.New(t, bed.Options{Devices: 2, NMConf: "[connection]\nethernet.cloned-mac-address=preserve"})
	d := b.Devices()[0]

	b.KillNM(t, syscall.SIGKILL)
	if !b.NM().Exited() {
		t.Fatal("NM still running after SIGKILL")
	}
	b.StartNM(t)
	b.RestartNM(t)
	b.WaitState(t, d.Name, detect.StateDisconnected, 10*time.Second)

	b.SetCarrier(t, d.Name, false)
	b.WaitState(t, d.Name, detect.StateUnavailable, 10*time.Second)
	b.SetCarrier(t, d.Name, true)
	b.WaitState(t, d.Name, detect.StateDisconnected, 10*time.Second)

	hot := b.AddDevice(t, "hot1", net.HardwareAddr{0x00, 0x1b, 0x21, 0x0f, 0x00, 0x02})
	b.WaitState(t, hot.Name, detect.StateDisconnected, 10*time.Second)
	b.DeleteDevice(t, hot.Name)
	if len(b.Devices()) != 2 {
		t.Errorf("devices after unplug = %v, want 2", b.Devices())
	}

	// The bus restart: NM loses its connection; a restarted NM works again.
	b.RestartBus(t)
	select { // an observation for the README, not an assertion
	case <-b.NM().Done():
		t.Logf("NM exited after the bus restart: %v", b.NM().Wait(0))
	case <-time.After(2 * time.Second):
		_, err := b.Nmcli(t, "general")
		t.Logf("NM still running 2s after the bus restart; nmcli general: %v", err)
	}
	b.RestartNM(t)
	b.WaitState(t, d.Name, detect.StateDisconnected, 10*time.Second)
	if out, err := b.Nmcli(t, "-t", "-f", "DEVICE", "device"); err != nil || !containsLine(out, "nmt1") || containsLine(out, "hot1") {
		t.Errorf("nmcli device after bus and NM restart = %q, %v; want nmt1 and no hot1", out, err)
	}

	p := b.StartProcess(t, b.ClientNS, []string{"BED_TEST=1"}, "sh", "-c", `echo "bus=$DBUS_SYSTEM_BUS_ADDRESS test=$BED_TEST"; ip -o link show `+d.Name)
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatalf("process: %v\n%s", err, p.Log())
	}
	if log := p.Log(); !strings.Contains(log, "bus="+b.BusAddress+" test=1") || !strings.Contains(log, d.MAC.String()) {
		t.Errorf("process log = %q, want the bus address, the env and %s's link", log, d.Name)
	}

	if err := b.InClient(t, func() error { _, err := net.InterfaceByName(d.Name); return err }); err != nil {
		t.Errorf("InClient: %s not found in the client netns: %v", d.Name, err)
	}
	if _, err := net.InterfaceByName(d.Name); err == nil {
		t.Errorf("%s is visible in the host netns", d.Name)
	}
	if err := b.InClient(t, func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("InClient with a panicking fn = %v, want the panic as an error", err)
	}
}

// BenchmarkBedUpDown measures a bed's setup (namespaces, one veth, bus, NM
// ready) and teardown, as custom metrics.
func BenchmarkBedUpDown(b *testing.B) {
	bed.Require(b)
	var setup, teardown time.Duration
	for range b.N {
		tb := &manualCleanup{TB: b}
		start := time.Now()
		bed.New(tb, bed.Options{Devices: 1})
		setup += time.Since(start)
		start = time.Now()
		tb.run()
		teardown += time.Since(start)
	}
	b.ReportMetric(float64(setup.Milliseconds())/float64(b.N), "setup-ms/op")
	b.ReportMetric(float64(teardown.Milliseconds())/float64(b.N), "teardown-ms/op")
}

// manualCleanup collects t.Cleanup functions and runs them when asked, so a
// benchmark can time a bed's teardown.
type manualCleanup struct {
	testing.TB
	fns []func()
}

func (m *manualCleanup) Cleanup(f func()) { m.fns = append(m.fns, f) }

func (m *manualCleanup) run() {
	for i := len(m.fns) - 1; i >= 0; i-- {
		m.fns[i]()
	}
	m.fns = nil
}

// stateSeq formats the (state, old, reason) sequence of evs.
func stateSeq(evs []detect.Event) string {
	s := make([]string, len(evs))
	for i, ev := range evs {
		s[i] = strconv.Itoa(int(ev.State)) + "," + strconv.Itoa(int(ev.Old)) + "," + strconv.Itoa(int(ev.Reason))
	}
	return strings.Join(s, " ")
}

func nsExists(name string) bool {
	_, err := os.Stat(filepath.Join("/run/netns", name))
	return err == nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// containsLine reports whether s has a line equal to want.
func containsLine(s, want string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}
