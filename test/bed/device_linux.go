// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// addDevices creates veth pairs: d.Name (address d.MAC) in ClientNS, d.Peer
// in PeerNS, enslaved to the bridge and up (so the client end gets carrier as
// soon as it is up).
func (b *Bed) addDevices(devs []Device) error {
	var host, peer strings.Builder
	for _, d := range devs {
		if len(d.Name) == 0 || len(d.Name) > 14 {
			return fmt.Errorf("device name %q: want 1..14 characters (the peer end adds \"p\")", d.Name)
		}
		if len(d.MAC) != 6 {
			return fmt.Errorf("device %s: address %q is not a 6-byte MAC", d.Name, d.MAC)
		}
		if _, dup := b.Device(d.Name); dup {
			return fmt.Errorf("device %s already exists in this bed", d.Name)
		}
		fmt.Fprintf(&host, "link add %s netns %s address %s type veth peer name %s netns %s\n",
			d.Name, b.ClientNS, d.MAC, d.Peer, b.PeerNS)
		fmt.Fprintf(&peer, "link set %s master %s up\n", d.Peer, BridgeName)
	}
	if err := runBatch("", host.String()); err != nil {
		return fmt.Errorf("create veths: %w", err)
	}
	b.mu.Lock()
	for _, d := range devs {
		b.devices = append(b.devices, d)
		b.known[d.Name] = d
	}
	b.mu.Unlock()
	if err := runBatch(b.PeerNS, peer.String()); err != nil {
		return fmt.Errorf("bridge peer ends: %w", err)
	}
	return nil
}

// AddDevice hotplugs a client device: a veth pair, name (address mac) in
// ClientNS, name+"p" in PeerNS on the bridge, up. NetworkManager (running)
// sees it appear. name is 1..14 characters, unique in the bed.
func (b *Bed) AddDevice(t testing.TB, name string, mac net.HardwareAddr) Device {
	t.Helper()
	d := Device{Name: name, Peer: name + "p", MAC: append(net.HardwareAddr(nil), mac...)}
	if err := b.addDevices([]Device{d}); err != nil {
		t.Fatalf("bed: add device: %v", err)
	}
	return d
}

// DeleteDevice removes a client device (both veth ends): an unplug.
func (b *Bed) DeleteDevice(t testing.TB, name string) {
	t.Helper()
	if err := run("ip", "-n", b.ClientNS, "link", "del", name); err != nil {
		t.Fatalf("bed: delete device: %v", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, d := range b.devices {
		if d.Name == name {
			b.devices = append(b.devices[:i], b.devices[i+1:]...)
			break
		}
	}
	delete(b.carrierOff, name)
}

// SetCarrier takes the peer end of device name down (up=false: the client
// end loses carrier, like a cable pulled) or up again.
func (b *Bed) SetCarrier(t testing.TB, name string, up bool) {
	t.Helper()
	d, ok := b.Device(name)
	if !ok {
		t.Fatalf("bed: set carrier: no device %s", name)
	}
	state := "down"
	if up {
		state = "up"
	}
	if err := run("ip", "-n", b.PeerNS, "link", "set", d.Peer, state); err != nil {
		t.Fatalf("bed: set carrier: %v", err)
	}
	b.mu.Lock()
	b.carrierOff[name] = !up
	b.mu.Unlock()
}

// SetAddress sets the current address of client device name with
// `ip link set address` (NetworkManager adopts an address changed while the
// device is idle as its initial one). The device's real address (MAC) stays.
func (b *Bed) SetAddress(t testing.TB, name string, mac net.HardwareAddr) {
	t.Helper()
	if err := run("ip", "-n", b.ClientNS, "link", "set", "dev", name, "address", mac.String()); err != nil {
		t.Fatalf("bed: set address: %v", err)
	}
}

// Address returns the current address of client device name (from the kernel).
func (b *Bed) Address(t testing.TB, name string) net.HardwareAddr {
	t.Helper()
	var mac net.HardwareAddr
	err := b.InClient(t, func() error {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr
		return nil
	})
	if err != nil {
		t.Fatalf("bed: address of %s: %v", name, err)
	}
	return mac
}
