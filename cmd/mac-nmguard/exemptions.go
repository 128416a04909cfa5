// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

func init() { subcommands = append(subcommands, newExemptionsCmd) }

func newExemptionsCmd(_ *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exemptions list|forget",
		Short: "List or forget the networks that get the real address",
		Long: `An exemption lets one network see the card's real address: "always" ones
(made by restore --always, kept across boots) and "once" ones (restore
without --always, until that connection ends). Forgetting one brings the
private address back: a card connected to that network with its real address
is refused or remediated as any violation.

Exit status (as restore's): 0 done, 1 refused (not authorised) or failed,
2 bad arguments, 3 no answer in time, 8 the service is not running, 10 no
such exemption.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("give a subcommand: list or forget (see mac-nmguard exemptions --help)")
		},
	}
	cmd.AddCommand(newExemptionsListCmd(), newExemptionsForgetCmd())
	return cmd
}

func newExemptionsListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the exemptions the service holds",
		Long: `List the exemptions: the ID to give to forget, the scope, the network's SSID
and the device ("" any). Anyone may list them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			conn, err := serviceConn(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			var data string
			if err := conn.Object(api.BusName, api.Path).CallWithContext(ctx, api.ListExemptions, 0).Store(&data); err != nil {
				return serviceError("list exemptions", err)
			}
			var list []api.Exemption
			if err := json.Unmarshal([]byte(data), &list); err != nil {
				return fmt.Errorf("the service's answer: %w", err)
			}
			if asJSON {
				if list == nil {
					list = []api.Exemption{}
				}
				out, err := json.MarshalIndent(sanitized(list), "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
				return err
			}
			return printExemptions(cmd.OutOrStdout(), list)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON (the service's ListExemptions answer)")
	return cmd
}

func printExemptions(w io.Writer, list []api.Exemption) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "No exemptions: no network is let see a real address beyond what the policy says.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCOPE\tSSID\tDEVICE")
	for _, e := range list {
		dev := e.Interface
		if dev == "" {
			dev = "any"
		}
		ssid := e.SSID
		if ssid == "" {
			ssid = "-"
		}
		scope := e.Scope
		if e.Mode == "stable" {
			scope += " (same private address)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", safeText(e.ID), safeText(scope), safeText(ssid), safeText(dev))
	}
	return tw.Flush()
}

func newExemptionsForgetCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "forget ID | --all",
		Short: "Forget an exemption (or all): the network sees a private address again",
		Long: `Forget the exemption ID (as exemptions list shows it), or every exemption
with --all. The service checks with polkit that you may (the active local
session may; others need an administrator).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case all && len(args) == 1:
				return &exitError{code: exitUsage, err: errors.New("give an exemption ID or --all, not both")}
			case !all && len(args) == 0:
				return &exitError{code: exitUsage, err: errors.New("give an exemption ID (see mac-nmguard exemptions list) or --all")}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 90*time.Second)
			defer cancel()
			conn, err := serviceConn(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			obj := conn.Object(api.BusName, api.Path)
			if all {
				var n uint32
				if err := obj.CallWithContext(ctx, api.ForgetAllExemptions, 0).Store(&n); err != nil {
					return serviceError("forget the exemptions", err)
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "forgot %d exemption(s): every network sees a private address again (where the policy says so)\n", n)
				return err
			}
			if err := obj.CallWithContext(ctx, api.ForgetExemption, 0, args[0]).Err; err != nil {
				var de dbus.Error
				if errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.InvalidArgs" && strings.HasPrefix(errBody(de), "no exemption") {
					return &exitError{code: exitNotFound, err: errors.New(safeText(errBody(de)) + " (see mac-nmguard exemptions list)")}
				}
				return serviceError("forget "+safeText(args[0]), err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "forgot %s: that network sees a private address again\n", safeText(args[0]))
			return err
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "forget every exemption")
	return cmd
}

// serviceConn connects to the system bus and checks the service is there.
func serviceConn(ctx context.Context) (*dbus.Conn, error) {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return nil, fmt.Errorf("connect to the system bus: %w", err)
	}
	var owner string
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, api.BusName).Store(&owner); err != nil {
		conn.Close()
		return nil, &exitError{code: exitServiceDown, err: errors.New("the mac-nmguard service is not running; start it (systemctl start mac-nmguard) and try again")}
	}
	return conn, nil
}
