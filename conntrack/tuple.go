package conntrack

import (
	"net/netip"

	"github.com/hare-fw/hare/packet"
)

// Tuple identifies one direction of a connection, as struct
// nf_conntrack_tuple does in Linux: layer-3 family, addresses, layer-4
// protocol, the protocol's identifiers and the conntrack zone.
//
// It is a small comparable value (40 bytes, no pointers), so it hashes
// cheaply and can be a map key. IPv4 addresses sit in the first 4 bytes of
// Src and Dst, the rest zero. The zero Tuple is invalid (Family 0).
//
// What the two port fields hold depends on Proto, as in Linux:
//   - TCP, UDP, UDP-Lite, SCTP: the ports. (DCCP is generic, as in Linux
//     6.16 and later, which removed its DCCP tracker: no ports.)
//   - ICMP, ICMPv6: SrcPort is the query identifier, DstPort is
//     type<<8 | code (Linux keeps them in src.u.icmp.id and dst.u.icmp.type/code).
//   - GRE version 1 (PPTP): the call IDs (src.u.gre.key, dst.u.gre.key).
//   - anything else: zero (nf_conntrack_proto_generic).
type Tuple struct {
	Src, Dst         [16]byte
	SrcPort, DstPort uint16
	Proto            packet.IPProto
	Family           uint8 // 4 or 6
	Zone             uint16
}

// SrcAddr returns the source address.
func (t Tuple) SrcAddr() netip.Addr { return t.addr(&t.Src) }

// DstAddr returns the destination address.
func (t Tuple) DstAddr() netip.Addr { return t.addr(&t.Dst) }

func (t *Tuple) addr(a *[16]byte) netip.Addr {
	if t.Family == 4 {
		return netip.AddrFrom4([4]byte(a[:4]))
	}
	return netip.AddrFrom16(*a)
}

// IsValid reports whether t is a tuple (not the zero value).
func (t Tuple) IsValid() bool { return t.Family != 0 }

// ICMPType and ICMPCode return the ICMP type and code of an ICMP tuple.
func (t Tuple) ICMPType() uint8 { return uint8(t.DstPort >> 8) }

// ICMPCode returns the ICMP code of an ICMP tuple.
func (t Tuple) ICMPCode() uint8 { return uint8(t.DstPort) }

// TupleFrom builds a tuple with the given addresses and identifiers; the
// family follows the addresses (an IPv4-mapped IPv6 address stays IPv6).
func TupleFrom(src, dst netip.Addr, proto packet.IPProto, sport, dport uint16) Tuple {
	t := Tuple{Proto: proto, SrcPort: sport, DstPort: dport, Family: 6}
	if src.Is4() {
		t.Family = 4
		s, d := src.As4(), dst.As4()
		copy(t.Src[:], s[:])
		copy(t.Dst[:], d[:])
	} else {
		t.Src, t.Dst = src.As16(), dst.As16()
	}
	return t
}

// fromPacket fills t with the tuple of a decoded packet (Linux
// nf_ct_get_tuple and the protocols' pkt_to_tuple). ok is false when the
// packet has no trackable layer-4 header: conntrack then calls it invalid
// (requirements IV-03).
func (t *Tuple) fromPacket(p *packet.Parsed, zone uint16) bool {
	*t = Tuple{Proto: p.Proto, Family: p.IPVersion, Zone: zone}
	switch p.IPVersion {
	case 4:
		s, d := p.Src.As4(), p.Dst.As4()
		copy(t.Src[:], s[:])
		copy(t.Dst[:], d[:])
	case 6:
		t.Src, t.Dst = p.Src.As16(), p.Dst.As16()
	default:
		return false
	}
	if p.Frag.Kind == packet.FragLater || p.Proto == packet.ProtoNoNext {
		return false // Linux ipv6_get_l4proto / nf_ct_get_tuple: no layer 4
	}
	switch p.Proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP:
		if !p.HasTransport() {
			return false
		}
		t.SrcPort, t.DstPort = p.SrcPort, p.DstPort
	case packet.ProtoICMP, packet.ProtoICMPv6:
		if !p.HasTransport() {
			return false
		}
		t.SrcPort = p.ICMP.ID
		t.DstPort = uint16(p.ICMP.Type)<<8 | uint16(p.ICMP.Code)
	case packet.ProtoGRE:
		// nf_conntrack_proto_gre.c gre_pkt_to_tuple: only PPTP's version
		// 1 is keyed (the destination's call ID; the source key comes
		// from the PPTP helper's keymap, absent here); version 0 is
		// tracked like the generic protocol.
		if p.HasTransport() && p.GRE.Version == 1 {
			t.DstPort = p.GRE.CallID
		}
	}
	return true
}

// quoteTuple fills t with the tuple of the packet an ICMP error quotes.
func (t *Tuple) fromQuote(q *packet.Quote, zone uint16) bool {
	*t = Tuple{Proto: q.Proto, Family: q.IPVersion, Zone: zone}
	switch q.IPVersion {
	case 4:
		s, d := q.Src.As4(), q.Dst.As4()
		copy(t.Src[:], s[:])
		copy(t.Dst[:], d[:])
	case 6:
		t.Src, t.Dst = q.Src.As16(), q.Dst.As16()
	default:
		return false
	}
	if q.Frag.Kind == packet.FragLater {
		return false
	}
	switch q.Proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP:
		if !q.HasL4 {
			return false
		}
		t.SrcPort, t.DstPort = q.SrcPort, q.DstPort
	case packet.ProtoICMP, packet.ProtoICMPv6:
		if !q.HasL4 {
			return false
		}
		t.SrcPort = q.ICMPID
		t.DstPort = uint16(q.ICMPType)<<8 | uint16(q.ICMPCode)
	}
	return true
}

// invert returns the tuple of the other direction (Linux
// nf_ct_invert_tuple). ok is false for ICMP types that have no reply
// (Linux: "Can't invert tuple", requirements K-16).
func (t Tuple) invert() (Tuple, bool) {
	r := t
	r.Src, r.Dst = t.Dst, t.Src
	switch t.Proto {
	case packet.ProtoICMP, packet.ProtoICMPv6:
		rt, ok := icmpReplyType(t.Proto, t.ICMPType())
		if !ok {
			return Tuple{}, false
		}
		r.DstPort = uint16(rt)<<8 | uint16(t.ICMPCode())
	default:
		r.SrcPort, r.DstPort = t.DstPort, t.SrcPort
	}
	return r, true
}

// Reply returns the tuple of the other direction, and false when the
// protocol has no reply direction for t (an ICMP type without a reply).
func (t Tuple) Reply() (Tuple, bool) { return t.invert() }

// icmpReplyType is Linux's invmap of nf_conntrack_proto_icmp.c and
// nf_conntrack_proto_icmpv6.c: queries and their replies map to each other.
func icmpReplyType(proto packet.IPProto, typ uint8) (uint8, bool) {
	if proto == packet.ProtoICMP {
		switch typ {
		case 8:
			return 0, true // echo
		case 0:
			return 8, true
		case 13:
			return 14, true // timestamp
		case 14:
			return 13, true
		case 15:
			return 16, true // information
		case 16:
			return 15, true
		case 17:
			return 18, true // address mask
		case 18:
			return 17, true
		}
		return 0, false
	}
	switch typ {
	case 128:
		return 129, true // echo
	case 129:
		return 128, true
	case 139:
		return 140, true // node information
	case 140:
		return 139, true
	}
	return 0, false
}
