// SPDX-License-Identifier: GPL-3.0-or-later

// Package links is the kernel's network interfaces as the service and
// check see them: the Links interface (list, get, up, down, set the
// address, subscribe to changes, classify what is behind a link), its
// rtnetlink implementation bound to one network namespace, and the sysfs
// classification of cards and virtual devices.
package links
