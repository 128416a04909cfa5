package nmhook

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
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
	body := map[dbus.ObjectPath]map[string]map[string]dbus.Variant(objs)
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

// TestIntegrationWireManagedObjects: the wire client authenticates to a
// real dbus-daemon, skips Hello's answer and NameAcquired, and reads a
// GetManagedObjects answer sent by godbus; a call to a name nobody owns is
// an error (NameHasNoOwner: with NO_AUTO_START the bus starts nothing).
func TestIntegrationWireManagedObjects(t *testing.T) {
	addr := startPrivateBus(t)
	socket := strings.TrimPrefix(addr, "unix:path=")
	ctx := context.Background()
	if _, err := rawManagedObjects(ctx, socket); err == nil || !strings.Contains(err.Error(), "NameHasNoOwner") {
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
	if reply, err := conn.RequestName(nmBusName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v (%v)", nmBusName, reply, err)
	}
	got, err := rawManagedObjects(ctx, socket)
	if err != nil {
		t.Fatalf("rawManagedObjects: %v", err)
	}
	if diff := cmp.Diff(wireKept(objs), got, variantCmp); diff != "" {
		t.Errorf("answer over the bus (-sent +read):\n%s", diff)
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
