// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// hwsimCmdNewRadio is HWSIM_CMD_NEW_RADIO of mac80211_hwsim's generic
// netlink family "MAC80211_HWSIM".
const hwsimCmdNewRadio = 4

// newRadio adds a simulated radio (HWSIM_CMD_NEW_RADIO, default settings)
// and returns its interface once it appears.
func newRadio(ctx context.Context) (string, error) {
	before := netIfaces()
	fam, err := netlink.GenlFamilyGet("MAC80211_HWSIM")
	if err != nil {
		return "", fmt.Errorf("hwsim generic netlink family: %w", err)
	}
	req := nl.NewNetlinkRequest(int(fam.ID), unix.NLM_F_ACK)
	req.AddData(&nl.Genlmsg{Command: hwsimCmdNewRadio, Version: 1})
	// The kernel answers the new radio's index (>= 0) in the ack's error
	// field, which the library turns into a "negative errno" (Errno is
	// unsigned: read it back as a signed number).
	var errno syscall.Errno
	if _, err := req.Execute(unix.NETLINK_GENERIC, 0); err != nil && !(errors.As(err, &errno) && int64(errno) < 0) {
		return "", fmt.Errorf("HWSIM_CMD_NEW_RADIO: %w", err)
	}
	var iface string
	err = waitFor(ctx, 15*time.Second, "the new radio's interface", func() bool {
		for _, n := range netIfaces() {
			if !slices.Contains(before, n) && len(n) > 4 && n[:4] == "wlan" {
				iface = n
				return true
			}
		}
		return false
	})
	return iface, err
}

func netIfaces() []string {
	ents, _ := os.ReadDir("/sys/class/net")
	var out []string
	for _, e := range ents {
		out = append(out, filepath.Base(e.Name()))
	}
	return out
}
