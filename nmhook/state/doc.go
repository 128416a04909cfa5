// SPDX-License-Identifier: GPL-3.0-or-later

// Package state is the service's files: the persistent state file (the
// stable-mode secret, the user's lasting exemptions, the in-memory profile
// changes to undo) and the per-boot file (first-seen real addresses, the
// runtime spoof switch, kept for one boot only), their formats, atomic
// writes and recovery from corrupt files. The service writes them; check
// reads them.
package state
