// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"log/slog"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// dbusObjectPath is the bus daemon's object path.
const dbusObjectPath = dbus.ObjectPath("/org/freedesktop/DBus")

// forgeryLogEvery bounds how often dropped signals are logged.
const forgeryLogEvery = 10 * time.Second

// nmSender follows NetworkManager's unique bus name and says which signals
// really come from it. Match rules do not protect the service: a signal
// sent to its unique name (unicast) reaches it whatever its rules say, and
// godbus hands every signal received to the channel. The bus daemon writes
// the sender header itself (the sender's unique name; its own
// "org.freedesktop.DBus" for the signals it sends), so the sender is the
// one field of a signal nobody can forge.
type nmSender struct {
	// owner is NetworkManager's unique name ("" when NM is not on the bus):
	// from GetNameOwner at connect and resync, then from the bus daemon's
	// NameOwnerChanged.
	owner string
	// supOwner is wpa_supplicant's unique name ("" when it is not on the
	// bus), followed the same way: its interfaces' property changes count
	// only from it (they feed the detector).
	supOwner string

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
func (f *nmSender) admit(sig *dbus.Signal) (ok, forged bool) {
	if sig.Name == dbusBusName+"."+nameOwnerChanged {
		if sig.Sender != dbusBusName || sig.Path != dbusObjectPath {
			return false, true
		}
		var name, old, owner string
		if dbus.Store(sig.Body, &name, &old, &owner) != nil {
			return false, false
		}
		switch name {
		case nmBusName:
			f.owner = owner
			return true, false
		case supBusName:
			f.supOwner = owner
		}
		return false, false
	}
	if sig.Sender == dbusBusName {
		return false, false // NameAcquired, NameLost: not about NM
	}
	if strings.HasPrefix(string(sig.Path), supIfacesPath+"/") && sig.Name == propertiesIface+".PropertiesChanged" {
		if f.supOwner == "" || sig.Sender != f.supOwner {
			return false, true
		}
		return true, false
	}
	if f.owner == "" || sig.Sender != f.owner {
		return false, true
	}
	return true, false
}

// filter returns the signals of batch that admit accepts, in order, and
// logs the forgeries (rate-limited: the first at once, then at most one
// line per forgeryLogEvery with the count).
func (f *nmSender) filter(log *slog.Logger, batch []*dbus.Signal, now time.Time) []*dbus.Signal {
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
			slog.String("networkmanager", f.owner), slog.Int("dropped", f.dropped))
		f.dropped, f.lastWarn = 0, now
	}
	return out
}
