package control

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/internal/ctfmt"
	"github.com/hare-fw/hare/packet"
)

// Filter selects connections the way conntrack-tools' options do for -L,
// -D and -E (conntrack.c filter_* and libnetfilter_conntrack's
// nfct_filter_dump / CTA_FILTER in Linux ctnetlink_filter_match): every
// criterion given must hold; addresses match a prefix (conntrack 1.4.7
// takes "-s 10.0.0.0/24"), the mark a value under a mask. The zero value
// matches everything. On the wire it travels as URL query parameters
// (Values, ParseFilter), so that it reads well under curl:
//
//	family=ipv4 proto=tcp src=10.0.0.0/24 dst=… reply-src=… reply-dst=…
//	sport=1 dport=22 reply-sport=… reply-dport=… icmp-type=8 icmp-code=0
//	icmp-id=7 state=ESTABLISHED mark=1/0xff zone=3 status=ASSURED,SEEN_REPLY
type Filter struct {
	Family   uint8          // 4 or 6 (-f); 0: both
	Proto    packet.IPProto // -p; meaningful with HasProto
	HasProto bool

	// Src and Dst are the original direction's addresses (-s, -d),
	// ReplySrc and ReplyDst the reply direction's (-r, -q); an invalid
	// prefix matches any address.
	Src, Dst, ReplySrc, ReplyDst netip.Prefix

	// The ports of the original (--sport, --dport) and reply
	// (--reply-port-src, --reply-port-dst) tuples, and the ICMP query's
	// type, code and id (--icmp-type, --icmp-code, --icmp-id); nil: any.
	SPort, DPort, ReplySPort, ReplyDPort *uint16
	ICMPType, ICMPCode                   *uint8
	ICMPID                               *uint16

	State    string           // --state: the TCP or SCTP state name conntrack prints
	Mark     *uint32          // -m VALUE[/MASK]: (mark & MarkMask) == *Mark
	MarkMask uint32           // 0xffffffff when no mask was given
	Zone     *uint16          // -z
	Status   conntrack.Status // -u: every one of these bits
}

// Match reports whether e passes the filter.
func (f *Filter) Match(e *conntrack.Entry) bool {
	o, r := &e.Orig, &e.Reply
	switch {
	case f.Family != 0 && o.Family != f.Family,
		f.HasProto && o.Proto != f.Proto,
		!prefixHas(f.Src, o.SrcAddr()), !prefixHas(f.Dst, o.DstAddr()),
		!prefixHas(f.ReplySrc, r.SrcAddr()), !prefixHas(f.ReplyDst, r.DstAddr()),
		f.State != "" && ctfmt.StateName(e) != f.State,
		f.Mark != nil && e.Mark&f.MarkMask != *f.Mark,
		f.Zone != nil && e.Zone() != *f.Zone,
		!e.Status.Has(f.Status):
		return false
	}
	if hasPorts(o.Proto) {
		if !portIs(f.SPort, o.SrcPort) || !portIs(f.DPort, o.DstPort) ||
			!portIs(f.ReplySPort, r.SrcPort) || !portIs(f.ReplyDPort, r.DstPort) {
			return false
		}
	} else if f.SPort != nil || f.DPort != nil || f.ReplySPort != nil || f.ReplyDPort != nil {
		return false
	}
	if o.Proto == packet.ProtoICMP || o.Proto == packet.ProtoICMPv6 {
		if f.ICMPType != nil && o.ICMPType() != *f.ICMPType ||
			f.ICMPCode != nil && o.ICMPCode() != *f.ICMPCode ||
			!portIs(f.ICMPID, o.SrcPort) {
			return false
		}
	} else if f.ICMPType != nil || f.ICMPCode != nil || f.ICMPID != nil {
		return false
	}
	return true
}

func prefixHas(p netip.Prefix, a netip.Addr) bool { return !p.IsValid() || p.Contains(a) }

func portIs(want *uint16, got uint16) bool { return want == nil || *want == got }

// hasPorts reports whether tuples of proto carry ports (see
// conntrack.Tuple; DCCP is tracked generically, without).
func hasPorts(p packet.IPProto) bool {
	switch p {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP:
		return true
	}
	return false
}

// Values encodes f as query parameters (see Filter).
func (f *Filter) Values() url.Values {
	v := url.Values{}
	if f.Family != 0 {
		v.Set("family", ctfmt.FamilyName(f.Family))
	}
	if f.HasProto {
		v.Set("proto", strconv.Itoa(int(f.Proto)))
	}
	for _, p := range []struct {
		k string
		p netip.Prefix
	}{{"src", f.Src}, {"dst", f.Dst}, {"reply-src", f.ReplySrc}, {"reply-dst", f.ReplyDst}} {
		if p.p.IsValid() {
			v.Set(p.k, p.p.String())
		}
	}
	for _, p := range []struct {
		k string
		p *uint16
	}{{"sport", f.SPort}, {"dport", f.DPort}, {"reply-sport", f.ReplySPort}, {"reply-dport", f.ReplyDPort}, {"icmp-id", f.ICMPID}} {
		if p.p != nil {
			v.Set(p.k, strconv.Itoa(int(*p.p)))
		}
	}
	if f.ICMPType != nil {
		v.Set("icmp-type", strconv.Itoa(int(*f.ICMPType)))
	}
	if f.ICMPCode != nil {
		v.Set("icmp-code", strconv.Itoa(int(*f.ICMPCode)))
	}
	if f.State != "" {
		v.Set("state", f.State)
	}
	if f.Mark != nil {
		v.Set("mark", fmt.Sprintf("%d/%#x", *f.Mark, f.MarkMask))
	}
	if f.Zone != nil {
		v.Set("zone", strconv.Itoa(int(*f.Zone)))
	}
	if f.Status != 0 {
		v.Set("status", strings.Join(ctfmt.StatusNames(f.Status), ","))
	}
	return v
}

// ParseFilter decodes the query parameters of a filter (see Filter).
// Unknown parameters are left to the caller.
func ParseFilter(v url.Values) (Filter, error) {
	var f Filter
	var err error
	if s := v.Get("family"); s != "" {
		if f.Family, err = ParseFamily(s); err != nil {
			return f, err
		}
	}
	if s := v.Get("proto"); s != "" {
		if f.Proto, err = ParseProto(s); err != nil {
			return f, err
		}
		f.HasProto = true
	}
	for _, p := range []struct {
		k string
		p *netip.Prefix
	}{{"src", &f.Src}, {"dst", &f.Dst}, {"reply-src", &f.ReplySrc}, {"reply-dst", &f.ReplyDst}} {
		if s := v.Get(p.k); s != "" {
			if *p.p, err = ParsePrefix(s); err != nil {
				return f, err
			}
			if f.Family == 0 {
				f.Family = familyOf(p.p.Addr())
			} else if familyOf(p.p.Addr()) != f.Family {
				return f, fmt.Errorf("mismatched address family")
			}
		}
	}
	for _, p := range []struct {
		k string
		p **uint16
	}{{"sport", &f.SPort}, {"dport", &f.DPort}, {"reply-sport", &f.ReplySPort}, {"reply-dport", &f.ReplyDPort}, {"icmp-id", &f.ICMPID}} {
		if s := v.Get(p.k); s != "" {
			n, err := parseUint(p.k, s, 16)
			if err != nil {
				return f, err
			}
			x := uint16(n)
			*p.p = &x
		}
	}
	for _, p := range []struct {
		k string
		p **uint8
	}{{"icmp-type", &f.ICMPType}, {"icmp-code", &f.ICMPCode}} {
		if s := v.Get(p.k); s != "" {
			n, err := parseUint(p.k, s, 8)
			if err != nil {
				return f, err
			}
			x := uint8(n)
			*p.p = &x
		}
	}
	f.State = strings.ToUpper(v.Get("state"))
	if f.State != "" && f.HasProto {
		if err := CheckState(f.Proto, f.State); err != nil {
			return f, err
		}
	}
	if s := v.Get("mark"); s != "" {
		m, mask, err := ParseMark(s)
		if err != nil {
			return f, err
		}
		f.Mark, f.MarkMask = &m, mask
	}
	if s := v.Get("zone"); s != "" {
		n, err := parseUint("zone", s, 16)
		if err != nil {
			return f, err
		}
		z := uint16(n)
		f.Zone = &z
	}
	if s := v.Get("status"); s != "" {
		if f.Status, err = ParseStatus(s); err != nil {
			return f, err
		}
	}
	return f, nil
}

// CheckState refuses a state name conntrack's proto extension would not
// know (conntrack-tools extensions/libct_proto_tcp.c, _sctp.c); other protocols
// have no states, and any name matches nothing.
func CheckState(p packet.IPProto, s string) error {
	var names []string
	what := "TCP"
	switch p {
	case packet.ProtoTCP:
		names = []string{"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "LISTEN", "SYN_SENT2"}
	case packet.ProtoSCTP:
		what = "SCTP"
		names = []string{"NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "SHUTDOWN_SENT", "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT"}
	default:
		return nil
	}
	for _, n := range names {
		if strings.EqualFold(n, s) {
			return nil
		}
	}
	return ctErrorf("unknown %s state `%s'", what, s)
}

// ParseFamily parses "ipv4" or "ipv6" (conntrack -f).
func ParseFamily(s string) (uint8, error) {
	switch s {
	case "ipv4":
		return 4, nil
	case "ipv6":
		return 6, nil
	}
	return 0, fmt.Errorf("`%s' unsupported protocol", s)
}

// ParseProto parses a layer-4 protocol as conntrack -p does: a name of a
// protocol the kernel tracks, or a number.
func ParseProto(s string) (packet.IPProto, error) {
	for p := 0; p < 256; p++ {
		if n := ctfmt.ProtoName(packet.IPProto(p)); n != "unknown" && n == strings.ToLower(s) {
			return packet.IPProto(p), nil
		}
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("`%s' unsupported protocol", s)
	}
	return packet.IPProto(n), nil
}

// ParsePrefix parses an address or an address/prefix length.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("invalid IP address `%s'", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid IP address `%s'", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseMark parses VALUE[/MASK] (conntrack -m), numbers in C notation.
func ParseMark(s string) (mark, mask uint32, err error) {
	val, msk, hasMask := strings.Cut(s, "/")
	m, err := strconv.ParseUint(val, 0, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid mark `%s'", s)
	}
	mask = 0xffffffff
	if hasMask {
		k, err := strconv.ParseUint(msk, 0, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("invalid mark `%s'", s)
		}
		mask = uint32(k)
	}
	return uint32(m) & mask, mask, nil
}

// ParseStatus parses a comma-separated list of status bit names
// (conntrack -u: ASSURED, SEEN_REPLY, ...).
func ParseStatus(s string) (conntrack.Status, error) {
	var st conntrack.Status
	for _, w := range strings.Split(s, ",") {
		found := false
		for i := 0; i < 16; i++ {
			if b := conntrack.Status(1) << i; b.String() == strings.ToUpper(w) {
				st |= b
				found = true
			}
		}
		if !found {
			return 0, ctErrorf("Bad parameter `%s'", w)
		}
	}
	return st, nil
}

func parseUint(what, s string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(s, 0, bits)
	if err != nil {
		return 0, fmt.Errorf("invalid %s `%s'", what, s)
	}
	return n, nil
}

func familyOf(a netip.Addr) uint8 {
	if a.Is4() {
		return 4
	}
	return 6
}

// ctErrorf makes an error whose text is conntrack-tools' own message,
// verbatim (capitals included), so scripts matching it keep working.
func ctErrorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
