// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Kernel command line options (for live systems):
//
//	mac-nmguard.hold=1     hold every guarded device until a decision
//	mac-nmguard.spoof=0|1  the decision itself (no hold then)
const (
	cmdlineHold  = "mac-nmguard.hold"
	cmdlineSpoof = "mac-nmguard.spoof"
)

// cmdlineOptions reads the service's options from a kernel command line.
func cmdlineOptions(cmdline string) (hold bool, spoof *bool, err error) {
	for _, f := range strings.Fields(cmdline) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case cmdlineHold:
			switch v {
			case "1", "yes", "true":
				hold = true
			case "0", "no", "false":
				hold = false
			default:
				return false, nil, fmt.Errorf("kernel command line: %s=%q: use 0 or 1", k, v)
			}
		case cmdlineSpoof:
			var b bool
			switch v {
			case "1", "yes", "true":
				b = true
			case "0", "no", "false":
				b = false
			default:
				return false, nil, fmt.Errorf("kernel command line: %s=%q: use 0 or 1", k, v)
			}
			spoof = &b
		}
	}
	return hold, spoof, nil
}

// setupHold decides at start whether devices are held: the policy's hold
// setting or the command line's, unless a decision exists for this boot
// (the command line's spoof option, or SetSpoofing earlier in this boot).
// The command line's decision is applied, never saved: it is read again at
// every start of this boot, and a later boot has its own command line.
// An unreadable command line fails closed: it is treated as asking for the
// hold when the policy does, and reported.
func (s *Service) setupHold() {
	hold := s.pol.Hold
	if s.cfg.CmdlinePath != "" {
		data, err := os.ReadFile(s.cfg.CmdlinePath)
		if err != nil {
			s.log.Warn("hold: cannot read the kernel command line", slog.String("path", s.cfg.CmdlinePath), slog.String("error", err.Error()))
		} else if h, spoof, err := cmdlineOptions(string(data)); err != nil {
			s.log.Error("hold: "+err.Error()+"; holding until a decision", slog.String("path", s.cfg.CmdlinePath))
			hold = true
		} else {
			hold = hold || h
			if spoof != nil {
				s.cmdSpoof = spoof
				if s.boot.Spoof == nil {
					s.log.Info("hold: decision from the kernel command line", slog.Bool("spoof", *spoof))
				}
			}
		}
	}
	if s.boot.Spoof != nil {
		s.log.Info("policy: spoofing as decided earlier in this boot", slog.Bool("spoof", *s.boot.Spoof), slog.String("by", s.boot.SpoofBy))
		return
	}
	if !hold || s.cmdSpoof != nil {
		return
	}
	s.held, s.heldSince = true, time.Now()
	s.log.Warn("hold: every guarded device is kept silent until the user decides whether to hide the address",
		slog.Duration("timeout", s.pol.HoldTimeout.Duration))
	open := s.cfg.Rfkill
	if open == nil {
		open = OpenRfkill
	}
	s.radios = holdRadios(s.log, open, s.boot.RadiosBeforeHold, func(prev map[uint32]bool) {
		// Called from the hold's rfkill reader too: the service loop
		// owns s.boot, so the record is handed to it.
		s.post(func() {
			if len(prev) == 0 {
				prev = nil
			}
			s.boot.RadiosBeforeHold = prev
			s.saveBootState()
		})
	})
}

// holdTimeout is the channel that fires when the hold times out (nil: none).
func (s *Service) holdTimer() (<-chan time.Time, func()) {
	if !s.held || s.pol.HoldTimeout.Duration <= 0 {
		return nil, func() {}
	}
	t := time.NewTimer(time.Until(s.heldSince.Add(s.pol.HoldTimeout.Duration)))
	return t.C, func() { t.Stop() }
}

// endHold applies a decision: spoof or not, then every device is decided
// again (addresses set while the links are down, then released to NM).
func (s *Service) endHold(ctx context.Context, spoof bool, why string) {
	wasHeld := s.held
	s.held = false
	s.boot.Spoof, s.boot.SpoofBy = &spoof, why
	s.saveBootState()
	if wasHeld {
		s.log.Info("hold: ended", slog.Bool("spoof", spoof), slog.String("by", why), slog.Duration("held_for", time.Since(s.heldSince)))
		if s.radios != nil {
			s.radios.release()
			s.radios = nil
		}
	} else {
		s.log.Info("policy: spoofing switched", slog.Bool("spoof", spoof), slog.String("by", why))
	}
	for _, d := range s.devs {
		s.evaluate(ctx, d, why, time.Now())
	}
}
