// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"errors"
	"fmt"
	"time"
)

// Limits on Config values. They keep a bad policy file from asking for
// absurd memory or a detector that can never fire.
const (
	maxWindow    = 24 * time.Hour
	maxThreshold = 100
)

// Config holds the detector's thresholds. Counts are per (device,
// connection) and only evidence younger than Window is counted.
type Config struct {
	// Window is how far back evidence counts.
	Window time.Duration
	// AuthLoopRounds is how many NEED_AUTH rounds without progress to
	// IP_CONFIG make an auth-loop.
	AuthLoopRounds int
	// AuthFailures is how many FAILED/NO_SECRETS or FAILED/supplicant
	// failures (after a real attempt) make an auth-failure.
	AuthFailures int
	// DHCPFailures is how many FAILED/IP_CONFIG_UNAVAILABLE from IP_CONFIG
	// with carrier make a dhcp-failure.
	DHCPFailures int
	// AssociationTimeouts is how many NEED_AUTH/NONE from CONFIG after a
	// supplicant or 802.1X timeout make an association-timeout.
	AssociationTimeouts int
}

// DefaultConfig returns the built-in thresholds: 5m, 3, 1, 2, 2.
func DefaultConfig() Config {
	return Config{
		Window:              5 * time.Minute,
		AuthLoopRounds:      3,
		AuthFailures:        1,
		DHCPFailures:        2,
		AssociationTimeouts: 2,
	}
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("detect window %v: must be positive", c.Window))
	} else if c.Window > maxWindow {
		errs = append(errs, fmt.Errorf("detect window %v: must be at most %v", c.Window, maxWindow))
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"auth_loop_rounds", c.AuthLoopRounds},
		{"auth_failures", c.AuthFailures},
		{"dhcp_failures", c.DHCPFailures},
		{"association_timeouts", c.AssociationTimeouts},
	} {
		if f.v < 1 || f.v > maxThreshold {
			errs = append(errs, fmt.Errorf("detect %s %d: must be between 1 and %d", f.name, f.v, maxThreshold))
		}
	}
	return errors.Join(errs...)
}
