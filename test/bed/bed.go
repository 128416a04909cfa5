// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// MaxDevices is the largest Options.Devices New accepts.
const MaxDevices = 200

// KeepEnv keeps the bed's directory (logs, NM state, configs) after the test
// when set to "1", for debugging; the processes and namespaces are removed
// anyway.
const KeepEnv = "MAC_NMGUARD_KEEP_BED"

// Network side addressing (the bridge in PeerNS; one subnet for all devices).
const (
	// BridgeName is the bridge in PeerNS that every peer end is enslaved to.
	BridgeName = "br0"
	// BridgeCIDR is the bridge's address: dnsmasq serves this /16.
	BridgeCIDR = "10.213.0.1/16"
)

// Options tell New what to build.
type Options struct {
	Devices   int      // client devices created at start (veth pairs), 0..200, named DeviceName(i)
	NoNM      bool     // do not start NetworkManager (start it later with StartNM)
	NMConf    string   // extra NetworkManager.conf text appended (e.g. [connection] sections)
	BusPolicy []string // extra dbus policy XML files (contents) installed in the bus's policy dir
	// NMLogLevel is NetworkManager's [logging] level: "" means INFO; "DEBUG" or
	// "TRACE" for hard cases (slower, logs are large).
	NMLogLevel string
	// NMGated: NMConf keeps devices unmanaged until mac-nmguard hands them
	// to NM (its hotplug gate), so readiness waits for NM only, not for the
	// devices.
	NMGated bool
}

// Bed is one test bed. Its exported fields are fixed for its lifetime.
type Bed struct {
	Name       string // unique prefix of this bed's namespaces, e.g. "nb3f9a1c"
	Dir        string // the bed's temp dir (configs, logs, NM state)
	BusAddress string // "unix:path=..."; export it only to processes/code under test
	ClientNS   string // netns where NM and the client devices live
	PeerNS     string // netns of the network side (peer ends of the veths, bridge, dnsmasq, hostapd, capture)

	opts      Options
	busSocket string

	mu         sync.Mutex
	devices    []Device          // current devices, in creation order
	known      map[string]Device // every device ever added, by name (for the recorder)
	carrierOff map[string]bool   // devices whose peer end is down
	bus        *Process
	nm         *Process
	dhcp       *Process
	hostapd    *Process
	supplicant *Process
}

// Device is one client device: a veth end in ClientNS whose peer end (Peer)
// is in PeerNS, enslaved to the bridge.
type Device struct {
	Name string           // interface name in ClientNS
	Peer string           // the peer end's name in PeerNS
	MAC  net.HardwareAddr // its initial ("real") address
}

// DeviceName is the name New gives to the i-th device: nmt0, nmt1, ...
func DeviceName(i int) string { return fmt.Sprintf("nmt%d", i) }

// DeviceMAC is the initial ("real") address New gives to the i-th device:
// 00:1b:21:00:HH:LL with HHLL = i+1, a universally administered address with
// a real vendor prefix (Intel), as a real NIC would have.
func DeviceMAC(i int) net.HardwareAddr {
	n := i + 1
	return net.HardwareAddr{0x00, 0x1b, 0x21, 0x00, byte(n >> 8), byte(n)}
}

// New builds a bed: temp dir, the two network namespaces with a bridge on
// the peer side, o.Devices veth pairs, a private D-Bus system bus and (unless
// o.NoNM) NetworkManager in ClientNS, ready (startup complete, every device
// managed). Everything is removed in t.Cleanup, even on failure or panic.
// New fails t when the bed cannot be built; call Require first.
func New(t testing.TB, o Options) *Bed {
	t.Helper()
	if o.Devices < 0 || o.Devices > MaxDevices {
		t.Fatalf("bed: Options.Devices = %d, want 0..%d", o.Devices, MaxDevices)
	}
	b := &Bed{opts: o, known: map[string]Device{}, carrierOff: map[string]bool{}}
	// Registered before anything is created: whatever exists is removed.
	t.Cleanup(func() { b.teardown(t) })

	if err := b.create(); err != nil {
		t.Fatalf("bed: %v", err)
	}
	if o.Devices > 0 {
		devs := make([]Device, o.Devices)
		for i := range devs {
			devs[i] = Device{Name: DeviceName(i), Peer: DeviceName(i) + "p", MAC: DeviceMAC(i)}
		}
		if err := b.addDevices(devs); err != nil {
			t.Fatalf("bed: %v", err)
		}
	}
	if err := b.startBus(); err != nil {
		t.Fatalf("bed: %v", err)
	}
	if !o.NoNM {
		b.StartNM(t)
	}
	return b
}

// create makes the directory, the namespaces and the bridge.
func (b *Bed) create() error {
	base := os.TempDir()
	if strings.HasPrefix(base, "/run") {
		base = "/tmp" // NM's /run is a tmpfs: the bed's files must not be under it
	}
	for range 20 {
		var r [3]byte
		if _, err := rand.Read(r[:]); err != nil {
			return fmt.Errorf("random name: %w", err)
		}
		name := "nb" + hex.EncodeToString(r[:])
		if _, err := os.Stat(filepath.Join("/run/netns", name+"-cli")); err == nil {
			continue
		}
		dir := filepath.Join(base, "nmbed-"+name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			if errors.Is(err, os.ErrExist) {
				continue
			}
			return fmt.Errorf("create bed dir: %w", err)
		}
		b.Name, b.Dir = name, dir
		break
	}
	if b.Name == "" {
		return errors.New("no free bed name after 20 tries")
	}
	// 0755: unprivileged test clients (polkit tests) must reach the bus socket.
	if err := os.Chmod(b.Dir, 0o755); err != nil {
		return fmt.Errorf("chmod bed dir: %w", err)
	}
	for _, d := range []string{"nm-run", "nm-lib", "nm-conf.d", "nm-sysconf.d", "system-connections", "dbus-policy.d"} {
		if err := os.Mkdir(filepath.Join(b.Dir, d), 0o755); err != nil {
			return fmt.Errorf("create bed dir: %w", err)
		}
	}
	if err := os.Chmod(filepath.Join(b.Dir, "system-connections"), 0o700); err != nil {
		return fmt.Errorf("chmod keyfile dir: %w", err)
	}
	b.busSocket = filepath.Join(b.Dir, "system_bus_socket")
	b.BusAddress = "unix:path=" + b.busSocket
	b.ClientNS = b.Name + "-cli"
	b.PeerNS = b.Name + "-peer"
	if err := run("ip", "netns", "add", b.ClientNS); err != nil {
		b.ClientNS = ""
		return err
	}
	if err := run("ip", "netns", "add", b.PeerNS); err != nil {
		b.PeerNS = ""
		return err
	}
	if err := runBatch(b.ClientNS, "link set lo up\n"); err != nil {
		return err
	}
	return runBatch(b.PeerNS, strings.Join([]string{
		"link set lo up",
		"link add " + BridgeName + " type bridge stp_state 0 forward_delay 0",
		"addr add " + BridgeCIDR + " dev " + BridgeName,
		"link set " + BridgeName + " up",
	}, "\n")+"\n")
}

// teardown removes everything the bed made, in reverse order. It never
// stops half-way: every step runs and its error is reported.
func (b *Bed) teardown(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	procs := []*Process{b.supplicant, b.hostapd, b.dhcp, b.nm, b.bus}
	b.mu.Unlock()
	for _, p := range procs {
		if p == nil {
			continue
		}
		p.stop(5 * time.Second)
		if t.Failed() {
			p.dump(t, 16<<10)
		}
	}
	for _, ns := range []string{b.ClientNS, b.PeerNS} {
		if ns == "" {
			continue
		}
		if err := run("ip", "netns", "del", ns); err != nil {
			t.Errorf("bed teardown: %v", err)
		}
	}
	if b.Dir == "" {
		return
	}
	if os.Getenv(KeepEnv) == "1" {
		t.Logf("bed: kept %s (%s=1)", b.Dir, KeepEnv)
		return
	}
	if err := os.RemoveAll(b.Dir); err != nil {
		t.Errorf("bed teardown: %v", err)
	}
}

// Devices returns the current client devices, in creation order.
func (b *Bed) Devices() []Device {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Device(nil), b.devices...)
}

// Device returns the device called name (current or deleted).
func (b *Bed) Device(name string) (Device, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.known[name]
	return d, ok
}

// env is the environment for programs on the bed's bus.
func (b *Bed) env() []string {
	return []string{"DBUS_SYSTEM_BUS_ADDRESS=" + b.BusAddress}
}

// start starts a program with the bed's bus in its environment.
func (b *Bed) start(name, ns string, env []string, stdin io.Reader, args ...string) (*Process, error) {
	return startProcess(b.Dir, name, ns, append(b.env(), env...), stdin, args...)
}
