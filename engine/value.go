package engine

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/hare-fw/hare/ruleset"
)

// u128 is a value loaded from a packet: an address (IPv4 in lo, IPv6 in
// both halves), an interface name (its 16 bytes, IFNAMSIZ), or a number in
// lo. One representation lets every match be an interval lookup.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

// interval is [lo, hi], both included.
type interval struct{ lo, hi u128 }

// ivset is a sorted list of disjoint intervals; has is a binary search
// (logarithmic in the number of elements, for values, ranges and prefixes
// alike).
type ivset []interval

func (s ivset) has(v u128) bool {
	// The first interval whose hi >= v (a hand-written sort.Search: no
	// closure on the packet path).
	i, j := 0, len(s)
	for i < j {
		h := int(uint(i+j) >> 1)
		if s[h].hi.less(v) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i < len(s) && !v.less(s[i].lo)
}

// normalise sorts the intervals and merges overlapping or adjacent ones.
func (s ivset) normalise() ivset {
	sort.Slice(s, func(i, j int) bool { return s[i].lo.less(s[j].lo) })
	out := s[:0]
	for _, iv := range s {
		if n := len(out); n > 0 && !out[n-1].hi.less(iv.lo) {
			if out[n-1].hi.less(iv.hi) {
				out[n-1].hi = iv.hi
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// vtype is the data type of a selector: it decides how a literal is read.
type vtype uint8

const (
	tNone vtype = iota
	tAddr4
	tAddr6
	tProto
	tPort
	tU8
	tU32
	tTCPFlags
	tIfname
	tICMPType
	tICMPv6Type
	tCtState
	tCtStatus
	tNfproto
)

// isBitmask reports whether t is a flag type, where `sel a,b` means "any of
// these bits" as in nft.
func (t vtype) isBitmask() bool { return t == tTCPFlags || t == tCtState || t == tCtStatus }

func (t vtype) max() uint64 {
	switch t {
	case tPort:
		return 0xffff
	case tProto, tU8, tTCPFlags, tICMPType, tICMPv6Type, tNfproto:
		return 0xff
	}
	return 0xffffffff
}

// Symbol tables. Numbers are the protocol constants (IANA registries, Linux
// uapi); the names are the ones nft accepts. A name missing here is a
// compile error naming it, never a guess.
var (
	protoNames = map[string]uint64{
		"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "dccp": 33, "ipv6": 41, "gre": 47, "esp": 50, "ah": 51,
		"icmpv6": 58, "ipv6-icmp": 58, "sctp": 132, "udplite": 136, "ipip": 94, "ospf": 89, "vrrp": 112,
	}
	serviceNames = map[string]uint64{
		"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "bootps": 67,
		"bootpc": 68, "tftp": 69, "http": 80, "www": 80, "pop3": 110, "ntp": 123, "imap": 143,
		"snmp": 161, "https": 443, "isakmp": 500, "submission": 587, "imaps": 993, "pop3s": 995,
		"ipsec-nat-t": 4500, "mdns": 5353, "dhcpv6-client": 546, "dhcpv6-server": 547,
	}
	icmpNames = map[string]uint64{
		"echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5,
		"echo-request": 8, "router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11,
		"parameter-problem": 12, "timestamp-request": 13, "timestamp-reply": 14, "info-request": 15,
		"info-reply": 16, "address-mask-request": 17, "address-mask-reply": 18,
	}
	icmpv6Names = map[string]uint64{
		"destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3, "parameter-problem": 4,
		"echo-request": 128, "echo-reply": 129, "mld-listener-query": 130, "mld-listener-report": 131,
		"mld-listener-done": 132, "mld-listener-reduction": 132, "nd-router-solicit": 133,
		"nd-router-advert": 134, "nd-neighbor-solicit": 135, "nd-neighbor-advert": 136,
		"nd-redirect": 137, "router-renumbering": 138, "ind-neighbor-solicit": 141,
		"ind-neighbor-advert": 142, "mld2-listener-report": 143,
	}
	tcpFlagNames = map[string]uint64{
		"fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20, "ecn": 0x40, "cwr": 0x80,
	}
	// ct state bits: NF_CT_STATE_BIT(ctinfo), plus invalid and untracked.
	ctStateNames = map[string]uint64{"invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64}
	// ct status bits: enum ip_conntrack_status.
	ctStatusNames = map[string]uint64{
		"expected": 1 << 0, "seen-reply": 1 << 1, "assured": 1 << 2, "confirmed": 1 << 3,
		"snat": 1 << 4, "dnat": 1 << 5, "dying": 1 << 9,
	}
	nfprotoNames = map[string]uint64{"ipv4": 2, "ipv6": 10}
)

// valueError is a literal that does not fit its selector.
func valueError(pos ruleset.Pos, format string, args ...any) error {
	return &Error{Pos: pos, Msg: sprintf(format, args...)}
}

// scalar reads one literal of type t.
func scalar(v *ruleset.Value, t vtype) (u128, error) {
	s := v.Text
	switch t {
	case tAddr4, tAddr6:
		a, err := netip.ParseAddr(s)
		if err != nil || a.Is4() != (t == tAddr4) {
			return u128{}, valueError(v.Pos, "%q is not an %s address", s, map[bool]string{true: "IPv4", false: "IPv6"}[t == tAddr4])
		}
		return addrValue(a), nil
	case tIfname:
		if len(s) > 15 {
			return u128{}, valueError(v.Pos, "interface name %q is longer than 15 bytes", s)
		}
		return ifnameValue(s), nil
	}
	var names map[string]uint64
	switch t {
	case tProto:
		names = protoNames
	case tPort:
		names = serviceNames
	case tICMPType:
		names = icmpNames
	case tICMPv6Type:
		names = icmpv6Names
	case tTCPFlags:
		names = tcpFlagNames
	case tCtState:
		names = ctStateNames
	case tCtStatus:
		names = ctStatusNames
	case tNfproto:
		names = nfprotoNames
	}
	if n, ok := names[s]; ok && !v.Quoted {
		return u128{lo: n}, nil
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil || n > t.max() {
		return u128{}, valueError(v.Pos, "unsupported value %q here", s)
	}
	return u128{lo: n}, nil
}

func addrValue(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var v u128
	for i := 0; i < 8; i++ {
		v.hi = v.hi<<8 | uint64(b[i])
		v.lo = v.lo<<8 | uint64(b[8+i])
	}
	return v
}

// ifnameValue packs a name into 16 bytes, NUL padded, as the kernel stores
// it (IFNAMSIZ).
func ifnameValue(s string) u128 {
	var b [16]byte
	copy(b[:], s)
	var v u128
	for i := 0; i < 8; i++ {
		v.hi = v.hi<<8 | uint64(b[i])
		v.lo = v.lo<<8 | uint64(b[8+i])
	}
	return v
}

// elems turns the right-hand side of a match into intervals.
func elems(x ruleset.Expr, t vtype, out ivset) (ivset, error) {
	switch x := x.(type) {
	case *ruleset.Value:
		if t == tIfname && strings.HasSuffix(x.Text, "*") {
			lo := ifnameValue(strings.TrimSuffix(x.Text, "*"))
			n := len(x.Text) - 1
			hi := lo
			// Every byte after the prefix may be anything.
			for i := n; i < 16; i++ {
				if i < 8 {
					hi.hi |= 0xff << (8 * (7 - i))
				} else {
					hi.lo |= 0xff << (8 * (15 - i))
				}
			}
			return append(out, interval{lo, hi}), nil
		}
		if (t == tAddr4 || t == tAddr6) && strings.Contains(x.Text, "/") {
			p, err := netip.ParsePrefix(x.Text)
			if err != nil {
				return nil, valueError(x.Pos, "bad prefix %q", x.Text)
			}
			return prefixInterval(p, t, x.Pos, out)
		}
		v, err := scalar(x, t)
		if err != nil {
			return nil, err
		}
		return append(out, interval{v, v}), nil
	case *ruleset.Prefix:
		v, ok := x.X.(*ruleset.Value)
		if !ok || (t != tAddr4 && t != tAddr6) {
			return nil, valueError(x.Pos, "unsupported prefix")
		}
		a, err := netip.ParseAddr(v.Text)
		if err != nil {
			return nil, valueError(x.Pos, "bad prefix address %q", v.Text)
		}
		p, err := a.Prefix(x.Len)
		if err != nil {
			return nil, valueError(x.Pos, "bad prefix length %d", x.Len)
		}
		return prefixInterval(p, t, x.Pos, out)
	case *ruleset.Range:
		lo, ok1 := x.Lo.(*ruleset.Value)
		hi, ok2 := x.Hi.(*ruleset.Value)
		if !ok1 || !ok2 {
			return nil, valueError(x.Pos, "unsupported range")
		}
		a, err := scalar(lo, t)
		if err != nil {
			return nil, err
		}
		b, err := scalar(hi, t)
		if err != nil {
			return nil, err
		}
		if b.less(a) {
			return nil, valueError(x.Pos, "range is empty")
		}
		return append(out, interval{a, b}), nil
	case *ruleset.SetExpr:
		for _, e := range x.Elems {
			var err error
			if out, err = elems(e, t, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *ruleset.Elem:
		if len(x.Stmts) > 0 || x.Timeout != "" {
			return nil, valueError(x.Pos, "unsupported: set element with timeout or statements")
		}
		return elems(x.X, t, out)
	}
	return nil, valueError(x.Position(), "unsupported: %s", exprKind(x))
}

func prefixInterval(p netip.Prefix, t vtype, pos ruleset.Pos, out ivset) (ivset, error) {
	if p.Addr().Is4() != (t == tAddr4) {
		return nil, valueError(pos, "address family of %s does not match", p)
	}
	p = p.Masked()
	lo := addrValue(p.Addr())
	hi := lo
	host := 32 - p.Bits()
	if t == tAddr6 {
		host = 128 - p.Bits()
	}
	switch {
	case host >= 64:
		hi.lo = ^uint64(0)
		hi.hi |= ones(host - 64)
	default:
		hi.lo |= ones(host)
	}
	return append(out, interval{lo, hi}), nil
}

func ones(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// bits reads a flag value: a name, a number, a comma list or a | b.
func bits(x ruleset.Expr, t vtype) (uint64, error) {
	switch x := x.(type) {
	case *ruleset.Value:
		v, err := scalar(x, t)
		return v.lo, err
	case *ruleset.List:
		var m uint64
		for _, e := range x.Xs {
			b, err := bits(e, t)
			if err != nil {
				return 0, err
			}
			m |= b
		}
		return m, nil
	case *ruleset.Binop:
		if x.Op != "|" {
			break
		}
		a, err := bits(x.X, t)
		if err != nil {
			return 0, err
		}
		b, err := bits(x.Y, t)
		return a | b, err
	}
	return 0, valueError(x.Position(), "unsupported: %s as a flag value", exprKind(x))
}

func exprKind(x ruleset.Expr) string {
	switch x := x.(type) {
	case *ruleset.SetRef:
		return "named set @" + x.Name
	case *ruleset.Concat:
		return "concatenation"
	case *ruleset.MapLookup:
		return "map lookup"
	case *ruleset.Binop:
		return "operator " + x.Op
	case *ruleset.Selector:
		return "selector " + strings.Join(x.Words, " ")
	case *ruleset.List:
		return "list"
	case *ruleset.Wildcard:
		return "wildcard"
	}
	return sprintf("%T", x)
}
