package packettest

import (
	"encoding/binary"
	"net/netip"
)

// ICMPv4 types (RFC 792).
const (
	ICMPTypeEchoReply    = 0
	ICMPTypeDestUnreach  = 3
	ICMPTypeEcho         = 8
	ICMPTypeTimeExceeded = 11
	ICMPTypeParamProblem = 12
)

// ICMPv6 types (RFC 4443, RFC 4861).
const (
	ICMPv6TypeDestUnreach     = 1
	ICMPv6TypePacketTooBig    = 2
	ICMPv6TypeTimeExceeded    = 3
	ICMPv6TypeParamProblem    = 4
	ICMPv6TypeEchoRequest     = 128
	ICMPv6TypeEchoReply       = 129
	ICMPv6TypeNeighborSolicit = 135
	ICMPv6TypeNeighborAdvert  = 136
)

// ICMPv6 error messages must fit the IPv6 minimum MTU (RFC 4443 §2.4 (c)):
// 1280 bytes less the IPv6 header and the 8-byte ICMPv6 header.
const maxICMPv6Quote = 1280 - 40 - 8

// Head returns a copy of the first n bytes of b (all of b if it is
// shorter): what an ICMP error quotes.
func Head(b []byte, n int) []byte { return append([]byte(nil), b[:min(n, len(b))]...) }

// ICMPv4 returns an ICMP message (RFC 792): type, code, the four bytes after
// the checksum (rest: identifier and sequence number, unused, pointer or
// next-hop MTU) and body, with the checksum computed.
func ICMPv4(typ, code uint8, rest uint32, body []byte) []byte {
	b := []byte{typ, code, 0, 0}
	b = binary.BigEndian.AppendUint32(b, rest)
	b = append(b, body...)
	put16(b[2:], checksum(b, 0))
	return b
}

// ICMPv4Echo returns an Echo (request) or Echo Reply message.
func ICMPv4Echo(request bool, id, seq uint16, data []byte) []byte {
	typ := uint8(ICMPTypeEchoReply)
	if request {
		typ = ICMPTypeEcho
	}
	return ICMPv4(typ, 0, uint32(id)<<16|uint32(seq), data)
}

// ICMPv4Error returns an error message of type typ and code quoting the
// invoking datagram. It quotes the IP header and the first 8 bytes of its
// payload, which is what RFC 792 requires and every tracker can count on;
// pass Head(invoking, n) as invoking and use ICMPv4 for longer quotes.
func ICMPv4Error(typ, code uint8, rest uint32, invoking []byte) []byte {
	ihl := 20
	if len(invoking) > 0 {
		ihl = int(invoking[0]&0x0f) * 4
	}
	return ICMPv4(typ, code, rest, Head(invoking, ihl+8))
}

// ICMPv6 returns an ICMPv6 message (RFC 4443 §2.1) from src to dst: type,
// code, then body (everything after the checksum), with the checksum over
// the IPv6 pseudo-header computed.
func ICMPv6(src, dst netip.Addr, typ, code uint8, body []byte) []byte {
	b := append([]byte{typ, code, 0, 0}, body...)
	put16(b[2:], TransportChecksum(src, dst, ProtoICMPv6, b))
	return b
}

// ICMPv6Echo returns an Echo Request or Echo Reply (RFC 4443 §4).
func ICMPv6Echo(src, dst netip.Addr, request bool, id, seq uint16, data []byte) []byte {
	typ := uint8(ICMPv6TypeEchoReply)
	if request {
		typ = ICMPv6TypeEchoRequest
	}
	body := binary.BigEndian.AppendUint16(nil, id)
	body = binary.BigEndian.AppendUint16(body, seq)
	return ICMPv6(src, dst, typ, 0, append(body, data...))
}

// ICMPv6Error returns an error message (types 1-4) with the 4-byte field
// rest (unused, MTU or pointer), quoting as much of invoking as fits in the
// minimum MTU (RFC 4443 §2.4 (c)).
func ICMPv6Error(src, dst netip.Addr, typ, code uint8, rest uint32, invoking []byte) []byte {
	body := binary.BigEndian.AppendUint32(nil, rest)
	return ICMPv6(src, dst, typ, code, append(body, Head(invoking, maxICMPv6Quote)...))
}

// ICMPv6PacketTooBig returns a Packet Too Big message (RFC 4443 §3.2).
func ICMPv6PacketTooBig(src, dst netip.Addr, mtu uint32, invoking []byte) []byte {
	return ICMPv6Error(src, dst, ICMPv6TypePacketTooBig, 0, mtu, invoking)
}

// ICMPv6DestUnreach returns a Destination Unreachable message (RFC 4443
// §3.1); code 4 is port unreachable.
func ICMPv6DestUnreach(src, dst netip.Addr, code uint8, invoking []byte) []byte {
	return ICMPv6Error(src, dst, ICMPv6TypeDestUnreach, code, 0, invoking)
}

// NeighborSolicitation returns a Neighbor Solicitation (RFC 4861 §4.3) for
// target with a Source Link-Layer Address option unless lla is nil (as in
// duplicate address detection from the unspecified address).
func NeighborSolicitation(src, dst, target netip.Addr, lla []byte) []byte {
	body := []byte{0, 0, 0, 0} // reserved
	body = append(body, as16(target)...)
	if lla != nil {
		body = append(body, ndOption(1, lla)...)
	}
	return ICMPv6(src, dst, ICMPv6TypeNeighborSolicit, 0, body)
}

// Neighbor Advertisement flags (RFC 4861 §4.4).
const (
	NARouter    = 0x80
	NASolicited = 0x40
	NAOverride  = 0x20
)

// NeighborAdvertisement returns a Neighbor Advertisement (RFC 4861 §4.4)
// with flags (NARouter, NASolicited, NAOverride) and a Target Link-Layer
// Address option unless lla is nil.
func NeighborAdvertisement(src, dst, target netip.Addr, flags uint8, lla []byte) []byte {
	body := []byte{flags, 0, 0, 0}
	body = append(body, as16(target)...)
	if lla != nil {
		body = append(body, ndOption(2, lla)...)
	}
	return ICMPv6(src, dst, ICMPv6TypeNeighborAdvert, 0, body)
}

// ndOption returns an ND option (RFC 4861 §4.6) padded to 8 bytes.
func ndOption(typ uint8, v []byte) []byte {
	n := (2 + len(v) + 7) / 8
	b := make([]byte, 8*n)
	b[0], b[1] = typ, byte(n)
	copy(b[2:], v)
	return b
}

// SolicitedNode returns the solicited-node multicast address of a (RFC 4291
// §2.7.1): ff02::1:ff00:0/104 with the low 24 bits of a.
func SolicitedNode(a netip.Addr) netip.Addr {
	s := a.As16()
	m := [16]byte{0: 0xff, 1: 0x02, 11: 0x01, 12: 0xff, 13: s[13], 14: s[14], 15: s[15]}
	return netip.AddrFrom16(m)
}

// MulticastMAC returns the Ethernet address of IPv6 multicast group a (RFC
// 2464 §7): 33:33 and the low 32 bits.
func MulticastMAC(a netip.Addr) [6]byte {
	s := a.As16()
	return [6]byte{0x33, 0x33, s[12], s[13], s[14], s[15]}
}
