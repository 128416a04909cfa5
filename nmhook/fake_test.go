// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/backstop"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// fakeKernel implements Links and Backstop in memory for unit tests.
type fakeKernel struct {
	mu      sync.Mutex
	links   map[string]links.Link
	rules   map[string]backstop.Rule
	calls   []string
	failSet map[string]bool // SetAddress fails for these devices
	events  chan links.Event
	hw      map[string]links.Hardware // Classify's answers (guardclass_test.go); none: ClassUnset
}

func newFakeKernel(ls ...links.Link) *fakeKernel {
	k := &fakeKernel{links: map[string]links.Link{}, rules: map[string]backstop.Rule{}, failSet: map[string]bool{}, events: make(chan links.Event, 64)}
	for _, l := range ls {
		k.links[l.Name] = l
	}
	return k
}

func (k *fakeKernel) record(format string, args ...any) {
	k.calls = append(k.calls, fmt.Sprintf(format, args...))
}

func (k *fakeKernel) Calls() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.calls...)
}

func (k *fakeKernel) List() ([]links.Link, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []links.Link
	for _, l := range k.links {
		out = append(out, l)
	}
	return out, nil
}

func (k *fakeKernel) Get(name string) (links.Link, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.links[name]
	if !ok {
		return links.Link{}, errors.New("no such link " + name)
	}
	return l, nil
}

func (k *fakeKernel) setUp(name string, up bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.links[name]
	if !ok {
		return errors.New("no such link " + name)
	}
	l.Up = up
	k.links[name] = l
	k.record("up %s %t", name, up)
	return nil
}

func (k *fakeKernel) SetDown(name string) error { return k.setUp(name, false) }
func (k *fakeKernel) SetUp(name string) error   { return k.setUp(name, true) }

func (k *fakeKernel) SetAddress(name string, mac net.HardwareAddr) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.links[name]
	if !ok {
		return errors.New("no such link " + name)
	}
	if k.failSet[name] {
		k.record("setaddr %s failed", name)
		return errors.New("operation not supported")
	}
	l.Addr, l.Up = mac, false
	k.links[name] = l
	k.record("setaddr %s %s", name, mac)
	return nil
}

func (k *fakeKernel) Subscribe(ctx context.Context) (<-chan links.Event, error) {
	out := make(chan links.Event)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-k.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

func (k *fakeKernel) Guard(ifname string, real net.HardwareAddr) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rules[ifname] = backstop.Rule{Interface: ifname, Real: real}
	k.record("guard %s %s", ifname, real)
	return nil
}

func (k *fakeKernel) Hold(ifname string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rules[ifname] = backstop.Rule{Interface: ifname, Hold: true}
	k.record("hold %s", ifname)
	return nil
}

func (k *fakeKernel) Unguard(ifname string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.rules, ifname)
	k.record("unguard %s", ifname)
	return nil
}

func (k *fakeKernel) List2() map[string]backstop.Rule {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string]backstop.Rule{}
	for n, r := range k.rules {
		out[n] = r
	}
	return out
}

// backstopView adapts fakeKernel to Backstop (List clashes with Links.List).
type backstopView struct{ *fakeKernel }

func (b backstopView) List() ([]backstop.Rule, error) {
	var out []backstop.Rule
	for _, r := range b.List2() {
		out = append(out, r)
	}
	return out, nil
}

func (b backstopView) RemoveAll() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rules = map[string]backstop.Rule{}
	return nil
}

// fakeProfiles implements nm.ProfileStore in memory: each profile has what
// NetworkManager holds in memory and what its keyfile on disk says.
type fakeProfiles struct {
	mu      sync.Mutex
	mem     map[dbus.ObjectPath]nm.Settings
	disk    map[dbus.ObjectPath]nm.Settings
	unsaved map[dbus.ObjectPath]bool
	updates int
	failUpd bool
}

func newFakeProfiles() *fakeProfiles {
	return &fakeProfiles{mem: map[dbus.ObjectPath]nm.Settings{}, disk: map[dbus.ObjectPath]nm.Settings{}, unsaved: map[dbus.ObjectPath]bool{}}
}

// add stores a profile on disk and in memory (as NetworkManager loads it).
func (f *fakeProfiles) add(path dbus.ObjectPath, typ, uuid, cloned string) nm.Profile {
	f.mu.Lock()
	defer f.mu.Unlock()
	sect := map[string]dbus.Variant{}
	if cloned != "" {
		sect["assigned-mac-address"] = dbus.MakeVariant(cloned)
	}
	s := nm.Settings{
		"connection": {"id": dbus.MakeVariant("p-" + uuid[:4]), "uuid": dbus.MakeVariant(uuid), "type": dbus.MakeVariant(typ)},
		typ:          sect,
		"ipv4":       {"method": dbus.MakeVariant("auto"), "addresses": dbus.MakeVariant([][]uint32{})},
	}
	f.disk[path], f.mem[path] = s, s
	return nm.ProfileFromSettings(path, s)
}

func (f *fakeProfiles) ProfileSettings(_ context.Context, path dbus.ObjectPath) (nm.Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.mem[path]
	if !ok {
		return nil, errors.New("no profile " + string(path))
	}
	return s, nil
}

func (f *fakeProfiles) ProfileUnsaved(_ context.Context, path dbus.ObjectPath) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.mem[path]; !ok {
		return false, errors.New("no profile " + string(path))
	}
	return f.unsaved[path], nil
}

func (f *fakeProfiles) UpdateInMemory(_ context.Context, path dbus.ObjectPath, s nm.Settings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.mem[path]; !ok {
		return errors.New("no profile " + string(path))
	}
	if f.failUpd {
		return errors.New("update refused")
	}
	for _, ip := range []string{"ipv4", "ipv6"} {
		if _, bad := s[ip]["addresses"]; bad {
			return errors.New(ip + ".addresses: deprecated property sent back")
		}
	}
	f.mem[path], f.unsaved[path] = s, true
	f.updates++
	return nil
}

func (f *fakeProfiles) UpdateToDisk(_ context.Context, path dbus.ObjectPath, s nm.Settings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.mem[path]; !ok {
		return errors.New("no profile " + string(path))
	}
	if f.failUpd {
		return errors.New("update refused")
	}
	f.mem[path], f.disk[path], f.unsaved[path] = s, s, false
	f.updates++
	return nil
}

// save writes the profile as it is in memory to disk, as a user's
// `nmcli connection modify` does, with one more setting changed.
func (f *fakeProfiles) save(path dbus.ObjectPath, sect, key string, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := nm.Settings{}
	for name, props := range f.mem[path] {
		cp := map[string]dbus.Variant{}
		for k, pv := range props {
			cp[k] = pv
		}
		s[name] = cp
	}
	if s[sect] == nil {
		s[sect] = map[string]dbus.Variant{}
	}
	s[sect][key] = dbus.MakeVariant(v)
	f.mem[path], f.disk[path], f.unsaved[path] = s, s, false
}

// cloned is the profile's cloned-mac-address in memory and on disk.
func (f *fakeProfiles) cloned(path dbus.ObjectPath) (mem, disk string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return nm.ClonedOf(f.mem[path]), nm.ClonedOf(f.disk[path])
}

func mustPMAC(t *testing.T, s string) policy.MAC {
	t.Helper()
	m, err := policy.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
