// SPDX-License-Identifier: GPL-3.0-or-later

// Package gate is the gate's decision, pure (no I/O): Decide over a
// device's View (the policy's verdict, guard, spoof, block, disconnect,
// reactivate), the judgement of a profile's cloned-mac-address
// (ProfileViolates), and the real-address rule (PermanentAddress,
// KnownAddress) that the service and check both apply. It reads profiles as
// package profile's plain data and links no D-Bus client, netlink or
// nftables (TestGateLinksNoIO).
package gate
