package engine

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/hare-fw/hare/packet"
)

// Topology places the packets of a replay in a small network: which
// interface each arrives on, and whether the host delivers it locally or
// forwards it out of another interface. Without one, every packet arrives
// on one interface and is delivered locally (the kernel oracle's setup).
//
// The file format (ParseTopology), one declaration per line, # comments:
//
//	ZONE IFNAME PREFIX[,PREFIX...]   networks reached through interface IFNAME
//	ZONE IFNAME default              the default route (0.0.0.0/0 and ::/0)
//	local ADDR[,ADDR...]             the host's own addresses (or prefixes)
//
// for example
//
//	lan eth1 10.0.0.0/8,fd00::/8
//	wan eth0 default
//	local 192.0.2.1,2001:db8::1
//
// ZONE is a label for people. Route decides, as Linux's input routing
// (ip_route_input: the local table before the main one, longest prefix
// first):
//   - a destination among the local addresses, or a multicast or limited
//     broadcast destination, is delivered locally (prerouting, input);
//   - any other destination is forwarded (prerouting, forward,
//     postrouting) out of the interface whose prefix matches it longest;
//     with no matching prefix (no default) there is no route: the packet
//     is dropped after prerouting (Meta.NoRoute);
//   - the input interface is the one whose prefix matches the source
//     longest (where a reverse-path check expects it), else the default
//     interface, else the first one declared.
//
// A packet forwarded out of the interface it came in on is forwarded
// (Linux would too, with an ICMP redirect, which hare does not send).
type Topology struct {
	routes []topoRoute // longest prefix first
	local  []netip.Prefix
	first  string
}

type topoRoute struct {
	prefix netip.Prefix
	ifname [16]byte
}

// ParseTopology reads a topology file (see Topology).
func ParseTopology(r io.Reader) (*Topology, error) {
	t := &Topology{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "local" {
			if len(f) != 2 {
				return nil, fmt.Errorf("line %d: want \"local ADDR[,ADDR...]\"", n)
			}
			ps, err := parsePrefixes(f[1], true)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n, err)
			}
			t.local = append(t.local, ps...)
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want \"ZONE IFNAME PREFIXES|default\" or \"local ADDRS\"", n)
		}
		if err := t.addInterface(f[1], f[2]); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if t.first == "" {
		return nil, fmt.Errorf("no interface declared")
	}
	t.sort()
	return t, nil
}

// InsideTopology is the topology of --inside: a router with no address of
// its own between the inside prefixes (interface lan) and everything else
// (interface wan, the default route).
func InsideTopology(inside string) (*Topology, error) {
	t := &Topology{}
	if err := t.addInterface("lan", inside); err != nil {
		return nil, err
	}
	if err := t.addInterface("wan", "default"); err != nil {
		return nil, err
	}
	t.sort()
	return t, nil
}

func (t *Topology) addInterface(name, prefixes string) error {
	if len(name) > 15 {
		return fmt.Errorf("interface name %q is longer than 15 bytes", name)
	}
	var ps []netip.Prefix
	if prefixes == "default" {
		ps = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	} else {
		var err error
		if ps, err = parsePrefixes(prefixes, false); err != nil {
			return err
		}
	}
	for _, p := range ps {
		t.routes = append(t.routes, topoRoute{p, IfName(name)})
	}
	if t.first == "" {
		t.first = name
	}
	return nil
}

// sort orders the routes longest prefix first (stable: at equal length
// the first declared wins).
func (t *Topology) sort() {
	rs := t.routes
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].prefix.Bits() > rs[j-1].prefix.Bits(); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

func parsePrefixes(s string, addrsOK bool) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, x := range strings.Split(s, ",") {
		if p, err := netip.ParsePrefix(x); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(x); err == nil && addrsOK {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		return nil, fmt.Errorf("%q is not a prefix", x)
	}
	return out, nil
}

// lookup returns the interface of the longest prefix holding a.
func (t *Topology) lookup(a netip.Addr) ([16]byte, bool) {
	for _, r := range t.routes {
		if r.prefix.Contains(a) {
			return r.ifname, true
		}
	}
	return [16]byte{}, false
}

// Route sets m's interfaces and routing decision for p (see Topology).
// It does not allocate.
func (t *Topology) Route(p *packet.Parsed, m *Meta) {
	m.Forward, m.NoRoute, m.Oifname = false, false, [16]byte{}
	if in, ok := t.lookup(p.Src); ok {
		m.Iifname = in
	} else {
		m.Iifname = IfName(t.first)
	}
	if t.isLocal(p.Dst) {
		return
	}
	out, ok := t.lookup(p.Dst)
	if !ok {
		m.NoRoute = true
		return
	}
	m.Forward, m.Oifname = true, out
}

func (t *Topology) isLocal(a netip.Addr) bool {
	if a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, p := range t.local {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
