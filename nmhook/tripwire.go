// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// The link subscription takes a card down itself the moment the kernel
// reports it up with the address armed for it (links.Tripwire), before the
// loop hears of it. The service arms a card with its real address while the
// decision on it hides that address and is enforced, and nothing of the
// service's wants the card as it is (a hold, a restore, a profile given the
// real address in memory for an exempt network or a permanent rule); it
// re-arms after every decision, before acting on it (so it is disarmed
// before the service puts the real address on a card itself), and after
// the profiles' addresses in memory change.

// armTripwire arms or disarms d's tripwire for the verdict v just decided.
func (s *Service) armTripwire(d *devState, v policy.Verdict) {
	tw, ok := s.cfg.Links.(links.Tripwire)
	if !ok || d.link.Index == 0 {
		return
	}
	if len(d.real) == 6 && gate.Spoofs(v) && v.Enforcement != policy.EnforceAudit &&
		!s.held && d.restoring == nil && !s.realWantedOn(d) {
		tw.Arm(d.link.Index, d.real)
		return
	}
	tw.Disarm(d.link.Index)
}

// armTripwires re-arms every device with its last verdict.
func (s *Service) armTripwires() {
	for _, d := range s.devs {
		s.armTripwire(d, d.verdict)
	}
}
