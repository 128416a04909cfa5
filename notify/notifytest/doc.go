// SPDX-License-Identifier: GPL-3.0-or-later

// Package notifytest starts what the desktop agent's integration tests need,
// each owned by the test that starts it and removed in its t.Cleanup: a
// private D-Bus daemon (session-type, or system-type with a given policy),
// a desktop (Xvfb, a private session bus and a real notification server,
// dunst), a bus monitor that records the Notify calls made on a bus, and
// the user's route to a notification's actions (dunst's context menu with a
// scripted dmenu). Everything needs root and the programs named by Require.
package notifytest
