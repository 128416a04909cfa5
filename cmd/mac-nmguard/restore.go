// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

func init() { subcommands = append(subcommands, newRestoreCmd) }

func newRestoreCmd(_ *globalOptions) *cobra.Command {
	var connection string
	var always, keepPrivate bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "restore IFACE",
		Short: "Use the real address on IFACE for one network and reconnect",
		Long: `Ask the service to use the device's real address for one network and
reconnect to it. Without --connection it is the network the service suspects
of rejecting the private address, else the active one. Without --always the
real address is used this time only; with it, whenever this network is used.
The service checks with polkit that you may do this: the active local session
may, without a password, use the real address this time for the network the
service suspects on IFACE; --always, or a network with no pending suspicion,
needs an administrator. mac-nmguard exemptions list|forget shows and undoes
what was allowed.

With --keep-private the real address is not used: the network gets the same
private address at every connection from now on (mode stable for it), the
answer to a captive portal that asks to sign in again whenever the address
changes. Without a password for the network the service suspects of that
(portal-forgets) on IFACE; otherwise an administrator's. It is listed and
forgotten with the exemptions.

While it waits, restore prints a line per step (disconnecting, address set,
connecting, connected). Exit status: 0 reconnected with the real address,
1 refused, 2 bad arguments, 3 no outcome within --timeout (the service goes
on: check IFACE shows where it stands), 4 the reconnection failed, 8 the
service is not running, 10 no such device or profile.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			scope := "once"
			if always {
				scope = "always"
			}
			if keepPrivate {
				if always {
					return &exitError{code: exitUsage, err: errors.New("--keep-private and --always exclude each other")}
				}
				scope = scopeKeepPrivate
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			res, err := restoreThroughService(ctx, cmd.OutOrStdout(), args[0], connection, scope)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), res)
			return err
		},
	}
	cmd.Flags().StringVar(&connection, "connection", "", "connection profile UUID or name (default: the suspected or active one)")
	cmd.Flags().BoolVar(&always, "always", false, "use the real address for this network from now on, not just this time")
	cmd.Flags().BoolVar(&keepPrivate, "keep-private", false, "do not use the real address: give this network the same private address at every connection from now on")
	cmd.Flags().DurationVar(&timeout, "timeout", 120*time.Second, "how long to wait for the reconnection")
	return cmd
}

// scopeKeepPrivate asks restoreThroughService for KeepPrivate instead of a
// Restore.
const scopeKeepPrivate = "keep-private"

// restoreThroughService calls Restore (or KeepPrivate), prints the card's steps to w as
// NetworkManager reports them and waits for Restored/RestoreFailed. Signals
// are believed only from the service's and NetworkManager's unique names.
func restoreThroughService(ctx context.Context, w io.Writer, iface, connection, scope string) (string, error) {
	conn, err := dbus.ConnectSystemBus(dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
	if err != nil {
		return "", &exitError{code: exitFailed, err: fmt.Errorf("connect to the system bus: %w", err)}
	}
	defer conn.Close()
	var owner string
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, api.BusName).Store(&owner); err != nil {
		return "", serviceError("restore", err)
	}
	dev, err := findNMDevice(ctx, conn, iface)
	if err != nil {
		return "", err
	}
	uuid, err := resolveConnection(ctx, conn, connection)
	if err != nil {
		return "", err
	}
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(api.BusName), dbus.WithMatchInterface(api.Interface)); err != nil {
		return "", fmt.Errorf("subscribe to the service: %w", err)
	}
	if err := dev.watch(ctx, conn); err != nil {
		return "", err
	}
	sigs := make(chan *dbus.Signal, 64)
	conn.Signal(sigs)
	call := conn.Object(api.BusName, api.Path).CallWithContext(ctx, api.Restore, 0, iface, uuid, scope)
	what := "its real address"
	if scope == scopeKeepPrivate {
		call = conn.Object(api.BusName, api.Path).CallWithContext(ctx, api.KeepPrivate, 0, iface, uuid)
		what = "the same private address for this network"
	}
	if err := call.Err; err != nil {
		return "", serviceError("restore", err)
	}
	last := ""
	for {
		select {
		case <-ctx.Done():
			return "", &exitError{code: exitTimeout, err: fmt.Errorf("%s: no outcome in time (%w); the service goes on with the restore: `mac-nmguard check %s` shows where it stands", iface, ctx.Err(), iface)}
		case sig, ok := <-sigs:
			if !ok {
				return "", errors.New("lost the system bus while waiting")
			}
			if sig.Sender != owner {
				dev.progress(w, sig, &last)
				continue
			}
			switch sig.Name {
			case api.Interface + "." + api.SignalRestored:
				var d, u, addr string
				var state uint32
				if dbus.Store(sig.Body, &d, &u, &addr, &state) == nil && d == iface {
					return fmt.Sprintf("%s reconnected with %s %s", d, what, addr), nil
				}
			case api.Interface + "." + api.SignalRestoreFailed:
				var d, u, why string
				if dbus.Store(sig.Body, &d, &u, &why) == nil && d == iface {
					return "", &exitError{code: exitConnectFailed, err: fmt.Errorf("%s: %s was set but the connection failed: %s", d, what, why)}
				}
			}
		}
	}
}

// resolveConnection turns a profile name into its UUID ("" stays "").
func resolveConnection(ctx context.Context, conn *dbus.Conn, connection string) (string, error) {
	if connection == "" || isUUID(connection) {
		return connection, nil
	}
	var paths []dbus.ObjectPath
	settings := conn.Object("org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager/Settings")
	if err := settings.CallWithContext(ctx, "org.freedesktop.NetworkManager.Settings.ListConnections", 0).Store(&paths); err != nil {
		return "", fmt.Errorf("list NetworkManager profiles: %w", err)
	}
	var found []string
	for _, p := range paths {
		var s map[string]map[string]dbus.Variant
		if err := conn.Object("org.freedesktop.NetworkManager", p).CallWithContext(ctx, "org.freedesktop.NetworkManager.Settings.Connection.GetSettings", 0).Store(&s); err != nil {
			continue
		}
		id, _ := s["connection"]["id"].Value().(string)
		uuid, _ := s["connection"]["uuid"].Value().(string)
		if id == connection {
			found = append(found, uuid)
		}
	}
	switch len(found) {
	case 0:
		return "", &exitError{code: exitNotFound, err: fmt.Errorf("no NetworkManager profile named %q", connection)}
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%d profiles are named %q; give the UUID", len(found), connection)
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
