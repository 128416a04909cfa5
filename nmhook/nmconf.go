// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"log/slog"
	"strings"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// The service judges a profile by the address NetworkManager would really
// set: a profile that leaves cloned-mac-address unset gets the default of
// NetworkManager.conf's [connection] sections (ethernet.cloned-mac-address,
// wifi.cloned-mac-address), read with check's own reader at start and on
// SIGHUP.

// unreadableNMConf stands for a configuration that could not be read: fail
// closed, as if it made every profile without its own value use the real
// address.
func unreadableNMConf(files []string) nmConf {
	keys := map[string]nmConfValue{}
	for _, k := range []string{"ethernet.cloned-mac-address", "wifi.cloned-mac-address"} {
		keys[k] = nmConfValue{Value: "permanent", File: "(unreadable NetworkManager configuration)"}
	}
	return nmConf{Files: files, Sections: []nmConfSection{{Name: "connection", File: keys["wifi.cloned-mac-address"].File, Keys: keys}}}
}

// effectiveProfile is p with the cloned-mac-address NetworkManager applies
// on device dev: the profile's own, else the configuration's default.
func effectiveProfile(conf nmConf, p nm.Profile, dev *confDevice) nm.Profile {
	if p.ClonedMAC != "" {
		return p
	}
	if v, ok, _ := conf.lookup("connection", p.MACSetting(), dev); ok {
		p.ClonedMAC = strings.ToLower(v.Value)
	}
	return p
}

// confDevice is what NetworkManager.conf's match-device can see of d.
func (d *devState) confDevice() *confDevice {
	cd := &confDevice{Interface: d.iface, Driver: d.nm.Driver, Type: d.nm.Type}
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
	conf, err := loadNMConf(s.cfg.NMConfFile, s.cfg.NMConfDirs)
	if err != nil {
		s.log.Error("nmconf: cannot read NetworkManager's configuration; profiles without their own cloned-mac-address are judged as permanent (the real address)",
			slog.String("error", err.Error()))
		conf = unreadableNMConf(conf.Files)
	}
	s.nmconf = conf
	var defaults []string
	for _, k := range []string{"ethernet.cloned-mac-address", "wifi.cloned-mac-address"} {
		if v, ok, _ := conf.lookup("connection", k, nil); ok {
			defaults = append(defaults, k+"="+v.Value+" ("+v.where()+")")
		}
	}
	s.log.Info("nmconf: read NetworkManager's configuration", slog.Any("files", conf.Files), slog.Any("defaults", defaults))
}
