package packet

import "hash/crc32"

// VerifyChecksums checks the IPv4 header checksum and the transport checksum
// (TCP, UDP, UDP-Lite, ICMP, ICMPv6 with the pseudo-header of RFC 9293
// §3.1, RFC 768, RFC 3828 §3.1 and RFC 8200 §8.1; SCTP's CRC32c) and
// returns the first failure, or ReasonNone. It also records the failure in p.Reason unless a
// decode problem is recorded there already. It never drops anything: what a
// bad checksum means is the tracker's call (Linux nf_conntrack_checksum).
//
// Transport checksums cover the whole datagram, so they are checked only for
// packets that are neither fragments nor cut by the capture, and not when
// the caller set CsumUnnecessary. Like Linux
// nf_ip6_checksum, the IPv6 pseudo-header uses the destination in the IPv6
// header even when a Routing header names another final destination. It
// does not allocate.
func (p *Parsed) VerifyChecksums() Reason {
	r := p.checksums()
	if r != ReasonNone {
		p.setReason(r)
	}
	return r
}

func (p *Parsed) checksums() Reason {
	switch p.IPVersion {
	case 4:
		if ChecksumFold(ChecksumAdd(p.b[p.L3Off:p.L3Off+int(p.IHL)], 0)) != 0xffff {
			return ReasonBadIPv4Checksum
		}
	case 6:
	default:
		return ReasonNone
	}
	if p.L4Off == 0 || p.capEnd != p.dgramEnd || p.Frag.IsFragment() || p.CsumUnnecessary {
		return ReasonNone
	}
	seg := p.b[p.L4Off:p.dgramEnd]
	switch p.Proto {
	case ProtoTCP:
		if !p.l4ok(seg, len(seg)) {
			return ReasonBadTCPChecksum
		}
	case ProtoUDP:
		n := int(p.UDPLen)
		if n < udpLen || n > len(seg) {
			return ReasonNone // malformed, already said
		}
		if be16(seg[6:8]) == 0 {
			if p.IPVersion == 6 {
				return ReasonUDPZeroChecksum6
			}
			return ReasonNone // RFC 768: no checksum
		}
		if !p.l4ok(seg[:n], n) {
			return ReasonBadUDPChecksum
		}
	case ProtoUDPLite:
		cov := int(p.UDPLen)
		if cov == 0 {
			cov = len(seg)
		}
		if cov < udpLen || cov > len(seg) {
			return ReasonNone
		}
		// RFC 3828 §3.1: zero is never a valid UDP-Lite checksum (Linux
		// udplite_error: "zero checksum").
		if be16(seg[6:8]) == 0 || !p.l4ok(seg[:cov], len(seg)) {
			return ReasonBadUDPLiteChecksum
		}
	case ProtoICMP:
		if ChecksumFold(ChecksumAdd(seg, 0)) != 0xffff {
			return ReasonBadICMPChecksum
		}
	case ProtoICMPv6:
		if !p.l4ok(seg, len(seg)) {
			return ReasonBadICMPv6Checksum
		}
	case ProtoSCTP:
		if len(seg) >= sctpHdrLen && !sctpChecksumOK(seg) {
			return ReasonBadSCTPChecksum
		}
	}
	return ReasonNone
}

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	zero4      [4]byte // the checksum field as zero; read-only
)

// sctpChecksumOK checks the CRC32c of an SCTP packet (RFC 9260 §6.8,
// Appendix A): computed with the checksum field as zero, stored in the byte
// order the reflected CRC produces (little-endian on the wire).
func sctpChecksumOK(seg []byte) bool {
	c := crc32.Update(0, castagnoli, seg[:8])
	c = crc32.Update(c, castagnoli, zero4[:]) // a local would escape through crc32's indirect call and allocate
	c = crc32.Update(c, castagnoli, seg[12:])
	return c == le32(seg[8:12])
}

// VerifyUDPLiteAs checks a UDP-Lite datagram's checksum computed with proto
// in the pseudo-header instead of 136. Linux conntrack (udplite_error)
// verifies UDP-Lite with IPPROTO_UDP there; RFC 3828 §3.2 says the
// protocol is UDP-Lite's own, as VerifyChecksums does. It reports true when
// the packet is not a whole, unfragmented UDP-Lite datagram (nothing to
// check) or CsumUnnecessary is set. It does not allocate.
func (p *Parsed) VerifyUDPLiteAs(proto IPProto) bool {
	if p.Proto != ProtoUDPLite || p.L4Off == 0 || p.capEnd != p.dgramEnd || p.Frag.IsFragment() || p.CsumUnnecessary {
		return true
	}
	seg := p.b[p.L4Off:p.dgramEnd]
	cov := int(p.UDPLen)
	if cov == 0 {
		cov = len(seg)
	}
	if cov < udpLen || cov > len(seg) {
		return true
	}
	if be16(seg[6:8]) == 0 {
		return false
	}
	saved := p.Proto
	p.Proto = proto
	ok := p.l4ok(seg[:cov], len(seg))
	p.Proto = saved
	return ok
}

// l4ok checks a transport checksum over covered with the pseudo-header
// stating length n.
func (p *Parsed) l4ok(covered []byte, n int) bool {
	var s uint64
	if p.IPVersion == 4 {
		a, d := p.Src.As4(), p.Dst.As4()
		s = ChecksumAdd(a[:], s)
		s = ChecksumAdd(d[:], s)
	} else {
		a, d := p.Src.As16(), p.Dst.As16()
		s = ChecksumAdd(a[:], s)
		s = ChecksumAdd(d[:], s)
	}
	s += uint64(p.Proto) + uint64(n)
	return ChecksumFold(ChecksumAdd(covered, s)) == 0xffff
}

// ChecksumAdd adds b to the one's-complement sum s (RFC 1071), 32 bits
// at a time: folding the wider sum at the end gives the same 16-bit result
// because 2^16 ≡ 1 (mod 2^16-1). Sums of several pieces chain: an odd
// length is padded with zero, so only the last piece may be odd.
// Everything in hare that computes an Internet checksum (verification here,
// reject packets, refragmentation, checksum completion) uses this one.
func ChecksumAdd(b []byte, s uint64) uint64 {
	for len(b) >= 8 {
		s += uint64(be32(b)) + uint64(be32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		s += uint64(be32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(be16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// ChecksumFold folds a ChecksumAdd sum into 16 bits. The checksum field
// holds its complement; a packet whose sum over the covered bytes (field
// included) folds to 0xffff verifies.
func ChecksumFold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
