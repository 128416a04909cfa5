// SPDX-License-Identifier: GPL-3.0-or-later

package backstop

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

const (
	// backstopTableName is the netdev table that holds every guard chain.
	backstopTableName = "mac_nmguard"
	// chainPrefix starts every guard chain's name; the rest is the
	// interface name in hex (see chainName).
	chainPrefix = "dev_"
	// ruleTag starts the comment stored in every rule we install; List
	// only adopts rules that carry it.
	ruleTag = "mac-nmguard"
	// ifNameMax is IFNAMSIZ-1: the longest interface name the kernel
	// accepts as a netdev hook device (NFTA_HOOK_DEV is IFNAMSIZ long).
	ifNameMax = 15
	// udataComment is the nftables userdata TLV type for a rule comment
	// (NFTNL_UDATA_RULE_COMMENT in libnftnl's udata.h); `nft list ruleset`
	// prints it as comment "...".
	udataComment = 0
	// etherSrcOffset and etherAddrLen locate the source address in the
	// Ethernet header (NFT_PAYLOAD_LL_HEADER base): `ether saddr`.
	etherSrcOffset = 6
	etherAddrLen   = 6
)

// backstopTable is the table every backstop operation works on.
func backstopTable() *nftables.Table {
	return &nftables.Table{Name: backstopTableName, Family: nftables.TableFamilyNetdev}
}

// validIfName reports why name cannot be a Linux interface name, following
// the kernel's dev_valid_name: 1..15 bytes, not "." or "..", no '/', ':',
// NUL or white space.
func validIfName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty interface name")
	case len(name) > ifNameMax:
		return fmt.Errorf("interface name %q is longer than %d bytes", name, ifNameMax)
	case name == "." || name == "..":
		return fmt.Errorf("invalid interface name %q", name)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '/', ':', 0, ' ', '\t', '\n', '\v', '\f', '\r':
			return fmt.Errorf("interface name %q contains the invalid byte %#x", name, c)
		}
	}
	return nil
}

// chainName maps an interface name to its guard chain's name. Interface
// names may hold bytes nft's grammar or a reader would trip on (quotes,
// '#', '{', non-ASCII...), so the name is hex-encoded: the result is always
// a plain identifier, two names never share a chain, and the mapping is
// reversible (ifNameFromChain), which lets a restarted service adopt the
// chains it finds.
func chainName(ifname string) string {
	return chainPrefix + hex.EncodeToString([]byte(ifname))
}

// ifNameFromChain reverses chainName; ok is false for a chain we did not
// name.
func ifNameFromChain(chain string) (string, bool) {
	h, found := strings.CutPrefix(chain, chainPrefix)
	if !found {
		return "", false
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return "", false
	}
	name := string(b)
	if validIfName(name) != nil {
		return "", false
	}
	return name, true
}

// ruleUserData is the rule's comment: a tag, the mode and the device, for
// List and for whoever reads `nft list ruleset`.
func ruleUserData(ifname string, hold bool) []byte {
	mode := "guard"
	if hold {
		mode = "hold"
	}
	comment := fmt.Sprintf("%s %s dev=%s", ruleTag, mode, ifname)
	// TLV: type, length, value (the length byte counts the trailing NUL
	// nft writes too; nft prints the value up to it).
	val := append([]byte(comment), 0)
	return append([]byte{udataComment, byte(len(val))}, val...)
}

// ruleComment extracts the comment from nftables rule userdata. Malformed
// TLVs give ok=false (the library's own parser can panic on them).
func ruleComment(udata []byte) (string, bool) {
	for len(udata) >= 2 {
		typ, n := udata[0], int(udata[1])
		if len(udata) < 2+n {
			return "", false
		}
		if typ == udataComment {
			return string(bytes.TrimRight(udata[2:2+n], "\x00")), true
		}
		udata = udata[2+n:]
	}
	return "", false
}

// guardExprs is `ether saddr REAL counter drop`, or `counter drop` for
// hold. The match is what nft itself generates for `ether saddr` in the
// netdev family: a `meta iiftype ether` dependency, so a non-Ethernet
// device's header is never read as an Ethernet one, then the payload
// compare (and `nft list ruleset` prints it as `ether saddr`).
func guardExprs(realAddr net.HardwareAddr, hold bool) []expr.Any {
	var exprs []expr.Any
	if !hold {
		exprs = append(exprs,
			&expr.Meta{Key: expr.MetaKeyIIFTYPE, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint16(unix.ARPHRD_ETHER)},
			&expr.Payload{
				DestRegister: 1,
				Base:         expr.PayloadBaseLLHeader,
				Offset:       etherSrcOffset,
				Len:          etherAddrLen,
			},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: bytes.Clone(realAddr)},
		)
	}
	return append(exprs, &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})
}

// ruleFromKernel turns one rule read from a guard chain back into a
// GuardRule; ok is false when the rule is not one of ours: no tag, or
// expressions other than exactly what guardExprs builds.
func ruleFromKernel(ifname string, r *nftables.Rule) (Rule, bool) {
	comment, ok := ruleComment(r.UserData)
	if !ok || !strings.HasPrefix(comment, ruleTag+" ") {
		return Rule{}, false
	}
	g := Rule{Interface: ifname}
	exprs := r.Exprs
	switch len(exprs) {
	case 2:
		g.Hold = true
	case 6:
		m, ok := exprs[0].(*expr.Meta)
		if !ok || m.Key != expr.MetaKeyIIFTYPE || m.SourceRegister {
			return Rule{}, false
		}
		typ, ok := exprs[1].(*expr.Cmp)
		if !ok || typ.Op != expr.CmpOpEq || typ.Register != m.Register ||
			!bytes.Equal(typ.Data, binaryutil.NativeEndian.PutUint16(unix.ARPHRD_ETHER)) {
			return Rule{}, false
		}
		p, ok := exprs[2].(*expr.Payload)
		if !ok || p.OperationType != expr.PayloadLoad || p.Base != expr.PayloadBaseLLHeader ||
			p.Offset != etherSrcOffset || p.Len != etherAddrLen {
			return Rule{}, false
		}
		c, ok := exprs[3].(*expr.Cmp)
		if !ok || c.Op != expr.CmpOpEq || c.Register != p.DestRegister || len(c.Data) != etherAddrLen {
			return Rule{}, false
		}
		g.Real = net.HardwareAddr(bytes.Clone(c.Data))
		exprs = exprs[4:]
	default:
		return Rule{}, false
	}
	counter, ok := exprs[0].(*expr.Counter)
	if !ok {
		return Rule{}, false
	}
	if v, ok := exprs[1].(*expr.Verdict); !ok || v.Kind != expr.VerdictDrop {
		return Rule{}, false
	}
	g.Dropped = counter.Packets
	return g, true
}
