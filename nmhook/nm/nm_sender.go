// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"log/slog"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// wpa_supplicant's D-Bus names (the supplicant NetworkManager drives).
const (
	SupplicantBusName    = "fi.w1.wpa_supplicant1"
	SupplicantIface      = "fi.w1.wpa_supplicant1.Interface"
	SupplicantIfacesPath = "/fi/w1/wpa_supplicant1/Interfaces"
)

// dbusObjectPath is the bus daemon's object path.
const DBusPath = dbus.ObjectPath("/org/freedesktop/DBus")

// forgeryLogEvery bounds how often dropped signals are logged.
const forgeryLogEvery = 10 * time.Second

// Sender follows NetworkManager's unique bus name and says which signals
// really come from it. Match rules do not protect the service: a signal
// sent to its unique name (unicast) reaches it whatever its rules say, and
// godbus hands every signal received to the channel. The bus daemon writes
// the sender header itself (the sender's unique name; its own
// "org.freedesktop.DBus" for the signals it sends), so the sender is the
// one field of a signal nobody can forge.
type Sender struct {
	// owner is NetworkManager's unique name ("" when NM is not on the bus):
	// from GetNameOwner at connect and resync, then from the bus daemon's
	// NameOwnerChanged.
	Owner string
	// supOwner is wpa_supplicant's unique name ("" when it is not on the
	// bus), followed the same way: its interfaces' property changes count
	// only from it (they feed the detector).
	SupplicantOwner string

	dropped  int       // forgeries not logged yet
	lastWarn time.Time // when the last forgery was logged
}

// admit reports whether sig is to be acted on. A NameOwnerChanged about
// NetworkManager (or wpa_supplicant) is trusted only from the bus daemon,
// and moves owner (supOwner); a wpa_supplicant interface's property change
// only from wpa_supplicant's current unique name; every other signal only
// from NetworkManager's.
// forged is set for a signal someone else sent in NM's or the bus's name
// (signals from the bus daemon about other names are just ignored).
func (f *Sender) admit(sig *dbus.Signal) (ok, forged bool) {
	if sig.Name == DBusName+"."+NameOwnerChanged {
		if sig.Sender != DBusName || sig.Path != DBusPath {
			return false, true
		}
		var name, old, owner string
		if dbus.Store(sig.Body, &name, &old, &owner) != nil {
			return false, false
		}
		switch name {
		case BusName:
			f.Owner = owner
			return true, false
		case SupplicantBusName:
			f.SupplicantOwner = owner
		}
		return false, false
	}
	if sig.Sender == DBusName {
		return false, false // NameAcquired, NameLost: not about NM
	}
	if strings.HasPrefix(string(sig.Path), SupplicantIfacesPath+"/") && sig.Name == PropertiesIface+".PropertiesChanged" {
		if f.SupplicantOwner == "" || sig.Sender != f.SupplicantOwner {
			return false, true
		}
		return true, false
	}
	if f.Owner == "" || sig.Sender != f.Owner {
		return false, true
	}
	return true, false
}

// filter returns the signals of batch that admit accepts, in order, and
// logs the forgeries (rate-limited: the first at once, then at most one
// line per forgeryLogEvery with the count).
func (f *Sender) Filter(log *slog.Logger, batch []*dbus.Signal, now time.Time) []*dbus.Signal {
	out := make([]*dbus.Signal, 0, len(batch))
	for _, sig := range batch {
		ok, forged := f.admit(sig)
		if ok {
			out = append(out, sig)
			continue
		}
		if !forged {
			continue
		}
		f.dropped++
		if now.Sub(f.lastWarn) < forgeryLogEvery {
			continue
		}
		log.Warn("bus: dropped a signal not sent by NetworkManager (forged or stale)",
			slog.String("signal", sig.Name), slog.String("sender", sig.Sender), slog.String("path", string(sig.Path)),
			slog.String("networkmanager", f.Owner), slog.Int("dropped", f.dropped))
		f.dropped, f.lastWarn = 0, now
	}
	return out
}

// Matches are the match rules of the NetworkManager signals the service
// listens to. A rule does not protect anything (see Sender): it only saves
// the bus from sending what nobody reads.
func Matches() [][]dbus.MatchOption {
	return [][]dbus.MatchOption{
		{dbus.WithMatchSender(BusName), dbus.WithMatchInterface(DeviceIface), dbus.WithMatchMember("StateChanged")},
		// Only the Device interface's changes (HwAddress): NM sends many
		// more (statistics, Wired, IP configurations) the service ignores.
		{dbus.WithMatchSender(BusName), dbus.WithMatchInterface(PropertiesIface), dbus.WithMatchMember("PropertiesChanged"),
			dbus.WithMatchPathNamespace("/org/freedesktop/NetworkManager/Devices"), dbus.WithMatchArg(0, DeviceIface)},
		{dbus.WithMatchSender(BusName), dbus.WithMatchInterface(BusName), dbus.WithMatchMember("DeviceAdded")},
		{dbus.WithMatchSender(BusName), dbus.WithMatchInterface(BusName), dbus.WithMatchMember("DeviceRemoved")},
		{dbus.WithMatchSender(BusName), dbus.WithMatchInterface(BusName + ".Settings"), dbus.WithMatchMember("NewConnection")},
		{dbus.WithMatchSender(BusName), dbus.WithMatchInterface(SettingsIface), dbus.WithMatchMember("Updated")},
		{dbus.WithMatchSender(BusName), dbus.WithMatchInterface(BusName + ".Settings"), dbus.WithMatchMember("ConnectionRemoved")},
		{dbus.WithMatchSender(DBusName), dbus.WithMatchInterface(DBusName), dbus.WithMatchMember(NameOwnerChanged),
			dbus.WithMatchArg(0, BusName)},
	}
}

// SupplicantMatches are the wpa_supplicant signals the service listens to:
// its interfaces' property changes, which say why an attempt failed
// (AuthStatusCode: the access point refused; DisconnectReason: the
// handshake failed) before NetworkManager does, and who owns its name.
func SupplicantMatches() [][]dbus.MatchOption {
	return [][]dbus.MatchOption{
		{dbus.WithMatchSender(SupplicantBusName), dbus.WithMatchInterface(PropertiesIface),
			dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchPathNamespace(SupplicantIfacesPath), dbus.WithMatchArg(0, SupplicantIface)},
		{dbus.WithMatchSender(DBusName), dbus.WithMatchInterface(DBusName), dbus.WithMatchMember(NameOwnerChanged),
			dbus.WithMatchArg(0, SupplicantBusName)},
	}
}
