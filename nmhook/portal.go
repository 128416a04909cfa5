// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// A portal that forgets the private address is seen when the address
// changes between two sightings of the same connection behind the portal.
// Within a run the detector compares the addresses, in memory. Across runs
// it cannot (the state file never holds an address, nor anything derived
// from one, and a run of the service gives a profile one private address
// for the whole run in modes keep-vendor and vendor: a new address comes
// only with a new run, a new boot on Tails). So the state file keeps, per
// connection seen behind a portal, only the address generation of that
// sighting: a random token drawn at each start of the service, in memory
// otherwise. A sighting in another generation means another address,
// except in mode stable (the same address in every run), whose sightings
// carry no generation and whose record is dropped.

// newGeneration draws a run's address generation.
func newGeneration() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("draw the address generation: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// portalGeneration is the address generation of device d's private
// address: this run's when this run saw its activation begin, "" when
// unknown (an activation under way at the service's start has the address
// of an earlier run). stable: mode stable, the same address in every run
// (no generation either).
func (s *Service) portalGeneration(d *devState) (gen string, stable bool) {
	if d.verdict.Mode == policy.ModeStable {
		return "", true
	}
	if !d.startedInRun {
		return "", false
	}
	return s.generation, false
}

// notePortal records in the state file that the connection of ev was seen
// behind a portal in its generation, or drops its record in mode stable
// (nothing when the generation is unknown). A failure to save costs only
// the evidence across runs.
func (s *Service) notePortal(ev detect.Event, stable bool) {
	uuid := ev.Connection.UUID
	if uuid == "" || ev.Connectivity != detect.ConnectivityPortal || !ev.Spoofed || ev.Exempt || ev.Address == "" {
		return
	}
	changed := false
	switch {
	case stable:
		changed = s.state.DropPortal(uuid)
	case ev.Generation != "":
		changed = s.state.SeePortal(uuid, ev.Generation)
	}
	if changed {
		s.saveState()
	}
}

// onConnectivity hands a change of a device's Ip4Connectivity (NetworkManager's
// connectivity check: a captive portal is detect.ConnectivityPortal) to the
// detector, which spots a portal that forgets the private address.
func (s *Service) onConnectivity(path dbus.ObjectPath, v dbus.Variant, t0 time.Time) {
	c, ok := v.Value().(uint32)
	if !ok {
		return
	}
	name, ok := s.byPath[path]
	if !ok {
		return
	}
	d := s.devs[name]
	if d == nil || !d.nmKnown {
		return
	}
	s.log.Debug("nm: connectivity changed", slog.String("device", d.iface), slog.Int("connectivity", int(c)))
	if d.nm.State != detect.StateActivated {
		return
	}
	ev := s.detectEvent(d, d.nm.State, d.nm.State, 0, t0)
	ev.Connectivity, ev.ConnectivityChange = c, true
	gen, stable := s.portalGeneration(d)
	ev.Generation = gen
	s.feedEvent(d, ev, t0)
	s.notePortal(ev, stable)
}
