// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newDocsCmd) }

// newDocsCmd is the hidden command `make install` uses to generate the man
// pages and shell completion scripts from the command tree itself, so they
// never drift from the CLI.
func newDocsCmd(_ *globalOptions) *cobra.Command {
	docs := &cobra.Command{
		Use:    "docs",
		Short:  "Generate man pages and shell completion scripts (used by make install)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	docs.AddCommand(&cobra.Command{
		Use:   "man DIR",
		Short: "Write one man page per command into DIR (created if missing)",
		Long: `Write one man page per command into DIR, named like mac-nmguard-check.1
(the service's, mac-nmguard-run.8, in section 8), and the policy file's page,
mac-nmguard.toml.5. The date in the pages is taken from SOURCE_DATE_EPOCH when it is set, so
that builds are reproducible.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeManPages(cmd.Root(), args[0])
		},
	})
	docs.AddCommand(&cobra.Command{
		Use:       "completion bash|zsh|fish",
		Short:     "Write the completion script for a shell to standard output",
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeCompletion(cmd.Root(), args[0], cmd)
		},
	})
	return docs
}

// writeManPages writes the man pages of root and every visible command
// below it into dir.
func writeManPages(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("man page directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("man page directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("man page directory %s is not a directory", dir)
	}
	date, err := manDate()
	if err != nil {
		return err
	}
	header := manHeader{
		Date:   date,
		Source: "mac-nmguard " + version,
		Manual: "mac-nmguard manual",
	}
	if err := writeManTree(root, header, dir); err != nil {
		return fmt.Errorf("write man pages to %s: %w", dir, err)
	}
	if err := writeManFile(dir, policyManName+".5", func(w io.Writer) { writePolicyManPage(w, header) }); err != nil {
		return fmt.Errorf("write man pages to %s: %w", dir, err)
	}
	return nil
}

// writeCompletion writes the completion script for shell to cmd's output.
func writeCompletion(root *cobra.Command, shell string, cmd *cobra.Command) error {
	w := cmd.OutOrStdout()
	var err error
	switch shell {
	case "bash":
		err = root.GenBashCompletionV2(w, true)
	case "zsh":
		err = root.GenZshCompletion(w)
	case "fish":
		err = root.GenFishCompletion(w, true)
	default:
		err = errors.New("want bash, zsh or fish")
	}
	if err != nil {
		return fmt.Errorf("%s completion: %w", shell, err)
	}
	return nil
}
