// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeFiles creates files (relative name -> content) under a fresh
// temporary directory, removed by the test's cleanup.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadNothingIsDefault(t *testing.T) {
	dir := t.TempDir()
	p, err := Load(filepath.Join(dir, "policy.toml"), filepath.Join(dir, "policy.d"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Default(), p); diff != "" {
		t.Fatalf("Load with no files (-default +got):\n%s", diff)
	}
	if p, err := Load("", ""); err != nil || !p.Spoof {
		t.Fatalf("Load(\"\", \"\") = %v, %v", p, err)
	}
}

func TestLoadDropinOrder(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"policy.toml": "spoof = true\nhold = true\n[default]\nmode = \"random\"\n" +
			"[[device]]\nname = \"main\"\ninterface = \"eth*\"\nmode = \"permanent\"\n",
		"policy.d/20-b.toml": "[default]\nmode = \"vendor\"\n" +
			"[[device]]\nname = \"b\"\ninterface = \"eth*\"\nmode = \"random\"\n",
		"policy.d/10-a.toml": "spoof = false\n[default]\nmode = \"stable\"\nenforcement = \"audit\"\n" +
			"[[device]]\nname = \"a\"\ninterface = \"eth*\"\nmode = \"ignore\"\n",
		"policy.d/30-c.toml.disabled": "this is not toml at all [",
		"policy.d/.hidden.toml":       "this is not toml at all [",
		"policy.d/notes.txt":          "neither",
	})
	p, err := Load(filepath.Join(dir, "policy.toml"), filepath.Join(dir, "policy.d"))
	if err != nil {
		t.Fatal(err)
	}
	wantSources := []string{filepath.Join(dir, "policy.toml"), filepath.Join(dir, "policy.d/10-a.toml"), filepath.Join(dir, "policy.d/20-b.toml")}
	if diff := cmp.Diff(wantSources, p.Sources); diff != "" {
		t.Fatalf("sources (-want +got):\n%s", diff)
	}
	// Scalars: the last file that sets one wins; unset keys keep earlier values.
	if p.Default.Mode != ModeVendor || p.Default.Enforcement != EnforceAudit || p.Spoof || !p.Hold {
		t.Fatalf("scalars: mode %s, enforcement %s, spoof %t, hold %t; want vendor, audit, false, true",
			p.Default.Mode, p.Default.Enforcement, p.Spoof, p.Hold)
	}
	if !strings.HasSuffix(p.Default.ModeSource, "20-b.toml:2 [default]") || !strings.HasSuffix(p.SpoofSource, "10-a.toml:1") {
		t.Fatalf("sources of scalars: %q, %q", p.Default.ModeSource, p.SpoofSource)
	}
	// Rules accumulate in file order; the last matching one wins.
	var names []string
	for _, r := range p.Devices {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"main", "a", "b"}, names); diff != "" {
		t.Fatalf("device rules (-want +got):\n%s", diff)
	}
	p.Spoof = true
	v := p.Select(Device{Interface: "eth0", Real: realAddr, RealKnown: true}, Network{}, nil)
	if v.Mode != ModeRandom || !strings.Contains(v.Rule, `20-b.toml:3 [[device]] "b"`) {
		t.Fatalf("drop-in did not override: %+v", v)
	}
}

func TestLoadDropinsWithoutMain(t *testing.T) {
	dir := writeFiles(t, map[string]string{"policy.d/x.toml": "[default]\nmode = \"random\"\n"})
	p, err := Load(filepath.Join(dir, "missing.toml"), filepath.Join(dir, "policy.d"))
	if err != nil || p.Default.Mode != ModeRandom || len(p.Sources) != 1 {
		t.Fatalf("Load = %+v, %v", p, err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"good.toml":             "spoof = true\n",
		"bad/policy.d/10.toml":  "[default]\nmode = \"sometimes\"\n",
		"notadir":               "x",
		"vendorsbad/p.toml":     "vendors_file = \"v.txt\"\n",
		"vendorsbad/v.txt":      "wifi 00:1b:77 Intel\nethernet zz:zz:zz\n",
		"vendorsmiss/p.toml":    "vendors_file = \"nope.txt\"\n",
		"dirdropin/x.toml/keep": "",
	})
	cases := []struct {
		name, main, dropins, want string
	}{
		{"invalid drop-in", "good.toml", "bad/policy.d", "bad/policy.d/10.toml:2:8: default.mode: unknown mode \"sometimes\""},
		{"main is a directory", "bad", "", "bad is a directory"},
		{"drop-in dir is a file", "good.toml", "notadir", "policy drop-in directory " + filepath.Join(dir, "notadir")},
		{"drop-in is a directory", "", "dirdropin", "read policy file " + filepath.Join(dir, "dirdropin/x.toml")},
		{"bad vendors file", "vendorsbad/p.toml", "", "vendors_file named in " + filepath.Join(dir, "vendorsbad/p.toml") + ": " + filepath.Join(dir, "vendorsbad/v.txt") + ":2: invalid OUI"},
		{"missing vendors file", "vendorsmiss/p.toml", "", "read vendors_file " + filepath.Join(dir, "vendorsmiss/nope.txt") + " (named in " + filepath.Join(dir, "vendorsmiss/p.toml") + ")"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			main, dropins := "", ""
			if c.main != "" {
				main = filepath.Join(dir, c.main)
			}
			if c.dropins != "" {
				dropins = filepath.Join(dir, c.dropins)
			}
			p, err := Load(main, dropins)
			if err == nil || p != nil {
				t.Fatalf("Load = %v, %v; want an error", p, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestLoadFilesMissing(t *testing.T) {
	_, err := LoadFiles(filepath.Join(t.TempDir(), "absent.toml"))
	if err == nil || !strings.Contains(err.Error(), "absent.toml") {
		t.Fatalf("LoadFiles(absent) = %v", err)
	}
}

func TestLoadFileTooLarge(t *testing.T) {
	dir := writeFiles(t, map[string]string{"big.toml": "# " + strings.Repeat("x", maxFileSize) + "\n"})
	_, err := LoadFiles(filepath.Join(dir, "big.toml"))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("LoadFiles(big) = %v", err)
	}
}

func TestLoadVendorsFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"policy.toml":        "[default]\nmode = \"vendor\"\n",
		"policy.d/10.toml":   "vendors_file = \"../site-vendors.txt\"\n",
		"site-vendors.txt":   "wifi 00:0c:29 Example\nethernet 00:50:56 Example\n",
		"policy.d/05-x.toml": "vendors_file = \"/nonexistent/overridden.txt\"\n",
	})
	p, err := Load(filepath.Join(dir, "policy.toml"), filepath.Join(dir, "policy.d"))
	if err != nil {
		t.Fatal(err)
	}
	if p.VendorsFile != filepath.Join(dir, "site-vendors.txt") || p.Vendors.Source != p.VendorsFile {
		t.Fatalf("vendors from %q / %q", p.VendorsFile, p.Vendors.Source)
	}
	d := Device{Interface: "eth0", Type: "ethernet", Real: realAddr, RealKnown: true}
	m, err := p.Generate(d, Network{}, nil)
	if err != nil || m.OUI() != (OUI{0x00, 0x50, 0x56}) {
		t.Fatalf("Generate with the site list = %s, %v", m, err)
	}
	d.Current = MustParseMAC("00:19:b9:01:02:03") // in the shipped list, not the site one
	if v := p.Evaluate(d, Network{}, nil); v.Allowed || !strings.Contains(v.Reason, "site-vendors.txt") {
		t.Fatalf("Evaluate with the site list: %+v", v)
	}
}
