// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mac-nmguard/mac-nmguard/notify"
)

func init() { subcommands = append(subcommands, newAgentCmd) }

func newAgentCmd(_ *globalOptions) *cobra.Command {
	var level string
	var jsonLog bool
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the desktop agent: notifications from the service (in the user's session)",
		Long: `Run the desktop agent in the user's session (started by the XDG autostart
file). It listens to the mac-nmguard service on the system bus and shows a
notification when a network seems to refuse this computer's private address,
with three choices: use the real address this time, always use it on that
network, or keep the address private. None is taken by a plain click. It also
tells when a network card was kept offline or reconnected with a private
address, and what can be done about it.

The notifications are in the session's language when the agent has a
translation (German; LANGUAGE, LC_ALL, LC_MESSAGES and LANG are read as gettext
reads them), else in English. An open choice stays on screen until answered.
On a notification server without action buttons the notification names the
commands that make each choice (mac-nmguard restore IFACE [--always]).

The buses come from DBUS_SYSTEM_BUS_ADDRESS and DBUS_SESSION_BUS_ADDRESS (else
the standard system socket and $XDG_RUNTIME_DIR/bus). The agent reconnects by
itself when a bus, the service or the notification server goes away; with no
notification server it logs what it would have shown. SIGTERM or SIGINT stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cmd.ErrOrStderr(), level, jsonLog)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return notify.New(notify.Config{Log: log}).Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&level, "log-level", "info", "log level: debug, info, warn, error")
	f.BoolVar(&jsonLog, "log-json", false, "log JSON lines")
	return cmd
}
