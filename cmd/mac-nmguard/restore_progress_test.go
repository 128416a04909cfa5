// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	gonm "github.com/Wifx/gonetworkmanager/v2"
	"github.com/godbus/dbus/v5"
)

func TestRestoreProgressBelievesOnlyNetworkManager(t *testing.T) {
	d := nmDevice{owner: ":1.7", path: "/org/freedesktop/NetworkManager/Devices/3"}
	state := func(sender string, path dbus.ObjectPath, st gonm.NmDeviceState) *dbus.Signal {
		return &dbus.Signal{Sender: sender, Path: path, Name: nmDeviceIface + ".StateChanged", Body: []any{uint32(st), uint32(0), uint32(0)}}
	}
	addr := &dbus.Signal{Sender: ":1.7", Path: d.path, Name: "org.freedesktop.DBus.Properties.PropertiesChanged",
		Body: []any{nmDeviceIface, map[string]dbus.Variant{"HwAddress": dbus.MakeVariant("00:11:22:33:44:AA")}, []string{}}}
	var out bytes.Buffer
	last := ""
	for _, sig := range []*dbus.Signal{
		state(":1.7", d.path, gonm.NmDeviceStateDeactivating),
		state(":1.99", d.path, gonm.NmDeviceStateActivated),                                     // forged: another sender
		state(":1.7", "/org/freedesktop/NetworkManager/Devices/4", gonm.NmDeviceStateActivated), // another card
		state(":1.7", d.path, gonm.NmDeviceStateDisconnected),
		state(":1.7", d.path, gonm.NmDeviceStateDisconnected), // said once
		addr,
		state(":1.7", d.path, gonm.NmDeviceStatePrepare),
		state(":1.7", d.path, gonm.NmDeviceStateIpConfig),
		state(":1.7", d.path, gonm.NmDeviceStateActivated),
		{Sender: ":1.7", Path: d.path, Name: nmDeviceIface + ".StateChanged", Body: []any{"garbage"}},
	} {
		d.progress(&out, sig, &last)
	}
	want := "disconnecting\ndisconnected\naddress set: 00:11:22:33:44:aa\nconnecting: preparing\nconnecting: asking for an IP address\nconnected\n"
	if out.String() != want {
		t.Errorf("progress:\n%s\nwant:\n%s", out.String(), want)
	}
	var none bytes.Buffer
	nmDevice{}.progress(&none, state("", "", gonm.NmDeviceStateActivated), &last)
	if none.Len() != 0 {
		t.Errorf("without a device: %q", none.String())
	}
}

func TestServiceErrorExitStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"not provided"}}, exitServiceDown},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.NameHasNoOwner", Body: []any{"no owner"}}, exitServiceDown},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), exitTimeout},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.InvalidArgs", Body: []any{"scope \"x\""}}, exitUsage},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied", Body: []any{"not authorised"}}, exitFailed},
		{errors.New("anything else"), exitFailed},
	} {
		err := serviceError("restore", tc.err)
		if got := exitCode(err); got != tc.code {
			t.Errorf("%v: exit status %d, want %d (%v)", tc.err, got, tc.code, err)
		}
	}
	if err := serviceError("restore", dbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied", Body: []any{"not authorised for x"}}); err.Error() != "restore refused: not authorised for x" {
		t.Errorf("message %q", err)
	}
}
