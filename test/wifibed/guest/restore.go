// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// The restore scenarios of issue 21: "cafe" connects with a private address;
// "aclreal" (an allow-list admitting only the client's real address) refuses
// it; the service raises a suspicion; `mac-nmguard restore` connects
// "aclreal" with the real address and a DHCP lease; "cafe" is private
// again. The real address may go on the air only between the markers
// wifibed.RestoreOpen and wifibed.RestoreClosed of the scenario's log (the
// host checks it on the capture).

// restoreRounds is how many times the restore scenarios restore (the
// plan's RestoreRounds: a soak, figures for the benchmark).
func restoreRounds() int {
	p, err := readPlan()
	if err != nil || p.RestoreRounds < 1 {
		return 1
	}
	return p.RestoreRounds
}

// keyfileSums are the checksums of NetworkManager's keyfiles on disk.
func keyfileSums() map[string]string {
	out := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(runDir, "system-connections", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		out[filepath.Base(f)] = hex.EncodeToString(sum[:])
	}
	return out
}

func sameSums(a, b map[string]string) error {
	for f, s := range a {
		if b[f] != s {
			return fmt.Errorf("keyfile %s changed on disk", f)
		}
	}
	if len(a) != len(b) {
		return fmt.Errorf("keyfiles on disk: %d before, %d after", len(a), len(b))
	}
	return nil
}

// waitSuspicion waits for a Suspicion signal of the service after mark ns.
func (s *sc) waitSuspicion(ns int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, sus := s.g.rec.since(0, ns); len(sus) > 0 {
			s.logf("suspicion: %s: %s", sus[0].Kind, sus[0].Reason)
			return nil
		}
		select {
		case <-s.ctx.Done():
			return s.ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("no suspicion within %v", timeout)
}

// waitClonedPrivate waits until profile name's cloned-mac-address (in
// NetworkManager's memory) is an address other than the real one.
func (s *sc) waitClonedPrivate(name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		out, err := s.nmcli("-g", "802-11-wireless.cloned-mac-address", "connection", "show", name)
		last = strings.ReplaceAll(strings.TrimSpace(out), `\:`, ":")
		if err == nil && len(last) == 17 && !strings.EqualFold(last, s.g.res.Real) {
			s.logf("%s: cloned-mac-address %s", name, last)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: cloned-mac-address %q after %v, want a private address", name, last, timeout)
		}
		select {
		case <-s.ctx.Done():
			return s.ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// private fails unless the client is connected with a private address.
func (s *sc) private(name string) error {
	if a := s.address(); strings.EqualFold(a, s.g.res.Real) {
		return fmt.Errorf("%s connected with the real address %s", name, a)
	}
	return nil
}

// restoreScenario runs the scenario, with `--always` or for this time.
func restoreScenario(s *sc, always bool) error {
	if err := s.addProfile("cafe", "cafe"); err != nil {
		return err
	}
	if err := s.addProfile("acl", "aclreal"); err != nil {
		return err
	}
	for _, p := range []string{"cafe", "acl"} { // the service gives both their address in memory
		if err := s.waitClonedPrivate(p, 30*time.Second); err != nil {
			return err
		}
	}
	sums := keyfileSums()
	if err := s.upOK("cafe"); err != nil {
		return err
	}
	if err := s.private("cafe"); err != nil {
		return err
	}
	if err := s.down(); err != nil {
		return err
	}
	_, ns := s.g.rec.mark()
	for range 2 { // as NetworkManager's autoconnect would: the service raises after two
		if err := s.upFails("acl"); err != nil {
			return err
		}
	}
	if !always {
		// (restore-always runs after it: the service offers a network at
		// most twice an hour, so it need not raise again there.)
		if err := s.waitSuspicion(ns, 60*time.Second); err != nil {
			return err
		}
	}
	n := restoreRounds()
	if always {
		n = 1 // acl keeps the real address: nothing to restore twice
	}
	var failed []string
	for round := 1; round <= n; round++ {
		err := restoreRound(s, round, always, sums)
		if err == nil {
			s.logf("%s %d: pass", wifibed.RestoreRound, round)
			continue
		}
		s.logf("%s %d: FAIL: %v", wifibed.RestoreRound, round, err)
		failed = append(failed, fmt.Sprintf("round %d: %v", round, err))
		if s.ctx.Err() != nil {
			break
		}
		// The next round starts from a disconnected card.
		if err := s.down(); err != nil {
			failed = append(failed, fmt.Sprintf("after round %d: %v", round, err))
			break
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d restore rounds failed: %s", len(failed), n, strings.Join(failed, "; "))
	}
	return nil
}

// restoreRound is one round: from the second on, "acl" is refused again
// first; then the restore, "acl" with the real address and a lease, and
// "cafe" private. The restore window is closed whatever happens.
func restoreRound(s *sc, round int, always bool, sums map[string]string) (err error) {
	if round > 1 {
		if err := s.upFails("acl"); err != nil {
			return err
		}
	}
	args := []string{filepath.Join(wifibed.GuestMount, wifibed.ServiceBin), "restore", client, "--connection", "acl", "--timeout", "90s"}
	if always {
		args = append(args, "--always")
	}
	s.logf("%s round %d", wifibed.RestoreOpen, round)
	open := true
	closeWindow := func() {
		if open {
			s.logf("%s", wifibed.RestoreClosed)
			open = false
		}
	}
	defer func() {
		if open {
			// Failed inside the window: the card is taken off the
			// restored network before the window closes.
			if derr := s.down(); derr != nil && err == nil {
				err = derr
			}
			closeWindow()
		}
	}()
	t := time.Now()
	out, err := run(s.ctx, args...)
	took := time.Since(t)
	if err != nil {
		return fmt.Errorf("restore: %w: %s", err, strings.TrimSpace(out))
	}
	s.logf("%s %.3f s: %s, %s, %s", wifibed.RestoreTook, took.Seconds(), strings.TrimSpace(out), s.address(), s.ipv4())
	if !strings.EqualFold(s.address(), s.g.res.Real) || s.ipv4() == "" {
		return fmt.Errorf("acl after restore: address %s, IPv4 %q; want the real address and a lease", s.address(), s.ipv4())
	}
	if always {
		// Every connection of acl uses the real address from now on.
		if err := s.down(); err != nil {
			return err
		}
		if err := s.upOK("acl"); err != nil {
			return err
		}
		if !strings.EqualFold(s.address(), s.g.res.Real) {
			return fmt.Errorf("acl (always) reconnected with %s, not the real address", s.address())
		}
	}
	if err := s.down(); err != nil {
		return err
	}
	// The connection ended: the service makes acl private again (in
	// NetworkManager's memory).
	if !always {
		if err := s.waitClonedPrivate("acl", 30*time.Second); err != nil {
			return err
		}
	}
	closeWindow()
	if err := s.upOK("cafe"); err != nil {
		return err
	}
	if err := s.private("cafe"); err != nil {
		return err
	}
	if err := s.down(); err != nil {
		return err
	}
	if !always {
		return sameSums(sums, keyfileSums())
	}
	return nil
}
