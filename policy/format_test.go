// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestEncodeTOMLRoundTrip(t *testing.T) {
	in := fullPolicy + "\n[[network]]\nname = \"odd \\\"quotes\\\" \\\\ and \\t tab\"\nssid = \"Café ☕\"\nmode = \"ignore\"\n"
	p, err := Parse(testFile, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out := p.EncodeTOML()
	for _, want := range []string{
		"# Sources:\n#   " + testFile + "\n",
		"# Precedence:\n#   runtime exemption > [[network]] rule > [[device]] rule > [default]",
		"the last matching one wins",
		"spoof = false  # " + testFile + ":2\n",
		"mode = \"random\"  # " + testFile + ":8 [default]\n",
		"[[device]]  # " + testFile + ":11\n",
		"real_prefix = \"00:e0:4c\"\n",
		"window = \"10m\"\n",
		"hold_timeout = \"45s\"\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("EncodeTOML lacks %q:\n%s", want, out)
		}
	}
	back, err := Parse(testFile, []byte(out))
	if err != nil {
		t.Fatalf("EncodeTOML output does not parse: %v\n%s", err, out)
	}
	opts := cmp.Options{
		cmpopts.IgnoreFields(Policy{}, "SpoofSource", "OfferSource"),
		cmpopts.IgnoreFields(Rule{}, "ModeSource", "EnforcementSource", "GuardSource", "IdentifiersSource"),
		cmpopts.IgnoreFields(DeviceRule{}, "Source"),
		cmpopts.IgnoreFields(NetworkRule{}, "Source"),
	}
	if diff := cmp.Diff(p, back, opts); diff != "" {
		t.Fatalf("round trip (-before +after):\n%s", diff)
	}
}

func TestEncodeTOMLDefault(t *testing.T) {
	out := Default().EncodeTOML()
	if !strings.Contains(out, "# Sources: none; the built-in default applies.") ||
		!strings.Contains(out, "mode = \"keep-vendor\"  # built-in default") ||
		!strings.Contains(out, "offer = \"ask\"  # built-in default\n") {
		t.Fatalf("default policy shown as:\n%s", out)
	}
}

func TestEncodeJSON(t *testing.T) {
	p, err := Parse(testFile, []byte(fullPolicy))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.EncodeJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Sources    []string `json:"sources"`
		Precedence string   `json:"precedence"`
		Spoof      bool     `json:"spoof"`
		Default    struct {
			Mode       string `json:"mode"`
			ModeSource string `json:"mode_source"`
		} `json:"default"`
		Devices []struct {
			Interface  string `json:"interface"`
			RealPrefix string `json:"real_prefix"`
			Source     string `json:"source"`
		} `json:"devices"`
		Networks []map[string]any `json:"networks"`
		Detect   map[string]any   `json:"detect"`
		Vendors  struct {
			Source string   `json:"source"`
			Wifi   []string `json:"wifi"`
		} `json:"vendors"`
		HoldTimeout string `json:"hold_timeout"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(got.Sources) != 1 || got.Precedence != Precedence || got.Spoof || got.Default.Mode != "random" ||
		got.Default.ModeSource != testFile+":8 [default]" || len(got.Devices) != 2 ||
		got.Devices[0].RealPrefix != "00:e0:4c" || got.Devices[0].Source != testFile+":11" ||
		len(got.Networks) != 2 || got.Detect["window"] != "10m" || got.Detect["auth_loop_rounds"] != 4.0 ||
		got.HoldTimeout != "45s" || len(got.Vendors.Wifi) == 0 {
		t.Fatalf("JSON view wrong: %+v\n%s", got, b)
	}
	if strings.Contains(string(b), `\u003e`) {
		t.Fatalf("JSON escapes '>':\n%s", b)
	}
	// An empty policy has empty lists, not null.
	b, _ = Default().EncodeJSON()
	if !strings.Contains(string(b), `"devices": []`) || !strings.Contains(string(b), `"sources": []`) {
		t.Fatalf("default JSON:\n%s", b)
	}
}

// TestEncodeOffer: policy show prints offer with where it was set, in TOML
// that reads back, and in JSON.
func TestEncodeOffer(t *testing.T) {
	p, err := Parse(testFile, []byte("offer = \"never\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := p.EncodeTOML()
	if !strings.Contains(out, "offer = \"never\"  # "+testFile+":1\n") {
		t.Fatalf("EncodeTOML lacks the offer line:\n%s", out)
	}
	back, err := Parse(testFile, []byte(out))
	if err != nil || back.Offer != OfferNever {
		t.Fatalf("EncodeTOML output reads back as offer %q, %v:\n%s", back.Offer, err, out)
	}
	b, err := p.EncodeJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Offer       string `json:"offer"`
		OfferSource string `json:"offer_source"`
	}
	if err := json.Unmarshal(b, &got); err != nil || got.Offer != "never" || got.OfferSource != testFile+":1" {
		t.Fatalf("JSON offer = %+v, %v:\n%s", got, err, b)
	}
}

func TestDurationString(t *testing.T) {
	for in, want := range map[string]string{"5m": "5m", "1h": "1h", "1h30m": "1h30m", "30s": "30s", "0s": "0s", "90s": "1m30s", "1.5s": "1.5s", "2h0m5s": "2h0m5s"} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err != nil || d.String() != want {
			t.Errorf("Duration(%q).String() = %q, %v; want %q", in, d.String(), err, want)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("-1s")); err == nil {
		t.Error("negative duration accepted")
	}
}
