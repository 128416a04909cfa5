// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// eapUsers is hostapd's eap_user_file: PEAP outside, MSCHAPv2 inside.
const eapUsers = `* PEAP
"` + peapUser + `" MSCHAPV2 "` + peapPass + `" [2]
`

// hostapdConf is one access point's configuration.
func hostapdConf(n wifibed.Network) string {
	var b strings.Builder
	fmt.Fprintf(&b, "interface=%s\ndriver=nl80211\nctrl_interface=/run/hostapd\nssid=%s\nhw_mode=g\nchannel=1\n", n.Iface, n.SSID)
	switch n.Security {
	case "wpa-psk":
		fmt.Fprintf(&b, "wpa=2\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP\nwpa_passphrase=%s\n", psk)
	case "wpa-eap":
		sh := wifibed.GuestMount
		fmt.Fprintf(&b, "wpa=2\nwpa_key_mgmt=WPA-EAP\nrsn_pairwise=CCMP\nieee8021x=1\neap_server=1\n"+
			"eap_user_file=%s/eap_users\nca_cert=%s/ca.pem\nserver_cert=%s/server.pem\nprivate_key=%s/server.key\n",
			runDir, sh, sh, sh)
	}
	if len(n.ACL) > 0 {
		fmt.Fprintf(&b, "macaddr_acl=1\naccept_mac_file=%s/acl-%s\n", runDir, n.SSID)
	}
	return b.String()
}

func (g *guest) accessPoints(ctx context.Context) error {
	if err := os.WriteFile(filepath.Join(runDir, "eap_users"), []byte(eapUsers), 0o600); err != nil {
		return err
	}
	args := []string{"hostapd", "-t"}
	for _, n := range g.res.Networks {
		if len(n.ACL) > 0 {
			if err := os.WriteFile(filepath.Join(runDir, "acl-"+n.SSID), []byte(strings.Join(n.ACL, "\n")+"\n"), 0o644); err != nil {
				return err
			}
		}
		conf := filepath.Join(runDir, "hostapd-"+n.SSID+".conf")
		if err := os.WriteFile(conf, []byte(hostapdConf(n)), 0o600); err != nil {
			return err
		}
		args = append(args, conf)
	}
	if _, err := g.start("hostapd", args...); err != nil {
		return err
	}
	return waitFor(ctx, 30*time.Second, "access points enabled", func() bool {
		b, _ := os.ReadFile(logPath("hostapd"))
		for _, n := range g.res.Networks {
			if !strings.Contains(string(b), n.Iface+": AP-ENABLED") {
				return false
			}
		}
		return true
	})
}

// dhcp gives each access point its /24 and a dnsmasq.
func (g *guest) dhcp(ctx context.Context) error {
	for _, n := range g.res.Networks {
		if _, err := run(ctx, "ip", "addr", "add", n.Subnet+".1/24", "dev", n.Iface); err != nil {
			return err
		}
		args := []string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
			"--port=0", "--interface=" + n.Iface, "--bind-interfaces", "--except-interface=lo",
			"--dhcp-range=" + n.Subnet + ".10," + n.Subnet + ".100,255.255.255.0,1h",
			"--dhcp-leasefile=" + filepath.Join(runDir, "leases-"+n.SSID), "--pid-file=" + filepath.Join(runDir, "dnsmasq-"+n.SSID+".pid"), "--group=root",
			"--log-facility=-", "--log-dhcp", "--user=root"}
		for _, m := range n.DHCPOnly {
			args = append(args, "--dhcp-host="+m+",set:known")
		}
		if len(n.DHCPOnly) > 0 {
			args = append(args, "--dhcp-ignore=tag:!known")
		}
		if _, err := g.start("dnsmasq-"+n.SSID, args...); err != nil {
			return err
		}
	}
	return nil
}

func (g *guest) supplicant(ctx context.Context) error {
	if _, err := g.start("wpa_supplicant", "wpa_supplicant", "-u", "-t"); err != nil {
		return err
	}
	return waitName(ctx, "fi.w1.wpa_supplicant1", 15*time.Second)
}
