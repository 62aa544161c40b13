package packet

// EtherTypes hare dispatches on.
const (
	EtherTypeIPv4  = 0x0800
	EtherTypeARP   = 0x0806
	EtherTypeVLAN  = 0x8100 // IEEE 802.1Q customer tag
	EtherTypeIPv6  = 0x86DD
	EtherTypeQinQ  = 0x88A8 // IEEE 802.1ad service tag
	etherTypeQinQ1 = 0x9100 // pre-standard QinQ tags still seen in captures
	etherTypeQinQ2 = 0x9200
	etherTypeMin   = 0x0600 // below this the field is an IEEE 802.3 length, not a type
)

// maxVLANTags bounds the tag walk so a frame of nothing but tags cannot make
// Decode loop over its whole length.
const maxVLANTags = 8

// Linux link header sizes and the NFLOG attribute carrying the packet.
const (
	sllLen         = 16 // pcap-linktype(7) LINKTYPE_LINUX_SLL
	sll2Len        = 20 // LINKTYPE_LINUX_SLL2
	nflogHdrLen    = 4  // struct nfgenmsg
	nflogTLVLen    = 4  // struct nfattr / nlattr
	nfulaPayload   = 9  // NFULA_PAYLOAD, linux/netfilter/nfnetlink_log.h
	nlaTypeMask    = 0x3fff
	afInet         = 2
	afInet6Linux   = 10
	afInet6NetBSD  = 24 // NetBSD, OpenBSD, BSD/OS
	afInet6FreeBSD = 28
	afInet6Darwin  = 30
)

func (p *Parsed) decodeLink() {
	b := p.b
	switch p.Link {
	case LinkEthernet:
		if len(b) < 14 {
			p.setReason(ReasonLinkTruncated)
			return
		}
		p.decodeEtherType(14, be16(b[12:14]), len(b))
	case LinkRaw, LinkRawBSD, LinkRawOBSD:
		p.decodeIP(0, len(b))
	case LinkIPv4:
		p.EtherType = EtherTypeIPv4
		p.decodeIPv4(0, len(b))
	case LinkIPv6:
		p.EtherType = EtherTypeIPv6
		p.decodeIPv6(0, len(b))
	case LinkNull, LinkLoop:
		if len(b) < 4 {
			p.setReason(ReasonLinkTruncated)
			return
		}
		// LINKTYPE_NULL stores the family in the capturing host's byte
		// order, which the file does not record; families are small, so
		// whichever order gives a value below 256 is the right one.
		fam := be32(b[:4])
		if p.Link == LinkNull && fam > 0xff {
			fam = le32(b[:4])
		}
		switch fam {
		case afInet:
			p.EtherType = EtherTypeIPv4
			p.decodeIPv4(4, len(b))
		case afInet6Linux, afInet6NetBSD, afInet6FreeBSD, afInet6Darwin:
			p.EtherType = EtherTypeIPv6
			p.decodeIPv6(4, len(b))
		}
	case LinkLinuxSLL:
		if len(b) < sllLen {
			p.setReason(ReasonLinkTruncated)
			return
		}
		p.decodeEtherType(sllLen, be16(b[14:16]), len(b))
	case LinkLinuxSLL2:
		if len(b) < sll2Len {
			p.setReason(ReasonLinkTruncated)
			return
		}
		p.decodeEtherType(sll2Len, be16(b[0:2]), len(b))
	case LinkNFLOG:
		p.decodeNFLOG()
	default:
		p.setReason(ReasonUnsupportedLink)
	}
}

// decodeEtherType follows VLAN tags from off and hands IP on.
func (p *Parsed) decodeEtherType(off int, et uint16, end int) {
	b := p.b
	for tags := 0; isVLAN(et); tags++ {
		if tags == maxVLANTags || off+4 > end {
			p.EtherType = et
			p.setReason(ReasonLinkTruncated)
			return
		}
		if p.NumVLAN < uint8(len(p.VLAN)) {
			p.VLAN[p.NumVLAN] = be16(b[off:off+2]) & 0x0fff
		}
		p.NumVLAN++
		et = be16(b[off+2 : off+4])
		off += 4
	}
	p.EtherType = et
	switch et {
	case EtherTypeIPv4:
		p.decodeIPv4(off, end)
	case EtherTypeIPv6:
		p.decodeIPv6(off, end)
	}
}

func isVLAN(et uint16) bool {
	return et == EtherTypeVLAN || et == EtherTypeQinQ || et == etherTypeQinQ1 || et == etherTypeQinQ2
}

// decodeIP decodes an IP header whose version is given by its first nibble.
func (p *Parsed) decodeIP(off, end int) {
	if off >= end {
		p.setReason(ReasonLinkTruncated)
		return
	}
	switch p.b[off] >> 4 {
	case 4:
		p.EtherType = EtherTypeIPv4
		p.decodeIPv4(off, end)
	case 6:
		p.EtherType = EtherTypeIPv6
		p.decodeIPv6(off, end)
	default:
		p.setReason(ReasonIPVersion)
	}
}

// decodeNFLOG finds the packet in an NFLOG record: a struct nfgenmsg, then
// netlink attributes (length including the 4-byte header, type, payload
// padded to 4 bytes). The attribute header is in the logging host's byte
// order, which the capture does not record (libpcap swaps it on read, see
// pcap-common.c swap_nflog_header), so both orders are tried.
func (p *Parsed) decodeNFLOG() {
	b := p.b
	if len(b) < nflogHdrLen {
		p.setReason(ReasonLinkTruncated)
		return
	}
	off, end, ok := nflogPayload(b, false)
	if !ok {
		off, end, ok = nflogPayload(b, true)
	}
	if !ok {
		p.setReason(ReasonNFLOGMalformed)
		return
	}
	switch b[0] {
	case afInet:
		p.EtherType = EtherTypeIPv4
		p.decodeIPv4(off, end)
	case afInet6Linux:
		p.EtherType = EtherTypeIPv6
		p.decodeIPv6(off, end)
	default:
		p.decodeIP(off, end)
	}
}

// nflogPayload walks the NFLOG TLVs and returns the NFULA_PAYLOAD bounds.
// Every TLV must be well formed up to the payload for the byte order to count
// as right.
func nflogPayload(b []byte, bigEndian bool) (off, end int, ok bool) {
	for off = nflogHdrLen; off+nflogTLVLen <= len(b); {
		var l, t uint16
		if bigEndian {
			l, t = be16(b[off:]), be16(b[off+2:])
		} else {
			l, t = le16(b[off:]), le16(b[off+2:])
		}
		if l < nflogTLVLen || off+int(l) > len(b) {
			return 0, 0, false
		}
		if t&nlaTypeMask == nfulaPayload {
			return off + nflogTLVLen, off + int(l), true
		}
		off += (int(l) + 3) &^ 3
	}
	return 0, 0, false
}
