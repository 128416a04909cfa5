// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/mac-nmguard/mac-nmguard/detect"
)

// D-Bus names of NetworkManager.
const (
	nmBusName    = "org.freedesktop.NetworkManager"
	nmPath       = dbus.ObjectPath("/org/freedesktop/NetworkManager")
	nmDeviceIfc  = "org.freedesktop.NetworkManager.Device"
	nmWiredIfc   = "org.freedesktop.NetworkManager.Device.Wired"
	nmACIfc      = "org.freedesktop.NetworkManager.Connection.Active"
	nmDevicesDir = dbus.ObjectPath("/org/freedesktop/NetworkManager/Devices")
)

// nmConfig is the NetworkManager.conf of a bed: keyfiles in the bed's dir,
// internal DHCP, no DNS/hostname/connectivity handling, no default profiles
// for new devices, no polkit (root clients only).
const nmConfig = `[main]
plugins=keyfile
dhcp=internal
dns=none
rc-manager=unmanaged
systemd-resolved=false
hostname-mode=none
no-auto-default=*
auth-polkit=false

[keyfile]
path=%s

[logging]
level=%s
domains=ALL

[connectivity]
enabled=false
`

// nmScript runs NetworkManager in its own mount namespace (ip netns exec
// makes one): /sys read-only (NM then uses no udev, and manages the veths
// without it), a tmpfs on /run so nothing reaches the host's /run (its
// source is the bed dir's name, nmbed-NAME, so a leak names its bed), and the
// bed's dirs bound on /run/NetworkManager and /var/lib/NetworkManager.
// `mount -n`: plain mount would make libmount create /run/mount on the host.
// $1 is the bed's dir; the mounts vanish with the process.
const nmScript = `set -e
mount -n -o remount,bind,ro /sys
mount -n -t tmpfs -o mode=755 "${1##*/}" /run
mkdir -p /run/NetworkManager
mount -n --bind "$1/nm-run" /run/NetworkManager
mount -n --bind "$1/nm-lib" /var/lib/NetworkManager
exec NetworkManager --debug \
  --config="$1/NetworkManager.conf" --config-dir="$1/nm-conf.d" \
  --system-config-dir="$1/nm-sysconf.d" \
  --intern-config="$1/nm-lib/NetworkManager-intern.conf" \
  --state-file="$1/nm-lib/NetworkManager.state" \
  --pid-file="$1/nm-run/NetworkManager.pid"
`

// nmReadyTimeout bounds how long StartNM waits for NM's startup.
const nmReadyTimeout = 30 * time.Second

// StartNM starts NetworkManager in ClientNS and waits until it is ready: its
// name is on the bus, startup is complete, and every device is managed (at
// least DISCONNECTED, or UNAVAILABLE when SetCarrier took its carrier away).
func (b *Bed) StartNM(t testing.TB) {
	t.Helper()
	if err := b.startNM(); err != nil {
		t.Fatalf("bed: start NetworkManager: %v", err)
	}
}

func (b *Bed) startNM() error {
	b.mu.Lock()
	running := b.nm != nil && !b.nm.Exited()
	b.mu.Unlock()
	if running {
		return errors.New("already running")
	}
	level := b.opts.NMLogLevel
	if level == "" {
		level = "INFO"
	}
	conf := fmt.Sprintf(nmConfig, filepath.Join(b.Dir, "system-connections"), level)
	if b.opts.NMConf != "" {
		conf += "\n" + b.opts.NMConf + "\n"
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "NetworkManager.conf"), []byte(conf), 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	p, err := b.start("NetworkManager", b.ClientNS, nil, nil, "sh", "-c", nmScript, "nm", b.Dir)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.nm = p
	b.mu.Unlock()
	if err := b.waitNMReady(p); err != nil {
		tail := p.Log()
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return fmt.Errorf("%w\nNM log tail:\n%s", err, tail)
	}
	return nil
}

// waitNMReady polls until NM's startup is complete and every device is
// managed.
func (b *Bed) waitNMReady(p *Process) error {
	conn, err := b.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(nmReadyTimeout)
	why := "not started"
	for {
		if p.Exited() {
			return fmt.Errorf("NetworkManager exited: %v", p.Wait(0))
		}
		why = b.nmNotReady(conn)
		if why == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %s", nmReadyTimeout, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nmNotReady says why NM is not ready yet, or "".
func (b *Bed) nmNotReady(conn *dbus.Conn) string {
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, nmBusName).Store(&has); err != nil || !has {
		return "name not on the bus"
	}
	nm := conn.Object(nmBusName, nmPath)
	v, err := nm.GetProperty(nmBusName + ".Startup")
	if err != nil {
		return "Startup: " + err.Error()
	}
	if s, _ := v.Value().(bool); s {
		return "startup not complete"
	}
	if b.opts.NMGated {
		return "" // devices stay unmanaged until the gate hands them over
	}
	b.mu.Lock()
	devs := append([]Device(nil), b.devices...)
	off := make(map[string]bool, len(b.carrierOff))
	for k, v := range b.carrierOff {
		off[k] = v
	}
	b.mu.Unlock()
	for _, d := range devs {
		state, err := deviceState(conn, d.Name)
		if err != nil {
			return err.Error()
		}
		want := detect.StateDisconnected
		if off[d.Name] {
			want = detect.StateUnavailable
		}
		if state < want {
			return fmt.Sprintf("device %s in state %d", d.Name, state)
		}
	}
	return ""
}

// StopNM stops NetworkManager (SIGTERM, by PID) and waits for it to exit.
// NM leaves the devices as they are (it does not deactivate on exit).
func (b *Bed) StopNM(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	p := b.nm
	b.mu.Unlock()
	if p == nil {
		t.Fatalf("bed: stop NetworkManager: not started")
	}
	p.stop(10 * time.Second)
}

// RestartNM stops NetworkManager and starts it again (StopNM, StartNM).
func (b *Bed) RestartNM(t testing.TB) {
	t.Helper()
	b.StopNM(t)
	b.StartNM(t)
}

// KillNM sends sig to NetworkManager (by PID), e.g. SIGKILL for a crash. For
// SIGKILL, SIGTERM, SIGINT, SIGQUIT, SIGABRT and SIGSEGV it waits (up to 10s)
// for NM to exit; for other signals it returns once the signal is sent.
func (b *Bed) KillNM(t testing.TB, sig syscall.Signal) {
	t.Helper()
	b.mu.Lock()
	p := b.nm
	b.mu.Unlock()
	if p == nil {
		t.Fatalf("bed: kill NetworkManager: not started")
	}
	if err := p.Signal(sig); err != nil {
		t.Fatalf("bed: kill NetworkManager: %v", err)
	}
	switch sig {
	case syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGABRT, syscall.SIGSEGV:
		if err := p.Wait(10 * time.Second); err != nil && !p.Exited() {
			t.Fatalf("bed: kill NetworkManager: %v", err)
		}
	}
}

// NM returns the NetworkManager process (nil before StartNM).
func (b *Bed) NM() *Process {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nm
}

// NMVersion returns NetworkManager's Version property.
func (b *Bed) NMVersion(t testing.TB) string {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	v, err := conn.Object(nmBusName, nmPath).GetProperty(nmBusName + ".Version")
	if err != nil {
		t.Fatalf("bed: NM version: %v", err)
	}
	s, _ := v.Value().(string)
	return s
}

// DevicePath returns NM's object path of device iface.
func (b *Bed) DevicePath(t testing.TB, iface string) dbus.ObjectPath {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	p, err := devicePath(conn, iface)
	if err != nil {
		t.Fatalf("bed: %v", err)
	}
	return p
}

func devicePath(conn *dbus.Conn, iface string) (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	if err := conn.Object(nmBusName, nmPath).Call(nmBusName+".GetDeviceByIpIface", 0, iface).Store(&p); err != nil {
		return "", fmt.Errorf("NM device %s: %w", iface, err)
	}
	return p, nil
}

func deviceState(conn *dbus.Conn, iface string) (uint32, error) {
	p, err := devicePath(conn, iface)
	if err != nil {
		return 0, err
	}
	v, err := conn.Object(nmBusName, p).GetProperty(nmDeviceIfc + ".State")
	if err != nil {
		return 0, fmt.Errorf("state of %s: %w", iface, err)
	}
	s, ok := v.Value().(uint32)
	if !ok {
		return 0, fmt.Errorf("state of %s: unexpected type %T", iface, v.Value())
	}
	return s, nil
}

// State returns the current NM state of device iface.
func (b *Bed) State(t testing.TB, iface string) uint32 {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	s, err := deviceState(conn, iface)
	if err != nil {
		t.Fatalf("bed: %v", err)
	}
	return s
}

// WaitState waits until device iface is in state (one of the detect.State*
// values), failing t after timeout. It watches StateChanged signals from the
// moment of the call, and the current state: a transient state the device
// left before the call (FAILED is followed by DISCONNECTED at once) is missed;
// use a Recorder started before the action for those.
func (b *Bed) WaitState(t testing.TB, iface string, state uint32, timeout time.Duration) {
	t.Helper()
	if err := b.waitState(iface, state, timeout); err != nil {
		t.Fatalf("bed: %v", err)
	}
}

func (b *Bed) waitState(iface string, state uint32, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	conn, err := b.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	var path dbus.ObjectPath
	for {
		if path, err = devicePath(conn, iface); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s to reach state %d: %w", iface, state, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ch := make(chan *dbus.Signal, 64)
	conn.Signal(ch)
	if err := conn.AddMatchSignal(dbus.WithMatchObjectPath(path), dbus.WithMatchInterface(nmDeviceIfc), dbus.WithMatchMember("StateChanged")); err != nil {
		return fmt.Errorf("watch %s: %w", iface, err)
	}
	cur, err := deviceState(conn, iface)
	if err != nil {
		return err
	}
	if cur == state {
		return nil
	}
	last := fmt.Sprintf("state %d", cur)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case sig, ok := <-ch:
			if !ok {
				return fmt.Errorf("wait for %s to reach state %d: bus connection lost (last: %s)", iface, state, last)
			}
			if len(sig.Body) != 3 {
				continue
			}
			n, _ := sig.Body[0].(uint32)
			o, _ := sig.Body[1].(uint32)
			r, _ := sig.Body[2].(uint32)
			last = fmt.Sprintf("%d (from %d, reason %d)", n, o, r)
			if n == state {
				return nil
			}
		case <-timer.C:
			return fmt.Errorf("%s did not reach state %d within %v (last: %s)", iface, state, timeout, last)
		}
	}
}
