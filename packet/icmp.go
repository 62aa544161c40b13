package packet

import "net/netip"

// ICMPv4 types (RFC 792, RFC 950) and ICMPv6 types (RFC 4443, RFC 4861, RFC 4620).
const (
	icmpEchoReply      = 0
	icmpDestUnreach    = 3
	icmpSourceQuench   = 4
	icmpRedirect       = 5
	icmpEcho           = 8
	icmpTimeExceeded   = 11
	icmpParamProblem   = 12
	icmpTimestamp      = 13
	icmpAddrMaskReply  = 18
	icmpFragNeededCode = 4

	icmp6PacketTooBig = 2
	icmp6ParamProblem = 4
	icmp6EchoRequest  = 128
	icmp6EchoReply    = 129
	icmp6Redirect     = 137
	icmp6NIQuery      = 139
	icmp6NIReply      = 140

	icmpHdrLen         = 8
	ndRedirectLen      = 40 // type..destination address (RFC 4861 §4.5)
	ndOptRedirectedHdr = 4  // RFC 4861 §4.6.3
)

func (p *Parsed) decodeICMPv4(pos int) {
	if p.short(pos, icmpHdrLen, ReasonICMPTruncated) {
		p.L4Off = 0
		return
	}
	b := p.b[pos:]
	c := &p.ICMP
	c.Type, c.Code = b[0], b[1]
	switch c.Type {
	case icmpEchoReply, icmpEcho, icmpTimestamp, icmpTimestamp + 1, 15, 16, 17, icmpAddrMaskReply:
		// Queries and replies with identifier and sequence number; Linux
		// nf_conntrack_proto_icmp.c keys these on the identifier.
		c.ID, c.Seq = be16(b[4:6]), be16(b[6:8])
	case icmpDestUnreach, icmpSourceQuench, icmpRedirect, icmpTimeExceeded, icmpParamProblem:
		// Linux icmp_is_err: errors that quote the invoking datagram.
		c.IsError = true
		if c.Type == icmpDestUnreach && c.Code == icmpFragNeededCode {
			c.MTU = uint32(be16(b[6:8])) // RFC 1191 §4
		}
		if c.Type == icmpParamProblem {
			c.Pointer = uint32(b[4])
		}
		p.decodeQuote(pos + icmpHdrLen)
	}
}

func (p *Parsed) decodeICMPv6(pos int) {
	if p.short(pos, 4, ReasonICMPTruncated) {
		p.L4Off = 0
		return
	}
	b := p.b[pos:p.capEnd]
	c := &p.ICMP
	c.Type, c.Code = b[0], b[1]
	switch {
	case c.Type < 128:
		// RFC 4443 §2.1: types 0-127 are errors; Linux
		// nf_conntrack_icmpv6_error treats every one as quoting a packet.
		c.IsError = true
		if p.short(pos, icmpHdrLen, ReasonICMPTruncated) {
			return
		}
		switch c.Type {
		case icmp6PacketTooBig:
			c.MTU = be32(b[4:8])
		case icmp6ParamProblem:
			c.Pointer = be32(b[4:8])
		}
		p.decodeQuote(pos + icmpHdrLen)
	case c.Type == icmp6EchoRequest || c.Type == icmp6EchoReply ||
		c.Type == icmp6NIQuery || c.Type == icmp6NIReply:
		// Linux icmpv6_pkt_to_tuple takes bytes 4-5 as the identifier for
		// every type; only these types have one (RFC 4443 §4, RFC 4620 §4).
		if p.short(pos, icmpHdrLen, ReasonICMPTruncated) {
			return
		}
		c.ID, c.Seq = be16(b[4:6]), be16(b[6:8])
	case c.Type == icmp6Redirect:
		p.redirectQuote(pos)
	}
}

// redirectQuote finds the Redirected Header option of an ICMPv6 Redirect
// (RFC 4861 §4.5, §4.6.3), whose packet Linux matches like an error's.
func (p *Parsed) redirectQuote(pos int) {
	end := p.capEnd
	for i := pos + ndRedirectLen; i+2 <= end; {
		n := int(p.b[i+1]) * 8
		if n == 0 || i+n > end {
			return // RFC 4861 §4.6: a zero-length option is invalid
		}
		if p.b[i] == ndOptRedirectedHdr {
			p.decodeQuote(i + 8)
			return
		}
		i += n
	}
}

// decodeQuote decodes the invoking packet an ICMP error quotes: the IP header
// (with options or extension headers) and the first 8 bytes of the transport
// header, which is all RFC 792 promises. The quote is allowed to be cut short
// anywhere; what could not be read is said in Quote.Reason.
func (p *Parsed) decodeQuote(pos int) {
	q := &p.Quote
	q.Off = pos
	b := p.b[pos:p.capEnd]
	if len(b) == 0 {
		p.setReason(ReasonICMPBadQuote)
		q.Reason = ReasonICMPBadQuote
		return
	}
	var l4 int
	switch b[0] >> 4 {
	case 4:
		if len(b) < ipv4MinLen || int(b[0]&0x0f)*4 < ipv4MinLen || int(b[0]&0x0f)*4 > len(b) {
			p.setReason(ReasonICMPBadQuote)
			q.Reason = ReasonIPv4Truncated
			return
		}
		ihl := int(b[0]&0x0f) * 4
		q.IPVersion = 4
		q.L3Len = int(be16(b[2:4]))
		ff := be16(b[6:8])
		q.Frag = Frag{ID: uint32(be16(b[4:6])), Offset: (ff & ipv4OffMask) << 3, More: ff&ipv4FlagMF != 0, DF: ff&ipv4FlagDF != 0}
		switch {
		case q.Frag.Offset != 0:
			q.Frag.Kind = FragLater
		case q.Frag.More:
			q.Frag.Kind = FragFirst
		}
		q.Proto = IPProto(b[9])
		q.Src = netip.AddrFrom4([4]byte(b[12:16]))
		q.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		l4 = pos + ihl
	case 6:
		if len(b) < ipv6HdrLen {
			p.setReason(ReasonICMPBadQuote)
			q.Reason = ReasonIPv6Truncated
			return
		}
		q.IPVersion = 6
		q.L3Len = ipv6HdrLen + int(be16(b[4:6]))
		q.Src = netip.AddrFrom16([16]byte(b[8:24]))
		q.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		// The quoted datagram is cut where the error ends, so its own
		// length bounds nothing: both ends are the error's end.
		w := chainWalk{b: p.b, pos: pos + ipv6HdrLen, capEnd: p.capEnd, dgramEnd: p.capEnd, nh: b[6]}
		w.walk()
		q.Proto = IPProto(w.nh)
		q.Frag = w.frag
		q.ExtSeen = w.seen
		if !w.upper {
			if w.reason != ReasonNone {
				q.Reason = ReasonExtTruncated
			}
			if q.Proto != ProtoESP {
				return
			}
		}
		l4 = w.pos
	default:
		p.setReason(ReasonICMPBadQuote)
		q.Reason = ReasonIPVersion
		return
	}
	if q.Frag.Kind == FragLater {
		return
	}
	if l4+8 > p.capEnd {
		q.Reason = ReasonICMPTruncated
		return
	}
	q.HasL4 = true
	t := p.b[l4 : l4+8]
	switch q.Proto {
	case ProtoTCP, ProtoUDP, ProtoUDPLite, ProtoSCTP, ProtoDCCP:
		q.SrcPort, q.DstPort = be16(t[0:2]), be16(t[2:4])
		if q.Proto == ProtoTCP {
			q.TCPSeq = be32(t[4:8])
		}
	case ProtoICMP, ProtoICMPv6:
		q.ICMPType, q.ICMPCode = t[0], t[1]
		q.ICMPID = be16(t[4:6])
	case ProtoESP:
		q.SPI = be32(t[0:4])
	case ProtoGRE:
		if be16(t[0:2])&greK != 0 && be16(t[0:2])&greC == 0 {
			q.GREKey = be32(t[4:8])
		}
	}
}
