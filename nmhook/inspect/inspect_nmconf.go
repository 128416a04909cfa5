// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// NetworkManager has no D-Bus API for NetworkManager.conf: check reads the
// files the way NM does (NetworkManager.conf(5)): the main file first, then
// every *.conf of the conf.d directories ordered by file name, a file in a
// later directory replacing one of the same name in an earlier one; later
// files take precedence. Inside a file, sections count in order of
// appearance, except that the plain [device] and [connection] sections
// count last.

// Default locations of NetworkManager's configuration.
const (
	DefaultNMConfFile = "/etc/NetworkManager/NetworkManager.conf"
)

// DefaultNMConfDirs are NM's conf.d directories, lowest precedence first.
func DefaultNMConfDirs() []string {
	return []string{"/usr/lib/NetworkManager/conf.d", "/run/NetworkManager/conf.d", "/etc/NetworkManager/conf.d"}
}

// maxNMConfSize bounds what check reads of one NM configuration file.
const maxNMConfSize = 1 << 20

// NMConfValue is one key's value and where it was set.
type NMConfValue struct {
	Value string
	File  string
	Line  int
}

// Where is "file:line".
func (v NMConfValue) Where() string { return fmt.Sprintf("%s:%d", v.File, v.Line) }

// NMConfSection is one [section] of one file.
type NMConfSection struct {
	Name string // "main", "device", "device-wifi", "connection", ...
	File string
	Line int
	Keys map[string]NMConfValue
}

// NMConf is NetworkManager's configuration, sections in precedence order
// (the first one that matches and sets a key decides).
type NMConf struct {
	Files    []string
	Sections []NMConfSection
}

// nmConfFiles lists the files NM reads, in reading order.
func nmConfFiles(mainFile string, dirs []string) ([]string, error) {
	var files []string
	if mainFile != "" {
		if _, err := os.Stat(mainFile); err == nil {
			files = append(files, mainFile)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("NetworkManager config %s: %w", mainFile, err)
		}
	}
	byName := map[string]string{}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("NetworkManager config directory %s: %w", dir, err)
		}
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".conf") || e.IsDir() {
				continue
			}
			byName[n] = filepath.Join(dir, n)
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, byName[n])
	}
	return files, nil
}

// LoadNMConf reads NM's configuration files.
func LoadNMConf(mainFile string, dirs []string) (NMConf, error) {
	files, err := nmConfFiles(mainFile, dirs)
	if err != nil {
		return NMConf{}, err
	}
	var perFile [][]NMConfSection
	for _, f := range files {
		data, err := readLimitedFile(f, maxNMConfSize)
		if err != nil {
			return NMConf{Files: files}, fmt.Errorf("read NetworkManager config: %w", err)
		}
		perFile = append(perFile, parseNMConf(f, data))
	}
	return orderNMConf(files, perFile), nil
}

// orderNMConf puts the sections of files (in reading order) in precedence
// order.
func orderNMConf(files []string, perFile [][]NMConfSection) NMConf {
	c := NMConf{Files: files}
	for i := len(perFile) - 1; i >= 0; i-- {
		var plain []NMConfSection
		for _, s := range perFile[i] {
			if s.Name == "device" || s.Name == "connection" {
				plain = append(plain, s)
				continue
			}
			c.Sections = append(c.Sections, s)
		}
		c.Sections = append(c.Sections, plain...)
	}
	return c
}

func readLimitedFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return data, nil
}

// parseNMConf parses a GKeyFile: [section] headers, key=value lines, '#'
// comments. Lines it does not understand are skipped, as NM skips them.
// Same-named sections of one file are merged (later keys win).
func parseNMConf(file string, data []byte) []NMConfSection {
	var secs []NMConfSection
	idx := map[string]int{}
	cur := -1
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxNMConfSize)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "" || strings.HasPrefix(s, "#"):
			continue
		case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
			name := strings.TrimSpace(s[1 : len(s)-1])
			if i, ok := idx[name]; ok {
				cur = i
				continue
			}
			secs = append(secs, NMConfSection{Name: name, File: file, Line: line, Keys: map[string]NMConfValue{}})
			cur = len(secs) - 1
			idx[name] = cur
		default:
			k, v, ok := strings.Cut(s, "=")
			if !ok || cur < 0 {
				continue
			}
			secs[cur].Keys[strings.TrimSpace(k)] = NMConfValue{Value: strings.TrimSpace(v), File: file, Line: line}
		}
	}
	return secs
}

// ConfDevice is what a match-device spec can look at.
type ConfDevice struct {
	Interface string
	Driver    string
	Type      string   // NM device type name
	MACs      []string // current and real address, lower case
}

// kindOf says which section family holds a key: "device" for device
// settings, "connection" for per-profile defaults.
func sectionFamily(name string) string {
	for _, f := range []string{"device", "connection"} {
		if name == f || strings.HasPrefix(name, f+"-") {
			return f
		}
	}
	return ""
}

// Lookup returns the value NM uses for key of family ("device" or
// "connection") on device dev: the first section in precedence order that
// matches dev and sets key. dev nil means any device: only sections without
// match-device count. exact is false when a match-device spec was not
// understood and was taken to match (fail closed).
func (c NMConf) Lookup(family, key string, dev *ConfDevice) (v NMConfValue, found, exact bool) {
	exact = true
	for _, s := range c.Sections {
		if sectionFamily(s.Name) != family {
			continue
		}
		val, ok := s.Keys[key]
		if !ok {
			continue
		}
		spec, hasSpec := s.Keys["match-device"]
		if hasSpec {
			if dev == nil {
				continue
			}
			m, known := matchDeviceSpec(spec.Value, *dev)
			if !m {
				continue
			}
			if !known {
				exact = false
			}
		}
		return val, true, exact
	}
	return NMConfValue{}, false, exact
}

// mainValue returns key of the [main] section (later files win).
func (c NMConf) mainValue(key string) (NMConfValue, bool) {
	for _, s := range c.Sections {
		if s.Name == "main" {
			if v, ok := s.Keys[key]; ok {
				return v, true
			}
		}
	}
	return NMConfValue{}, false
}

// matchDeviceSpec evaluates an NM device spec list (NetworkManager.conf(5),
// "Device List Format") against dev. known is false when an item has a form
// check does not evaluate; such an item is taken to match.
func matchDeviceSpec(spec string, dev ConfDevice) (match, known bool) {
	known = true
	var pos, neg, anyPos bool
	for _, item := range splitSpec(spec) {
		except := false
		if rest, ok := strings.CutPrefix(item, "except:"); ok {
			except, item = true, rest
		} else {
			anyPos = true
		}
		m, k := matchSpecItem(item, dev)
		if !k {
			known = false
		}
		if m {
			if except {
				neg = true
			} else {
				pos = true
			}
		}
	}
	if neg {
		return false, known
	}
	if !anyPos {
		return true, known // only negative items: like a match-all plus them
	}
	return pos, known
}

func splitSpec(spec string) []string {
	var out []string
	var b strings.Builder
	esc := false
	flush := func() {
		if s := strings.TrimSpace(b.String()); s != "" {
			out = append(out, s)
		}
		b.Reset()
	}
	for _, r := range spec {
		switch {
		case esc:
			b.WriteRune(r)
			esc = false
		case r == '\\':
			esc = true
		case r == ',' || r == ';':
			flush()
		default:
			b.WriteRune(r)
		}
	}
	flush()
	return out
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

func matchSpecItem(item string, dev ConfDevice) (match, known bool) {
	prefix, val, hasPrefix := strings.Cut(item, ":")
	if !hasPrefix {
		if item == "*" {
			return true, true
		}
		// Unqualified: an interface name or a MAC address.
		for _, m := range dev.MACs {
			if strings.EqualFold(m, item) {
				return true, true
			}
		}
		return globMatch(item, dev.Interface), true
	}
	switch prefix {
	case "interface-name":
		switch {
		case strings.HasPrefix(val, "="):
			return val[1:] == dev.Interface, true
		case strings.HasPrefix(val, "~"):
			return globMatch(val[1:], dev.Interface), true
		}
		return globMatch(val, dev.Interface), true
	case "mac":
		for _, m := range dev.MACs {
			if strings.EqualFold(m, val) {
				return true, true
			}
		}
		return false, true
	case "driver":
		name, _, _ := strings.Cut(val, "/")
		return globMatch(name, dev.Driver), true
	case "type":
		return globMatch(val, dev.Type), true
	}
	// s390-subchannels:, dhcp-plugin:, and MAC addresses with ':' ...
	if len(item) == 17 && strings.Count(item, ":") == 5 {
		for _, m := range dev.MACs {
			if strings.EqualFold(m, item) {
				return true, true
			}
		}
		return false, true
	}
	return true, false
}

// parseNMBool parses NM's boolean configuration values.
func parseNMBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "1", "on":
		return true, true
	case "no", "false", "0", "off":
		return false, true
	}
	return false, false
}

// UnreadableNMConf stands for a configuration that could not be read: fail
// closed, as if it made every profile without its own value use the real
// address.
func UnreadableNMConf(files []string) NMConf {
	keys := map[string]NMConfValue{}
	for _, k := range []string{"ethernet.cloned-mac-address", "wifi.cloned-mac-address"} {
		keys[k] = NMConfValue{Value: "permanent", File: "(unreadable NetworkManager configuration)"}
	}
	return NMConf{Files: files, Sections: []NMConfSection{{Name: "connection", File: keys["wifi.cloned-mac-address"].File, Keys: keys}}}
}

// EffectiveCloned is the cloned-mac-address NetworkManager applies for
// profile p on device dev (nil: any device): the profile's own, else the
// configuration's default for its type (from says where that default is
// set), else "" (NetworkManager's built-in default). The service and check
// both judge a profile by it.
func (c NMConf) EffectiveCloned(p nm.Profile, dev *ConfDevice) (value, from string) {
	if p.ClonedMAC != "" {
		return p.ClonedMAC, ""
	}
	if v, ok, _ := c.Lookup("connection", p.MACSetting(), dev); ok {
		return strings.ToLower(v.Value), v.Where()
	}
	return "", ""
}
