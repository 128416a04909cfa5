// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode maps an error returned by a command to the process exit code:
// an exitError keeps its own, anything else (bad arguments, I/O) is 2.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 2
}

// bootIDPath identifies the boot: the service's per-boot state is used only
// in the boot it was written in.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	policyFile string // main policy file
	policyDir  string // drop-in directory, *.toml applied in name order
	stateDir   string // the service's state directory
	runtimeDir string // the service's per-boot directory
}

// subcommands are registered by the files that define them (each in its own
// file, from an init function), so that commands arrive with the issue that
// brings them and no file lists them all.
var subcommands []func(*globalOptions) *cobra.Command

func newRootCmd() *cobra.Command {
	opts := &globalOptions{}
	root := &cobra.Command{
		Use:           "mac-nmguard",
		Short:         "Keep NetworkManager from revealing the real MAC address",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&opts.policyFile, "policy", "/etc/mac-nmguard/policy.toml", "main policy file")
	pf.StringVar(&opts.policyDir, "policy-dir", "/etc/mac-nmguard/policy.d", "policy drop-in directory (*.toml, name order)")
	pf.StringVar(&opts.stateDir, "state-dir", "/var/lib/mac-nmguard", "state directory of the service")
	pf.StringVar(&opts.runtimeDir, "runtime-dir", "/run/mac-nmguard", "per-boot directory of the service (emptied at boot: this boot's spoof switch, first-seen addresses and in-memory records)")
	root.AddCommand(newVersionCmd())
	for _, add := range subcommands {
		root.AddCommand(add(opts))
	}
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "mac-nmguard %s (%s)\n", version, runtime.Version())
			return err
		},
	}
}
