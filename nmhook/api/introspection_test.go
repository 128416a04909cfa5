// SPDX-License-Identifier: GPL-3.0-or-later

package api

import (
	"encoding/xml"
	"slices"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5/introspect"
)

// TestIntrospectionMatchesNames: the introspection parses, declares the
// interface, and declares exactly the methods and signals named by the
// constants.
func TestIntrospectionMatchesNames(t *testing.T) {
	var iface introspect.Interface
	if err := xml.Unmarshal([]byte(Introspection), &iface); err != nil {
		t.Fatalf("introspection does not parse: %v", err)
	}
	if iface.Name != Interface {
		t.Errorf("interface %q, want %q", iface.Name, Interface)
	}
	var methods, signals []string
	for _, m := range iface.Methods {
		methods = append(methods, m.Name)
	}
	for _, s := range iface.Signals {
		signals = append(signals, s.Name)
	}
	var wantMethods []string
	for _, full := range []string{ListDevices, ListSuspicions, StatusMethod, Restore, KeepPrivate, Dismiss, SetSpoofing, ListExemptions, ForgetExemption, ForgetAllExemptions} {
		name, ok := strings.CutPrefix(full, Interface+".")
		if !ok {
			t.Errorf("method %q is not on %s", full, Interface)
		}
		wantMethods = append(wantMethods, name)
	}
	wantSignals := []string{SignalViolation, SignalSuspicion, SignalRestored, SignalRestoreFailed}
	for _, l := range [][]string{methods, signals, wantMethods, wantSignals} {
		slices.Sort(l)
	}
	if !slices.Equal(methods, wantMethods) {
		t.Errorf("introspection methods %q, constants %q", methods, wantMethods)
	}
	if !slices.Equal(signals, wantSignals) {
		t.Errorf("introspection signals %q, constants %q", signals, wantSignals)
	}
}
