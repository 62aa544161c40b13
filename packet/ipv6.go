package packet

import "net/netip"

// IPv6 header and extension-header layout (RFC 8200 §3, §4).
const (
	ipv6HdrLen     = 40
	fragHdrLen     = 8
	optPad1        = 0x00
	optJumbo       = 0xC2 // RFC 2675
	optHomeAddress = 0xC9 // RFC 6275 §6.3
)

func (p *Parsed) decodeIPv6(off, end int) {
	p.L3Off = off
	b := p.b[off:end]
	if len(b) < ipv6HdrLen {
		p.setReason(ReasonIPv6Truncated)
		return
	}
	if b[0]>>4 != 6 {
		p.setReason(ReasonIPVersion)
		return
	}
	p.IPVersion = 6
	p.TOS = uint8(be16(b[0:2]) >> 4)
	p.FlowLabel = be32(b[0:4]) & 0xfffff
	plen := int(be16(b[4:6]))
	nh := b[6]
	p.HopLimit = b[7]
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	maybeJumbo := plen == 0 && nh == uint8(ProtoHopByHop) && len(b) > ipv6HdrLen
	if maybeJumbo {
		// Possibly a jumbogram (RFC 2675 §3): the real length is in the
		// Hop-by-Hop Jumbo Payload option, which the walk reads.
		p.setEnds(off, len(b), end)
	} else {
		p.setEnds(off, ipv6HdrLen+plen, end)
	}

	w := chainWalk{
		b: p.b, pos: off + ipv6HdrLen, capEnd: p.capEnd, dgramEnd: p.dgramEnd,
		nh: nh, ext: &p.Ext, strict: true,
	}
	w.walk()
	p.Frag = w.frag
	p.Anomalies |= w.anom
	switch {
	case w.jumbo > maxDatagram && maybeJumbo:
		p.setEnds(off, ipv6HdrLen+w.jumbo, end)
	case w.jumbo > 0 && plen != 0, w.jumbo == 0 && maybeJumbo:
		// RFC 2675 §3: a Jumbo option needs Payload Length 0, and
		// Payload Length 0 with a Hop-by-Hop header needs the option.
		p.setReason(ReasonBadJumbo)
	}
	p.SPI = w.spi
	if w.reason != ReasonNone {
		p.setReason(w.reason)
	}
	if w.pos-off > MaxChainBytes || p.Ext.Count > MaxExtRecorded {
		p.Anomalies |= AnomalyChainOversized
	}
	p.Proto = IPProto(w.nh)
	if !w.upper {
		if (p.Proto == ProtoESP || p.Proto == ProtoMobility) && p.Frag.Kind != FragLater {
			p.decodeL4(w.pos)
		}
		return
	}
	// Linux ipv6frag_thdr_truncated: a first fragment must hold the
	// transport header's first bytes (RFC 7112 §5).
	if p.Frag.Kind == FragFirst && w.pos+minTransport(p.Proto) > p.dgramEnd {
		p.setReason(ReasonFragIncomplete)
		return
	}
	p.decodeL4(w.pos)
}

// minTransport is how much of the transport header Linux wants in a first
// fragment (include/net/ipv6_frag.h ipv6frag_thdr_truncated).
func minTransport(proto IPProto) int {
	switch proto {
	case ProtoTCP:
		return 20
	case ProtoUDP, ProtoICMPv6:
		return 8
	}
	return 1
}

// chainWalk walks an IPv6 extension-header chain strictly in order (RFC 8200
// §4: never scan ahead), honouring every length field. It skips what Linux
// ipv6_skip_exthdr skips (Hop-by-Hop, Routing, Fragment at offset 0, AH,
// Destination Options; requirement K-01) and stops at anything else, which
// is the upper-layer protocol (K-02: ESP, Mobility, HIP, Shim6 and the
// experimental values included). Every header is at least 8 bytes, so the
// walk is bounded by the datagram length.
//
// The same walk serves the packet and, with strict unset, the packet an ICMP
// error quotes, where only the protocol and fragment fields matter.
type chainWalk struct {
	b                     []byte
	pos, capEnd, dgramEnd int
	nh                    uint8
	ext                   *ExtChain // nil: don't record headers
	strict                bool      // record anomalies and malformations

	frag   Frag
	seen   ExtSet
	anom   Anomaly
	reason Reason
	jumbo  int    // Jumbo Payload Length, when the option is present
	spi    uint32 // SPI of the first AH
	upper  bool   // the walk reached the upper-layer header at pos

	rank     int                    // RFC 8200 §4.1 position of the last header
	perRank  [rankDOFinal + 1]uint8 // headers seen at each position
	routings int
}

// RFC 8200 §4.1 recommended order.
const (
	rankHBH = iota + 1
	rankDOPre
	rankRouting
	rankFragment
	rankAH
	rankESP
	rankDOFinal
)

func (w *chainWalk) walk() {
	start := w.pos
	for {
		kind, hdrLen, ok := w.header()
		if !ok {
			return
		}
		w.record(kind, hdrLen)
		switch kind {
		case ExtHopByHop:
			if w.pos != start && w.strict {
				w.anom |= AnomalyHBHNotFirst // RFC 8200 §4.3
			}
			w.order(rankHBH)
			w.options(true, hdrLen)
		case ExtDestOpts:
			if w.rank <= rankDOPre {
				w.order(rankDOPre)
			} else {
				w.order(rankDOFinal)
			}
			w.options(false, hdrLen)
		case ExtRouting:
			w.order(rankRouting)
			w.routing()
		case ExtFragment:
			w.order(rankFragment)
			if !w.fragment() {
				return
			}
		case ExtAH:
			w.order(rankAH)
			if hdrLen >= 8 && w.spi == 0 {
				w.spi = be32(w.b[w.pos+4:]) // RFC 4302 §2.4
			}
			if w.strict && hdrLen < ahMinLen {
				w.anom |= AnomalyAHShort
			}
		default:
			return // ESP, Mobility, HIP, Shim6, experimental, No Next Header
		}
		w.nh = w.b[w.pos]
		w.pos += hdrLen
	}
}

// header classifies w.nh and checks that its header fits. ok is false when
// the walk is over: at the upper layer (w.upper), or at a stop.
func (w *chainWalk) header() (kind ExtKind, hdrLen int, ok bool) {
	switch IPProto(w.nh) {
	case ProtoHopByHop:
		kind = ExtHopByHop
	case ProtoDestOpts:
		kind = ExtDestOpts
	case ProtoRouting:
		kind = ExtRouting
	case ProtoFragment:
		kind = ExtFragment
	case ProtoAH:
		kind = ExtAH
	case ProtoESP:
		w.recordFinal(ExtESP)
		return ExtESP, 0, false
	case ProtoMobility:
		w.recordFinal(ExtMobility)
		return ExtMobility, 0, false
	case ProtoHIP:
		w.recordFinal(ExtHIP)
		return ExtHIP, 0, false
	case ProtoShim6:
		w.recordFinal(ExtShim6)
		return ExtShim6, 0, false
	case ProtoExp1, ProtoExp2:
		w.recordFinal(ExtExperimental)
		return ExtExperimental, 0, false
	case ProtoNoNext:
		w.recordFinal(ExtNoNext)
		if w.strict && w.pos < w.dgramEnd {
			w.anom |= AnomalyExtAfterNoNext // RFC 8200 §4.7: ignored, but a covert channel
		}
		return ExtNoNext, 0, false
	default:
		w.upper = true
		return ExtUnknown, 0, false
	}
	if !w.fits(2, ReasonExtTruncated) {
		return kind, 0, false
	}
	switch kind {
	case ExtFragment:
		hdrLen = fragHdrLen
	case ExtAH:
		hdrLen = (int(w.b[w.pos+1]) + 2) * 4 // RFC 4302 §2.2
	default:
		hdrLen = (int(w.b[w.pos+1]) + 1) * 8 // RFC 8200 §4.3
	}
	if !w.fits(hdrLen, ReasonExtTruncated) {
		return kind, 0, false
	}
	return kind, hdrLen, true
}

// fits reports whether n bytes at w.pos are captured; if not, it records why
// (see Parsed.short).
func (w *chainWalk) fits(n int, r Reason) bool {
	if w.pos+n <= w.capEnd {
		return true
	}
	if w.pos+n > w.dgramEnd {
		if w.frag.Kind == FragFirst {
			r = ReasonFragIncomplete // RFC 7112 §5
		}
		w.fail(r)
	}
	return false
}

func (w *chainWalk) fail(r Reason) {
	if w.reason == ReasonNone {
		w.reason = r
	}
}

// record notes a header that the walk continues past.
func (w *chainWalk) record(kind ExtKind, hdrLen int) {
	w.seen.add(kind)
	if w.ext == nil {
		return
	}
	e := w.ext
	if int(e.N) < len(e.Hdrs) {
		e.Hdrs[e.N] = ExtHeader{Kind: kind, Off: uint16(w.pos), Len: uint16(hdrLen)}
		e.N++
	}
	e.Count++
	e.Len += hdrLen
	e.Seen = w.seen
}

// recordFinal notes a header that ends the walk.
func (w *chainWalk) recordFinal(kind ExtKind) {
	hdrLen := 0
	if kind != ExtNoNext && kind != ExtESP && w.pos+2 <= w.capEnd {
		// As stated, but within the capture: the header is not walked.
		hdrLen = min((int(w.b[w.pos+1])+1)*8, w.capEnd-w.pos)
	}
	w.record(kind, hdrLen)
	if w.ext != nil {
		w.ext.Len -= hdrLen // only headers walked past count in Len
		if kind == ExtMobility && w.pos+3 <= w.capEnd {
			w.ext.MobilityType = w.b[w.pos+2]
		}
	}
}

// order checks the RFC 8200 §4.1 order and repetition rules: each header
// once, Destination Options once before a Routing header and once before the
// upper layer.
func (w *chainWalk) order(rank int) {
	if !w.strict {
		return
	}
	if rank < w.rank {
		w.anom |= AnomalyExtOrder
	}
	w.rank = max(w.rank, rank)
	w.perRank[rank]++
	if w.perRank[rank] > 1 {
		w.anom |= AnomalyExtRepeated
	}
}

// options walks the TLV options of a Hop-by-Hop or Destination Options
// header (RFC 8200 §4.2), honouring each Opt Data Len.
func (w *chainWalk) options(hbh bool, hdrLen int) {
	if !w.strict {
		return
	}
	b := w.b[w.pos+2 : w.pos+hdrLen]
	for i := 0; i < len(b); {
		t := b[i]
		if t == optPad1 {
			i++
			continue
		}
		if i+2 > len(b) || i+2+int(b[i+1]) > len(b) {
			w.fail(ReasonExtBadOption)
			return
		}
		data := b[i+2 : i+2+int(b[i+1])]
		switch {
		case t == optJumbo && hbh && len(data) == 4:
			w.jumbo = int(be32(data))
			if w.jumbo <= maxDatagram {
				w.fail(ReasonBadJumbo) // RFC 2675 §3: only for payloads over 65535
			}
		case t == optHomeAddress && !hbh:
			w.anom |= AnomalyHomeAddress
		}
		i += 2 + len(data)
	}
}

// routing records the first Routing header's type and Segments Left.
func (w *chainWalk) routing() {
	w.routings++
	if w.ext == nil {
		return
	}
	// Destination Options seen so far precede a Routing header: they are
	// for the intermediate destinations (RFC 8200 §4.1 note 1).
	for i := range w.ext.Headers() {
		if w.ext.Hdrs[i].Kind == ExtDestOpts {
			w.ext.Hdrs[i].Kind = ExtDestOptsPreRH
			w.seen = w.seen&^(1<<ExtDestOpts) | 1<<ExtDestOptsPreRH
			w.ext.Seen = w.seen
		}
	}
	if w.routings > 1 {
		return
	}
	w.ext.RoutingType = w.b[w.pos+2]
	w.ext.SegmentsLeft = w.b[w.pos+3]
	if w.ext.RoutingType == 0 {
		w.anom |= AnomalyRH0 // RFC 5095 §3
	}
}

// fragment reads a Fragment header (RFC 8200 §4.5) and reports whether the
// walk goes on: it stops at a non-first fragment, whose payload holds no
// headers (K-04).
func (w *chainWalk) fragment() bool {
	h := w.b[w.pos : w.pos+fragHdrLen]
	offM := be16(h[2:4])
	f := Frag{
		ID:     be32(h[4:8]),
		Offset: offM &^ 7,
		More:   offM&1 != 0,
		HdrOff: w.pos,
	}
	switch {
	case f.Offset != 0:
		f.Kind = FragLater
	case f.More:
		f.Kind = FragFirst
	default:
		f.Kind = FragAtomic // RFC 6946 §4
	}
	// A second Fragment header is an anomaly (repeated), but if the first
	// was atomic and this one is a real fragment, the packet is that
	// fragment: treating it as whole would let a fragment through unreassembled.
	if w.frag.Kind == NotFragment || w.frag.Kind == FragAtomic {
		w.frag = f
	}
	if w.strict {
		payload := w.dgramEnd - (w.pos + fragHdrLen)
		if f.More && payload%8 != 0 {
			w.fail(ReasonFragBadLength)
		}
		if int(f.Offset)+payload > maxDatagram {
			w.fail(ReasonFragTooBig)
		}
	}
	if f.Kind == FragLater {
		w.nh = h[0]
		w.pos += fragHdrLen
		return false
	}
	return true
}
