// SPDX-License-Identifier: GPL-3.0-or-later

// Package testproc is the process and bus plumbing shared by the
// integration tests (test/bed, notify/notifytest and the nmhook API tests):
// a Process started with its output in a log file and SIGKILL on the test
// binary's death (Pdeathsig), ended by PID (SIGTERM, then SIGKILL) and
// reaped, so it never leaves a zombie or signals a reused PID; a private
// dbus-daemon (session- or system-type, on a path socket, with extra policy
// fragments, policy files and include dirs) that is ready when StartBus
// returns; and the skip-or-fail rule of integration tests
// (MAC_NMGUARD_REQUIRE_INTEGRATION=1 turns a skip into a failure).
//
// Starting processes and buses needs the programs named (dbus-daemon);
// nothing here needs root by itself.
package testproc
