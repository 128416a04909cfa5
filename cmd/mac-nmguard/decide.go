// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

func init() { subcommands = append(subcommands, newDecideCmd) }

func newDecideCmd(_ *globalOptions) *cobra.Command {
	var spoof, noSpoof bool
	cmd := &cobra.Command{
		Use:   "decide --spoof|--no-spoof",
		Short: "Decide whether network cards hide their real address (ends a boot-time hold)",
		Long: `Tell the service whether to hide the real addresses (--spoof) or use them
(--no-spoof, e.g. on a public computer where an unknown address would stand
out). This ends a boot-time hold: until then the cards are kept silent.
The choice lasts until the next boot. Needs administrator rights (polkit).

Exit status: 0 decided, 1 refused, 2 bad arguments, 3 no answer in time,
8 the service is not running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spoof == noSpoof {
				return &exitError{code: exitUsage, err: errors.New("give exactly one of --spoof or --no-spoof")}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 90*time.Second)
			defer cancel()
			conn, err := dbus.ConnectSystemBus()
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("connect to the system bus: %w", err)}
			}
			defer conn.Close()
			obj := conn.Object(api.BusName, api.Path)
			if err := obj.CallWithContext(ctx, api.SetSpoofing, 0, spoof).Err; err != nil {
				return serviceError("decision", err)
			}
			what := "hidden (private addresses)"
			if !spoof {
				what = "the real ones"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "decided: network cards use %s\n", what)
			return err
		},
	}
	cmd.Flags().BoolVar(&spoof, "spoof", false, "hide the real addresses")
	cmd.Flags().BoolVar(&noSpoof, "no-spoof", false, "use the real addresses")
	return cmd
}
