// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// wireSampleObjects is a GetManagedObjects answer shaped like
// NetworkManager's, with the property types check reads and ones the wire
// reader skips (dicts, structs, nested variants, arrays of arrays).
func wireSampleObjects() nmObjects {
	v := dbus.MakeVariant
	return nmObjects{
		nmObjectPath: {
			nmBusName: {
				"Version":                v("1.42.4"),
				"AllDevices":             v([]dbus.ObjectPath{"/org/freedesktop/NetworkManager/Devices/1", "/org/freedesktop/NetworkManager/Devices/2"}),
				"Capabilities":           v([]uint32{1, 2}),
				"Checkpoints":            v([]dbus.ObjectPath{}),
				"GlobalDnsConfiguration": v(map[string]dbus.Variant{"searches": v([]string{"a"}), "x": v(v(int32(-3)))}),
				"Metered":                v(uint32(4)),
				"NetworkingEnabled":      v(true),
				"ConnectivityCheckUri":   v(""),
			},
			"org.freedesktop.DBus.Introspectable": {},
		},
		"/org/freedesktop/NetworkManager/Devices/1": {
			nmDeviceIface: {
				"Interface":            v("eth0"),
				"Driver":               v("e1000e"),
				"State":                v(uint32(100)),
				"HwAddress":            v("00:1B:21:AA:BB:CC"),
				"Autoconnect":          v(false),
				"ActiveConnection":     v(dbus.ObjectPath("/org/freedesktop/NetworkManager/ActiveConnection/7")),
				"AvailableConnections": v([]dbus.ObjectPath{"/org/freedesktop/NetworkManager/Settings/3"}),
				"DeviceType":           v(uint32(1)),
				"Mtu":                  v(uint32(1500)),
				"Ip4Address":           v(uint32(0)),
				"StateReason":          v([]any{uint32(100), uint32(0)}), // (uu)
				"LldpNeighbors":        v([]map[string]dbus.Variant{{"chassis-id": v("x")}}),
				"Metered":              v(uint32(0)),
				"Real":                 v(true),
				"Ports":                v([]dbus.ObjectPath{}),
				"InterfaceFlags":       v(uint32(0x10003)),
				"Udi":                  v("/sys/devices/pci0000:00/eth0"),
				"Dhcp4Config":          v(dbus.ObjectPath("/")),
				"Nested":               v([][]string{{"a"}, {}, {"b", "c"}}),
			},
			nmWiredIface: {
				"HwAddress":       v("00:1B:21:AA:BB:CC"),
				"PermHwAddress":   v("00:1B:21:AA:BB:CC"),
				"Speed":           v(uint32(1000)),
				"S390Subchannels": v([]string{}),
				"Carrier":         v(true),
			},
			nmDeviceIface + ".Statistics": {"TxBytes": v(uint64(7)), "RefreshRateMs": v(uint32(0))},
		},
		"/org/freedesktop/NetworkManager/Devices/2": {
			nmDeviceIface: {
				"Interface":  v("wlan0"),
				"DeviceType": v(uint32(2)),
				"State":      v(uint32(30)),
				"HwAddress":  v("02:11:22:33:44:55"),
				"Small":      v(int16(-2)),
				"Port":       v(uint16(65535)),
				"Big":        v(int64(-1 << 40)),
				"Byte":       v(byte(7)),
				"Ratio":      v(0.5),
				"Raw":        v([]byte{0, 1, 2}),
				"Neg":        v(int32(-5)),
			},
			nmWirelessIface: {"PermHwAddress": v("00:21:6A:01:02:03"), "Bitrate": v(uint32(0)), "AccessPoints": v([]dbus.ObjectPath{})},
		},
		"/org/freedesktop/NetworkManager/ActiveConnection/7": {
			nmACIface: {"State": v(uint32(2)), "Connection": v(dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings/3")), "Id": v("wired")},
		},
		"/org/freedesktop/NetworkManager/IP4Config/1": {
			nmBusName + ".IP4Config": {"AddressData": v([]map[string]dbus.Variant{{"address": v("10.0.0.2"), "prefix": v(uint32(24))}})},
		},
		nmSettingsPath: {
			nmSettingsMgrIface: {"Hostname": v("host"), "CanModify": v(true), "Connections": v([]dbus.ObjectPath{"/org/freedesktop/NetworkManager/Settings/3"}), "VersionId": v(uint64(9))},
		},
		"/org/freedesktop/NetworkManager/Settings/3": {
			nmSettingsIface: {"Unsaved": v(false), "Flags": v(uint32(0)), "Filename": v("/etc/x.nmconnection")},
		},
	}
}

// wireKept is what decodeManagedObjects should give for objs: the
// interfaces wireInterface keeps, with their properties of the types
// wireReader.value decodes.
func wireKept(objs nmObjects) nmObjects {
	simple := map[string]bool{"y": true, "b": true, "n": true, "q": true, "i": true, "u": true, "x": true, "t": true, "d": true,
		"s": true, "o": true, "ay": true, "au": true, "as": true, "ao": true}
	out := nmObjects{}
	for path, ifaces := range objs {
		kept := map[string]map[string]dbus.Variant{}
		for name, props := range ifaces {
			if !wireInterface(name) {
				continue
			}
			p := map[string]dbus.Variant{}
			for k, v := range props {
				if simple[v.Signature().String()] {
					p[k] = v
				}
			}
			kept[name] = p
		}
		out[path] = kept
	}
	return out
}

// wireReply encodes objs as godbus would send a GetManagedObjects answer.
func wireReply(t testing.TB, objs nmObjects, order binary.ByteOrder) []byte {
	t.Helper()
	return wireReplyBody(t, map[dbus.ObjectPath]map[string]map[string]dbus.Variant(objs), order)
}

// wireReplyBody encodes body as godbus would send it as an answer to call 2.
func wireReplyBody(t testing.TB, body any, order binary.ByteOrder) []byte {
	t.Helper()
	m := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(uint32(2)),
		dbus.FieldSender:      dbus.MakeVariant(":1.7"),
		dbus.FieldDestination: dbus.MakeVariant(":1.9"),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(body)),
	}, Body: []any{body}}
	var b bytes.Buffer
	if err := m.EncodeTo(&b, order); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b.Bytes()
}

var variantCmp = cmp.Comparer(func(a, b dbus.Variant) bool {
	return a.Signature() == b.Signature() && cmp.Equal(a.Value(), b.Value(), cmpopts.EquateEmpty())
})

// TestWireDecodeMatchesGodbus: the wire reader gives, for the interfaces
// check reads, exactly what godbus decodes from the same bytes, in both
// byte orders; and nmFromObjects reads the same view from either.
func TestWireDecodeMatchesGodbus(t *testing.T) {
	objs := wireSampleObjects()
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(order.String(), func(t *testing.T) {
			raw := wireReply(t, objs, order)
			m, err := readWireMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("readWireMessage: %v", err)
			}
			if m.typ != wireMethodReturn || m.replySerial != 2 || m.sig != "a{oa{sa{sv}}}" {
				t.Fatalf("header: type %d reply serial %d signature %q", m.typ, m.replySerial, m.sig)
			}
			got, err := decodeManagedObjects(m.body, m.order)
			if err != nil {
				t.Fatalf("decodeManagedObjects: %v", err)
			}
			gm, err := dbus.DecodeMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("godbus decode: %v", err)
			}
			var viaGodbus nmObjects
			if err := dbus.Store(gm.Body, (*map[dbus.ObjectPath]map[string]map[string]dbus.Variant)(&viaGodbus)); err != nil {
				t.Fatalf("godbus store: %v", err)
			}
			if diff := cmp.Diff(wireKept(viaGodbus), got, variantCmp); diff != "" {
				t.Errorf("wire reader differs from godbus (-godbus +wire):\n%s", diff)
			}
			want, ok1 := nmFromObjects(viaGodbus)
			have, ok2 := nmFromObjects(got)
			if !ok1 || !ok2 {
				t.Fatalf("nmFromObjects ok = %t (godbus), %t (wire)", ok1, ok2)
			}
			if diff := cmp.Diff(want, have, cmp.AllowUnexported(nmObjectsView{})); diff != "" {
				t.Errorf("view differs (-godbus +wire):\n%s", diff)
			}
		})
	}
}

// TestNMFromObjects: devices in AllDevices order as nmClient.Device reads
// them, only activating/activated connections, host name and version.
func TestNMFromObjects(t *testing.T) {
	objs := wireSampleObjects()
	v, ok := nmFromObjects(objs)
	if !ok {
		t.Fatal("nmFromObjects: no manager")
	}
	want := []NMDevice{
		{Path: "/org/freedesktop/NetworkManager/Devices/1", Interface: "eth0", Type: "ethernet", Driver: "e1000e", State: 100,
			HwAddress: "00:1B:21:AA:BB:CC", PermHwAddress: "00:1b:21:aa:bb:cc",
			ActiveConnection:     "/org/freedesktop/NetworkManager/ActiveConnection/7",
			AvailableConnections: []dbus.ObjectPath{"/org/freedesktop/NetworkManager/Settings/3"}},
		{Path: "/org/freedesktop/NetworkManager/Devices/2", Interface: "wlan0", Type: "wifi", State: 30,
			HwAddress: "02:11:22:33:44:55", PermHwAddress: "00:21:6a:01:02:03"},
	}
	if diff := cmp.Diff(want, v.devices); diff != "" {
		t.Errorf("devices (-want +got):\n%s", diff)
	}
	if v.version != "1.42.4" || v.hostname != "host" {
		t.Errorf("version %q hostname %q, want 1.42.4, host", v.version, v.hostname)
	}
	if diff := cmp.Diff(map[dbus.ObjectPath]dbus.ObjectPath{
		"/org/freedesktop/NetworkManager/Devices/1": "/org/freedesktop/NetworkManager/Settings/3"}, v.active); diff != "" {
		t.Errorf("active (-want +got):\n%s", diff)
	}

	// A dying connection (DEACTIVATING, 3) says nothing about the device;
	// a device listed but gone is left out; no manager: not NM's answer.
	objs["/org/freedesktop/NetworkManager/ActiveConnection/7"][nmACIface]["State"] = dbus.MakeVariant(uint32(3))
	delete(objs, "/org/freedesktop/NetworkManager/Devices/2")
	v, _ = nmFromObjects(objs)
	if len(v.active) != 0 || len(v.devices) != 1 {
		t.Errorf("active %v, %d devices; want none, 1", v.active, len(v.devices))
	}
	delete(objs, nmObjectPath)
	if _, ok := nmFromObjects(objs); ok {
		t.Error("nmFromObjects without the manager object reported ok")
	}
}

// TestDeviceFromPropsMatchesDevice: the pure builder reads PermHwAddress
// only from the interface of the device's type, lower-cased.
func TestDeviceFromPropsMatchesDevice(t *testing.T) {
	v := dbus.MakeVariant
	wired := map[string]dbus.Variant{"PermHwAddress": v("AA:BB:CC:00:11:22")}
	for _, tc := range []struct {
		typ  uint32
		want string
	}{{1, "aa:bb:cc:00:11:22"}, {20, "aa:bb:cc:00:11:22"}, {2, "aa:bb:cc:00:11:22"}, {14, ""}} {
		d := deviceFromProps("/d", map[string]dbus.Variant{"DeviceType": v(tc.typ)}, wired)
		if d.PermHwAddress != tc.want {
			t.Errorf("type %d: PermHwAddress %q, want %q", tc.typ, d.PermHwAddress, tc.want)
		}
	}
	if d := deviceFromProps("/d", map[string]dbus.Variant{"DeviceType": v(uint32(1)), "State": v("100")}, nil); d.State != 0 || d.PermHwAddress != "" {
		t.Errorf("wrong types / no wired props: %+v, want zero state and no permanent address", d)
	}
}

// TestWireCallDecodes: the calls the wire client writes are valid D-Bus
// messages (godbus decodes them to what was meant).
func TestWireCallDecodes(t *testing.T) {
	raw := wireCall(2, wireNoAutoStart, nmBusName, "/org/freedesktop", objectManagerIface, "GetManagedObjects")
	if len(raw)%8 != 0 {
		t.Errorf("call is %d bytes, not padded to 8", len(raw))
	}
	m, err := dbus.DecodeMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("godbus cannot decode the call: %v", err)
	}
	if m.Type != dbus.TypeMethodCall || m.Flags != dbus.FlagNoAutoStart || m.Serial() != 2 ||
		m.Headers[dbus.FieldPath].Value() != dbus.ObjectPath("/org/freedesktop") ||
		m.Headers[dbus.FieldInterface].Value() != objectManagerIface ||
		m.Headers[dbus.FieldMember].Value() != "GetManagedObjects" ||
		m.Headers[dbus.FieldDestination].Value() != nmBusName {
		t.Errorf("decoded call = %s", m)
	}
}

// TestWireRejectsBadInput: truncations, lengths past the end and bad
// signatures are errors, never a panic or a partial answer.
func TestWireRejectsBadInput(t *testing.T) {
	raw := wireReply(t, wireSampleObjects(), binary.LittleEndian)
	m, err := readWireMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(m.body); n += 97 {
		if _, err := decodeManagedObjects(m.body[:n], m.order); err == nil {
			t.Errorf("body cut to %d of %d bytes decoded without error", n, len(m.body))
		}
	}
	if _, err := readWireMessage(bytes.NewReader(raw[:len(raw)-1])); err == nil {
		t.Error("truncated message read without error")
	}
	bad := append([]byte{}, m.body...)
	binary.LittleEndian.PutUint32(bad, uint32(len(bad))) // outer array longer than the body
	if _, err := decodeManagedObjects(bad, m.order); err == nil {
		t.Error("array length past the end decoded without error")
	}
	r := &wireReader{b: []byte{1, 'a', 0}, order: binary.LittleEndian}
	r.skipVariantValue(r.sig(), 0)
	if r.err == nil || !strings.Contains(r.err.Error(), "bad signature") {
		t.Errorf("signature \"a\": err %v, want bad signature", r.err)
	}
	if _, err := readWireMessage(bytes.NewReader(append([]byte{'x'}, raw[1:]...))); err == nil {
		t.Error("bad endianness byte read without error")
	}
}

// FuzzDecodeManagedObjects: any body is decoded or refused, never a panic,
// and whatever decodes also re-decodes the same.
func FuzzDecodeManagedObjects(f *testing.F) {
	m, err := readWireMessage(bytes.NewReader(wireReply(f, wireSampleObjects(), binary.LittleEndian)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(m.body)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := decodeManagedObjects(body, binary.LittleEndian)
		if err != nil {
			return
		}
		b, err := decodeManagedObjects(body, binary.LittleEndian)
		if err != nil || !cmp.Equal(a, b, variantCmp) {
			t.Fatalf("second decode differs: %v", err)
		}
	})
}

// wireSampleSettings is a GetSettings answer shaped like NetworkManager's
// for a Wi-Fi profile: what check reads (strings, booleans, int32s, byte
// arrays) and what the wire reader skips (addresses, dicts, arrays of
// arrays).
func wireSampleSettings() map[string]map[string]dbus.Variant {
	v := dbus.MakeVariant
	return map[string]map[string]dbus.Variant{
		"connection": {"id": v("café ☕"), "uuid": v("8c2f0c8e-7d5e-4a0e-9a57-0b1b2c3d4e5f"), "type": v("802-11-wireless"),
			"interface-name": v("wlan0"), "autoconnect": v(false), "permissions": v([]string{}), "timestamp": v(uint64(1700000000))},
		"802-11-wireless": {"ssid": v([]byte("Cafe\x00Net")), "cloned-mac-address": v([]byte{0, 0x1b, 0x21, 1, 2, 3}),
			"mode": v("infrastructure"), "seen-bssids": v([]string{"00:11:22:33:44:55"})},
		"ipv4": {"method": v("auto"), "dhcp-send-hostname": v(false), "dhcp-hostname": v("h"), "dhcp-fqdn": v("h.example"),
			"dhcp-client-id": v("mac"), "address-data": v([]map[string]dbus.Variant{{"address": v("10.0.0.2"), "prefix": v(uint32(24))}}),
			"addresses": v([][]uint32{{1, 24, 0}}), "dns": v([]uint32{0x08080808}), "route-metric": v(int64(-1))},
		"ipv6": {"method": v("auto"), "addr-gen-mode": v(int32(1)), "ip6-privacy": v(int32(-1)), "dhcp-duid": v("ll"),
			"token": v("::1"), "dhcp-send-hostname": v(true),
			"addresses": v([]struct {
				A []byte
				P uint32
				G []byte
			}{{A: make([]byte, 16), P: 64, G: make([]byte, 16)}})},
		"802-11-wireless-security": {"key-mgmt": v("wpa-psk")},
	}
}

// TestWireDecodeSettingsMatchesGodbus: the profile check builds from the
// wire reader's GetSettings decoding is the one it builds from godbus's, in
// both byte orders.
func TestWireDecodeSettingsMatchesGodbus(t *testing.T) {
	settings := wireSampleSettings()
	const path = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings/7")
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(order.String(), func(t *testing.T) {
			raw := wireReplyBody(t, settings, order)
			m, err := readWireMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("readWireMessage: %v", err)
			}
			if m.sig != "a{sa{sv}}" {
				t.Fatalf("signature %q", m.sig)
			}
			got, err := decodeSettings(m.body, m.order)
			if err != nil {
				t.Fatalf("decodeSettings: %v", err)
			}
			gm, err := dbus.DecodeMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("godbus decode: %v", err)
			}
			var viaGodbus map[string]map[string]dbus.Variant
			if err := dbus.Store(gm.Body, &viaGodbus); err != nil {
				t.Fatalf("godbus store: %v", err)
			}
			want, have := profileInfoFromSettings(path, viaGodbus), profileInfoFromSettings(path, got)
			if diff := cmp.Diff(want, have); diff != "" {
				t.Errorf("profile differs (-godbus +wire):\n%s", diff)
			}
			if have.SSID != "Cafe\x00Net" || have.ClonedMAC != "00:1b:21:01:02:03" || have.SendHostname4 == nil || *have.SendHostname4 ||
				have.AddrGenMode == nil || *have.AddrGenMode != 1 || have.Autoconnect {
				t.Errorf("profile = %+v: not what the settings say", have)
			}
			if _, ok := got["ipv4"]["address-data"]; ok {
				t.Errorf("address-data (aa{sv}) decoded: only simple values should be")
			}
		})
	}
}

// FuzzDecodeSettings: any GetSettings body is decoded or refused, never a
// panic; whatever decodes also re-decodes the same.
func FuzzDecodeSettings(f *testing.F) {
	m, err := readWireMessage(bytes.NewReader(wireReplyBody(f, wireSampleSettings(), binary.LittleEndian)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(m.body)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := decodeSettings(body, binary.LittleEndian)
		if err != nil {
			return
		}
		b, err := decodeSettings(body, binary.LittleEndian)
		if err != nil || !cmp.Equal(a, b, variantCmp) {
			t.Fatalf("second decode differs: %v", err)
		}
		_ = profileInfoFromSettings("/p", a)
	})
}

// TestIntegrationWireReadNM: the wire client authenticates to a real
// dbus-daemon, skips Hello's answer and NameAcquired, and reads the
// profiles and a GetManagedObjects answer sent by godbus; a profile deleted
// between ListConnections and GetSettings is left out; one it may not read
// leaves the objects read and says why (the caller then asks godbus); a
// call to a name nobody owns is an error (NameHasNoOwner: with
// NO_AUTO_START the bus starts nothing).
func TestIntegrationWireReadNM(t *testing.T) {
	addr := startPrivateBus(t)
	socket := strings.TrimPrefix(addr, "unix:path=")
	ctx := context.Background()
	if _, err := rawReadNM(ctx, socket); err == nil || !strings.Contains(err.Error(), "NameHasNoOwner") {
		t.Errorf("no NetworkManager on the bus: err %v, want NameHasNoOwner (not started: NO_AUTO_START)", err)
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	objs := wireSampleObjects()
	err = conn.ExportMethodTable(map[string]any{
		"GetManagedObjects": func() (map[dbus.ObjectPath]map[string]map[string]dbus.Variant, *dbus.Error) {
			return objs, nil
		},
	}, nmObjectManagerPath, objectManagerIface)
	if err != nil {
		t.Fatal(err)
	}
	const (
		p1   = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings/1")
		gone = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings/2")
		p3   = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings/3")
	)
	list := []dbus.ObjectPath{p3, gone, p1}
	if err := conn.ExportMethodTable(map[string]any{
		"ListConnections": func() ([]dbus.ObjectPath, *dbus.Error) { return list, nil },
	}, nmSettingsPath, nmSettingsMgrIface); err != nil {
		t.Fatal(err)
	}
	var denied atomic.Bool
	settings := map[dbus.ObjectPath]map[string]map[string]dbus.Variant{
		p1: {"connection": {"id": dbus.MakeVariant("one"), "uuid": dbus.MakeVariant("u1"), "type": dbus.MakeVariant("802-3-ethernet")}},
		p3: wireSampleSettings(),
	}
	for _, p := range list {
		if err := conn.ExportMethodTable(map[string]any{
			"GetSettings": func() (map[string]map[string]dbus.Variant, *dbus.Error) {
				s, ok := settings[p]
				switch {
				case !ok:
					return nil, dbus.NewError("org.freedesktop.DBus.Error.UnknownObject", []any{"No such object path"})
				case denied.Load() && p == p1:
					return nil, dbus.NewError("org.freedesktop.NetworkManager.Settings.Connection.PermissionDenied", []any{"not yours"})
				}
				return s, nil
			},
		}, p, nmSettingsIface); err != nil {
			t.Fatal(err)
		}
	}
	if reply, err := conn.RequestName(nmBusName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v (%v)", nmBusName, reply, err)
	}
	got, err := rawReadNM(ctx, socket)
	if err != nil {
		t.Fatalf("rawReadNM: %v", err)
	}
	if diff := cmp.Diff(wireKept(objs), got.objs, variantCmp); diff != "" {
		t.Errorf("answer over the bus (-sent +read):\n%s", diff)
	}
	want := []profileInfo{profileInfoFromSettings(p3, settings[p3]), profileInfoFromSettings(p1, settings[p1])}
	if got.profilesErr != nil {
		t.Fatalf("profiles: %v", got.profilesErr)
	}
	if diff := cmp.Diff(want, got.profiles); diff != "" {
		t.Errorf("profiles (in ListConnections order, the deleted one left out) (-want +read):\n%s", diff)
	}

	denied.Store(true)
	got, err = rawReadNM(ctx, socket)
	if err != nil {
		t.Fatalf("rawReadNM with a profile it may not read: %v", err)
	}
	if got.profiles != nil || got.profilesErr == nil || !strings.Contains(got.profilesErr.Error(), "not yours") {
		t.Errorf("profile it may not read: profiles %v, error %v; want none and PermissionDenied's message", got.profiles, got.profilesErr)
	}
	if diff := cmp.Diff(wireKept(objs), got.objs, variantCmp); diff != "" {
		t.Errorf("objects with a profile it may not read (-sent +read):\n%s", diff)
	}
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "tcp:host=x,port=1;"+addr+",guid=0123")
	if s, err := systemBusSocket(); err != nil || s != socket {
		t.Errorf("systemBusSocket = %q, %v; want %q", s, err, socket)
	}
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:abstract=/tmp/dbus-x%2Cy")
	if s, err := systemBusSocket(); err != nil || s != "@/tmp/dbus-x,y" {
		t.Errorf("abstract address: %q, %v; want @/tmp/dbus-x,y", s, err)
	}
}
