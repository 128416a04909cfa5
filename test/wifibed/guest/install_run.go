// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// The package on a running system (issue 20, item 2), in the systemd boot:
// purge, install as apt would, a hotplugged radio, a refusal in the
// journal, SIGKILL, a restart during an activation.

const unit = "mac-nmguard.service"

// packageFiles are the files (not directories) the installed package owns.
func (s *sc) packageFiles() ([]string, error) {
	out, err := run(s.ctx, "dpkg-query", "-L", "mac-nmguard")
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range strings.Split(out, "\n") {
		if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
			files = append(files, f)
		}
	}
	return files, nil
}

// backstopPresent says whether the kernel backstop's table is loaded.
func (s *sc) backstopPresent() bool {
	out, err := run(s.ctx, "nft", "list", "tables")
	return err == nil && strings.Contains(out, "mac_nmguard")
}

// purge: `dpkg --purge` stops the service, removes the backstop and every
// file; NetworkManager manages new cards again (a radio added after it is
// not left unmanaged).
func purge(s *sc) error {
	files, err := s.packageFiles()
	if err != nil {
		return err
	}
	// The kept state folder is a mount of the host's: give the package
	// its own directory to remove.
	_ = syscall.Unmount(wifibed.KeepMount, 0)
	out, err := run(s.ctx, "dpkg", "--purge", "mac-nmguard")
	s.logf("dpkg --purge: %v\n%s", err, out)
	if err != nil {
		return err
	}
	var left []string
	for _, f := range append(files, "/var/lib/mac-nmguard", "/run/mac-nmguard", "/lib/systemd/system/mac-nmguard.service") {
		if _, err := os.Lstat(f); err == nil {
			left = append(left, f)
		}
	}
	if s.backstopPresent() {
		left = append(left, "nftables table netdev mac_nmguard")
	}
	if p, err := unitProps(s.ctx, unit, "LoadState", "ActiveState"); err == nil && p["ActiveState"] == "active" {
		left = append(left, "the unit, "+p["ActiveState"])
	}
	if len(left) > 0 {
		return fmt.Errorf("left after purge: %s", strings.Join(left, ", "))
	}
	s.logf("purged: none of the package's %d files, its state, unit or backstop left", len(files))
	iface, err := newRadio(s.ctx)
	if err != nil {
		return err
	}
	s.logf("radio %s added after the purge (its frames are not judged: nothing guards it)", iface)
	if err := waitDeviceState(s.ctx, iface, 60*time.Second, "disconnected"); err != nil {
		return fmt.Errorf("NetworkManager does not manage a card added after the purge: %w", err)
	}
	s.logf("NetworkManager manages %s", iface)
	return nil
}

// installRunning installs the package on the running system as apt does
// (dpkg -i): the unit is enabled and started, NetworkManager's
// configuration reloaded; the client connects with a private address.
func installRunning(s *sc) error {
	deb := filepath.Join(wifibed.GuestMount, wifibed.DebFile)
	out, err := run(s.ctx, "dpkg", "-i", deb)
	s.logf("dpkg -i: %v\n%s", err, out)
	if err != nil {
		return err
	}
	for _, q := range []string{"is-enabled", "is-active"} {
		if out, err := run(s.ctx, "systemctl", q, unit); err != nil {
			return fmt.Errorf("%s after install: %s", unit, strings.TrimSpace(out))
		}
	}
	if !s.backstopPresent() {
		return errors.New("no kernel backstop after install")
	}
	if _, err := s.nmcli("--wait", "90", "connection", "up", bootProfile); err != nil {
		return err
	}
	if err := s.private(bootProfile); err != nil {
		return err
	}
	s.logf("%s up with %s after the install", bootProfile, s.address())
	return nil
}

// hotplugInstalled adds a radio while the installed service runs: it gets
// a private address before NetworkManager uses it, and connects so.
func hotplugInstalled(s *sc) error {
	iface, err := newRadio(s.ctx)
	if err != nil {
		return err
	}
	real, err := permAddr(s.ctx, iface)
	if err != nil {
		return err
	}
	s.reals = append(s.reals, real)
	if s.g.res.Hotplugged == nil {
		s.g.res.Hotplugged = map[string]string{}
	}
	s.g.res.Hotplugged[iface] = real
	if err := waitDeviceState(s.ctx, iface, 60*time.Second, "disconnected"); err != nil {
		return err
	}
	s.iface = iface
	s.logf("radio %s (real %s) handed to NetworkManager with %s", iface, real, readAddr(iface))
	if err := s.addProfile("cafe-hotplug", "cafe"); err != nil {
		return err
	}
	if err := s.upOK("cafe-hotplug"); err != nil {
		return err
	}
	if strings.EqualFold(s.address(), real) {
		return fmt.Errorf("%s connected with its real address", iface)
	}
	return nil
}

// refusalWarning: a profile that sets the real address is refused, and
// `journalctl -p warning` shows the refusal once.
func refusalWarning(s *sc) error {
	since := time.Now().Add(-time.Second).Format("2006-01-02 15:04:05")
	if err := s.addProfile("cafe-permanent", "cafe", "802-11-wireless.cloned-mac-address", "permanent"); err != nil {
		return err
	}
	_ = s.up("cafe-permanent")
	time.Sleep(3 * time.Second) // the journal has what the service logged
	out, err := run(s.ctx, "journalctl", "-u", unit, "-p", "warning", "--since", since, "--no-pager", "-o", "cat")
	if err != nil {
		return err
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(l, "violation") {
			lines = append(lines, l)
		}
	}
	s.logf("journalctl -u %s -p warning: %q", unit, out)
	if len(lines) != 1 {
		return fmt.Errorf("journalctl -p warning shows the refusal %d times, want once: %q", len(lines), out)
	}
	if strings.EqualFold(s.address(), s.g.res.Real) {
		return errors.New("the refused profile left the real address on the card")
	}
	return nil
}

// sigkill: SIGKILL the service; systemd restarts it; the kernel backstop is
// in place all along (polled every 20 ms).
func sigkill(s *sc) error {
	before, err := unitProps(s.ctx, unit, "NRestarts", "MainPID")
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var polls, missing int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			polls++
			if !s.backstopPresent() {
				missing++
			}
		}
	}()
	if _, err := run(s.ctx, "systemctl", "kill", "--signal=SIGKILL", unit); err != nil {
		close(stop)
		wg.Wait()
		return err
	}
	s.logf("SIGKILL to %s (pid %s)", unit, before["MainPID"])
	err = waitFor(s.ctx, 60*time.Second, "systemd's restart", func() bool {
		p, err := unitProps(s.ctx, unit, "NRestarts", "ActiveState", "MainPID")
		return err == nil && p["ActiveState"] == "active" && p["NRestarts"] != before["NRestarts"] && p["MainPID"] != before["MainPID"]
	})
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	after, _ := unitProps(s.ctx, unit, "NRestarts", "MainPID")
	s.logf("restarted by systemd: NRestarts %s -> %s, pid %s; backstop missing in %d of %d polls", before["NRestarts"], after["NRestarts"], after["MainPID"], missing, polls)
	if missing > 0 || polls == 0 {
		return fmt.Errorf("the backstop was missing in %d of %d polls", missing, polls)
	}
	n, _ := strconv.Atoi(after["NRestarts"])
	if n < 1 {
		return fmt.Errorf("NRestarts %s", after["NRestarts"])
	}
	if err := s.addProfile("cafe", "cafe"); err != nil {
		return err
	}
	if err := s.upOK("cafe"); err != nil {
		return err
	}
	return s.private("cafe")
}

// restartDuringActivation: `systemctl restart` while the client activates;
// the frames (judged on the host) carry no real address, and the client
// ends connected with a private one.
func restartDuringActivation(s *sc) error {
	if err := s.addProfile("cafe", "cafe"); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { _, err := s.nmcli("--wait", "90", "connection", "up", "cafe"); done <- err }()
	if err := waitFor(s.ctx, 20*time.Second, "the activation", func() bool {
		out, _ := s.nmcli("-t", "-f", "GENERAL.STATE", "device", "show", client)
		return strings.Contains(out, "connecting") || strings.Contains(out, "(connected)")
	}); err != nil {
		return err
	}
	out, _ := s.nmcli("-t", "-f", "GENERAL.STATE", "device", "show", client)
	s.logf("systemctl restart during the activation (%s)", strings.TrimSpace(out))
	if out, err := run(s.ctx, "systemctl", "restart", unit); err != nil {
		return fmt.Errorf("systemctl restart: %w: %s", err, out)
	}
	err := <-done
	s.logf("activation: %v; %s with %s", err, client, s.address())
	if err != nil {
		// The restart may cut it short: the next one must succeed.
		if err := s.upOK("cafe"); err != nil {
			return err
		}
	}
	return s.private("cafe")
}
