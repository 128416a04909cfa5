// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"log/slog"

	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// The service judges a profile by the address NetworkManager would really
// set: a profile that leaves cloned-mac-address unset gets the default of
// NetworkManager.conf's [connection] sections (ethernet.cloned-mac-address,
// wifi.cloned-mac-address), read with check's own reader at start and on
// SIGHUP.

// confDevice is what NetworkManager.conf's match-device can see of d.
func (d *devState) confDevice() *inspect.ConfDevice {
	cd := &inspect.ConfDevice{Interface: d.iface, Driver: d.nm.Driver, Type: d.nm.Type}
	for _, a := range []string{d.link.Addr.String(), d.real.String()} {
		if len(a) == 17 {
			cd.MACs = append(cd.MACs, a)
		}
	}
	return cd
}

// loadNMConf reads NetworkManager's configuration (Config.NMConfFile and
// NMConfDirs); an unreadable one is taken as the worst it could say.
func (s *Service) loadNMConf() {
	conf, err := inspect.LoadNMConf(s.cfg.NMConfFile, s.cfg.NMConfDirs)
	if err != nil {
		s.log.Error("nmconf: cannot read NetworkManager's configuration; profiles without their own cloned-mac-address are judged as permanent (the real address)",
			slog.String("error", err.Error()))
		conf = inspect.UnreadableNMConf(conf.Files)
	}
	s.nmconf = conf
	var defaults []string
	for _, k := range []string{"ethernet.cloned-mac-address", "wifi.cloned-mac-address"} {
		if v, ok, _ := conf.Lookup("connection", k, nil); ok {
			defaults = append(defaults, k+"="+v.Value+" ("+v.Where()+")")
		}
	}
	s.log.Info("nmconf: read NetworkManager's configuration", slog.Any("files", conf.Files), slog.Any("defaults", defaults))
}

// withEffectiveCloned is p with the cloned-mac-address NetworkManager
// applies on device dev: the profile's own, else the configuration's
// default.
func withEffectiveCloned(conf inspect.NMConf, p nm.Profile, dev *inspect.ConfDevice) nm.Profile {
	p.ClonedMAC, _ = conf.EffectiveCloned(p, dev)
	return p
}
