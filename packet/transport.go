package packet

// Transport header sizes.
const (
	tcpMinLen  = 20
	udpLen     = 8
	sctpHdrLen = 12
	dccpMinLen = 12
	greMinLen  = 4
	espMinLen  = 8  // SPI and sequence number (RFC 4303 §2)
	ahMinLen   = 12 // RFC 4302 §2
	teredoPort = 3544
)

// decodeL4 decodes the upper-layer header that starts at pos.
func (p *Parsed) decodeL4(pos int) {
	p.L4Off = pos
	p.L4Len = p.capEnd - pos
	switch p.Proto {
	case ProtoTCP:
		p.decodeTCP(pos)
	case ProtoUDP:
		p.decodeUDP(pos, false)
	case ProtoUDPLite:
		p.decodeUDP(pos, true)
	case ProtoICMP:
		if p.IPVersion == 4 {
			p.decodeICMPv4(pos)
		}
	case ProtoICMPv6:
		if p.IPVersion == 6 {
			p.decodeICMPv6(pos)
		}
	case ProtoSCTP:
		p.decodeSCTP(pos)
	case ProtoDCCP:
		p.decodeDCCP(pos)
	case ProtoGRE:
		p.decodeGRE(pos)
	case ProtoESP:
		if p.short(pos, espMinLen, ReasonESPTruncated) {
			p.L4Off = 0
			return
		}
		p.SPI = be32(p.b[pos:])
	case ProtoAH: // IPv4 only: IPv6 walks past AH
		if p.short(pos, ahMinLen, ReasonAHTruncated) {
			p.L4Off = 0
			return
		}
		p.SPI = be32(p.b[pos+4:])
	case ProtoMobility:
		// RFC 6275 §6.1.1: Payload Proto, Header Len, MH Type; the walk
		// recorded the type.
		if p.short(pos, 6, ReasonExtTruncated) {
			p.L4Off = 0
		}
	case ProtoIPIP:
		p.tunnel(pos, 4, Tunnel4in4, Tunnel4in6)
	case ProtoIPv6:
		p.tunnel(pos, 6, Tunnel6in4, Tunnel6in6)
	}
}

// tunnel records an IP-in-IP tunnel whose inner header of version v starts at pos.
func (p *Parsed) tunnel(pos int, v byte, in4, in6 Tunnel) {
	if pos >= p.capEnd || p.b[pos]>>4 != v {
		return
	}
	p.Tunnel = in4
	if p.IPVersion == 6 {
		p.Tunnel = in6
	}
	p.InnerOff = pos
}

func (p *Parsed) decodeTCP(pos int) {
	if p.short(pos, tcpMinLen, ReasonTCPTruncated) {
		p.L4Off = 0
		return
	}
	b := p.b[pos:p.capEnd]
	t := &p.TCP
	p.SrcPort = be16(b[0:2])
	p.DstPort = be16(b[2:4])
	t.Seq = be32(b[4:8])
	t.Ack = be32(b[8:12])
	t.DataOff = (b[12] >> 4) * 4
	t.Flags = TCPFlags(b[13]) | TCPFlags(b[12]&1)<<8
	t.Window = be16(b[14:16])
	doff := int(t.DataOff)
	if doff < tcpMinLen || pos+doff > p.dgramEnd {
		p.setReason(ReasonTCPBadDataOffset) // Linux tcp_error: "truncated packet"
		return
	}
	if pos+doff > p.capEnd {
		return // options cut by the capture
	}
	p.tcpOptions(b[tcpMinLen:doff])
}

// tcpOptions reads the options a tracker uses (RFC 9293 §3.2; RFC 7323;
// RFC 2018; RFC 7413). As in Linux tcp_options, an option with an
// unexpected length is ignored rather than taken.
func (p *Parsed) tcpOptions(o []byte) {
	t := &p.TCP
	for i := 0; i < len(o); {
		kind := o[i]
		switch kind {
		case 0: // end of option list
			return
		case 1: // no-operation
			i++
			continue
		}
		if i+2 > len(o) || o[i+1] < 2 || i+int(o[i+1]) > len(o) {
			p.setReason(ReasonTCPBadOption)
			return
		}
		n := int(o[i+1])
		v := o[i+2 : i+n]
		switch {
		case kind == 2 && n == 4:
			t.Opts |= OptMSS
			t.MSS = be16(v)
		case kind == 3 && n == 3:
			t.Opts |= OptWScale
			t.WScale = v[0]
		case kind == 4 && n == 2:
			t.Opts |= OptSACKPerm
		case kind == 5 && n >= 10 && (n-2)%8 == 0:
			t.Opts |= OptSACK
			for j := 0; j+8 <= len(v) && int(t.NumSACK) < len(t.SACK); j += 8 {
				t.SACK[t.NumSACK] = SACKBlock{Left: be32(v[j:]), Right: be32(v[j+4:])}
				t.NumSACK++
			}
		case kind == 8 && n == 10:
			t.Opts |= OptTimestamp
			t.TSVal = be32(v[0:4])
			t.TSEcr = be32(v[4:8])
		case kind == 34:
			t.Opts |= OptFastOpen
		}
		i += n
	}
}

// decodeUDP decodes UDP (RFC 768) or UDP-Lite (RFC 3828), whose length field
// is the checksum coverage instead.
func (p *Parsed) decodeUDP(pos int, lite bool) {
	if p.short(pos, udpLen, ReasonUDPTruncated) {
		p.L4Off = 0
		return
	}
	b := p.b[pos:]
	p.SrcPort = be16(b[0:2])
	p.DstPort = be16(b[2:4])
	p.UDPLen = be16(b[4:6])
	n := int(p.UDPLen)
	avail := p.dgramEnd - pos
	switch {
	case lite:
		// RFC 3828 §3.1: 0 means the whole datagram; 1..7 and past the
		// end are invalid.
		if n != 0 && (n < udpLen || n > avail) {
			p.setReason(ReasonUDPLiteBadCoverage)
		}
	case n < udpLen || n > avail && p.Frag.Kind != FragFirst:
		// Linux udp_error: "truncated/malformed packet". In a first
		// fragment the length covers fragments still to come.
		p.setReason(ReasonUDPBadLength)
	default:
		p.L4Len = min(n, p.L4Len) // bytes past the UDP length are not UDP
	}
	if p.SrcPort == teredoPort || p.DstPort == teredoPort {
		p.teredo(pos + udpLen)
	}
}

// teredo recognises IPv6 over UDP port 3544 (RFC 4380 §5.1.1), skipping the
// optional authentication and origin indicators that precede the packet.
func (p *Parsed) teredo(pos int) {
	end := p.capEnd
	if pos+2 <= end && p.b[pos] == 0 && p.b[pos+1] == 1 { // authentication indicator (§5.1.1)
		if pos+4 > end {
			return
		}
		pos += 13 + int(p.b[pos+2]) + int(p.b[pos+3])
	}
	if pos+2 <= end && p.b[pos] == 0 && p.b[pos+1] == 0 { // origin indication
		pos += 8
	}
	if pos+ipv6HdrLen > end || p.b[pos]>>4 != 6 {
		return
	}
	if plen := int(be16(p.b[pos+4:])); pos+ipv6HdrLen+plen != p.L4Off+int(p.UDPLen) {
		return // not an IPv6 packet filling the datagram: not Teredo
	}
	p.Tunnel = TunnelTeredo
	p.InnerOff = pos
}

// decodeSCTP decodes the common header and walks the chunks (RFC 9260 §3).
func (p *Parsed) decodeSCTP(pos int) {
	if p.short(pos, sctpHdrLen, ReasonSCTPTruncated) {
		p.L4Off = 0
		return
	}
	b := p.b[pos:p.capEnd]
	p.SrcPort = be16(b[0:2])
	p.DstPort = be16(b[2:4])
	s := &p.SCTP
	s.VTag = be32(b[4:8])
	for i := sctpHdrLen; i < len(b); {
		if p.short(pos+i, 4, ReasonSCTPBadChunk) {
			return
		}
		typ, n := b[i], int(be16(b[i+2:]))
		if n < 4 || pos+i+n > p.dgramEnd {
			p.setReason(ReasonSCTPBadChunk)
			return
		}
		if s.NumChunks == 0 {
			s.FirstChunk = typ
		}
		s.NumChunks++
		if typ < 32 {
			s.Chunks |= 1 << typ
		} else {
			s.OtherChunks = true
		}
		i += (n + 3) &^ 3
	}
}

// decodeDCCP decodes the generic header (RFC 4340 §5.1).
func (p *Parsed) decodeDCCP(pos int) {
	if p.short(pos, dccpMinLen, ReasonDCCPTruncated) {
		p.L4Off = 0
		return
	}
	b := p.b[pos:]
	p.SrcPort = be16(b[0:2])
	p.DstPort = be16(b[2:4])
	p.DCCPType = (b[8] >> 1) & 0x0f
	hdr := dccpMinLen
	if b[8]&1 != 0 { // X: 48-bit sequence numbers
		hdr = 16
	}
	if int(b[4])*4 < hdr {
		p.setReason(ReasonDCCPBadOffset)
	}
}

// GRE flag bits (RFC 2784 §2, RFC 2890 §2, RFC 2637 §4.1).
const (
	greC    = 0x8000
	greK    = 0x2000
	greS    = 0x1000
	greVers = 0x0007
)

func (p *Parsed) decodeGRE(pos int) {
	if p.short(pos, greMinLen, ReasonGRETruncated) {
		p.L4Off = 0
		return
	}
	b := p.b[pos:p.capEnd]
	g := &p.GRE
	g.Flags = be16(b[0:2])
	g.Version = uint8(g.Flags & greVers)
	g.Protocol = be16(b[2:4])
	hdr := greMinLen
	switch g.Version {
	case 0:
		if g.Flags&greC != 0 {
			hdr += 4
		}
		if g.Flags&greK != 0 {
			if p.short(pos, hdr+4, ReasonGRETruncated) {
				return
			}
			g.HasKey = true
			g.Key = be32(b[hdr:])
			hdr += 4
		}
		if g.Flags&greS != 0 {
			hdr += 4
		}
	case 1:
		// PPTP enhanced GRE: Key holds payload length and call ID.
		if p.short(pos, 8, ReasonGRETruncated) {
			return
		}
		// It carries PPP, which is not decapsulated.
		g.HasKey = g.Flags&greK != 0
		g.CallID = be16(b[6:8])
		g.Key = be32(b[4:8])
		return
	default:
		p.setReason(ReasonGREBadVersion)
		return
	}
	if (g.Protocol == EtherTypeIPv4 || g.Protocol == EtherTypeIPv6) && pos+hdr < p.capEnd {
		p.Tunnel = TunnelGRE
		p.InnerOff = pos + hdr
	}
}
