// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mac-nmguard/mac-nmguard/policy"
)

func init() { subcommands = append(subcommands, newPolicyCmd) }

// newPolicyCmd is `mac-nmguard policy`: validate and show the MAC policy.
func newPolicyCmd(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check and show the MAC policy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newPolicyValidateCmd(opts), newPolicyShowCmd(opts))
	return cmd
}

func newPolicyValidateCmd(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [FILE...]",
		Short: "Check policy files (default: the configured file and drop-ins)",
		Long: `Check policy files. With no FILE, check the configured main file and
every drop-in (*.toml, name order), each on its own and then together.
Each FILE given is checked on its own, on top of the built-in default.
Problems are printed on standard error as file:line:column: key: message.
Exit status: 0 valid, 1 invalid or unreadable, 2 bad usage.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPolicyValidate(cmd.OutOrStdout(), cmd.ErrOrStderr(), opts, args)
		},
	}
}

func runPolicyValidate(stdout, stderr io.Writer, opts *globalOptions, args []string) error {
	files := args
	configured := len(args) == 0
	if configured {
		var err error
		files, err = policy.ConfigFiles(opts.policyFile, opts.policyDir)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return &exitError{code: 1, err: fmt.Errorf("policy not valid: %w", err)}
		}
		if len(files) == 0 {
			fmt.Fprintf(stdout, "no policy files (%s, %s/*.toml): the built-in default applies\n", opts.policyFile, opts.policyDir)
			return nil
		}
	}
	bad := 0
	for _, f := range files {
		if _, err := policy.LoadFiles(f); err != nil {
			bad++
			fmt.Fprintln(stderr, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", f)
	}
	if bad > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d policy files not valid", bad, len(files))}
	}
	if configured && len(files) > 1 {
		// Together: a later vendors_file is only read when all are combined.
		if _, err := policy.LoadFiles(files...); err != nil {
			fmt.Fprintln(stderr, err)
			return &exitError{code: 1, err: fmt.Errorf("policy files not valid together: %w", err)}
		}
		fmt.Fprintf(stdout, "%d files: ok together\n", len(files))
	}
	return nil
}

func newPolicyShowCmd(opts *globalOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the effective policy (after drop-ins) as TOML or JSON",
		Long: `Print the effective policy: the built-in default with the main file and
the drop-ins applied, as TOML (with the files it came from and the
precedence rule as comments) or, with --json, as JSON.
Exit status: 0 shown, 1 the policy is not valid, 2 bad usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := policy.Load(opts.policyFile, opts.policyDir)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("policy not valid:\n%w", err)}
			}
			out := []byte(p.EncodeTOML())
			if asJSON {
				if out, err = p.EncodeJSON(); err != nil {
					return err
				}
			}
			if _, err := cmd.OutOrStdout().Write(out); err != nil {
				return fmt.Errorf("write policy: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of TOML")
	return cmd
}
