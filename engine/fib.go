package engine

import (
	"net/netip"
	"strings"

	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// fib expressions (nft_fib4_eval, nft_fib6_eval and their _type
// variants): a route lookup of the packet's source or destination. The
// replay has no routing table; it models the kernel oracle's namespace,
// where every address is local (`local 0.0.0.0/0 dev lo`, `local ::/0 dev
// lo` in table local), IPv6 multicast routes through the receiving
// interface (`multicast ff00::/8 dev kor0`, added when it comes up), and
// the packet's interface is the only other device. On that namespace:
//
//   - `fib saddr|daddr [. iif] oif` finds no device (0, missing) for a local
//     route (nft_fib: "Should not see RTN_LOCAL here"), so a reverse-path
//     rule `fib saddr . iif oif missing drop` drops every unicast packet
//     in the oracle's namespace too; IPv6 multicast finds the interface;
//     an IPv4 packet from 0.0.0.0 to broadcast or 224.0.0.0/24, and an
//     ICMPv6 packet from :: to a link-local address (nft_fib_v6_skip_icmpv6),
//     are answered with the input interface without a lookup.
//   - `fib daddr type` is broadcast for 255.255.255.255 and 0.0.0.0,
//     multicast for multicast addresses, and local for the rest; with
//     `. iif` the local route's device (lo) is not the input interface, so
//     inet_dev_addr_type and nft_fib6_eval_type say unicast.
//
// The kernel oracle runs (testdata/rules-oracle/fib.nft) check this. mark
// in the lookup key changes nothing (no policy routing). `fib saddr type`
// is refused: the oracle showed a type for :: the model cannot name.

const (
	fibDaddr uint32 = 1 << iota // look up the destination (else the source)
	fibIif                      // the route must leave through the input interface
)

// fibSelectors are the supported fib forms, by selectorName.
func fibSelectors() map[string]selector {
	m := map[string]selector{}
	for _, key := range []struct {
		words string
		arg   uint32
	}{{"saddr", 0}, {"saddr . iif", fibIif}, {"daddr", fibDaddr}, {"daddr . iif", fibDaddr | fibIif}} {
		for _, mark := range []string{"", " . mark"} {
			w := strings.Replace(key.words, "addr", "addr"+mark, 1)
			m["fib "+w+" oif"] = selector{fFibOif, tIfindex, key.arg}
			m["fib "+w+" oifname"] = selector{fFibOifname, tIfname, key.arg}
			if key.arg&fibDaddr != 0 {
				m["fib "+w+" type"] = selector{fFibType, tFibAddrType, key.arg}
			}
		}
	}
	return m
}

// selectorName is the selector's words, fib operands included ("fib saddr
// . iif oif").
func selectorName(sel *ruleset.Selector) string {
	if len(sel.Args) == 0 {
		return strings.Join(sel.Words, " ")
	}
	var b strings.Builder
	b.WriteString(sel.Words[0])
	for i, a := range sel.Args {
		if i > 0 {
			b.WriteString(" .")
		}
		b.WriteString(" " + firstText(a))
	}
	for _, w := range sel.Words[1:] {
		b.WriteString(" " + w)
	}
	return b.String()
}

// fibFound reports whether the lookup finds a device (always the input
// interface, in the model above).
func fibFound(p *packet.Parsed, arg uint32) bool {
	switch p.IPVersion {
	case 4:
		// nft_fib4_eval: from 0.0.0.0 to broadcast or local multicast.
		if p.Src.IsUnspecified() && (p.Dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || p.Dst.IsLinkLocalMulticast()) {
			return true
		}
		return false // every IPv4 route is local
	case 6:
		if p.Proto == packet.ProtoICMPv6 && p.Src.IsUnspecified() && (p.Dst.IsLinkLocalUnicast() || p.Dst.IsLinkLocalMulticast()) {
			return true // nft_fib_v6_skip_icmpv6
		}
		a := p.Src
		if arg&fibDaddr != 0 {
			a = p.Dst
		}
		return a.IsMulticast()
	}
	return false
}

func (cx *evalCtx) loadFib(f field, arg uint32) (u128, bool) {
	p := cx.p
	if p.IPVersion == 0 {
		return u128{}, false
	}
	if f == fFibType {
		d := p.Dst
		switch {
		case d.Is4() && (d.IsUnspecified() || d == netip.AddrFrom4([4]byte{255, 255, 255, 255})):
			return u128{lo: 3}, true // RTN_BROADCAST
		case d.IsMulticast():
			return u128{lo: 5}, true // RTN_MULTICAST
		case arg&fibIif != 0:
			return u128{lo: 1}, true // RTN_UNICAST
		}
		return u128{lo: 2}, true // RTN_LOCAL
	}
	found := fibFound(p, arg)
	switch f {
	case fFibOifPresent:
		if found {
			return u128{lo: 1}, true
		}
		return u128{}, true
	case fFibOifname:
		if found {
			return ifnameBytes(&cx.m.Iifname), true
		}
		return u128{}, true
	}
	if found {
		if cx.m.devices() {
			return u128{lo: uint64(uint32(cx.m.Iif))}, true
		}
		return u128{lo: ReplayIfindex}, true
	}
	return u128{}, true
}
