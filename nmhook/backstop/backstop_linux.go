// SPDX-License-Identifier: GPL-3.0-or-later

package backstop

import (
	"fmt"
	"net"
	"sync"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
)

// NFT implements Backstop with nftables: table `netdev mac_nmguard`
// holds one base chain per guarded device,
//
//	type filter hook egress device IFNAME priority 0
//
// with one rule, `ether saddr REAL counter drop` (Guard) or `counter drop`
// (Hold), commented "mac-nmguard guard|hold dev=IFNAME". The chain is named
// after the interface (see chainName), so a restarted service adopts what
// it finds.
//
// Egress hooks need Linux >= 5.16 and google/nftables >= v0.2
// (ChainHookEgress = NF_NETDEV_EGRESS, 1 in linux/netfilter.h).
//
// Device removal (observed on Linux 6.18 with nft 1.0.6, and what kernels
// since 6.16 do): the chain and its rule stay when the device goes; the hook
// is re-attached when a device of that name appears again, with the old
// rule. A chain can also be created for a device that does not exist yet.
// Older kernels delete a netdev base chain whose device is unregistered and
// refuse to create one for a missing device. Either way List never fails
// because a device is gone (it reports the rule while the chain exists) and
// Guard re-creates the chain when it is missing; the gate must call Guard
// again for a re-created device, because its real address may differ.
//
// Limits (see DESIGN.md): on Wi-Fi, management frames built by mac80211 do
// not pass the egress hook; AF_PACKET senders with PACKET_QDISC_BYPASS skip
// it too.
type NFT struct {
	mu sync.Mutex // serialises check-then-write sequences
	ns netns.NsHandle
	// sameNS: ns is the process's namespace, so no setns is needed (see
	// inProcessNetNS).
	sameNS bool
}

var _ Backstop = (*NFT)(nil)

// New opens nftables in the current network namespace (taken from
// the calling thread now; later calls from any thread go there). Call Close
// when done; the rules stay in the kernel.
func New() (*NFT, error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("open current network namespace: %w", err)
	}
	b := &NFT{ns: ns, sameNS: links.InProcessNetNS(ns)}
	if _, err := b.open(); err != nil {
		ns.Close()
		return nil, err
	}
	return b, nil
}

// open returns a fresh nftables connection for one operation: a Conn
// buffers one batch and keeps a serialisation error for good, so none is
// shared between operations. It dials netlink in b's namespace per request.
func (b *NFT) open() (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if !b.sameNS {
		opts = append(opts, nftables.WithNetNSFd(int(b.ns)))
	}
	conn, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	return conn, nil
}

// Close releases the namespace reference. It leaves the rules in place.
func (b *NFT) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.ns.Close(); err != nil {
		return fmt.Errorf("close network namespace handle: %w", err)
	}
	return nil
}

// Guard installs or replaces the rule that drops every frame leaving ifname
// with source address realAddr. An unknown (all-zero) real address is
// refused: the caller must Hold the device instead.
func (b *NFT) Guard(ifname string, realAddr net.HardwareAddr) error {
	if err := validIfName(ifname); err != nil {
		return fmt.Errorf("guard: %w", err)
	}
	if len(realAddr) != etherAddrLen {
		return fmt.Errorf("guard %q: real address %q is not an Ethernet address", ifname, realAddr.String())
	}
	if gate.IsZero(realAddr) {
		return fmt.Errorf("guard %q: real address is unknown (all zero); hold the device instead", ifname)
	}
	return b.install(ifname, realAddr, false)
}

// Hold installs or replaces a rule that drops every frame leaving ifname.
func (b *NFT) Hold(ifname string) error {
	if err := validIfName(ifname); err != nil {
		return fmt.Errorf("hold: %w", err)
	}
	return b.install(ifname, nil, true)
}

// install writes, in one nftables transaction, the table and chain when
// missing, a flush of the chain and the new rule: there is no moment when
// the device runs unguarded or with two rules.
func (b *NFT) install(ifname string, realAddr net.HardwareAddr, hold bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	mode := "guard"
	if hold {
		mode = "hold"
	}
	conn, err := b.open()
	if err != nil {
		return fmt.Errorf("%s %q: %w", mode, ifname, err)
	}
	exists, err := chainExists(conn, chainName(ifname))
	if err != nil {
		return fmt.Errorf("%s %q: %w", mode, ifname, err)
	}
	t := backstopTable()
	c := &nftables.Chain{Name: chainName(ifname), Table: t}
	if !exists {
		conn.AddTable(t)
		c = conn.AddChain(&nftables.Chain{
			Name:     chainName(ifname),
			Table:    t,
			Type:     nftables.ChainTypeFilter,
			Hooknum:  nftables.ChainHookEgress,
			Priority: nftables.ChainPriorityFilter,
			Device:   ifname,
		})
	}
	conn.FlushChain(c)
	conn.AddRule(&nftables.Rule{
		Table:    t,
		Chain:    c,
		Exprs:    guardExprs(realAddr, hold),
		UserData: ruleUserData(ifname, hold),
	})
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("%s %q: %w", mode, ifname, err)
	}
	return nil
}

// Unguard removes the chain (and so the rule) of ifname; nothing to remove
// is not an error.
func (b *NFT) Unguard(ifname string) error {
	if err := validIfName(ifname); err != nil {
		return fmt.Errorf("unguard: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	conn, err := b.open()
	if err != nil {
		return fmt.Errorf("unguard %q: %w", ifname, err)
	}
	exists, err := chainExists(conn, chainName(ifname))
	if err != nil {
		return fmt.Errorf("unguard %q: %w", ifname, err)
	}
	if !exists {
		return nil
	}
	c := &nftables.Chain{Name: chainName(ifname), Table: backstopTable()}
	conn.FlushChain(c)
	conn.DelChain(c)
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("unguard %q: %w", ifname, err)
	}
	return nil
}

// List returns the rules of the backstop table with their counters: every
// chain named after an interface that holds one of our rules, whether or not
// the device exists at the moment. Foreign chains or rules in the table are
// left out.
func (b *NFT) List() ([]Rule, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	conn, err := b.open()
	if err != nil {
		return nil, fmt.Errorf("list guards: %w", err)
	}
	chains, err := ourChains(conn)
	if err != nil {
		return nil, fmt.Errorf("list guards: %w", err)
	}
	var out []Rule
	for _, c := range chains {
		ifname, ok := ifNameFromChain(c.Name)
		if !ok {
			continue
		}
		rules, err := conn.GetRules(c.Table, c)
		if err != nil {
			// The chain may have gone between the two dumps (Unguard by
			// another process, device removal on older kernels).
			if exists, lerr := chainExists(conn, c.Name); lerr == nil && !exists {
				continue
			}
			return nil, fmt.Errorf("list guards: rules of %q: %w", ifname, err)
		}
		for _, r := range rules {
			if g, ok := ruleFromKernel(ifname, r); ok {
				out = append(out, g)
			}
		}
	}
	return out, nil
}

// RemoveAll deletes the backstop's table with every chain and rule in it;
// no table is not an error.
func (b *NFT) RemoveAll() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	conn, err := b.open()
	if err != nil {
		return fmt.Errorf("remove backstop: %w", err)
	}
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyNetdev)
	if err != nil {
		return fmt.Errorf("remove backstop: list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == backstopTableName {
			conn.DelTable(backstopTable())
			if err := conn.Flush(); err != nil {
				return fmt.Errorf("remove backstop: %w", err)
			}
			return nil
		}
	}
	return nil
}

// ourChains returns the chains of the backstop table (none when the table
// does not exist).
func ourChains(conn *nftables.Conn) ([]*nftables.Chain, error) {
	all, err := conn.ListChainsOfTableFamily(nftables.TableFamilyNetdev)
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	var out []*nftables.Chain
	for _, c := range all {
		if c.Table != nil && c.Table.Name == backstopTableName {
			out = append(out, c)
		}
	}
	return out, nil
}

func chainExists(conn *nftables.Conn, name string) (bool, error) {
	chains, err := ourChains(conn)
	if err != nil {
		return false, err
	}
	for _, c := range chains {
		if c.Name == name {
			return true, nil
		}
	}
	return false, nil
}
