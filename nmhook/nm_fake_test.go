// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
)

// fakeNM is NetworkManager in memory for the service's NetworkManager
// interface: devices, profiles (fakeProfiles: what NM holds in memory and
// on disk), active connections, and the calls the service made.
type fakeNM struct {
	*fakeProfiles
	owner   string
	devices map[dbus.ObjectPath]nm.Device
	// active maps an activating or activated connection to its profile; a
	// device's ActiveConnection not in it is a dying one.
	active map[dbus.ObjectPath]dbus.ObjectPath
	// fail makes the named method fail ("Disconnect", "SetAutoconnect", ...).
	fail  map[string]bool
	calls []string
}

func newFakeNM() *fakeNM {
	return &fakeNM{fakeProfiles: newFakeProfiles(), owner: ":1.7", devices: map[dbus.ObjectPath]nm.Device{},
		active: map[dbus.ObjectPath]dbus.ObjectPath{}, fail: map[string]bool{}}
}

var _ NetworkManager = (*fakeNM)(nil)

func (f *fakeNM) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// takeCalls returns the calls made since the last takeCalls.
func (f *fakeNM) takeCalls() []string {
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeNM) failed(method string) error {
	if f.fail[method] {
		return errors.New(method + " refused (test)")
	}
	return nil
}

// addProfile adds a profile with NM's fields set as a keyfile would.
func (f *fakeNM) addProfile(path dbus.ObjectPath, typ, uuid, iface, cloned string) {
	f.add(path, typ, uuid, cloned)
	if iface != "" {
		f.mu.Lock()
		f.mem[path]["connection"]["interface-name"] = dbus.MakeVariant(iface)
		f.mu.Unlock()
	}
}

// activate makes profile the device's activating connection ac, in state st.
func (f *fakeNM) activate(dev, ac, profile dbus.ObjectPath, st uint32) {
	d := f.devices[dev]
	d.ActiveConnection, d.State = ac, st
	f.devices[dev] = d
	f.active[ac] = profile
}

func (f *fakeNM) Owner(context.Context) string           { return f.owner }
func (f *fakeNM) OwnerOf(context.Context, string) string { return "" }
func (f *fakeNM) HasDevice(_ context.Context, p dbus.ObjectPath) (bool, error) {
	_, ok := f.devices[p]
	return ok, f.failed("HasDevice")
}

func (f *fakeNM) Devices(context.Context) ([]nm.Device, error) {
	if err := f.failed("Devices"); err != nil {
		return nil, err
	}
	var out []nm.Device
	for _, d := range f.devices {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (f *fakeNM) Device(_ context.Context, p dbus.ObjectPath) (nm.Device, error) {
	d, ok := f.devices[p]
	if !ok {
		return nm.Device{}, errors.New("UnknownObject " + string(p))
	}
	return d, nil
}

func (f *fakeNM) DeviceState(_ context.Context, p dbus.ObjectPath) (uint32, error) {
	if err := f.failed("DeviceState"); err != nil {
		return 0, err
	}
	d, err := f.Device(context.Background(), p)
	return d.State, err
}

func (f *fakeNM) ActiveConnectionOf(_ context.Context, p dbus.ObjectPath) (dbus.ObjectPath, error) {
	d, err := f.Device(context.Background(), p)
	return d.ActiveConnection, err
}

func (f *fakeNM) Profiles(context.Context) ([]nm.Profile, error) {
	if err := f.failed("Profiles"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []nm.Profile
	for p, s := range f.mem {
		out = append(out, nm.ProfileFromSettings(p, s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (f *fakeNM) Profile(_ context.Context, p dbus.ObjectPath) (nm.Profile, error) {
	s, err := f.ProfileSettings(context.Background(), p)
	if err != nil {
		return nm.Profile{}, err
	}
	return nm.ProfileFromSettings(p, s), nil
}

func (f *fakeNM) HasProfile(_ context.Context, p dbus.ObjectPath) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.mem[p]
	return ok, nil
}

func (f *fakeNM) ProfileByUUID(_ context.Context, uuid string) (dbus.ObjectPath, error) {
	profs, _ := f.Profiles(context.Background())
	for _, p := range profs {
		if p.UUID == uuid {
			return dbus.ObjectPath(p.Path), nil
		}
	}
	return "", errors.New("no connection profile with UUID " + uuid)
}

func (f *fakeNM) ActiveProfile(_ context.Context, ac dbus.ObjectPath) (nm.Profile, error) {
	p, ok := f.active[ac]
	if !ok {
		return nm.Profile{}, errors.New("active connection " + string(ac) + " is not activating or activated")
	}
	return f.Profile(context.Background(), p)
}

func (f *fakeNM) Disconnect(_ context.Context, dev dbus.ObjectPath) error {
	f.record("disconnect %s", dev)
	return f.failed("Disconnect")
}

func (f *fakeNM) Activate(_ context.Context, profile, dev dbus.ObjectPath) error {
	f.record("activate %s on %s", profile, dev)
	return f.failed("Activate")
}

func (f *fakeNM) SetAutoconnect(_ context.Context, dev dbus.ObjectPath, on bool) error {
	f.record("autoconnect %s %t", dev, on)
	return f.failed("SetAutoconnect")
}

func (f *fakeNM) SetManaged(_ context.Context, dev dbus.ObjectPath, on bool) error {
	f.record("managed %s %t", dev, on)
	return f.failed("SetManaged")
}

// nmBed is a service on a fake kernel and a fake NetworkManager that does
// not run: a test calls its handlers itself, in the order the loop would.
type nmBed struct {
	t   *testing.T
	ctx context.Context
	svc *Service
	k   *fakeKernel
	f   *fakeNM
}

// newNMBed starts the service's view: the kernel's links, then
// NetworkManager connected and resynced (devices adopted, profiles given
// their in-memory addresses).
func newNMBed(t *testing.T, policyText string, f *fakeNM, ls ...links.Link) *nmBed {
	t.Helper()
	dir := t.TempDir()
	pf := filepath.Join(dir, "policy.toml")
	if err := state.WriteFileAtomic(pf, []byte(policyText), 0o644); err != nil {
		t.Fatal(err)
	}
	k := newFakeKernel(ls...)
	svc, err := New(Config{
		PolicyFile: pf, PolicyDir: filepath.Join(dir, "policy.d"), StatePath: filepath.Join(dir, "state.json"),
		BootStatePath: filepath.Join(dir, "boot.json"),
		Dial:          func() (*dbus.Conn, error) { return nil, errors.New("no bus in this test") },
		Links:         k, Backstop: backstopView{k},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Rfkill: noRfkill,
	})
	if err != nil {
		t.Fatal(err)
	}
	b := &nmBed{t: t, ctx: context.Background(), svc: svc, k: k, f: f}
	// What the service posts to its loop (timers) is dropped: no loop runs.
	t.Cleanup(func() { close(svc.stopped) })
	slices.SortFunc(ls, func(a, c links.Link) int { return a.Index - c.Index })
	for _, l := range ls {
		svc.onLink(b.ctx, links.Event{Link: l}, time.Now())
	}
	svc.markReady()
	svc.nm = f
	svc.resyncNM(b.ctx, "test")
	f.takeCalls()
	// What the resync found at rest (a profile that would set the real
	// address made unavailable) is not what the tests look at.
	svc.violations = nil
	k.mu.Lock()
	k.calls = nil
	k.mu.Unlock()
	return b
}

// dev is the service's record of a device.
func (b *nmBed) dev(iface string) *devState {
	b.t.Helper()
	d, ok := b.svc.devs[iface]
	if !ok {
		b.t.Fatalf("the service does not know %s", iface)
	}
	return d
}

// state delivers a StateChanged of device path to the service, after
// making it NetworkManager's state (decide: the last of a batch).
func (b *nmBed) state(path dbus.ObjectPath, nw, reason uint32) {
	d := b.f.devices[path]
	old := d.State
	d.State = nw
	b.f.devices[path] = d
	b.svc.onStateChanged(b.ctx, path, nw, old, reason, time.Now(), true)
}

// kernelCalls returns the kernel calls made since the last kernelCalls.
func (b *nmBed) kernelCalls() []string {
	b.k.mu.Lock()
	defer b.k.mu.Unlock()
	c := b.k.calls
	b.k.calls = nil
	return c
}
