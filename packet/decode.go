package packet

// Decode decodes frame b of link type link into p, replacing everything p
// held. It never fails: a frame it cannot decode completely leaves the
// fields it could fill and says why in p.Reason. It does not allocate, and
// it retains b until the next Decode.
func (p *Parsed) Decode(b []byte, link LinkType) {
	*p = Parsed{b: b, Link: link}
	p.decodeLink()
}

// DecodeIP decodes b as a bare IPv4 or IPv6 datagram (what a TUN device or
// NFQUEUE hands over), as Decode does for LinkRaw.
func (p *Parsed) DecodeIP(b []byte) { p.Decode(b, LinkRaw) }

// Frame returns the frame given to the last Decode.
func (p *Parsed) Frame() []byte { return p.b }

// IP returns the IP datagram as captured: from the IP header to the end of
// the datagram or of the capture, whichever comes first. Nil if not IP.
func (p *Parsed) IP() []byte {
	if p.IPVersion == 0 {
		return nil
	}
	end := min(p.L3Off+p.L3Len, len(p.b))
	return p.b[p.L3Off:end]
}

// Transport returns the upper-layer header and payload as captured, or nil
// when there is no transport header to decode.
func (p *Parsed) Transport() []byte {
	if p.L4Off == 0 {
		return nil
	}
	return p.b[p.L4Off : p.L4Off+p.L4Len]
}

// HasTransport reports whether the upper-layer header was decoded.
func (p *Parsed) HasTransport() bool { return p.L4Off != 0 }

// InnerIP returns the inner IP datagram of a tunnel packet (see Tunnel), or
// nil.
func (p *Parsed) InnerIP() []byte {
	if p.Tunnel == NoTunnel || p.InnerOff == 0 {
		return nil
	}
	end := p.L4Off + p.L4Len
	if p.Tunnel == Tunnel6in4 || p.Tunnel == Tunnel4in4 || p.Tunnel == Tunnel6in6 || p.Tunnel == Tunnel4in6 {
		end = min(p.L3Off+p.L3Len, len(p.b))
	}
	if p.InnerOff >= end {
		return nil
	}
	return p.b[p.InnerOff:end]
}

// DecodeInner decodes the inner datagram of a tunnel packet into dst and
// reports whether there was one. Tunnels are never followed by Decode
// itself: a firewall filters the outer packet unless asked otherwise.
func (p *Parsed) DecodeInner(dst *Parsed) bool {
	in := p.InnerIP()
	if in == nil {
		return false
	}
	dst.DecodeIP(in)
	return true
}

// setReason records r unless an earlier reason is already recorded.
func (p *Parsed) setReason(r Reason) {
	if p.Reason == ReasonNone {
		p.Reason = r
	}
}
