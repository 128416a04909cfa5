// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testFile = "/etc/mac-nmguard/policy.toml"

func TestDefault(t *testing.T) {
	p := Default()
	if !p.Spoof || p.Default.Mode != ModeKeepVendor || p.Default.Enforcement != EnforceRefuse {
		t.Fatalf("Default() = spoof %t, %s/%s; want spoof, keep-vendor, refuse", p.Spoof, p.Default.Mode, p.Default.Enforcement)
	}
	want := DetectSettings{Window: Duration{5 * time.Minute}, AuthLoopRounds: 3, AuthFailures: 1, DHCPFailures: 2, AssociationTimeouts: 2}
	if p.Detect != want {
		t.Fatalf("Default().Detect = %+v; want %+v", p.Detect, want)
	}
	if len(p.Devices)+len(p.Networks)+len(p.Sources) != 0 || p.Hold || p.HoldTimeout.Duration != 0 {
		t.Fatalf("Default() has extra settings: %+v", p)
	}
	if p.Vendors.Source != shippedVendorsName || p.Vendors.Count(KindWifi) == 0 {
		t.Fatalf("Default() vendor list = %q with %d wifi prefixes", p.Vendors.Source, p.Vendors.Count(KindWifi))
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, in := range []string{"", "# nothing\n\n", "[default]\n"} {
		p, err := Parse(testFile, []byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		want := Default()
		want.Sources = []string{testFile}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("Parse(%q) differs from Default() (-want +got):\n%s", in, diff)
		}
	}
}

const fullPolicy = `# a complete policy
spoof = false
hold = true
hold_timeout = "45s"
vendors_file = "vendors.txt"

[default]
mode = "random"
enforcement = "remediate"

[[device]]
name = "dock"
interface = "enx*"
type = "ethernet"
driver = "r8152"
real_prefix = "00:E0:4C"
mode = "permanent"

[[device]]
interface = "wl?[0-9]"
enforcement = "audit"

[[network]]
name = "home"
ssid = "My Home"
mode = "stable"

[[network]]
uuid = "5F0E8B7A-3C1D-4E2F-9A8B-7C6D5E4F3A2B"
id = "Office"
mode = "permanent"
enforcement = "refuse"

[detect]
window = "10m"
auth_loop_rounds = 4
auth_failures = 2
dhcp_failures = 3
association_timeouts = 5
`

func TestParseFull(t *testing.T) {
	p, err := Parse(testFile, []byte(fullPolicy))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Spoof, want.SpoofSource = false, testFile+":2"
	want.Hold, want.HoldTimeout = true, Duration{45 * time.Second}
	want.VendorsFile = "/etc/mac-nmguard/vendors.txt"
	want.Default = Rule{Mode: ModeRandom, Enforcement: EnforceRemediate, Guard: GuardAuto, Identifiers: IdentifiersHide,
		ModeSource: testFile + ":8 [default]", EnforcementSource: testFile + ":9 [default]"}
	want.Devices = []DeviceRule{
		{Name: "dock", Interface: "enx*", Type: "ethernet", Driver: "r8152", RealPrefix: Prefix{0x00, 0xe0, 0x4c}, Mode: ModePermanent, Source: testFile + ":11"},
		{Interface: "wl?[0-9]", Enforcement: EnforceAudit, Source: testFile + ":19"},
	}
	want.Networks = []NetworkRule{
		{Name: "home", SSID: "My Home", Mode: ModeStable, Source: testFile + ":23"},
		{UUID: "5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b", ID: "Office", Mode: ModePermanent, Enforcement: EnforceRefuse, Source: testFile + ":28"},
	}
	want.Detect = DetectSettings{Window: Duration{10 * time.Minute}, AuthLoopRounds: 4, AuthFailures: 2, DHCPFailures: 3, AssociationTimeouts: 5}
	want.Sources = []string{testFile}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Fatalf("Parse(full) (-want +got):\n%s", diff)
	}
}

// TestParseOffer: offer defaults to "ask", is set by a file with its
// file:line, and a later file overrides an earlier one.
func TestParseOffer(t *testing.T) {
	if p := Default(); p.Offer != OfferAsk || p.OfferSource != "" {
		t.Fatalf("Default() offer = %q from %q, want \"ask\" from the built-in default", p.Offer, p.OfferSource)
	}
	p, err := Parse(testFile, []byte("spoof = true\noffer = \"never\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Offer != OfferNever || p.OfferSource != testFile+":2" {
		t.Fatalf("offer = %q from %q, want \"never\" from %s:2", p.Offer, p.OfferSource, testFile)
	}
	if err := p.apply("drop.toml", []byte("offer = \"ask\"\n")); err != nil {
		t.Fatal(err)
	}
	if p.Offer != OfferAsk || p.OfferSource != "drop.toml:1" {
		t.Fatalf("after a drop-in: offer = %q from %q, want \"ask\" from drop.toml:1", p.Offer, p.OfferSource)
	}
	if err := p.apply("other.toml", []byte("spoof = true\n")); err != nil || p.Offer != OfferAsk {
		t.Fatalf("a file that does not set offer changed it: %q, %v", p.Offer, err)
	}
	for _, s := range []string{"ask", "never"} {
		if o, err := ParseOffer(s); err != nil || string(o) != s {
			t.Errorf("ParseOffer(%q) = %q, %v", s, o, err)
		}
	}
	if _, err := ParseOffer("Never"); err == nil {
		t.Error("ParseOffer accepted \"Never\"")
	}
}

func TestParseInlineForms(t *testing.T) {
	in := `default = { mode = "vendor" }
detect.window = "1h30m"
network = [ { ssid = "café", mode = "permanent" } ]
`
	p, err := Parse(testFile, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if p.Default.Mode != ModeVendor || p.Detect.Window.Duration != 90*time.Minute || len(p.Networks) != 1 || p.Networks[0].SSID != "café" {
		t.Fatalf("inline forms parsed as %+v", p)
	}
}

// TestParseErrors checks that every kind of bad input is an error that
// names file:line:column and the key.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // full first line of the error, up to the message
		msg      string // part of the message
	}{
		{"syntax", "spoof = \n", "p.toml:1:9: spoof: ", "expected value"},
		{"unterminated string", "[default]\nmode = \"random\n", "p.toml:2:", "newline"},
		{"duplicate key", "spoof = true\nspoof = false\n", "p.toml:2:", "already been defined"},
		{"unknown top key", "spoof = true\nspofo = false\n", "p.toml:2:1: spofo: ", `unknown key "spofo" at top level`},
		{"misplaced mode", "mode = \"random\"\n", "p.toml:1:1: mode: ", "belongs in [default]"},
		{"unknown section", "[detetc]\nwindow = \"5m\"\n", "p.toml:1:1: detetc: ", "unknown key"},
		{"unknown default key", "[default]\nmod = \"random\"\n", "p.toml:2:1: default.mod: ", "known keys: mode, enforcement"},
		{"unknown device key", "[[device]]\ninterface = \"eth0\"\nmode = \"random\"\nifname = \"x\"\n", "p.toml:4:1: device.ifname: ", "unknown key"},
		{"unknown network key", "[[network]]\nssid = \"x\"\nmode = \"random\"\nbssid = \"x\"\n", "p.toml:4:1: network.bssid: ", "unknown key"},
		{"unknown detect key", "[detect]\nwindows = \"5m\"\n", "p.toml:2:1: detect.windows: ", "unknown key"},
		{"bad mode", "[default]\nmode = \"spoof\"\n", "p.toml:2:8: default.mode: ", `unknown mode "spoof" (want one of "keep-vendor"`},
		{"bad enforcement", "[default]\nenforcement = \"block\"\n", "p.toml:2:15: default.enforcement: ", `unknown enforcement "block"`},
		{"mode not a string", "[default]\nmode = 1\n", "p.toml:2:8: default.mode: ", "want a string, got an integer"},
		{"bad offer", "offer = \"always\"\n", "p.toml:1:9: offer: ", `unknown offer "always" (want one of "ask", "never")`},
		{"offer not a string", "offer = false\n", "p.toml:1:9: offer: ", "want a string, got a boolean"},
		{"offer in detect", "[detect]\noffer = \"never\"\n", "p.toml:2:1: detect.offer: ", "unknown key"},
		{"spoof not bool", "spoof = \"yes\"\n", "p.toml:1:9: spoof: ", "want true or false, got a string"},
		{"bad glob in second device", "[[device]]\ninterface = \"eth0\"\nmode = \"random\"\n\n[[device]]\ninterface = \"wl[0-\"\nmode = \"random\"\n", "p.toml:6:13: device.interface: ", `invalid glob "wl[0-"`},
		{"glob with slash", "[[device]]\ninterface = \"a/b\"\nmode = \"random\"\n", "p.toml:2:13: device.interface: ", "cannot contain '/'"},
		{"interface too long", "[[device]]\ninterface = \"abcdefghijklmnop\"\nmode = \"random\"\n", "p.toml:2:13: device.interface: ", "longer than 15"},
		{"bad prefix", "[[device]]\nreal_prefix = \"00:1b\"\nmode = \"random\"\n", "p.toml:2:15: device.real_prefix: ", `invalid address prefix "00:1b"`},
		{"bad prefix hex", "[[device]]\nreal_prefix = \"00:1b:7g\"\nmode = \"random\"\n", "p.toml:2:15: device.real_prefix: ", `"7g" is not a hex octet`},
		{"type alias", "[[device]]\ntype = \"wireless\"\nmode = \"random\"\n", "p.toml:2:8: device.type: ", `NetworkManager calls it "wifi"`},
		{"type case", "[[device]]\ntype = \"Ethernet\"\nmode = \"random\"\n", "p.toml:2:8: device.type: ", "lower-case"},
		{"driver space", "[[device]]\ndriver = \"r8 152\"\nmode = \"random\"\n", "p.toml:2:10: device.driver: ", "white space"},
		{"device matches all", "[[device]]\nname = \"all\"\nmode = \"random\"\n", "p.toml:1:1: device: ", `[[device]] "all" matches nothing specific`},
		{"device sets nothing", "[[device]]\ninterface = \"eth0\"\n", "p.toml:1:1: device: ", "[[device]] #1 sets none of mode, enforcement, guard and identifiers"},
		{"bad identifiers", "[default]\nidentifiers = \"mask\"\n", "p.toml:2:15: default.identifiers: ", `unknown identifiers "mask" (want one of "hide", "report")`},
		{"bad identifiers in network", "[[network]]\nssid = \"x\"\nidentifiers = \"off\"\n", "p.toml:3:15: network.identifiers: ", `unknown identifiers "off"`},
		{"identifiers not a string", "[[device]]\ninterface = \"eth0\"\nidentifiers = false\n", "p.toml:3:15: device.identifiers: ", "want a string, got a boolean"},
		{"identifiers at top level", "identifiers = \"hide\"\n", "p.toml:1:1: identifiers: ", "identifiers belongs in [default], [[device]] or [[network]]"},
		{"bad guard", "[default]\nguard = \"sometimes\"\n", "p.toml:2:9: default.guard: ", `unknown guard "sometimes" (want one of "auto", "always", "never")`},
		{"guard not a string", "[[device]]\ninterface = \"eth0\"\nguard = true\n", "p.toml:3:9: device.guard: ", "want a string, got a boolean"},
		{"guard at top level", "guard = \"auto\"\n", "p.toml:1:1: guard: ", "guard belongs in [default] or [[device]]"},
		{"guard in network", "[[network]]\nssid = \"x\"\nguard = \"never\"\n", "p.toml:3:1: network.guard: ", "unknown key"},
		{"network matches none", "[[network]]\nmode = \"random\"\n", "p.toml:1:1: network: ", "matches no network"},
		{"network sets nothing", "[[network]]\nssid = \"x\"\n", "p.toml:1:1: network: ", "sets none of mode, enforcement and identifiers"},
		{"empty ssid", "[[network]]\nssid = \"\"\nmode = \"random\"\n", "p.toml:2:8: network.ssid: ", "must not be empty"},
		{"long ssid", "[[network]]\nssid = \"123456789012345678901234567890123\"\nmode = \"random\"\n", "p.toml:2:8: network.ssid: ", "at most 32"},
		{"bad uuid", "[[network]]\nuuid = \"1234\"\nmode = \"random\"\n", "p.toml:2:8: network.uuid: ", "invalid connection UUID"},
		{"negative threshold", "[detect]\nauth_failures = -1\n", "p.toml:2:17: detect.auth_failures: ", "must be at least 1, got -1"},
		{"zero threshold", "[detect]\ndhcp_failures = 0\n", "p.toml:2:17: detect.dhcp_failures: ", "must be at least 1"},
		{"float threshold", "[detect]\nauth_loop_rounds = 2.5\n", "p.toml:2:20: detect.auth_loop_rounds: ", "want a whole number, got a float"},
		{"huge threshold", "[detect]\nauth_loop_rounds = 9999999999\n", "p.toml:2:20: detect.auth_loop_rounds: ", "too large"},
		{"negative window", "[detect]\nwindow = \"-1m\"\n", "p.toml:2:10: detect.window: ", "must not be negative"},
		{"zero window", "[detect]\nwindow = \"0s\"\n", "p.toml:2:10: detect.window: ", "longer than 0s"},
		{"bad duration", "hold_timeout = \"5 minutes\"\n", "p.toml:1:16: hold_timeout: ", `invalid duration "5 minutes"`},
		{"number duration", "hold_timeout = 30\n", "p.toml:1:16: hold_timeout: ", "want a duration string"},
		{"device as table", "[device]\ninterface = \"eth0\"\n", "p.toml:1:1: device: ", "want an array of tables like [[device]]"},
		{"default as array", "[[default]]\nmode = \"random\"\n", "p.toml:1:1: default: ", "want a table like [default]"},
		{"empty vendors_file", "vendors_file = \"\"\n", "p.toml:1:16: vendors_file: ", "must not be empty"},
		{"bad value after multiline string", "[[network]]\nname = \"\"\"\n[[device]]\nmode = \"x\"\n\"\"\"\nssid = \"s\"\nmode = \"bogus\"\n", "p.toml:7:8: network.mode: ", `unknown mode "bogus"`},
		{"invalid utf-8", "spoof = true\nname = \"\xff\"\n", "p.toml:2:9: ", "not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p.toml", []byte(c.in))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", c.in)
			}
			first := strings.SplitN(err.Error(), "\n", 2)[0]
			if !strings.HasPrefix(first, c.want) || !strings.Contains(first, c.msg) {
				t.Fatalf("error\n  %s\nwant prefix %q containing %q", first, c.want, c.msg)
			}
			ces := ConfigErrors(err)
			if len(ces) == 0 || ces[0].File != "p.toml" || ces[0].Line < 1 || ces[0].Col < 1 {
				t.Fatalf("error %v carries no usable ConfigError: %+v", err, ces)
			}
		})
	}
}

// TestParseReportsEveryProblem: one pass names every bad key, in order.
func TestParseReportsEveryProblem(t *testing.T) {
	in := "spoof = 1\n[default]\nmode = \"x\"\n[detect]\nauth_failures = 0\nbogus = 1\n"
	_, err := Parse("p.toml", []byte(in))
	ces := ConfigErrors(err)
	var got []string
	for _, e := range ces {
		got = append(got, e.Key)
	}
	want := []string{"spoof", "default.mode", "detect.auth_failures", "detect.bogus"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("reported keys (-want +got):\n%s\nerror: %v", diff, err)
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != 4 {
		t.Fatalf("error has %d lines, want 4:\n%v", lines, err)
	}
}

// TestApplyLosesNothing: a bad file leaves the policy it was applied to as it was.
func TestApplyLosesNothing(t *testing.T) {
	p, err := Parse(testFile, []byte(fullPolicy))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := Parse(testFile, []byte(fullPolicy))
	bad := "spoof = true\n[default]\nmode = \"vendor\"\n[[device]]\ninterface = \"x\"\nmode = \"nope\"\n"
	if err := p.apply("drop.toml", []byte(bad)); err == nil {
		t.Fatal("apply accepted a bad file")
	}
	if diff := cmp.Diff(before, p); diff != "" {
		t.Fatalf("a failed apply changed the policy (-before +after):\n%s", diff)
	}
}

func TestParseRelativeVendorsFile(t *testing.T) {
	cases := map[string]string{
		"/etc/mac-nmguard/policy.d/10-x.toml": "/etc/mac-nmguard/policy.d/v.txt",
		"policy.toml":                         "v.txt",
	}
	for name, want := range cases {
		p, err := Parse(name, []byte("vendors_file = \"v.txt\"\n"))
		if err != nil || p.VendorsFile != want {
			t.Errorf("Parse(%s): VendorsFile = %q, %v; want %q", name, p.VendorsFile, err, want)
		}
	}
	p, err := Parse("/a/b.toml", []byte("vendors_file = \"/x/v.txt\"\n"))
	if err != nil || p.VendorsFile != "/x/v.txt" {
		t.Errorf("absolute vendors_file = %q, %v", p.VendorsFile, err)
	}
}

var errLine = regexp.MustCompile(`^[^:]+:[0-9]+:[0-9]+: `)

func FuzzParse(f *testing.F) {
	seeds := []string{
		// Small seeds: the fuzzer minimises every new input it finds, and
		// minimising a long one stalls a short run.
		"", "spoof = false\nhold = true\n", "[default]\nmode = \"ignore\"\n",
		"[[device]]\nreal_prefix = \"00:1b:77\"\ntype = \"wifi\"\ndriver = \"d\"\nenforcement = \"audit\"\n",
		"[[network]]\nuuid = \"5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b\"\nid = \"x\"\nmode = \"random\"\n",
		"vendors_file = \"v.txt\"\n[detect]\nauth_failures = 2\n",
		"[[device]]\ninterface = \"eth*\"\nmode = \"permanent\"\n",
		"[[network]]\nssid = \"a\\\"b\"\nmode = \"stable\"\n",
		"default = { mode = \"vendor\" }\n", "[detect]\nwindow = \"1h\"\n",
		"a = [\n 1, # c\n 2,\n]\n", "x = '''\n[y]\n'''\n", "\"quoted.key\" = 1\n",
		"spoof = \n", "[[device]]\n[[device]]\n", "hold_timeout = \"1.5h\"\n",
		"offer = \"never\"\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Parse(testFile, []byte(in))
		if err != nil {
			if p != nil {
				t.Fatal("Parse returned a policy with an error")
			}
			lines := strings.Count(in, "\n") + 1
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, testFile+":") {
					continue // a message may span lines only after its position
				}
				if !errLine.MatchString(strings.TrimPrefix(line, "/etc/mac-nmguard/")) {
					t.Fatalf("error line without file:line:col: %q", line)
				}
			}
			ces := ConfigErrors(err)
			if len(ces) == 0 {
				t.Fatalf("error without position: %v", err)
			}
			for _, ce := range ces {
				if ce.Line < 1 || ce.Col < 1 || ce.Line > lines+1 {
					t.Fatalf("position %d:%d outside the %d-line input: %v", ce.Line, ce.Col, lines, ce)
				}
			}
			return
		}
		// Valid: what `policy show` prints must parse back to the same policy.
		out := p.EncodeTOML()
		back, err := Parse(testFile, []byte(out))
		if err != nil {
			t.Fatalf("EncodeTOML output does not parse: %v\n%s", err, out)
		}
		ignore := cmpopts.IgnoreFields(Policy{}, "SpoofSource", "OfferSource")
		ignoreSrc := cmp.Options{ignore,
			cmpopts.IgnoreFields(Rule{}, "ModeSource", "EnforcementSource", "GuardSource", "IdentifiersSource"),
			cmpopts.IgnoreFields(DeviceRule{}, "Source"),
			cmpopts.IgnoreFields(NetworkRule{}, "Source"),
			cmpopts.EquateEmpty()}
		if diff := cmp.Diff(p, back, ignoreSrc); diff != "" {
			t.Fatalf("round trip through EncodeTOML changed the policy (-parsed +reparsed):\n%s\n%s", diff, out)
		}
		if _, err := p.EncodeJSON(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConfigErrorsUnwrap(t *testing.T) {
	e1 := &ConfigError{File: "a", Line: 1, Col: 2, Key: "k", Msg: "m"}
	if e1.Error() != "a:1:2: k: m" {
		t.Fatalf("Error() = %q", e1.Error())
	}
	joined := errors.Join(e1, &ConfigError{File: "a", Line: 3, Col: 1, Msg: "n"})
	if got := ConfigErrors(joined); len(got) != 2 {
		t.Fatalf("ConfigErrors(joined) = %v", got)
	}
	wrapped := errors.Join(errors.New("x"), e1)
	if got := ConfigErrors(wrapped); len(got) != 1 || got[0] != e1 {
		t.Fatalf("ConfigErrors(wrapped) = %v", got)
	}
	if ConfigErrors(nil) != nil || ConfigErrors(errors.New("plain")) != nil {
		t.Fatal("ConfigErrors found errors where there are none")
	}
}
