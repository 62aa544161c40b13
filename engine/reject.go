package engine

import (
	"encoding/binary"

	"github.com/hare-fw/hare/packet"
)

// What a reject statement sends, and when it sends nothing. Each step
// names its Linux counterpart (net/ipv4/netfilter/nf_reject_ipv4.c,
// net/ipv6/netfilter/nf_reject_ipv6.c, net/ipv4/icmp.c, net/ipv6/icmp.c):
//
//  1. the statement's kind picks the reply for the packet's family
//     (nft_reject_inet_eval): a TCP reset for TCP only, an ICMP code for
//     IPv4 only, an ICMPv6 code for IPv6 only, an icmpx code for both;
//  2. eligibility: never for a non-first fragment, an ICMP/ICMPv6 error, a
//     TCP RST, a multicast or broadcast destination or a source that is
//     not one host (RFC 1122 §3.2.2, RFC 4443 §2.4(e)), nor for a packet
//     whose transport checksum is wrong (nf_reject_verify_csum);
//  3. the reply: addresses (and ports) swapped, TTL / hop limit 64 (the
//     default ip_default_ttl and hop_limit sysctls), checksums filled in.
//
// Fields the kernel fills from state hare does not model are fixed: the
// IPv4 ID of an ICMP error is 0 (Linux: ip_select_ident, a hash), the
// IPv6 flow label is 0 (Linux: an automatic flow label, a hash of the
// flow), IP options are not echoed (Linux: ip_options_echo).

// RejectWith is the kind of reply a reject statement asks for. The zero
// value is RejectNone: nothing is sent.
type RejectWith uint8

const (
	RejectNone     RejectWith = iota
	RejectICMP                // ICMP destination unreachable, Code is the ICMP code (IPv4 packets only)
	RejectICMPv6              // ICMPv6 destination unreachable, Code is the ICMPv6 code (IPv6 packets only)
	RejectICMPx               // either family, Code is an icmpx code (IcmpxPortUnreachable…)
	RejectTCPReset            // a TCP RST (TCP packets only)
)

var rejectWithNames = [...]string{"none", "icmp", "icmpv6", "icmpx", "tcp reset"}

func (w RejectWith) String() string {
	if int(w) < len(rejectWithNames) {
		return rejectWithNames[w]
	}
	return "unknown"
}

// The icmpx codes (nft's family-independent reject codes,
// NFT_REJECT_ICMPX_*).
const (
	IcmpxNoRoute         = 0
	IcmpxPortUnreachable = 1
	IcmpxHostUnreachable = 2
	IcmpxAdminProhibited = 3
)

// RejectKind is a compiled reject statement: what to send and its code.
// The zero value sends nothing.
type RejectKind struct {
	With RejectWith
	Code uint8
}

// pack and unpackReject carry a RejectKind in an op's target field, so
// that the op does not grow.
func (k RejectKind) pack() int32 { return int32(k.With)<<8 | int32(k.Code) }

func unpackReject(t int32) RejectKind { return RejectKind{RejectWith(t >> 8), uint8(t)} }

// icmpxCode4 and icmpxCode6 map icmpx codes to ICMP and ICMPv6 codes
// (nft_reject.c: icmp_code_v4, icmp_code_v6).
var (
	icmpxCode4 = [4]uint8{0: 0, 1: 3, 2: 1, 3: 13} // net, port, host unreachable, packet filtered
	icmpxCode6 = [4]uint8{0: 0, 1: 4, 2: 3, 3: 1}  // no route, port, address unreachable, admin prohibited
)

// Reply limits and defaults.
const (
	rejectTTL = 64 // net.ipv4.ip_default_ttl and net.ipv6.conf.*.hop_limit defaults

	// icmp4Quote is the most of the invoking datagram an ICMP error
	// quotes: Linux __icmp_send caps the error at 576 bytes (RFC 1812
	// §4.3.2.3), less its IP header (20) and ICMP header (8). Not the
	// "IP header + 8 bytes" of RFC 792.
	icmp4Quote = 576 - 20 - 8
	// icmp6Quote: RFC 4443 §2.4(c), the error must fit the IPv6 minimum
	// MTU (1280) with its IPv6 (40) and ICMPv6 (8) headers (icmp6_send).
	icmp6Quote = 1280 - 40 - 8
)

// BuildReject appends to dst the packet the Linux kernel sends back when
// a reject statement of kind how judges p (a decoded, reassembled IP
// datagram), and returns the extended slice. When the kernel would send
// nothing (see the rules above) it returns dst unchanged; compare
// lengths. It does not allocate when dst has room for the reply (at most
// 1280 bytes); it reads p's frame and does not retain it.
func BuildReject(dst []byte, p *packet.Parsed, how RejectKind) []byte {
	ip := p.IP()
	if len(ip) != p.L3Len || p.Frag.Kind == packet.FragLater {
		return dst // truncated by the capture, or not the first fragment
	}
	switch p.IPVersion {
	case 4:
		if !unicast4(p) {
			return dst
		}
		switch how.With {
		case RejectTCPReset:
			return reset4(dst, p, ip)
		case RejectICMP:
			return unreach4(dst, p, ip, how.Code)
		case RejectICMPx:
			if how.Code < 4 {
				return unreach4(dst, p, ip, icmpxCode4[how.Code])
			}
		}
	case 6:
		if !unicast6(p) {
			return dst
		}
		switch how.With {
		case RejectTCPReset:
			return reset6(dst, p, ip)
		case RejectICMPv6:
			return unreach6(dst, p, ip, how.Code)
		case RejectICMPx:
			if how.Code < 4 {
				return unreach6(dst, p, ip, icmpxCode6[how.Code])
			}
		}
	}
	return dst
}

// unicast4 reports whether p goes from one host to one host: not to a
// multicast or broadcast address (__icmp_send: RTCF_BROADCAST|MULTICAST;
// hare knows no subnet broadcasts), not from 0.0.0.0, a multicast or the
// broadcast address (RFC 1122 §3.2.2).
func unicast4(p *packet.Parsed) bool {
	s, d := p.Src.As4(), p.Dst.As4()
	if d[0] >= 224 || d == [4]byte{} || s[0] >= 224 || s == [4]byte{} {
		return false // multicast 224/4, class E and 255.255.255.255
	}
	return true
}

// unicast6 reports whether both addresses are unicast (nf_send_reset6:
// IPV6_ADDR_UNICAST; icmp6_send: no error to a multicast destination nor
// from :: or a multicast source, RFC 4443 §2.4(e.3), (e.5)).
func unicast6(p *packet.Parsed) bool {
	return !p.Src.IsUnspecified() && !p.Src.IsMulticast() && !p.Dst.IsUnspecified() && !p.Dst.IsMulticast()
}

// l4Off returns the offset of the upper-layer header in ip.
func l4Off(p *packet.Parsed) int {
	if p.IPVersion == 4 {
		return int(p.IHL)
	}
	return 40 + p.Ext.Len
}

// checksumOK reports whether the transport checksum of ip (upper layer
// at off) is right, or not one Linux checks before rejecting
// (nf_reject_verify_csum, then nf_ip_checksum / nf_ip6_checksum).
func checksumOK(p *packet.Parsed, ip []byte, off int) bool {
	if p.CsumUnnecessary {
		// A CHECKSUM_PARTIAL packet (a GSO super-packet, or a local
		// sender's on a veth): nf_ip_checksum and nf_ip6_checksum vouch
		// for it without computing anything.
		return true
	}
	seg := ip[off:]
	switch p.Proto {
	case packet.ProtoUDP:
		if len(seg) >= 8 && binary.BigEndian.Uint16(seg[6:]) == 0 {
			return true // no checksum: Linux does not check (either family)
		}
	case packet.ProtoGRE:
		if len(seg) < 2 || seg[0]&0x80 == 0 {
			return true
		}
	case packet.ProtoAH, packet.ProtoESP, packet.ProtoSCTP, packet.ProtoUDPLite, packet.ProtoDCCP:
		return true
	case packet.ProtoICMP:
		// Conntrack checked it without a pseudo-header (nf_conntrack
		// proto icmp); the skb is then csum_valid.
		return packet.ChecksumFold(packet.ChecksumAdd(seg, 0)) == 0xffff
	}
	return packet.ChecksumFold(packet.ChecksumAdd(seg, pseudo(p, len(seg), uint8(p.Proto)))) == 0xffff
}

// isError4 reports whether an IPv4 packet is an ICMP error, or an ICMP
// message Linux does not know (__icmp_send: type > NR_ICMP_TYPES or
// icmp_pointers[type].error), or one too short to tell.
func isError4(ip []byte, off int) bool {
	if len(ip) < off+1 {
		return true
	}
	switch t := ip[off]; t {
	case 3, 4, 5, 11, 12: // unreachable, source quench, redirect, time exceeded, parameter problem
		return true
	default:
		return t > 18
	}
}

func reset4(dst []byte, p *packet.Parsed, ip []byte) []byte {
	off := l4Off(p)
	if p.Proto != packet.ProtoTCP || p.L4Off == 0 || p.TCP.Flags&packet.TCPRst != 0 || !checksumOK(p, ip, off) {
		return dst // nf_reject_ip_tcphdr_get
	}
	n := len(dst)
	dst = ipv4Header(dst, p, packet.ProtoTCP, 20+20, 0, 0x4000) // nf_reject_iphdr_put: tos 0, id 0, DF
	dst = tcpReset(dst, p, len(ip)-off)
	return finishTCP(dst, n+20, p)
}

func reset6(dst []byte, p *packet.Parsed, ip []byte) []byte {
	off := l4Off(p)
	if p.Proto != packet.ProtoTCP || p.L4Off == 0 || p.TCP.Flags&packet.TCPRst != 0 || !checksumOK(p, ip, off) {
		return dst // nf_reject_ip6_tcphdr_get
	}
	n := len(dst)
	dst = ipv6Header(dst, p, packet.ProtoTCP, 20) // nf_reject_ip6hdr_put: class 0, label 0
	dst = tcpReset(dst, p, len(ip)-off)
	return finishTCP(dst, n+40, p)
}

// tcpReset appends the RST's TCP header for p, whose segment (header and
// payload) is seglen bytes (nf_reject_ip_tcphdr_put, nf_reject_ip6_tcphdr_put):
// to a segment with ACK, seq = its ack and no ACK; otherwise seq 0 and
// ACK = its seq + payload + SYN + FIN (RFC 9293 §3.10.7.1). Window 0.
func tcpReset(dst []byte, p *packet.Parsed, seglen int) []byte {
	t := &p.TCP
	var seq, ack uint32
	flags := byte(0x04) // RST
	if t.Flags&packet.TCPAck != 0 {
		seq = t.Ack
	} else {
		ack = t.Seq + uint32(seglen-int(t.DataOff))
		if t.Flags&packet.TCPSyn != 0 {
			ack++
		}
		if t.Flags&packet.TCPFin != 0 {
			ack++
		}
		flags |= 0x10 // ACK
	}
	dst = binary.BigEndian.AppendUint16(dst, p.DstPort)
	dst = binary.BigEndian.AppendUint16(dst, p.SrcPort)
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dst = binary.BigEndian.AppendUint32(dst, ack)
	return append(dst, 5<<4, flags, 0, 0, 0, 0, 0, 0) // doff 5, window, checksum, urgent
}

// finishTCP fills in the checksum of the TCP header at dst[l4:].
func finishTCP(dst []byte, l4 int, p *packet.Parsed) []byte {
	seg := dst[l4:]
	c := ^packet.ChecksumFold(packet.ChecksumAdd(seg, pseudo(p, len(seg), uint8(packet.ProtoTCP))))
	binary.BigEndian.PutUint16(seg[16:], c)
	return dst
}

func unreach4(dst []byte, p *packet.Parsed, ip []byte, code uint8) []byte {
	off := l4Off(p)
	if len(ip) < off || (p.Proto == packet.ProtoICMP && isError4(ip, off)) || !checksumOK(p, ip, off) {
		return dst // nf_send_unreach, __icmp_send
	}
	q := ip[:min(len(ip), icmp4Quote)]
	n := len(dst)
	// __icmp_send: an error's TOS is the invoking packet's TOS bits with
	// precedence Internet Control (RFC 1812 §4.3.2.5); no DF (the ICMP
	// socket does not do PMTU discovery).
	tos := p.TOS&0x1e | 0xc0
	dst = ipv4Header(dst, p, packet.ProtoICMP, 20+8+len(q), tos, 0)
	dst = append(dst, 3, code, 0, 0, 0, 0, 0, 0) // destination unreachable, unused
	dst = append(dst, q...)
	c := ^packet.ChecksumFold(packet.ChecksumAdd(dst[n+20:], 0))
	binary.BigEndian.PutUint16(dst[n+22:], c)
	return dst
}

func unreach6(dst []byte, p *packet.Parsed, ip []byte, code uint8) []byte {
	off := l4Off(p)
	if len(ip) < off {
		return dst
	}
	if p.Proto == packet.ProtoICMPv6 {
		// icmp6_send is_ineligible: an error (type < 128) or a header
		// too short to tell. RFC 4443 §2.4(e.2) also rules out a
		// Redirect (137), which Linux answers.
		if len(ip) < off+1 || ip[off] < 128 || ip[off] == 137 {
			return dst
		}
	}
	if !checksumOK(p, ip, off) {
		return dst // reject6_csum_ok
	}
	q := ip[:min(len(ip), icmp6Quote)]
	n := len(dst)
	dst = ipv6Header(dst, p, packet.ProtoICMPv6, 8+len(q))
	dst = append(dst, 1, code, 0, 0, 0, 0, 0, 0) // destination unreachable, unused
	dst = append(dst, q...)
	seg := dst[n+40:]
	binary.BigEndian.PutUint16(seg[2:], ^packet.ChecksumFold(packet.ChecksumAdd(seg, pseudo(p, len(seg), uint8(packet.ProtoICMPv6)))))
	return dst
}

// ipv4Header appends a 20-byte IPv4 header from p's destination to its
// source, total length tot, with its checksum.
func ipv4Header(dst []byte, p *packet.Parsed, proto packet.IPProto, tot int, tos uint8, frag uint16) []byte {
	n := len(dst)
	dst = append(dst, 0x45, tos)
	dst = binary.BigEndian.AppendUint16(dst, uint16(tot))
	dst = append(dst, 0, 0) // id
	dst = binary.BigEndian.AppendUint16(dst, frag)
	dst = append(dst, rejectTTL, uint8(proto), 0, 0)
	d, s := p.Dst.As4(), p.Src.As4()
	dst = append(append(dst, d[:]...), s[:]...)
	binary.BigEndian.PutUint16(dst[n+10:], ^packet.ChecksumFold(packet.ChecksumAdd(dst[n:], 0)))
	return dst
}

// ipv6Header appends an IPv6 header from p's destination to its source
// with payload length plen.
func ipv6Header(dst []byte, p *packet.Parsed, proto packet.IPProto, plen int) []byte {
	dst = append(dst, 0x60, 0, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(plen))
	dst = append(dst, uint8(proto), rejectTTL)
	d, s := p.Dst.As16(), p.Src.As16()
	return append(append(dst, d[:]...), s[:]...)
}

// pseudo returns the sum of p's pseudo-header (RFC 768, RFC 8200 §8.1)
// for an upper-layer length n and protocol proto. A reply's pseudo-header
// has the same addresses swapped, which the sum does not see.
func pseudo(p *packet.Parsed, n int, proto uint8) uint64 {
	return addrSum(p) + uint64(n) + uint64(proto)
}

func addrSum(p *packet.Parsed) uint64 {
	if p.IPVersion == 4 {
		s, d := p.Src.As4(), p.Dst.As4()
		return packet.ChecksumAdd(d[:], packet.ChecksumAdd(s[:], 0))
	}
	s, d := p.Src.As16(), p.Dst.As16()
	return packet.ChecksumAdd(d[:], packet.ChecksumAdd(s[:], 0))
}
