// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// exemptionID is how the API and the CLI name an exemption.
func exemptionID(e policy.Exemption) string {
	if e.UUID != "" {
		return e.UUID
	}
	return "ssid:" + e.SSID
}

// apiExemptions lists the lasting exemptions, then the "this time" ones.
func (s *Service) apiExemptions() []api.Exemption {
	out := []api.Exemption{}
	for _, e := range s.exemptions() {
		out = append(out, api.Exemption{ID: exemptionID(e), UUID: e.UUID, SSID: e.SSID, Interface: e.Interface, Scope: string(e.Scope), Mode: string(e.Mode)})
	}
	return out
}

// forgetExemptions drops every exemption whose ID is id (all when id is
// ""), lasting and "this time" alike, saves the state and judges every
// device again: a card on a network that loses its exemption gets a
// private address back (in flight: refused or remediated as any
// violation). It returns how many were dropped.
func (s *Service) forgetExemptions(ctx context.Context, id string) (int, error) {
	match := func(e policy.Exemption) bool { return id == "" || exemptionID(e) == id }
	var keptAlways, keptOnce []policy.Exemption
	n := 0
	for _, e := range s.state.Exemptions {
		if match(e) {
			n++
			continue
		}
		keptAlways = append(keptAlways, e)
	}
	for _, e := range s.onceEx {
		if match(e) {
			n++
			continue
		}
		keptOnce = append(keptOnce, e)
	}
	if n == 0 {
		return 0, nil
	}
	old := s.state.Exemptions
	s.state.Exemptions = keptAlways
	if len(keptAlways) != len(old) {
		if err := s.state.Save(s.cfg.StatePath); err != nil {
			s.state.Exemptions = old
			return 0, err
		}
	}
	s.onceEx = keptOnce
	s.log.Info("restore: exemptions forgotten; the private address applies again", slog.String("id", id), slog.Int("count", n))
	for _, d := range s.devs {
		s.evaluate(ctx, d, "exemption forgotten", time.Now())
	}
	return n, nil
}

// answersSuspicion reports whether a restore of uuid ("" = the suspected
// one) on device is "this time, for the network that seems to refuse the
// private address": scope once and a suspicion of a rejection kind
// (detect.Kind.Rejects: not a captive portal that forgets the address)
// pending on that device for that connection, whose UUID it returns. Only
// such a restore is allowed without an administrator.
func (s *Service) answersSuspicion(device, uuid string, scope policy.Scope) (string, bool) {
	if scope != policy.ScopeOnce {
		return "", false
	}
	return s.pendingFor(device, uuid, func(k detect.Kind) bool { return k.Rejects() })
}

// answersPortal reports whether keeping the same private address for uuid
// ("" = the suspected one) on device answers a pending portal-forgets
// suspicion there, whose UUID it returns. Only such a choice is allowed
// without an administrator.
func (s *Service) answersPortal(device, uuid string) (string, bool) {
	return s.pendingFor(device, uuid, func(k detect.Kind) bool { return k == detect.KindPortalForgets })
}

// pendingFor finds a pending suspicion on device for uuid ("" = the latest
// on device) whose kind is wanted.
func (s *Service) pendingFor(device, uuid string, want func(detect.Kind) bool) (string, bool) {
	if uuid == "" {
		uuid = s.suspectedUUID(device)
	}
	if uuid == "" {
		return "", false
	}
	for _, sp := range s.suspicions {
		if sp.Device == device && strings.EqualFold(sp.Connection.UUID, uuid) && want(sp.Kind) {
			return sp.Connection.UUID, true
		}
	}
	return "", false
}
