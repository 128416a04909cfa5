// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

// A minimal D-Bus client for the calls check makes in bulk:
// NetworkManager's GetManagedObjects and its profiles' GetSettings. godbus
// decodes the whole answer (100 kB for 50 devices) into reflected maps,
// which took about 7 ms of check's 35 on the test bed; this reader skips
// every interface check does not use (D-Bus arrays carry their byte length)
// and decodes only simple property values of the interfaces it does. It
// also sends every call without waiting for another's answer first
// (rawReadNM). Whatever it cannot read is an error, and check then makes
// the same calls through godbus.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// D-Bus wire constants (D-Bus specification, "Message Protocol").
const (
	wireMethodCall   = 1
	wireMethodReturn = 2
	wireError        = 3
	wireNoAutoStart  = 0x2 // flag: the bus must not start the destination
	wireMaxMessage   = 128 << 20
	wireMaxDepth     = 64 // nesting limit (the specification's 32 + 32)
)

// wireInterface reports whether rawManagedObjects keeps the properties of
// this interface: the ones nmFromObjects reads.
func wireInterface(name string) bool {
	switch name {
	case nmBusName, nmDeviceIface, nmWiredIface, nmWirelessIface, nmACIface, nmSettingsMgrIface:
		return true
	}
	return false
}

// systemBusSocket is the system bus's socket as godbus finds it: the first
// unix address in DBUS_SYSTEM_BUS_ADDRESS, else the default socket.
func systemBusSocket() (string, error) {
	addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	if addr == "" {
		for _, p := range []string{"/var/run/dbus/system_bus_socket", "/run/dbus/system_bus_socket"} {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", errors.New("system bus not found")
	}
	for _, a := range strings.Split(addr, ";") {
		transport, kvs, ok := strings.Cut(a, ":")
		if !ok || transport != "unix" {
			continue
		}
		for _, kv := range strings.Split(kvs, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v, err := url.PathUnescape(v)
			if err != nil {
				return "", fmt.Errorf("bus address %q: %w", addr, err)
			}
			switch k {
			case "path":
				return v, nil
			case "abstract":
				return "@" + v, nil
			}
		}
	}
	return "", fmt.Errorf("bus address %q has no unix path", addr)
}

// rawNM is what rawReadNM read from NetworkManager: its objects and, when
// every one could be read, its profiles' settings.
type rawNM struct {
	objs nmObjects
	// profiles are the profiles in ListConnections order, with settings
	// decoded by decodeSettings; nil with profilesErr set when the list
	// or a profile other than one deleted meanwhile could not be read
	// (the caller then reads them through godbus, which says why).
	profiles    []profileInfo
	profilesErr error
}

// Serials of rawReadNM's calls; GetSettings calls use wireFirstProfile+i.
const (
	wireHello        = 1
	wireList         = 2
	wireObjects      = 3
	wireFirstProfile = 16
)

// rawReadNM reads NetworkManager over a connection of its own to the bus at
// socket, without starting NM when it is not running: ListConnections and
// GetManagedObjects in the write that authenticates, then, as soon as the
// list is in (NetworkManager answers one call at a time, in order, so
// before the objects), every profile's GetSettings, which NetworkManager
// answers right after the objects: no call waits for another's answer to
// be sent. The objects are decoded with decodeManagedObjects; an error is
// about them (the profiles' own trouble is in profilesErr).
func rawReadNM(ctx context.Context, socket string) (rawNM, error) {
	deadline := time.Now().Add(nmCallTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", socket)
	if err != nil {
		return rawNM{}, fmt.Errorf("connect to the system bus: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return rawNM{}, fmt.Errorf("connect to the system bus: %w", err)
	}
	// Authentication, Hello and the calls in one write (as sd-bus does);
	// the bus answers them in order.
	out := []byte("\x00AUTH EXTERNAL " + hex.EncodeToString([]byte(strconv.Itoa(os.Getuid()))) + "\r\nBEGIN\r\n")
	out = append(out, wireCall(wireHello, 0, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello")...)
	out = append(out, wireCall(wireList, wireNoAutoStart, nmBusName, string(nmSettingsPath), nmSettingsMgrIface, "ListConnections")...)
	out = append(out, wireCall(wireObjects, wireNoAutoStart, nmBusName, string(nmObjectManagerPath), objectManagerIface, "GetManagedObjects")...)
	if _, err := conn.Write(out); err != nil {
		return rawNM{}, fmt.Errorf("write to the system bus: %w", err)
	}
	in := bufio.NewReaderSize(conn, 64<<10)
	line, err := in.ReadString('\n')
	if err != nil {
		return rawNM{}, fmt.Errorf("authenticate to the system bus: %w", err)
	}
	if !strings.HasPrefix(line, "OK ") {
		return rawNM{}, fmt.Errorf("authenticate to the system bus: %q", strings.TrimSpace(line))
	}
	var (
		r        rawNM
		paths    []dbus.ObjectPath
		profs    []profileInfo
		got      []bool
		listed   bool // the list's answer is in
		left     int  // GetSettings answers still to come
		haveObjs bool
	)
	for !listed || left > 0 || !haveObjs {
		m, err := readWireMessage(in)
		if err != nil {
			return rawNM{}, fmt.Errorf("read from the system bus: %w", err)
		}
		if m.typ != wireMethodReturn && m.typ != wireError {
			continue // a signal (NameAcquired)
		}
		switch i := int(m.replySerial) - wireFirstProfile; {
		case m.replySerial == wireHello:
			if m.typ == wireError {
				return rawNM{}, fmt.Errorf("call %d: %s", m.replySerial, m.errorText())
			}
		case m.replySerial == wireList && !listed:
			listed = true
			if m.typ == wireError {
				r.profilesErr = fmt.Errorf("list NetworkManager profiles: %s", m.errorText())
				continue
			}
			if paths, r.profilesErr = decodeObjectPaths(m); r.profilesErr != nil || len(paths) == 0 {
				continue
			}
			out = out[:0]
			for i, p := range paths {
				out = append(out, wireCall(wireFirstProfile+uint32(i), wireNoAutoStart, nmBusName, string(p), nmSettingsIface, "GetSettings")...)
			}
			if _, err := conn.Write(out); err != nil {
				return rawNM{}, fmt.Errorf("write to the system bus: %w", err)
			}
			profs, got, left = make([]profileInfo, len(paths)), make([]bool, len(paths)), len(paths)
		case m.replySerial == wireObjects && !haveObjs:
			if m.typ == wireError {
				return rawNM{}, fmt.Errorf("call %d: %s", m.replySerial, m.errorText())
			}
			if m.sig != "a{oa{sa{sv}}}" {
				return rawNM{}, fmt.Errorf("GetManagedObjects answered with signature %q", m.sig)
			}
			if r.objs, err = decodeManagedObjects(m.body, m.order); err != nil {
				return rawNM{}, err
			}
			haveObjs = true
		case i >= 0 && i < len(paths) && !got[i]:
			got[i] = true
			left--
			switch {
			case m.typ == wireError && strings.Contains(m.errName, "UnknownObject"):
				// deleted meanwhile: left out, as readProfiles does
			case m.typ == wireError:
				r.profilesErr = fmt.Errorf("read profile %s: %s", paths[i], m.errorText())
			case m.sig != "a{sa{sv}}":
				r.profilesErr = fmt.Errorf("read profile %s: GetSettings answered with signature %q", paths[i], m.sig)
			default:
				settings, err := decodeSettings(m.body, m.order)
				if err != nil {
					r.profilesErr = fmt.Errorf("read profile %s: %w", paths[i], err)
					continue
				}
				profs[i] = profileInfoFromSettings(paths[i], settings)
			}
		}
	}
	if r.profilesErr == nil {
		r.profiles = make([]profileInfo, 0, len(paths))
		for i := range profs {
			if profs[i].Path != "" {
				r.profiles = append(r.profiles, profs[i])
			}
		}
	}
	return r, nil
}

// decodeObjectPaths decodes a reply whose body is one array of object
// paths (ListConnections).
func decodeObjectPaths(m wireMessage) ([]dbus.ObjectPath, error) {
	if m.sig != "ao" {
		return nil, fmt.Errorf("list NetworkManager profiles: answered with signature %q", m.sig)
	}
	r := &wireReader{b: m.body, order: m.order}
	v, _ := r.value("ao")
	if r.err == nil && r.pos != len(m.body) {
		r.fail("%d bytes after the answer", len(m.body)-r.pos)
	}
	if r.err != nil {
		return nil, fmt.Errorf("list NetworkManager profiles: %w", r.err)
	}
	return v.([]dbus.ObjectPath), nil
}

// decodeSettings decodes a GetSettings body (a{sa{sv}}) with the values of
// simple types (wireReader.value), which are all a profile's settings check
// reads; others (addresses, routes, dicts) are left out.
func decodeSettings(body []byte, order binary.ByteOrder) (map[string]map[string]dbus.Variant, error) {
	r := &wireReader{b: body, order: order}
	out := map[string]map[string]dbus.Variant{}
	end := r.array(8)
	for r.err == nil && r.pos < end {
		r.align(8)
		section := r.str()
		out[section] = r.properties(r.array(8))
	}
	r.endArray(end)
	if err := r.finish("GetSettings"); err != nil {
		return nil, err
	}
	return out, nil
}

// wireCall encodes a method call without arguments (little endian).
func wireCall(serial uint32, flags byte, dest, path, iface, member string) []byte {
	le := binary.LittleEndian
	b := []byte{'l', wireMethodCall, flags, 1}
	b = le.AppendUint32(b, 0) // body length
	b = le.AppendUint32(b, serial)
	b = le.AppendUint32(b, 0) // header fields' length, set below
	field := func(code, sig byte, v string) {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		b = append(b, code, 1, sig, 0)
		b = le.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
		b = append(b, 0)
	}
	field(1, 'o', path)
	field(2, 's', iface)
	field(3, 's', member)
	field(6, 's', dest)
	le.PutUint32(b[12:], uint32(len(b)-16))
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// wireMessage is a received message: what of the header check needs, and
// the body.
type wireMessage struct {
	typ         byte
	replySerial uint32
	errName     string
	sig         string
	order       binary.ByteOrder
	body        []byte
}

// errorText is an error reply's name and message.
func (m wireMessage) errorText() string {
	if strings.HasPrefix(m.sig, "s") {
		r := &wireReader{b: m.body, order: m.order}
		if msg := r.str(); r.err == nil {
			return m.errName + ": " + msg
		}
	}
	return m.errName
}

// readWireMessage reads one message.
func readWireMessage(in io.Reader) (wireMessage, error) {
	var m wireMessage
	head := make([]byte, 16)
	if _, err := io.ReadFull(in, head); err != nil {
		return m, err
	}
	switch head[0] {
	case 'l':
		m.order = binary.LittleEndian
	case 'B':
		m.order = binary.BigEndian
	default:
		return m, fmt.Errorf("bad endianness byte %q", head[0])
	}
	m.typ = head[1]
	bodyLen := uint64(m.order.Uint32(head[4:]))
	fieldsLen := uint64(m.order.Uint32(head[12:]))
	bodyAt := 16 + (fieldsLen+7)&^7
	if bodyAt+bodyLen > wireMaxMessage {
		return m, fmt.Errorf("message of %d bytes is too long", bodyAt+bodyLen)
	}
	buf := make([]byte, bodyAt+bodyLen)
	copy(buf, head)
	if _, err := io.ReadFull(in, buf[16:]); err != nil {
		return m, err
	}
	r := &wireReader{b: buf[:16+fieldsLen], pos: 16, order: m.order}
	for r.err == nil && r.pos < len(r.b) {
		r.align(8)
		code := r.u8()
		sig := r.sig()
		switch {
		case code == 4 && sig == "s":
			m.errName = r.str()
		case code == 5 && sig == "u":
			m.replySerial = r.u32()
		case code == 8 && sig == "g":
			m.sig = r.sig()
		default:
			r.skipVariantValue(sig, 0)
		}
	}
	if r.err != nil {
		return m, fmt.Errorf("header: %w", r.err)
	}
	m.body = buf[bodyAt:]
	return m, nil
}

// decodeManagedObjects decodes a GetManagedObjects body (a{oa{sa{sv}}})
// into nmObjects with, for the interfaces wireInterface keeps, the
// properties of simple types (wireReader.value); other interfaces are left
// out, and so are other properties (as nmFromObjects treats values of
// unexpected types: absent).
func decodeManagedObjects(body []byte, order binary.ByteOrder) (nmObjects, error) {
	r := &wireReader{b: body, order: order}
	objs := nmObjects{}
	end := r.array(8)
	for r.err == nil && r.pos < end {
		r.align(8)
		path := dbus.ObjectPath(r.str())
		ifaces := map[string]map[string]dbus.Variant{}
		iend := r.array(8)
		for r.err == nil && r.pos < iend {
			r.align(8)
			name := r.str()
			pend := r.array(8)
			if !wireInterface(name) {
				r.pos = pend
				continue
			}
			ifaces[name] = r.properties(pend)
		}
		r.endArray(iend)
		objs[path] = ifaces
	}
	r.endArray(end)
	if err := r.finish("GetManagedObjects"); err != nil {
		return nil, err
	}
	return objs, nil
}

// properties reads the elements of an a{sv} whose end is pend (its length
// already read), keeping the values of simple types (value); the rest are
// skipped.
func (r *wireReader) properties(pend int) map[string]dbus.Variant {
	props := map[string]dbus.Variant{}
	for r.err == nil && r.pos < pend {
		r.align(8)
		key := r.str()
		sig := r.sig()
		if v, ok := r.value(sig); ok {
			props[key] = dbus.MakeVariant(v)
		}
	}
	r.endArray(pend)
	return props
}

// finish checks that the whole body was read and returns the first error,
// naming the answer.
func (r *wireReader) finish(answer string) error {
	if r.err == nil && r.pos != len(r.b) {
		r.fail("%d bytes after the answer", len(r.b)-r.pos)
	}
	if r.err != nil {
		return fmt.Errorf("decode %s answer: %w", answer, r.err)
	}
	return nil
}

// wireReader reads D-Bus values from b; positions are relative to an
// 8-aligned start (a message, or its body). The first error sticks and
// every later read returns zero values.
type wireReader struct {
	b     []byte
	pos   int
	order binary.ByteOrder
	err   error
}

func (r *wireReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("at byte %d: %s", r.pos, fmt.Sprintf(format, args...))
	}
}

func (r *wireReader) align(n int) {
	p := (r.pos + n - 1) &^ (n - 1)
	if p > len(r.b) {
		r.fail("truncated")
		return
	}
	r.pos = p
}

func (r *wireReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.pos {
		r.fail("truncated")
		return nil
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s
}

func (r *wireReader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *wireReader) u16() uint16 {
	r.align(2)
	if b := r.take(2); b != nil {
		return r.order.Uint16(b)
	}
	return 0
}

func (r *wireReader) u32() uint32 {
	r.align(4)
	if b := r.take(4); b != nil {
		return r.order.Uint32(b)
	}
	return 0
}

func (r *wireReader) u64() uint64 {
	r.align(8)
	if b := r.take(8); b != nil {
		return r.order.Uint64(b)
	}
	return 0
}

// str reads a string or object path.
func (r *wireReader) str() string {
	n := int(r.u32())
	b := r.take(n + 1)
	if b == nil {
		return ""
	}
	if b[n] != 0 {
		r.fail("string without its nul byte")
		return ""
	}
	return string(b[:n])
}

// sig reads a signature.
func (r *wireReader) sig() string {
	n := int(r.u8())
	b := r.take(n + 1)
	if b == nil {
		return ""
	}
	if b[n] != 0 {
		r.fail("signature without its nul byte")
		return ""
	}
	return string(b[:n])
}

// array reads an array's length and the padding before its first element
// (there even when it is empty) and returns the position after it.
func (r *wireReader) array(elemAlign int) int {
	n := int(r.u32())
	r.align(elemAlign)
	if r.err == nil && n > len(r.b)-r.pos {
		r.fail("array of %d bytes is truncated", n)
	}
	if r.err != nil {
		return r.pos
	}
	return r.pos + n
}

// endArray checks that the elements ended where the array's length said.
func (r *wireReader) endArray(end int) {
	if r.err == nil && r.pos != end {
		r.fail("array elements overrun its length")
	}
}

// value reads a property value of signature sig (one complete type) and
// returns it as godbus would decode it, for the basic fixed types, strings,
// object paths and arrays of them; any other type is skipped (ok false).
func (r *wireReader) value(sig string) (any, bool) {
	switch sig {
	case "y":
		return r.u8(), true
	case "b":
		switch v := r.u32(); v {
		case 0, 1:
			return v == 1, true
		default:
			r.fail("boolean %d", v)
			return nil, false
		}
	case "n":
		return int16(r.u16()), true
	case "q":
		return r.u16(), true
	case "i":
		return int32(r.u32()), true
	case "u":
		return r.u32(), true
	case "x":
		return int64(r.u64()), true
	case "t":
		return r.u64(), true
	case "d":
		return math.Float64frombits(r.u64()), true
	case "s":
		return r.str(), true
	case "o":
		return dbus.ObjectPath(r.str()), true
	case "ay":
		end := r.array(1)
		if b := r.take(end - r.pos); b != nil {
			return append([]byte{}, b...), true
		}
		return nil, false
	case "au":
		end := r.array(4)
		out := []uint32{}
		for r.err == nil && r.pos < end {
			out = append(out, r.u32())
		}
		r.endArray(end)
		return out, r.err == nil
	case "as", "ao":
		end := r.array(4)
		ss := []string{}
		for r.err == nil && r.pos < end {
			ss = append(ss, r.str())
		}
		r.endArray(end)
		if sig == "as" {
			return ss, r.err == nil
		}
		ps := make([]dbus.ObjectPath, len(ss))
		for i, s := range ss {
			ps[i] = dbus.ObjectPath(s)
		}
		return ps, r.err == nil
	}
	r.skipVariantValue(sig, 0)
	return nil, false
}

// skipVariantValue skips a value whose signature sig is one complete type
// (the contents of a variant).
func (r *wireReader) skipVariantValue(sig string, depth int) {
	if rest := r.skip(sig, depth); r.err == nil && rest != "" {
		r.fail("variant signature %q is more than one type", sig)
	}
}

// skip skips one value of the first complete type in sig and returns the
// rest of sig.
func (r *wireReader) skip(sig string, depth int) string {
	if r.err != nil {
		return ""
	}
	if depth > wireMaxDepth {
		r.fail("nested too deeply")
		return ""
	}
	if sig == "" {
		r.fail("empty signature")
		return ""
	}
	switch c := sig[0]; c {
	case 'y':
		r.take(1)
	case 'n', 'q':
		r.u16()
	case 'b', 'i', 'u', 'h':
		r.u32()
	case 'x', 't', 'd':
		r.u64()
	case 's', 'o':
		r.str()
	case 'g':
		r.sig()
	case 'v':
		r.skipVariantValue(r.sig(), depth+1)
	case 'a':
		elem, rest, ok := splitType(sig[1:])
		if !ok {
			r.fail("bad signature %q", sig)
			return ""
		}
		r.pos = r.array(wireAlign(elem[0]))
		return rest
	case '(', '{':
		t, rest, ok := splitType(sig)
		if !ok || len(t) < 3 {
			r.fail("bad signature %q", sig)
			return ""
		}
		r.align(8)
		for fields := t[1 : len(t)-1]; fields != "" && r.err == nil; {
			fields = r.skip(fields, depth+1)
		}
		return rest
	default:
		r.fail("unknown type %q in signature", c)
		return ""
	}
	return sig[1:]
}

// splitType splits sig into its first complete type and the rest.
func splitType(sig string) (first, rest string, ok bool) {
	depth := 0
	for i := 0; i < len(sig); i++ {
		switch sig[i] {
		case 'a':
			continue
		case '(', '{':
			depth++
		case ')', '}':
			depth--
			if depth < 0 {
				return "", "", false
			}
		}
		if depth == 0 {
			return sig[:i+1], sig[i+1:], true
		}
	}
	return "", "", false
}

// wireAlign is the alignment of a type by its first signature byte.
func wireAlign(c byte) int {
	switch c {
	case 'y', 'g', 'v':
		return 1
	case 'n', 'q':
		return 2
	case 'x', 't', 'd', '(', '{':
		return 8
	}
	return 4
}
