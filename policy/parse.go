// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"errors"
	"fmt"
	"math"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// maxIfNameLen is the longest kernel interface name (IFNAMSIZ - 1).
const maxIfNameLen = 15

// Parse reads one policy file on top of Default(). name is used in error
// messages and to resolve a relative vendors_file. Parse does no I/O: a
// vendors_file is only recorded in VendorsFile; Load reads it.
func Parse(name string, data []byte) (*Policy, error) {
	p := Default()
	if err := p.apply(name, data); err != nil {
		return nil, err
	}
	return p, nil
}

// fileConfig is what one file sets; nil pointers are keys it leaves alone.
type fileConfig struct {
	spoof, hold        *bool
	spoofSource        string
	offer              *Offer
	offerSource        string
	holdTimeout        *Duration
	vendorsFile        *string
	mode               *Mode
	modeSource         string
	enforcement        *Enforcement
	enforcementSource  string
	guard              *Guard
	guardSource        string
	identifiers        *Identifiers
	identifiersSource  string
	devices            []DeviceRule
	networks           []NetworkRule
	window             *Duration
	authLoop, authFail *int
	dhcpFail, assocTO  *int
}

// apply validates one file completely and only then merges it into p:
// later files override the scalar settings they set; rules accumulate.
func (p *Policy) apply(name string, data []byte) error {
	if name == "" {
		name = "<input>"
	}
	fc, err := decodeFile(name, data)
	if err != nil {
		return err
	}
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.Spoof, fc.spoof)
	if fc.spoof != nil {
		p.SpoofSource = fc.spoofSource
	}
	if fc.offer != nil {
		p.Offer, p.OfferSource = *fc.offer, fc.offerSource
	}
	set(&p.Hold, fc.hold)
	if fc.holdTimeout != nil {
		p.HoldTimeout = *fc.holdTimeout
	}
	if fc.vendorsFile != nil {
		p.VendorsFile = *fc.vendorsFile
	}
	if fc.mode != nil {
		p.Default.Mode, p.Default.ModeSource = *fc.mode, fc.modeSource
	}
	if fc.enforcement != nil {
		p.Default.Enforcement, p.Default.EnforcementSource = *fc.enforcement, fc.enforcementSource
	}
	if fc.guard != nil {
		p.Default.Guard, p.Default.GuardSource = *fc.guard, fc.guardSource
	}
	if fc.identifiers != nil {
		p.Default.Identifiers, p.Default.IdentifiersSource = *fc.identifiers, fc.identifiersSource
	}
	p.Devices = append(p.Devices, fc.devices...)
	p.Networks = append(p.Networks, fc.networks...)
	if fc.window != nil {
		p.Detect.Window = *fc.window
	}
	for _, s := range []struct {
		dst *int
		v   *int
	}{
		{&p.Detect.AuthLoopRounds, fc.authLoop},
		{&p.Detect.AuthFailures, fc.authFail},
		{&p.Detect.DHCPFailures, fc.dhcpFail},
		{&p.Detect.AssociationTimeouts, fc.assocTO},
	} {
		if s.v != nil {
			*s.dst = *s.v
		}
	}
	p.Sources = append(p.Sources, name)
	return nil
}

func decodeFile(name string, data []byte) (*fileConfig, error) {
	if !utf8.Valid(data) {
		line, col := invalidUTF8At(data)
		return nil, &ConfigError{File: name, Line: line, Col: col, Msg: "file is not valid UTF-8"}
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			line, col := pe.Position.Line, pe.Position.Col
			if line < 1 {
				line = 1
			}
			if col < 1 {
				col = 1
			}
			return nil, &ConfigError{File: name, Line: line, Col: col, Key: pe.LastKey, Msg: pe.Message}
		}
		return nil, &ConfigError{File: name, Line: 1, Col: 1, Msg: err.Error()}
	}
	w := &walker{name: name, pos: scanPositions(string(data)), fc: &fileConfig{}}
	w.top(raw)
	if err := joinConfigErrors(w.errs); err != nil {
		return nil, err
	}
	return w.fc, nil
}

func invalidUTF8At(data []byte) (line, col int) {
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line, col
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col += size
		}
		data = data[size:]
	}
	return line, col
}

// walker checks the decoded document against the schema, collecting every
// problem with its position.
type walker struct {
	name string
	pos  keyPositions
	fc   *fileConfig
	errs []*ConfigError
}

// displayKey turns a canonical path into "device.mode".
func displayKey(path []string) string {
	segs := make([]string, len(path))
	for i, s := range path {
		if j := strings.IndexByte(s, '['); j > 0 && strings.HasSuffix(s, "]") {
			s = s[:j]
		}
		segs[i] = s
	}
	return strings.Join(segs, ".")
}

// fail reports a problem with the key at path itself (unknown key, rule
// incomplete); bad reports a problem with its value.
func (w *walker) fail(path []string, format string, args ...any) {
	w.failAt(w.pos.lookup(path), path, format, args...)
}

func (w *walker) bad(path []string, format string, args ...any) {
	w.failAt(w.pos.value(path), path, format, args...)
}

func (w *walker) failAt(p position, path []string, format string, args ...any) {
	w.errs = append(w.errs, &ConfigError{File: w.name, Line: p.Line, Col: p.Col, Key: displayKey(path), Msg: fmt.Sprintf(format, args...)})
}

// where returns "file:line" of a key or table.
func (w *walker) where(path []string) string {
	p := w.pos.lookup(path)
	return fmt.Sprintf("%s:%d", w.name, p.Line)
}

func child(path []string, k string) []string {
	return append(append(make([]string, 0, len(path)+1), path...), k)
}

// sortedKeys returns the keys of m in document order (then by name), so
// the walk is deterministic.
func (w *walker) sortedKeys(path []string, m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		pi, pj := w.pos.lookup(child(path, keys[i])), w.pos.lookup(child(path, keys[j]))
		if pi != pj {
			return pi.Line < pj.Line || pi.Line == pj.Line && pi.Col < pj.Col
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (w *walker) unknown(path []string, known string) {
	where := "at top level"
	if len(path) > 1 {
		where = "in " + displayKey(path[:len(path)-1])
	}
	hint := ""
	if len(path) == 1 {
		switch k := path[0]; k {
		case "mode", "enforcement", "identifiers":
			hint = "; " + k + " belongs in [default], [[device]] or [[network]]"
		case "guard":
			hint = "; guard belongs in [default] or [[device]]"
		case "window", "auth_loop_rounds", "auth_failures", "dhcp_failures", "association_timeouts":
			hint = "; " + k + " belongs in [detect]"
		}
	}
	w.fail(path, "unknown key %q %s (known keys: %s)%s", path[len(path)-1], where, known, hint)
}

const topKeys = "spoof, offer, hold, hold_timeout, vendors_file, default, device, network, detect"

func (w *walker) top(raw map[string]any) {
	for _, k := range w.sortedKeys(nil, raw) {
		v, path := raw[k], []string{k}
		switch k {
		case "spoof":
			if b, ok := w.boolean(path, v); ok {
				w.fc.spoof, w.fc.spoofSource = &b, w.where(path)
			}
		case "offer":
			if o, ok := w.offer(path, v); ok {
				w.fc.offer, w.fc.offerSource = &o, w.where(path)
			}
		case "hold":
			if b, ok := w.boolean(path, v); ok {
				w.fc.hold = &b
			}
		case "hold_timeout":
			if d, ok := w.duration(path, v, false); ok {
				w.fc.holdTimeout = &d
			}
		case "vendors_file":
			if s, ok := w.nonEmpty(path, v); ok {
				if strings.ContainsRune(s, 0) {
					w.bad(path, "path contains a NUL byte")
					continue
				}
				if !filepath.IsAbs(s) {
					s = filepath.Join(filepath.Dir(w.name), s)
				}
				w.fc.vendorsFile = &s
			}
		case "default":
			w.defaults(path, v)
		case "device":
			for i, t := range w.tables(path, v) {
				w.device(child(nil, fmt.Sprintf("device[%d]", i)), i, t)
			}
		case "network":
			for i, t := range w.tables(path, v) {
				w.network(child(nil, fmt.Sprintf("network[%d]", i)), i, t)
			}
		case "detect":
			w.detect(path, v)
		default:
			w.unknown(path, topKeys)
		}
	}
}

func (w *walker) table(path []string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		w.bad(path, "want a table like [%s], got %s", displayKey(path), tomlType(v))
	}
	return m, ok
}

// tables accepts an array of tables ([[device]]) or an array of inline tables.
func (w *walker) tables(path []string, v any) []map[string]any {
	switch t := v.(type) {
	case []map[string]any:
		return t
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				w.bad(path, "want an array of tables like [[%s]], got an array of %s", displayKey(path), tomlType(e))
				return nil
			}
			out = append(out, m)
		}
		return out
	}
	w.bad(path, "want an array of tables like [[%s]], got %s", displayKey(path), tomlType(v))
	return nil
}

const defaultKeys = "mode, enforcement, guard, identifiers"

func (w *walker) defaults(path []string, v any) {
	m, ok := w.table(path, v)
	if !ok {
		return
	}
	for _, k := range w.sortedKeys(path, m) {
		kp := child(path, k)
		switch k {
		case "mode":
			if mode, ok := w.mode(kp, m[k]); ok {
				w.fc.mode, w.fc.modeSource = &mode, w.where(kp)+" [default]"
			}
		case "enforcement":
			if e, ok := w.enforcement(kp, m[k]); ok {
				w.fc.enforcement, w.fc.enforcementSource = &e, w.where(kp)+" [default]"
			}
		case "guard":
			if g, ok := w.guard(kp, m[k]); ok {
				w.fc.guard, w.fc.guardSource = &g, w.where(kp)+" [default]"
			}
		case "identifiers":
			if id, ok := w.identifiers(kp, m[k]); ok {
				w.fc.identifiers, w.fc.identifiersSource = &id, w.where(kp)+" [default]"
			}
		default:
			w.unknown(kp, defaultKeys)
		}
	}
}

const deviceKeys = "name, interface, type, driver, real_prefix, mode, enforcement, guard, identifiers"

func (w *walker) device(path []string, idx int, m map[string]any) {
	r := DeviceRule{Source: w.where(path)}
	ok := true
	for _, k := range w.sortedKeys(path, m) {
		kp, v := child(path, k), m[k]
		var good bool
		switch k {
		case "name":
			r.Name, good = w.str(kp, v)
		case "interface":
			r.Interface, good = w.glob(kp, v)
		case "type":
			r.Type, good = w.deviceType(kp, v)
		case "driver":
			r.Driver, good = w.word(kp, v)
		case "real_prefix":
			var s string
			if s, good = w.str(kp, v); good {
				var err error
				if r.RealPrefix, err = ParsePrefix(s); err != nil {
					w.bad(kp, "%v", err)
					good = false
				}
			}
		case "mode":
			r.Mode, good = w.mode(kp, v)
		case "enforcement":
			r.Enforcement, good = w.enforcement(kp, v)
		case "guard":
			r.Guard, good = w.guard(kp, v)
		case "identifiers":
			r.Identifiers, good = w.identifiers(kp, v)
		default:
			w.unknown(kp, deviceKeys)
		}
		ok = ok && good
	}
	if !ok {
		return
	}
	label := ruleLabel("device", idx, r.Name)
	if r.Interface == "" && r.Type == "" && r.Driver == "" && len(r.RealPrefix) == 0 {
		w.fail(path, "%s matches nothing specific: set interface, type, driver or real_prefix (use [default] for every device)", label)
		return
	}
	if r.Mode == "" && r.Enforcement == "" && r.Guard == "" && r.Identifiers == "" {
		w.fail(path, "%s sets none of mode, enforcement, guard and identifiers", label)
		return
	}
	w.fc.devices = append(w.fc.devices, r)
}

const networkKeys = "name, ssid, uuid, id, mode, enforcement, identifiers"

func (w *walker) network(path []string, idx int, m map[string]any) {
	r := NetworkRule{Source: w.where(path)}
	ok := true
	for _, k := range w.sortedKeys(path, m) {
		kp, v := child(path, k), m[k]
		var good bool
		switch k {
		case "name":
			r.Name, good = w.str(kp, v)
		case "ssid":
			if r.SSID, good = w.nonEmpty(kp, v); good && len(r.SSID) > 32 {
				w.bad(kp, "SSID %q is %d bytes long; an SSID has at most 32", r.SSID, len(r.SSID))
				good = false
			}
		case "uuid":
			if r.UUID, good = w.nonEmpty(kp, v); good {
				if err := checkUUID(r.UUID); err != nil {
					w.bad(kp, "%v", err)
					good = false
				}
				r.UUID = strings.ToLower(r.UUID)
			}
		case "id":
			r.ID, good = w.nonEmpty(kp, v)
		case "mode":
			r.Mode, good = w.mode(kp, v)
		case "enforcement":
			r.Enforcement, good = w.enforcement(kp, v)
		case "identifiers":
			r.Identifiers, good = w.identifiers(kp, v)
		default:
			w.unknown(kp, networkKeys)
		}
		ok = ok && good
	}
	if !ok {
		return
	}
	label := ruleLabel("network", idx, r.Name)
	if r.SSID == "" && r.UUID == "" && r.ID == "" {
		w.fail(path, "%s matches no network: set ssid, uuid or id", label)
		return
	}
	if r.Mode == "" && r.Enforcement == "" && r.Identifiers == "" {
		w.fail(path, "%s sets none of mode, enforcement and identifiers", label)
		return
	}
	w.fc.networks = append(w.fc.networks, r)
}

func ruleLabel(kind string, idx int, name string) string {
	if name != "" {
		return fmt.Sprintf("[[%s]] %q", kind, name)
	}
	return fmt.Sprintf("[[%s]] #%d", kind, idx+1)
}

const detectKeys = "window, auth_loop_rounds, auth_failures, dhcp_failures, association_timeouts"

func (w *walker) detect(path []string, v any) {
	m, ok := w.table(path, v)
	if !ok {
		return
	}
	for _, k := range w.sortedKeys(path, m) {
		kp, v := child(path, k), m[k]
		var dst **int
		switch k {
		case "window":
			if d, ok := w.duration(kp, v, true); ok {
				w.fc.window = &d
			}
			continue
		case "auth_loop_rounds":
			dst = &w.fc.authLoop
		case "auth_failures":
			dst = &w.fc.authFail
		case "dhcp_failures":
			dst = &w.fc.dhcpFail
		case "association_timeouts":
			dst = &w.fc.assocTO
		default:
			w.unknown(kp, detectKeys)
			continue
		}
		if n, ok := w.count(kp, v); ok {
			*dst = &n
		}
	}
}

// Value checks.

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case time.Time:
		return "a date/time"
	}
	return fmt.Sprintf("a %T", v)
}

func (w *walker) boolean(path []string, v any) (bool, bool) {
	b, ok := v.(bool)
	if !ok {
		w.bad(path, "want true or false, got %s", tomlType(v))
	}
	return b, ok
}

func (w *walker) str(path []string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		w.bad(path, "want a string, got %s", tomlType(v))
	}
	return s, ok
}

func (w *walker) nonEmpty(path []string, v any) (string, bool) {
	s, ok := w.str(path, v)
	if ok && s == "" {
		w.bad(path, "must not be empty")
		return "", false
	}
	return s, ok
}

// word is a non-empty string without white space or control characters.
func (w *walker) word(path []string, v any) (string, bool) {
	s, ok := w.nonEmpty(path, v)
	if !ok {
		return "", false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			w.bad(path, "%q contains white space or a control character", s)
			return "", false
		}
	}
	return s, true
}

func (w *walker) glob(kp []string, v any) (string, bool) {
	s, ok := w.word(kp, v)
	if !ok {
		return "", false
	}
	if _, err := path.Match(s, ""); err != nil {
		w.bad(kp, "invalid glob %q: %v (syntax of Go's path.Match: * ? [a-z] \\)", s, err)
		return "", false
	}
	if strings.Contains(s, "/") {
		w.bad(kp, "invalid glob %q: an interface name cannot contain '/'", s)
		return "", false
	}
	if !strings.ContainsAny(s, `*?[\`) && len(s) > maxIfNameLen {
		w.bad(kp, "interface name %q is longer than %d bytes, so no interface can have it", s, maxIfNameLen)
		return "", false
	}
	return s, true
}

// typeAlias maps names people write for a device type to the NM name.
func typeAlias(s string) (string, bool) {
	switch strings.ToLower(s) {
	case "wireless", "wlan", "wi-fi", "802-11-wireless":
		return "wifi", true
	case "wired", "eth", "802-3-ethernet":
		return "ethernet", true
	}
	return "", false
}

func (w *walker) deviceType(path []string, v any) (string, bool) {
	s, ok := w.nonEmpty(path, v)
	if !ok {
		return "", false
	}
	if want, alias := typeAlias(s); alias {
		w.bad(path, "unknown device type %q: NetworkManager calls it %q", s, want)
		return "", false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			w.bad(path, "invalid device type %q: NetworkManager type names are lower-case, like \"ethernet\", \"wifi\", \"veth\"", s)
			return "", false
		}
	}
	return s, true
}

func (w *walker) mode(path []string, v any) (Mode, bool) {
	s, ok := w.str(path, v)
	if !ok {
		return "", false
	}
	m, err := ParseMode(s)
	if err != nil {
		w.bad(path, "%v", err)
		return "", false
	}
	return m, true
}

func (w *walker) enforcement(path []string, v any) (Enforcement, bool) {
	s, ok := w.str(path, v)
	if !ok {
		return "", false
	}
	e, err := ParseEnforcement(s)
	if err != nil {
		w.bad(path, "%v", err)
		return "", false
	}
	return e, true
}

func (w *walker) guard(path []string, v any) (Guard, bool) {
	s, ok := w.str(path, v)
	if !ok {
		return "", false
	}
	g, err := ParseGuard(s)
	if err != nil {
		w.bad(path, "%v", err)
		return "", false
	}
	return g, true
}

func (w *walker) identifiers(path []string, v any) (Identifiers, bool) {
	s, ok := w.str(path, v)
	if !ok {
		return "", false
	}
	id, err := ParseIdentifiers(s)
	if err != nil {
		w.bad(path, "%v", err)
		return "", false
	}
	return id, true
}

func (w *walker) offer(path []string, v any) (Offer, bool) {
	s, ok := w.str(path, v)
	if !ok {
		return "", false
	}
	o, err := ParseOffer(s)
	if err != nil {
		w.bad(path, "%v", err)
		return "", false
	}
	return o, true
}

func (w *walker) duration(path []string, v any, positive bool) (Duration, bool) {
	s, ok := v.(string)
	if !ok {
		w.bad(path, "want a duration string like \"30s\" or \"5m\", got %s", tomlType(v))
		return Duration{}, false
	}
	d, err := parseDuration(s)
	if err != nil {
		w.bad(path, "%v", err)
		return Duration{}, false
	}
	if positive && d.Duration == 0 {
		w.bad(path, "must be longer than 0s")
		return Duration{}, false
	}
	return d, true
}

func (w *walker) count(path []string, v any) (int, bool) {
	n, ok := v.(int64)
	if !ok {
		w.bad(path, "want a whole number, got %s", tomlType(v))
		return 0, false
	}
	if n < 1 {
		w.bad(path, "must be at least 1, got %d", n)
		return 0, false
	}
	if n > math.MaxInt32 {
		w.bad(path, "%d is too large", n)
		return 0, false
	}
	return int(n), true
}

// checkUUID accepts the textual UUID form NM uses: 8-4-4-4-12 hex digits.
func checkUUID(s string) error {
	bad := fmt.Errorf("invalid connection UUID %q: want 8-4-4-4-12 hex digits like 5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b", s)
	if len(s) != 36 {
		return bad
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return bad
			}
		default:
			if _, ok := hexDigit(c); !ok {
				return bad
			}
		}
	}
	return nil
}

// quoteTOML quotes s as a TOML basic string.
func quoteTOML(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u` + fmt.Sprintf("%04X", r))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
