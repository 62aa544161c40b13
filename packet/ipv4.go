package packet

import "net/netip"

// IPv4 header layout (RFC 791 §3.1).
const (
	ipv4MinLen  = 20
	ipv4FlagDF  = 0x4000
	ipv4FlagMF  = 0x2000
	ipv4OffMask = 0x1fff
	maxDatagram = 65535
)

func (p *Parsed) decodeIPv4(off, end int) {
	p.L3Off = off
	b := p.b[off:end]
	if len(b) < ipv4MinLen {
		p.setReason(ReasonIPv4Truncated)
		return
	}
	if b[0]>>4 != 4 {
		p.setReason(ReasonIPVersion)
		return
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < ipv4MinLen {
		p.setReason(ReasonIPv4BadIHL)
		return
	}
	if len(b) < ihl {
		p.setReason(ReasonIPv4Truncated)
		return
	}
	p.IPVersion = 4
	p.IHL = uint8(ihl)
	p.TOS = b[1]
	total := int(be16(b[2:4]))
	if total < ihl {
		// Linux ip_rcv drops this. Captures taken above a NIC doing TCP
		// segmentation offload show total length 0, so decoding goes on
		// with the captured length while the reason says what is wrong.
		p.setReason(ReasonIPv4BadLength)
		total = len(b)
	}
	ff := be16(b[6:8])
	p.Frag = Frag{
		ID:     uint32(be16(b[4:6])),
		Offset: (ff & ipv4OffMask) << 3,
		More:   ff&ipv4FlagMF != 0,
		DF:     ff&ipv4FlagDF != 0,
	}
	p.HopLimit = b[8]
	p.Proto = IPProto(b[9])
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	if ihl > ipv4MinLen {
		p.Anomalies |= AnomalyIPv4Options
	}
	p.setEnds(off, total, end)

	switch {
	case p.Frag.Offset != 0:
		p.Frag.Kind = FragLater
	case p.Frag.More:
		p.Frag.Kind = FragFirst
	}
	if p.Frag.Kind != NotFragment && int(p.Frag.Offset)+total-ihl > maxDatagram {
		p.setReason(ReasonFragTooBig)
	}
	if p.Frag.Kind == FragLater {
		return // RFC 791: only the first fragment carries the transport header
	}
	p.decodeL4(off + ihl)
}

// setEnds records the datagram's extent: l3len bytes from off as the header
// states, and as much of it as the frame (which ends at end) holds.
func (p *Parsed) setEnds(off, l3len, end int) {
	p.L3Len = l3len
	p.dgramEnd = off + l3len
	p.capEnd = min(p.dgramEnd, end)
	switch {
	case p.dgramEnd > end:
		p.setReason(ReasonIPTruncated)
	case p.dgramEnd < end && !p.isLinkPadding(end-p.dgramEnd):
		p.Anomalies |= AnomalyTrailingBytes
	}
}

// isLinkPadding reports whether n bytes after the datagram can be Ethernet
// padding to the 60-byte minimum frame (IEEE 802.3 §3.2.8) or the 4-byte FCS
// that some captures keep.
func (p *Parsed) isLinkPadding(n int) bool {
	switch p.Link {
	case LinkEthernet, LinkLinuxSLL, LinkLinuxSLL2:
		return n <= 4 || len(p.b) <= 64
	}
	return false
}

// short reports whether fewer than n bytes of the datagram are available at
// pos. When the header runs past the datagram it records r (or, inside an
// IPv6 first fragment, ReasonFragIncomplete: RFC 7112 §5 wants the whole
// chain and the transport header there); when only the capture is short,
// ReasonIPTruncated was recorded already.
func (p *Parsed) short(pos, n int, r Reason) bool {
	if pos+n <= p.capEnd {
		return false
	}
	if pos+n > p.dgramEnd {
		if p.Frag.Kind == FragFirst && p.IPVersion == 6 {
			r = ReasonFragIncomplete
		}
		p.setReason(r)
	}
	return true
}
