// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vishvananda/netlink"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// oddDevice is a client card with a hostile but kernel-legal name.
type oddDevice struct {
	name, peer string
	mac        net.HardwareAddr
}

// oddNames are interface names the kernel accepts (1..15 bytes, no '/',
// ':', NUL or white space) that are hostile to logs, terminals and shells.
var oddNames = []string{
	"nm\xe9t",          // not UTF-8 (Latin-1 é)
	"n\x1b[31mX\x07",   // a terminal escape and a bell
	"a\"b\\c'$(id)`",   // quotes, backslash, command substitution
	"é😀",               // valid UTF-8, a 4-byte rune
	"-rf",              // looks like an option
	"x=1\x7fy",         // '=' (slog's separator) and DEL
	"\u202ertl0",       // right-to-left override
	"0123456789abcde",  // 15 bytes, the longest legal name
	"\xff\xfe\xfd\xfc", // nothing but invalid bytes
	"d$HOME;echo",      // shell variable and separator
}

// legalIfName reports whether the kernel accepts name as given
// (dev_valid_name; a '%' makes it a template for a numbered name).
func legalIfName(name string) bool {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '/', ':', 0, ' ', '\t', '\n', '\v', '\f', '\r', 0xa0, '%': // the kernel's isspace counts 0xa0
			return false
		}
	}
	return true
}

// addOddDevice makes a veth named name in the client namespace (netlink,
// no shell, no `ip` argument parsing) whose peer end joins the bridge.
func addOddDevice(t *testing.T, b *bed.Bed, name, peer string, mac net.HardwareAddr) oddDevice {
	t.Helper()
	f, err := os.Open("/run/netns/" + b.PeerNS)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = b.InClient(t, func() error {
		return netlink.LinkAdd(&netlink.Veth{
			LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: mac},
			PeerName:  peer, PeerNamespace: netlink.NsFd(int(f.Fd())),
		})
	})
	if err != nil {
		t.Fatalf("create veth %q: %v", name, err)
	}
	if out, err := exec.Command("ip", "-n", b.PeerNS, "link", "set", peer, "master", bed.BridgeName, "up").CombinedOutput(); err != nil {
		t.Fatalf("bridge %s: %v: %s", peer, err, out)
	}
	return oddDevice{name: name, peer: peer, mac: mac}
}

// slogAttr is how the service's text log writes key=value.
func slogAttr(key, value string) string {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("", key, value)
	line := strings.TrimSpace(buf.String())
	return line[strings.Index(line, key+"="):]
}

// addrOf reads an odd device's address through netlink (no `ip` parsing).
func addrOf(t *testing.T, b *bed.Bed, name string) net.HardwareAddr {
	t.Helper()
	var mac net.HardwareAddr
	if err := b.InClient(t, func() error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		mac = l.Attrs().HardwareAddr
		return nil
	}); err != nil {
		t.Fatalf("address of %q: %v", name, err)
	}
	return mac
}

// cleanLog fails t if the service's log holds bytes a terminal would act
// on, or invalid UTF-8: every hostile name must have been escaped.
func cleanLog(t *testing.T, log string) {
	t.Helper()
	if !utf8.ValidString(log) {
		i := 0
		for i < len(log) {
			r, n := utf8.DecodeRuneInString(log[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		t.Errorf("the service's log is not valid UTF-8 at byte %d: %q", i, log[max(0, i-80):min(len(log), i+40)])
	}
	for i := 0; i < len(log); i++ {
		if c := log[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			t.Errorf("the service's log holds the raw control byte %#x at %d: %q", c, i, log[max(0, i-80):min(len(log), i+40)])
			return
		}
	}
}

// TestIntegrationHostileInterfaceNames: cards named with hostile but legal
// bytes are guarded like any other (backstop rule for the real address, a
// private address, no real-address frame on the wire), the service logs
// their names escaped (no raw control bytes, valid UTF-8), the API reports
// them, and a restarted service still knows their real addresses.
func TestIntegrationHostileInterfaceNames(t *testing.T) {
	bed.Require(t, "nft")
	b := bed.New(t, guardOptions(t, bed.Options{}))
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	var devs []oddDevice
	for i, name := range oddNames {
		if !legalIfName(name) {
			continue
		}
		devs = append(devs, addOddDevice(t, b, name, fmt.Sprintf("hp%d", i), bed.DeviceMAC(40+i)))
	}
	rules := ""
	for _, d := range devs {
		g.waitLog(t, 10*time.Second, "netlink: device appeared", slogAttr("device", d.name), "real="+d.mac.String())
		g.waitLog(t, 10*time.Second, "backstop: guarding", slogAttr("device", d.name))
	}
	rules = nftRuleset(t, b)
	for _, d := range devs {
		deadline := time.Now().Add(10 * time.Second)
		for addrOf(t, b, d.name).String() == d.mac.String() {
			if time.Now().After(deadline) {
				t.Fatalf("%q still has its real address %s", d.name, d.mac)
			}
			time.Sleep(20 * time.Millisecond)
		}
		compliant(t, d.name, addrOf(t, b, d.name).String(), d.mac)
		if !strings.Contains(rules, d.mac.String()) {
			t.Errorf("no backstop rule for %q's real address %s", d.name, d.mac)
		}
	}
	// The API: every name comes back (JSON over D-Bus must be UTF-8:
	// invalid bytes are replaced, so compare through the same encoding).
	conn := b.Dial(t)
	defer conn.Close()
	var js string
	if err := conn.Object(api.BusName, api.Path).Call(api.ListDevices, 0).Store(&js); err != nil {
		t.Fatalf("ListDevices with hostile names: %v", err)
	}
	var listed []api.Device
	if err := json.Unmarshal([]byte(js), &listed); err != nil {
		t.Fatalf("ListDevices answer: %v", err)
	}
	names := map[string]api.Device{}
	for _, a := range listed {
		names[a.Interface] = a
	}
	for _, d := range devs {
		// encoding/json replaces each invalid byte with U+FFFD.
		enc, _ := json.Marshal(d.name)
		var want string
		_ = json.Unmarshal(enc, &want)
		a, ok := names[want]
		if !ok {
			t.Errorf("ListDevices lacks %q", want)
			continue
		}
		if a.Real != d.mac.String() || !strings.HasPrefix(a.Backstop, "guarding ") {
			t.Errorf("ListDevices %q: real %s backstop %q, want real %s guarded", want, a.Real, a.Backstop, d.mac)
		}
	}
	// `mac-nmguard check` prints them without breaking (no shell, no crash).
	// Its exit status says what it found (0 fine, 1 findings); 2 or a
	// crash is a failure.
	out, err := cli(t, b, "check")
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Errorf("check with hostile names: %v\n%s", err, out)
	}
	if strings.ContainsRune(out, 0x1b) {
		t.Errorf("`mac-nmguard check` prints a raw ESC byte (a hostile interface name reaches the terminal unescaped):\n%q", out)
	}
	cleanLog(t, g.p.Log())

	// Restart: the real addresses of cards without a permanent address
	// come from the state file (first_seen), keyed by interface name.
	if err := g.p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := g.p.Wait(10 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	g.start(t)
	for _, d := range devs {
		line := g.waitLog(t, 10*time.Second, "netlink: device appeared", slogAttr("device", d.name))
		if !strings.Contains(line, "real="+d.mac.String()) {
			t.Errorf("after a restart the service takes %q's real address to be something else than %s:\n%s", d.name, d.mac, line)
		}
	}
	// The real address forced back on each card after the restart: the
	// service must take it off again (it knows it is the real one).
	for _, d := range devs {
		if err := b.InClient(t, func() error {
			l, err := netlink.LinkByName(d.name)
			if err != nil {
				return err
			}
			return netlink.LinkSetHardwareAddr(l, d.mac)
		}); err != nil {
			t.Fatalf("set %q to its real address: %v", d.name, err)
		}
	}
	time.Sleep(2 * time.Second)
	for _, d := range devs {
		if got := addrOf(t, b, d.name); got.String() == d.mac.String() {
			t.Errorf("after a restart %q keeps its real address %s: the service no longer knows it is the real one", d.name, d.mac)
		}
	}
	cleanLog(t, g.p.Log())
	capt.Stop()
	for _, d := range devs {
		if n := capt.Count(d.mac); n != 0 {
			t.Errorf("LEAK: %d frames from %q's real address %s", n, d.name, d.mac)
		}
	}
}

// TestIntegrationHostileProfileName: a connection profile whose id holds
// control characters, a bidi override and 4-byte runes is activated on a
// card: the service guards it, reports the id exactly through the API,
// keeps its log free of raw control bytes, and no real-address frame goes
// out. (SSIDs cannot be shown here: the kernel has no Wi-Fi.)
func TestIntegrationHostileProfileName(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	d := b.Devices()[0]
	b.StartDHCP(t, nil)
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
	id := "caf\u00e9 \x1b[2J\x07\u202e☕😀 level=ERROR msg=\"x\"\n"
	uuid := b.AddProfile(t, bed.Profile{Name: id, Interface: d.Name, DHCPTimeout: 10})
	if err := b.Activate(t, uuid, d.Name); err != nil {
		t.Fatalf("activation: %v", err)
	}
	b.WaitState(t, d.Name, detect.StateActivated, 30*time.Second)
	compliant(t, d.Name, linkAddr(t, b, d.Name), d.MAC)
	var listed []api.Device
	conn := b.Dial(t)
	defer conn.Close()
	var js string
	if err := conn.Object(api.BusName, api.Path).Call(api.ListDevices, 0).Store(&js); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(js), &listed); err != nil {
		t.Fatal(err)
	}
	var got string
	for _, a := range listed {
		if a.Interface == d.Name {
			got = a.Connection
		}
	}
	// NM may normalise the id (e.g. strip the trailing newline); whatever
	// it holds, the service must report it unchanged.
	nmID, err := b.Nmcli(t, "-g", "connection.id", "connection", "show", uuid)
	if err != nil {
		t.Fatal(err)
	}
	nmID = strings.TrimSuffix(nmID, "\n")
	if got != nmID && got != strings.ReplaceAll(nmID, "\\:", ":") {
		t.Errorf("ListDevices connection = %q, NM says %q (we asked for %q)", got, nmID, id)
	}
	if !strings.Contains(g.p.Log(), "caf\u00e9") {
		t.Logf("the service did not log the profile id (nothing to escape)")
	}
	cleanLog(t, g.p.Log())
	noRealFrames(t, capt, d.MAC)
}
