// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// D-Bus names the recorder follows.
const (
	nmBus        = "org.freedesktop.NetworkManager"
	nmDeviceIfc  = "org.freedesktop.NetworkManager.Device"
	nmACIfc      = "org.freedesktop.NetworkManager.Connection.Active"
	nmDevicesDir = "/org/freedesktop/NetworkManager/Devices"
	supBus       = "fi.w1.wpa_supplicant1"
	supIfc       = "fi.w1.wpa_supplicant1.Interface"
	supIfcDir    = "/fi/w1/wpa_supplicant1/Interfaces"
	propsChanged = "org.freedesktop.DBus.Properties.PropertiesChanged"
)

// recorder records, in order, NetworkManager's state changes of the client
// (as detect.Events: address in use, real address, carrier, connection),
// wpa_supplicant's AuthStatusCode and DisconnectReason changes of the
// client's interface, and the service's Suspicion signals. It follows
// NetworkManager and service restarts (paths are resolved by name).
type recorder struct {
	conn *dbus.Conn
	real string

	mu         sync.Mutex
	events     []detect.Event
	suspicions []wifibed.SeenSuspicion
	ifname     map[dbus.ObjectPath]string // device and supplicant interface paths -> interface name
	address    string
	state      uint32
	lastConn   detect.Connection
}

func (g *guest) startRecorder(ctx context.Context) error {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return err
	}
	r := &recorder{conn: conn, real: g.res.Real, ifname: map[dbus.ObjectPath]string{}}
	for _, m := range [][]dbus.MatchOption{
		{dbus.WithMatchInterface(nmDeviceIfc), dbus.WithMatchMember("StateChanged"), dbus.WithMatchPathNamespace(nmDevicesDir)},
		{dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchPathNamespace(nmDevicesDir)},
		{dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchPathNamespace(supIfcDir)},
		{dbus.WithMatchInterface(serviceName), dbus.WithMatchMember("Suspicion")},
	} {
		if err := conn.AddMatchSignal(m...); err != nil {
			conn.Close()
			return err
		}
	}
	ch := make(chan *dbus.Signal, 1024)
	conn.Signal(ch)
	r.address = r.readAddress()
	go r.loop(ch)
	g.rec = r
	return nil
}

// name returns the interface name of a device or supplicant interface path.
func (r *recorder) name(path dbus.ObjectPath) string {
	r.mu.Lock()
	n, ok := r.ifname[path]
	r.mu.Unlock()
	if ok {
		return n
	}
	var v dbus.Variant
	var err error
	if strings.HasPrefix(string(path), supIfcDir) {
		v, err = r.conn.Object(supBus, path).GetProperty(supIfc + ".Ifname")
	} else {
		v, err = r.conn.Object(nmBus, path).GetProperty(nmDeviceIfc + ".Interface")
	}
	if err != nil {
		return ""
	}
	n, _ = v.Value().(string)
	r.mu.Lock()
	r.ifname[path] = n
	r.mu.Unlock()
	return n
}

func (r *recorder) readAddress() string {
	b, err := os.ReadFile("/sys/class/net/" + client + "/address")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func carrier() bool {
	b, err := os.ReadFile("/sys/class/net/" + client + "/carrier")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

func (r *recorder) loop(ch chan *dbus.Signal) {
	for sig := range ch {
		switch {
		case sig.Name == serviceName+".Suspicion":
			r.suspicion(sig)
		case sig.Name == nmDeviceIfc+".StateChanged" && len(sig.Body) == 3:
			if r.name(sig.Path) != client {
				continue
			}
			n, _ := sig.Body[0].(uint32)
			o, _ := sig.Body[1].(uint32)
			reason, _ := sig.Body[2].(uint32)
			c := r.connection(sig.Path, n, o)
			r.mu.Lock()
			r.state = n
			r.add(detect.Event{State: n, Old: o, Reason: reason, Connection: c})
			r.mu.Unlock()
		case sig.Name == propsChanged && len(sig.Body) >= 2:
			ifc, _ := sig.Body[0].(string)
			props, _ := sig.Body[1].(map[string]dbus.Variant)
			switch ifc {
			case nmDeviceIfc:
				if v, ok := props["HwAddress"]; ok && r.name(sig.Path) == client {
					s, _ := v.Value().(string)
					r.mu.Lock()
					r.address = strings.ToLower(s)
					r.mu.Unlock()
				}
			case supIfc:
				if r.name(sig.Path) != client {
					continue
				}
				for _, p := range []string{"AuthStatusCode", "DisconnectReason"} {
					if v, ok := props[p]; ok {
						val, _ := v.Value().(int32)
						r.mu.Lock()
						r.add(detect.Event{State: r.state, Old: r.state, Connection: r.lastConn,
							Supplicant: &detect.SupplicantSignal{Property: p, Value: val}})
						r.mu.Unlock()
					}
				}
			}
		}
	}
}

// add appends ev with the common fields filled in; r.mu is held.
func (r *recorder) add(ev detect.Event) {
	ev.Time = time.Now()
	ev.Device = client
	ev.Address = r.address
	ev.Real = r.real
	ev.Spoofed = r.real != "" && r.address != "" && !strings.EqualFold(r.address, r.real)
	ev.Carrier = carrier()
	r.events = append(r.events, ev)
}

// connection is the device's active connection, or the last one seen while
// it deactivates or right after it failed.
func (r *recorder) connection(path dbus.ObjectPath, state, old uint32) detect.Connection {
	var c detect.Connection
	if v, err := r.conn.Object(nmBus, path).GetProperty(nmDeviceIfc + ".ActiveConnection"); err == nil {
		if ac, _ := v.Value().(dbus.ObjectPath); ac != "" && ac != "/" {
			obj := r.conn.Object(nmBus, ac)
			if v, err := obj.GetProperty(nmACIfc + ".Uuid"); err == nil {
				c.UUID, _ = v.Value().(string)
			}
			if v, err := obj.GetProperty(nmACIfc + ".Id"); err == nil {
				c.ID, _ = v.Value().(string)
			}
			c.SSID = r.ssid(obj)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	partial := c.UUID == "" || c.ID == "" || c.SSID == ""
	if partial && (c.UUID == "" || c.UUID == r.lastConn.UUID) && (state >= detect.StatePrepare || old >= detect.StatePrepare) {
		c = r.lastConn
	}
	if c.UUID != "" && c.ID != "" && c.SSID != "" {
		r.lastConn = c
	}
	if state <= detect.StateDisconnected {
		r.lastConn = detect.Connection{}
	}
	return c
}

func (r *recorder) suspicion(sig *dbus.Signal) {
	if len(sig.Body) != 1 {
		return
	}
	s, _ := sig.Body[0].(string)
	var sp struct {
		Kind       string `json:"kind"`
		Reason     string `json:"reason"`
		Connection any    `json:"connection"`
	}
	_ = json.Unmarshal([]byte(s), &sp)
	cb, _ := json.Marshal(sp.Connection)
	r.mu.Lock()
	r.suspicions = append(r.suspicions, wifibed.SeenSuspicion{Time: time.Now(), Kind: sp.Kind, Reason: sp.Reason, Connection: string(cb)})
	r.mu.Unlock()
}

// mark returns the number of events and suspicions so far.
func (r *recorder) mark() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events), len(r.suspicions)
}

// since returns the events and suspicions recorded after mark.
func (r *recorder) since(ne, ns int) ([]detect.Event, []wifibed.SeenSuspicion) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]detect.Event(nil), r.events[ne:]...), append([]wifibed.SeenSuspicion(nil), r.suspicions[ns:]...)
}

// ssid is the SSID of an active connection's profile ("" when unknown).
func (r *recorder) ssid(ac dbus.BusObject) string {
	v, err := ac.GetProperty(nmACIfc + ".Connection")
	if err != nil {
		return ""
	}
	p, _ := v.Value().(dbus.ObjectPath)
	var settings map[string]map[string]dbus.Variant
	if err := r.conn.Object(nmBus, p).Call("org.freedesktop.NetworkManager.Settings.Connection.GetSettings", 0).Store(&settings); err != nil {
		return ""
	}
	b, _ := settings["802-11-wireless"]["ssid"].Value().([]byte)
	return string(b)
}
