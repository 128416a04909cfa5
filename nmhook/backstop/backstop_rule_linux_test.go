// SPDX-License-Identifier: GPL-3.0-or-later

package backstop

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/mac-nmguard/mac-nmguard/nmhook/internal/netnstest"
)

func TestChainNameRoundTrip(t *testing.T) {
	// What nft's grammar takes as a chain name without quotes.
	plainIdent := regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	names := []string{"eth0", "wlp0s20f3", "a", `we"ird#{}`, "dévice", "x.y-z_1", "123456789012345", "\x7f\x01"}
	seen := map[string]string{}
	for _, n := range names {
		c := chainName(n)
		if !plainIdent.MatchString(c) {
			t.Errorf("chainName(%q) = %q: not a plain identifier", n, c)
		}
		if other, dup := seen[c]; dup {
			t.Errorf("chainName(%q) = chainName(%q) = %q", n, other, c)
		}
		seen[c] = n
		back, ok := ifNameFromChain(c)
		if !ok || back != n {
			t.Errorf("ifNameFromChain(chainName(%q)) = %q, %v", n, back, ok)
		}
	}
}

func TestIfNameFromChainRejectsForeign(t *testing.T) {
	for _, c := range []string{"input", "dev_", "dev_zz", "dev_6", "dev_2f", "dev_" + "61616161616161616161616161616161", "DEV_6d"} {
		if n, ok := ifNameFromChain(c); ok {
			t.Errorf("ifNameFromChain(%q) = %q, want not ours", c, n)
		}
	}
}

func TestValidIfName(t *testing.T) {
	for _, ok := range []string{"eth0", "a", "123456789012345", "vlan.10", "é"} {
		if err := validIfName(ok); err != nil {
			t.Errorf("validIfName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "1234567890123456", "a/b", "a:b", "a b", "a\tb", "a\x00b", "a\nb"} {
		if err := validIfName(bad); err == nil {
			t.Errorf("validIfName(%q) accepted", bad)
		}
	}
}

func TestRuleCommentRoundTripAndMalformed(t *testing.T) {
	c, ok := ruleComment(ruleUserData("eth0", false))
	if !ok || c != "mac-nmguard guard dev=eth0" {
		t.Errorf("comment = %q, %v", c, ok)
	}
	c, ok = ruleComment(ruleUserData("wlan0", true))
	if !ok || c != "mac-nmguard hold dev=wlan0" {
		t.Errorf("comment = %q, %v", c, ok)
	}
	// A comment after another TLV is found.
	c, ok = ruleComment(append([]byte{1, 2, 'x', 'y'}, ruleUserData("e", false)...))
	if !ok || c != "mac-nmguard guard dev=e" {
		t.Errorf("comment after another TLV = %q, %v", c, ok)
	}
	for _, bad := range [][]byte{nil, {0}, {0, 5, 'a'}, {1, 1, 'x'}, {1, 200}} {
		if c, ok := ruleComment(bad); ok {
			t.Errorf("ruleComment(%v) = %q, want not found", bad, c)
		}
	}
}

func TestRuleFromKernelRoundTrip(t *testing.T) {
	realMAC := netnstest.MustMAC(t, "00:11:22:33:44:55")
	withCounter := func(exprs []expr.Any, n uint64) []expr.Any {
		for _, e := range exprs {
			if c, ok := e.(*expr.Counter); ok {
				c.Packets = n
			}
		}
		return exprs
	}
	got, ok := ruleFromKernel("eth0", &nftables.Rule{Exprs: withCounter(guardExprs(realMAC, false), 7), UserData: ruleUserData("eth0", false)})
	want := Rule{Interface: "eth0", Real: realMAC, Dropped: 7}
	if !ok || !cmp.Equal(got, want) {
		t.Errorf("guard rule = %+v, %v; want %+v", got, ok, want)
	}
	got, ok = ruleFromKernel("eth0", &nftables.Rule{Exprs: withCounter(guardExprs(nil, true), 3), UserData: ruleUserData("eth0", true)})
	want = Rule{Interface: "eth0", Hold: true, Dropped: 3}
	if !ok || !cmp.Equal(got, want) {
		t.Errorf("hold rule = %+v, %v; want %+v", got, ok, want)
	}
}

func TestRuleFromKernelRejectsForeign(t *testing.T) {
	realMAC := netnstest.MustMAC(t, "00:11:22:33:44:55")
	guard := func() []expr.Any { return guardExprs(realMAC, false) }
	cases := map[string]*nftables.Rule{
		"no comment":      {Exprs: guard()},
		"other comment":   {Exprs: guard(), UserData: []byte{0, 4, 'f', 'o', 'o', 0}},
		"accept verdict":  {Exprs: []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept}}, UserData: ruleUserData("e", true)},
		"no counter":      {Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}, &expr.Verdict{Kind: expr.VerdictDrop}}, UserData: ruleUserData("e", true)},
		"destination":     {Exprs: func() []expr.Any { e := guard(); e[2].(*expr.Payload).Offset = 0; return e }(), UserData: ruleUserData("e", false)},
		"not ether":       {Exprs: func() []expr.Any { e := guard(); e[1].(*expr.Cmp).Data = []byte{0x20, 0x03}; return e }(), UserData: ruleUserData("e", false)},
		"short address":   {Exprs: func() []expr.Any { e := guard(); e[3].(*expr.Cmp).Data = []byte{1, 2}; return e }(), UserData: ruleUserData("e", false)},
		"not equal":       {Exprs: func() []expr.Any { e := guard(); e[3].(*expr.Cmp).Op = expr.CmpOpNeq; return e }(), UserData: ruleUserData("e", false)},
		"extra statement": {Exprs: append(guard(), &expr.Counter{}), UserData: ruleUserData("e", false)},
	}
	for name, r := range cases {
		if g, ok := ruleFromKernel("e", r); ok {
			t.Errorf("%s: adopted as %+v", name, g)
		}
	}
}

func TestGuardExprsCopyAddress(t *testing.T) {
	realMAC := netnstest.MustMAC(t, "00:11:22:33:44:55")
	exprs := guardExprs(realMAC, false)
	realMAC[0] = 0xff
	if got := exprs[3].(*expr.Cmp).Data; !bytes.Equal(got, []byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}) {
		t.Errorf("rule data follows the caller's slice: %x", got)
	}
}

func FuzzRuleComment(f *testing.F) {
	f.Add(ruleUserData("eth0", false))
	f.Add([]byte{0, 255})
	f.Add([]byte{1, 0, 0, 3, 'a', 'b', 'c'})
	f.Fuzz(func(t *testing.T, udata []byte) {
		c, ok := ruleComment(udata) // must not panic on any input
		if ok && len(c) > len(udata) {
			t.Errorf("comment %q longer than the userdata", c)
		}
	})
}

func FuzzChainName(f *testing.F) {
	f.Add("eth0")
	f.Add(`a"b`)
	f.Fuzz(func(t *testing.T, name string) {
		if validIfName(name) != nil {
			return
		}
		back, ok := ifNameFromChain(chainName(name))
		if !ok || back != name {
			t.Errorf("round trip of %q gave %q, %v", name, back, ok)
		}
	})
}
