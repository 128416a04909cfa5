// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Window != 5*time.Minute || c.AuthLoopRounds != 3 || c.AuthFailures != 1 || c.DHCPFailures != 2 || c.AssociationTimeouts != 2 {
		t.Fatalf("DefaultConfig = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // substrings of the error; nil = valid
	}{
		{"zero config", func(c *Config) { *c = Config{} }, []string{
			"window 0s: must be positive", "auth_loop_rounds 0", "auth_failures 0", "dhcp_failures 0", "association_timeouts 0"}},
		{"negative window", func(c *Config) { c.Window = -time.Second }, []string{"window -1s: must be positive"}},
		{"huge window", func(c *Config) { c.Window = 48 * time.Hour }, []string{"must be at most 24h0m0s"}},
		{"negative count", func(c *Config) { c.DHCPFailures = -1 }, []string{"dhcp_failures -1: must be between 1 and 100"}},
		{"huge count", func(c *Config) { c.AuthLoopRounds = 1000 }, []string{"auth_loop_rounds 1000"}},
		{"limits are valid", func(c *Config) { c.Window = 24 * time.Hour; c.AuthFailures = 100; c.DHCPFailures = 1 }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, nerr := New(c, nil); nerr == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}
