package packet_test

// A differential test of the decoder against gopacket's layers, an
// independent decoder used here as a test oracle (and only here: gopacket is
// a test-only dependency).
//
//  1. Every packet of every capture in ../../shared/testdata/pcaps, of
//     packettest.Sample, of the hex fixtures in fixtures_test.go and of
//     seeded random packets serialized by gopacket itself is decoded by
//     both. The random packets are also checked against what the
//     generator put in them.
//  2. Both decodes are reduced to the fields a firewall keys on (link
//     EtherType and VLANs, IP version and addresses, protocol, fragment
//     kind, ports, TCP flags/seq/ack/window/options, ICMP type/code/id/seq,
//     GRE and ESP fields, the packet an ICMP error quotes, the inner packet
//     of a tunnel) and compared field by field.
//  3. A difference is acceptable only if a named rule in diffRules explains
//     it; each rule says why hare deliberately differs (or why gopacket
//     cannot be compared there), citing the RFC or requirement row. Any
//     other difference fails the test, with the packet in hex.
//
// The captures are read by a small pcap/pcapng reader in this file rather
// than gopacket/pcapgo: pcapgo imports golang.org/x/net and x/sys, which are
// not in go.sum, and the test must not depend on hare's capture package.

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

const pcapDir = "../../shared/testdata/pcaps"

// ---------------------------------------------------------------------------
// Capture files.

type capFrame struct {
	link packet.LinkType
	data []byte
}

// readCapture reads a pcap (microsecond or nanosecond, either byte order) or
// pcapng file (any number of sections and interfaces; Enhanced, Simple and
// obsolete Packet blocks).
func readCapture(path string) ([]capFrame, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, errors.New("file too short")
	}
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		return readPcap(b, binary.LittleEndian)
	case 0xd4c3b2a1, 0x4d3cb2a1:
		return readPcap(b, binary.BigEndian)
	case 0x0a0d0d0a:
		return readPcapng(b)
	}
	return nil, fmt.Errorf("unknown magic % x", b[:4])
}

func readPcap(b []byte, bo binary.ByteOrder) ([]capFrame, error) {
	link := packet.LinkType(bo.Uint32(b[20:24]) & 0xffff) // upper bits: FCS length (pcap-savefile(5))
	var out []capFrame
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return out, errors.New("truncated record header")
		}
		n := int(bo.Uint32(b[off+8:]))
		if off+16+n > len(b) {
			return out, errors.New("truncated record")
		}
		out = append(out, capFrame{link, b[off+16 : off+16+n]})
		off += 16 + n
	}
	return out, nil
}

func readPcapng(b []byte) ([]capFrame, error) {
	var (
		out   []capFrame
		bo    binary.ByteOrder = binary.LittleEndian
		links []packet.LinkType
	)
	for off := 0; off+12 <= len(b); {
		if binary.LittleEndian.Uint32(b[off:]) == 0x0a0d0d0a { // Section Header Block: byte order and interfaces reset
			switch binary.LittleEndian.Uint32(b[off+8:]) {
			case 0x1a2b3c4d:
				bo = binary.LittleEndian
			case 0x4d3c2b1a:
				bo = binary.BigEndian
			default:
				return out, errors.New("bad byte-order magic")
			}
			links = links[:0]
		}
		typ, n := bo.Uint32(b[off:]), int(bo.Uint32(b[off+4:]))
		if n < 12 || off+n > len(b) {
			return out, fmt.Errorf("bad block length %d at %d", n, off)
		}
		body := b[off+8 : off+n-4]
		switch typ {
		case 1: // Interface Description Block
			links = append(links, packet.LinkType(bo.Uint16(body)))
		case 6: // Enhanced Packet Block
			id, caplen := int(bo.Uint32(body)), int(bo.Uint32(body[12:]))
			if id >= len(links) || 20+caplen > len(body) {
				return out, errors.New("bad enhanced packet block")
			}
			out = append(out, capFrame{links[id], body[20 : 20+caplen]})
		case 3: // Simple Packet Block: interface 0
			if len(links) == 0 {
				return out, errors.New("simple packet block without interface")
			}
			caplen := min(int(bo.Uint32(body)), len(body)-4)
			out = append(out, capFrame{links[0], body[4 : 4+caplen]})
		case 2: // Packet Block (obsolete)
			id, caplen := int(bo.Uint16(body)), int(bo.Uint32(body[12:]))
			if id >= len(links) || 20+caplen > len(body) {
				return out, errors.New("bad packet block")
			}
			out = append(out, capFrame{links[id], body[20 : 20+caplen]})
		}
		off += n
	}
	return out, nil
}

// nflogPayloadBytes returns the NFULA_PAYLOAD of an NFLOG record, for
// gopacket, which has no NFLOG decoder. The TLV headers are in the logging
// host's byte order, so both are tried (libpcap pcap-common.c).
func nflogPayloadBytes(b []byte) []byte {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for off := 4; off+4 <= len(b); {
			l, typ := int(bo.Uint16(b[off:])), bo.Uint16(b[off+2:])&0x3fff
			if l < 4 || off+l > len(b) {
				break
			}
			if typ == 9 {
				return b[off+4 : off+l]
			}
			off += (l + 3) &^ 3
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// The gopacket side, reduced to the compared fields.

type l4Kind uint8

const (
	l4None l4Kind = iota
	l4TCP
	l4UDP
	l4UDPLite
	l4SCTP
	l4ICMP
	l4ICMPv6
	l4GRE
	l4ESP
	l4Tunnel // an IP header: hare stops there (Tunnel) and gopacket goes on
)

type gview struct {
	data   []byte // what gopacket was given
	layers []gopacket.Layer

	linkFields bool // the link layer has an EtherType to compare
	etherType  uint16
	vlans      []uint16

	ipVersion uint8
	src, dst  netip.Addr
	ipFailed  bool // gopacket failed on the IP header or an extension header
	proto     uint8
	frag      packet.FragKind
	extFailed gopacket.LayerType // the extension layer gopacket failed on, or 0

	l4       l4Kind
	l4Failed bool // gopacket failed on the header after the IP chain
	l4Type   gopacket.LayerType
	ports    [2]uint16
	tcp      *layers.TCP
	icmpType uint8
	icmpCode uint8
	icmpID   uint16
	icmpSeq  uint16
	hasIDSeq bool
	icmpBody []byte // what follows the ICMP header: an error's quote
	gre      *layers.GRE
	spi      uint32
	innerAt  int // index of the inner IP layer of a tunnel, or -1
}

// gopacketDecoder maps a link type to the gopacket decoder for it. For
// NFLOG the caller hands gopacket the payload (see nflogPayloadBytes).
func gopacketDecoder(link packet.LinkType) (gopacket.Decoder, bool) {
	switch link {
	case packet.LinkEthernet:
		return layers.LinkTypeEthernet, true
	case packet.LinkNull, packet.LinkLoop:
		return layers.LayerTypeLoopback, true
	case packet.LinkRaw, packet.LinkRawBSD, packet.LinkRawOBSD, packet.LinkNFLOG:
		return layers.LinkTypeRaw, true
	case packet.LinkIPv4:
		return layers.LayerTypeIPv4, true
	case packet.LinkIPv6:
		return layers.LayerTypeIPv6, true
	case packet.LinkLinuxSLL:
		return layers.LinkTypeLinuxSLL, true
	case packet.LinkLinuxSLL2:
		return layers.LinkTypeLinuxSLL2, true
	}
	return nil, false
}

// gopacketView decodes data with gopacket. When it cannot (a link type
// gopacket does not know, an NFLOG record without a payload), it returns nil
// and says why.
func gopacketView(data []byte, link packet.LinkType) (*gview, string) {
	dec, ok := gopacketDecoder(link)
	if !ok {
		return nil, "link type " + link.String() + " unknown to gopacket"
	}
	if link == packet.LinkNFLOG {
		data = nflogPayloadBytes(data)
		if data == nil {
			return nil, "NFLOG record without a payload"
		}
	}
	pkt := gopacket.NewPacket(data, dec, gopacket.DecodeOptions{NoCopy: true})
	g := &gview{data: data, layers: pkt.Layers()}
	i := 0
link:
	for ; i < len(g.layers); i++ {
		switch l := g.layers[i].(type) {
		case *layers.Ethernet:
			g.linkFields, g.etherType = true, uint16(l.EthernetType)
		case *layers.LinuxSLL:
			g.linkFields, g.etherType = true, uint16(l.EthernetType)
		case *layers.LinuxSLL2:
			g.linkFields, g.etherType = true, uint16(l.ProtocolType)
		case *layers.Dot1Q:
			g.vlans = append(g.vlans, l.VLANIdentifier)
			g.etherType = uint16(l.Type)
		case *layers.Loopback:
		case *layers.IPv4, *layers.IPv6:
			break link
		case *gopacket.DecodeFailure:
			// The frame ends inside the link header, or the IP header is
			// malformed: gopacket records the failure where the IP layer
			// would be.
			g.ipFailed = true
			return g, ""
		default:
			return g, "" // not IP (ARP, LLC, LLDP…)
		}
	}
	if i == len(g.layers) {
		return g, ""
	}
	g.fill(i)
	return g, ""
}

// failedOn reports whether gopacket failed to decode layer i itself. A
// DecodeFailure after layer i means either that layer i's decoder failed
// after adding its layer or that the next decoder failed before adding
// its own, and the failure holds the same bytes in both cases; so layer i is
// decoded again, fresh, from the bytes it was given.
func (g *gview) failedOn(i int) bool {
	if i+1 >= len(g.layers) {
		return false
	}
	if _, ok := g.layers[i+1].(*gopacket.DecodeFailure); !ok {
		return false
	}
	if i > 0 && g.layers[i].LayerType() == layers.LayerTypeIPv6HopByHop && g.layers[i-1].LayerType() == layers.LayerTypeIPv6 {
		return false // decoded as part of the IPv6 layer, which would have failed instead
	}
	type decoder interface {
		DecodeFromBytes([]byte, gopacket.DecodeFeedback) error
	}
	if _, ok := g.layers[i].(decoder); !ok {
		return false // cannot tell; the layer is there, so take it as decoded
	}
	data := g.data
	if i > 0 {
		data = g.layers[i-1].LayerPayload()
	}
	fresh := reflect.New(reflect.TypeOf(g.layers[i]).Elem()).Interface().(decoder)
	return fresh.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil
}

// fill reads the IP layer at index i, its extension headers and the layer
// after them.
func (g *gview) fill(i int) {
	g.innerAt = -1
	if g.failedOn(i) {
		g.ipFailed = true
		return
	}
	switch l := g.layers[i].(type) {
	case *layers.IPv4:
		g.ipVersion = 4
		g.src, _ = netip.AddrFromSlice(l.SrcIP.To4())
		g.dst, _ = netip.AddrFromSlice(l.DstIP.To4())
		g.proto = uint8(l.Protocol)
		switch {
		case l.FragOffset != 0:
			g.frag = packet.FragLater
		case l.Flags&layers.IPv4MoreFragments != 0:
			g.frag = packet.FragFirst
		}
	case *layers.IPv6:
		g.ipVersion = 6
		g.src, _ = netip.AddrFromSlice(l.SrcIP.To16())
		g.dst, _ = netip.AddrFromSlice(l.DstIP.To16())
		g.proto = uint8(l.NextHeader)
	}
	for i++; i < len(g.layers); i++ {
		if g.failedOn(i) && layers.LayerClassIPv6Extension.Contains(g.layers[i].LayerType()) ||
			g.failedOn(i) && g.layers[i].LayerType() == layers.LayerTypeIPSecAH {
			g.extFailed = g.layers[i].LayerType()
			return
		}
		switch l := g.layers[i].(type) {
		case *layers.IPv6HopByHop:
			g.proto = uint8(l.NextHeader)
		case *layers.IPv6Destination:
			g.proto = uint8(l.NextHeader)
		case *layers.IPv6Routing:
			g.proto = uint8(l.NextHeader)
		case *layers.IPSecAH:
			g.proto, g.spi = uint8(l.NextHeader), l.SPI
		case *layers.IPv6Fragment:
			g.proto = uint8(l.NextHeader)
			k := packet.FragAtomic
			switch {
			case l.FragmentOffset != 0:
				k = packet.FragLater
			case l.MoreFragments:
				k = packet.FragFirst
			}
			if g.frag == packet.NotFragment {
				g.frag = k
			}
		default:
			g.transport(i)
			return
		}
	}
}

// transport reads the layer at index i, the first after the IP chain.
func (g *gview) transport(i int) {
	g.l4Type = g.layers[i].LayerType()
	if g.failedOn(i) {
		g.l4Failed = true
		return
	}
	switch l := g.layers[i].(type) {
	case *layers.TCP:
		g.l4, g.tcp, g.ports = l4TCP, l, [2]uint16{uint16(l.SrcPort), uint16(l.DstPort)}
	case *layers.UDP:
		g.l4, g.ports = l4UDP, [2]uint16{uint16(l.SrcPort), uint16(l.DstPort)}
	case *layers.UDPLite:
		g.l4, g.ports = l4UDPLite, [2]uint16{uint16(l.SrcPort), uint16(l.DstPort)}
	case *layers.SCTP:
		g.l4, g.ports = l4SCTP, [2]uint16{uint16(l.SrcPort), uint16(l.DstPort)}
	case *layers.ICMPv4:
		g.l4 = l4ICMP
		g.icmpType, g.icmpCode = l.TypeCode.Type(), l.TypeCode.Code()
		g.icmpID, g.icmpSeq, g.hasIDSeq = l.Id, l.Seq, true
		g.icmpBody = l.Payload
	case *layers.ICMPv6:
		g.l4 = l4ICMPv6
		g.icmpType, g.icmpCode = l.TypeCode.Type(), l.TypeCode.Code()
		if len(l.Payload) >= 4 {
			g.icmpBody = l.Payload[4:] // after the unused/MTU/pointer word
		}
		if i+1 < len(g.layers) {
			if e, ok := g.layers[i+1].(*layers.ICMPv6Echo); ok {
				g.icmpID, g.icmpSeq, g.hasIDSeq = e.Identifier, e.SeqNumber, true
			}
		}
	case *layers.GRE:
		g.l4, g.gre = l4GRE, l
		if i+1 < len(g.layers) {
			switch g.layers[i+1].(type) {
			case *layers.IPv4, *layers.IPv6:
				g.innerAt = i + 1
			}
		}
	case *layers.IPSecESP:
		g.l4, g.spi = l4ESP, l.SPI
	case *layers.IPv4, *layers.IPv6:
		g.l4, g.innerAt = l4Tunnel, i
	case *gopacket.DecodeFailure:
		g.l4Failed = true
	}
}

// ---------------------------------------------------------------------------
// Comparison.

// A mismatch is one field on which the two decoders disagree, with the
// decodes it was found in.
type mismatch struct {
	field     string
	hare, gop string
	at        level
}

func (m mismatch) String() string {
	return fmt.Sprintf("%s: hare %s, gopacket %s", m.field, m.hare, m.gop)
}

// level holds what the rules look at: both decodes of one packet (the
// packet itself or a tunnel's inner packet) and, for mismatches in an ICMP
// error's quote, both decodes of the quote.
type level struct {
	h     *packet.Parsed
	g     *gview
	q     *packet.Quote
	qg    *gview
	inner bool // h is a tunnel's inner packet
}

// hareL4 reports which transport header hare decoded, in gview's terms.
func hareL4(h *packet.Parsed) l4Kind {
	if h.Tunnel != packet.NoTunnel && h.Tunnel != packet.TunnelTeredo && h.Tunnel != packet.TunnelGRE {
		return l4Tunnel
	}
	if !h.HasTransport() {
		return l4None
	}
	switch h.Proto {
	case packet.ProtoTCP:
		return l4TCP
	case packet.ProtoUDP:
		return l4UDP
	case packet.ProtoUDPLite:
		return l4UDPLite
	case packet.ProtoSCTP:
		return l4SCTP
	case packet.ProtoICMP:
		if h.IPVersion == 4 {
			return l4ICMP
		}
	case packet.ProtoICMPv6:
		if h.IPVersion == 6 {
			return l4ICMPv6
		}
	case packet.ProtoGRE:
		return l4GRE
	case packet.ProtoESP:
		return l4ESP
	}
	return l4None
}

var l4Names = [...]string{"none", "tcp", "udp", "udplite", "sctp", "icmp", "icmpv6", "gre", "esp", "tunnel"}

func (k l4Kind) String() string { return l4Names[k] }

func compareViews(h *packet.Parsed, g *gview) []mismatch {
	var out []mismatch
	at := level{h: h, g: g}
	add := func(field string, hv, gv any) {
		a, b := fmt.Sprint(hv), fmt.Sprint(gv)
		if a != b {
			out = append(out, mismatch{field, a, b, at})
		}
	}
	if g.linkFields && h.EtherType >= 0x0600 {
		add("ethertype", fmt.Sprintf("%#04x", h.EtherType), fmt.Sprintf("%#04x", g.etherType))
	}
	if g.linkFields {
		add("vlan.count", h.NumVLAN, len(g.vlans))
		for i := 0; i < min(int(h.NumVLAN), len(g.vlans), 2); i++ {
			add(fmt.Sprintf("vlan[%d]", i), h.VLAN[i], g.vlans[i])
		}
	}
	add("ip.version", h.IPVersion, g.ipVersion)
	if h.IPVersion == 0 || g.ipVersion == 0 || h.IPVersion != g.ipVersion {
		return out
	}
	add("ip.src", h.Src, g.src)
	add("ip.dst", h.Dst, g.dst)
	add("proto", uint8(h.Proto), g.proto)
	add("frag", h.Frag.Kind, g.frag)

	hk := hareL4(h)
	gk := g.l4
	if gk == l4Tunnel && hk != l4Tunnel && (h.Proto == packet.ProtoIPv6 || h.Proto == packet.ProtoIPIP) {
		hk = l4None // hare saw no inner header of the right version
	}
	add("transport", hk, gk)
	if hk != gk {
		return out
	}
	switch hk {
	case l4TCP:
		t := g.tcp
		add("ports", [2]uint16{h.SrcPort, h.DstPort}, g.ports)
		add("tcp.flags", h.TCP.Flags, gopacketFlags(t))
		add("tcp.seq", h.TCP.Seq, t.Seq)
		add("tcp.ack", h.TCP.Ack, t.Ack)
		add("tcp.window", h.TCP.Window, t.Window)
		add("tcp.dataoff", h.TCP.DataOff, t.DataOffset*4)
		if h.Reason == packet.ReasonNone {
			o := gopacketTCPOptions(t)
			add("tcp.opts", h.TCP.Opts&^packet.OptFastOpen, o.opts)
			if o.opts&packet.OptMSS != 0 {
				add("tcp.mss", h.TCP.MSS, o.mss)
			}
			if o.opts&packet.OptWScale != 0 {
				add("tcp.wscale", h.TCP.WScale, o.wscale)
			}
			if o.opts&packet.OptTimestamp != 0 {
				add("tcp.ts", [2]uint32{h.TCP.TSVal, h.TCP.TSEcr}, o.ts)
			}
			if o.opts&packet.OptSACK != 0 {
				add("tcp.sack", h.TCP.SACK[:h.TCP.NumSACK], o.sack[:min(len(o.sack), 4)])
			}
		}
	case l4UDP, l4UDPLite, l4SCTP:
		add("ports", [2]uint16{h.SrcPort, h.DstPort}, g.ports)
	case l4ICMP, l4ICMPv6:
		add("icmp.type", h.ICMP.Type, g.icmpType)
		add("icmp.code", h.ICMP.Code, g.icmpCode)
		hasIDSeq := isQuery(h) && h.L4Len >= 8 // both fields captured
		if hasIDSeq || g.hasIDSeq {
			add("icmp.idseq", idseq(hasIDSeq, h.ICMP.ID, h.ICMP.Seq), idseq(g.hasIDSeq, g.icmpID, g.icmpSeq))
		}
		if h.ICMP.IsError {
			out = append(out, compareQuote(h, g)...)
		}
	case l4GRE:
		add("gre.version", h.GRE.Version, g.gre.Version)
		add("gre.protocol", fmt.Sprintf("%#04x", h.GRE.Protocol), fmt.Sprintf("%#04x", uint16(g.gre.Protocol)))
		if h.GRE.Version == 0 {
			add("gre.key", keyOf(h.GRE.HasKey, h.GRE.Key), keyOf(g.gre.KeyPresent, g.gre.Key))
		}
	case l4ESP:
		add("esp.spi", h.SPI, g.spi)
	}
	return out
}

// isQuery reports whether hare's ICMP type is one that carries an
// identifier and sequence number.
func isQuery(h *packet.Parsed) bool {
	t := h.ICMP.Type
	if h.Proto == packet.ProtoICMP {
		return t == 0 || t == 8 || (t >= 13 && t <= 18)
	}
	return t == 128 || t == 129 || t == 139 || t == 140
}

func idseq(ok bool, id, seq uint16) string {
	if !ok {
		return "none"
	}
	return fmt.Sprintf("%d/%d", id, seq)
}

func keyOf(ok bool, k uint32) string {
	if !ok {
		return "none"
	}
	return fmt.Sprintf("%#x", k)
}

func gopacketFlags(t *layers.TCP) packet.TCPFlags {
	var f packet.TCPFlags
	for i, b := range []bool{t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR, t.NS} {
		if b {
			f |= 1 << i
		}
	}
	return f
}

type tcpOpts struct {
	opts   packet.TCPOpts
	mss    uint16
	wscale uint8
	ts     [2]uint32
	sack   []packet.SACKBlock
}

// gopacketTCPOptions reads gopacket's option list the way a tracker does
// (RFC 9293 §3.2): an option with a length other than its kind's is not
// taken, which is what Linux tcp_options does too.
func gopacketTCPOptions(t *layers.TCP) tcpOpts {
	var o tcpOpts
	for _, op := range t.Options {
		d := op.OptionData
		switch {
		case op.OptionType == layers.TCPOptionKindEndList:
			return o
		case op.OptionType == layers.TCPOptionKindMSS && len(d) == 2:
			o.opts |= packet.OptMSS
			o.mss = binary.BigEndian.Uint16(d)
		case op.OptionType == layers.TCPOptionKindWindowScale && len(d) == 1:
			o.opts |= packet.OptWScale
			o.wscale = d[0]
		case op.OptionType == layers.TCPOptionKindSACKPermitted && len(d) == 0:
			o.opts |= packet.OptSACKPerm
		case op.OptionType == layers.TCPOptionKindSACK && len(d) >= 8 && len(d)%8 == 0:
			o.opts |= packet.OptSACK
			for j := 0; j+8 <= len(d); j += 8 {
				o.sack = append(o.sack, packet.SACKBlock{Left: binary.BigEndian.Uint32(d[j:]), Right: binary.BigEndian.Uint32(d[j+4:])})
			}
		case op.OptionType == layers.TCPOptionKindTimestamps && len(d) == 8:
			o.opts |= packet.OptTimestamp
			o.ts = [2]uint32{binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])}
		}
	}
	return o
}

// compareQuote decodes the bytes an ICMP error quotes with gopacket and
// compares them with hare's Quote.
func compareQuote(h *packet.Parsed, g *gview) []mismatch {
	q := g.icmpBody
	if len(q) == 0 {
		if h.Quote.IPVersion == 0 {
			return nil // neither has a quote: the capture ends in the ICMP header
		}
		return []mismatch{{"quote", "ip" + fmt.Sprint(h.Quote.IPVersion), "nothing quoted", level{h: h, g: g}}}
	}
	var dec gopacket.Decoder = layers.LayerTypeIPv4
	if q[0]>>4 == 6 {
		dec = layers.LayerTypeIPv6
	}
	qp := gopacket.NewPacket(q, dec, gopacket.DecodeOptions{NoCopy: true})
	qg := &gview{data: q, layers: qp.Layers()}
	if len(qg.layers) > 0 {
		switch qg.layers[0].(type) {
		case *layers.IPv4, *layers.IPv6:
			qg.fill(0)
		default:
			qg.ipFailed = true
		}
	}
	var out []mismatch
	hq := &h.Quote
	at := level{h: h, g: g, q: hq, qg: qg}
	add := func(field string, hv, gv any) {
		a, b := fmt.Sprint(hv), fmt.Sprint(gv)
		if a != b {
			out = append(out, mismatch{"quote." + field, a, b, at})
		}
	}
	add("ip.version", hq.IPVersion, qg.ipVersion)
	if hq.IPVersion == 0 || qg.ipVersion == 0 {
		return out
	}
	add("ip.src", hq.Src, qg.src)
	add("ip.dst", hq.Dst, qg.dst)
	add("proto", uint8(hq.Proto), qg.proto)
	add("frag", hq.Frag.Kind, qg.frag)
	switch qg.l4 {
	case l4TCP, l4UDP, l4UDPLite, l4SCTP:
		add("ports", [2]uint16{hq.SrcPort, hq.DstPort}, qg.ports)
		if qg.l4 == l4TCP {
			add("tcp.seq", hq.TCPSeq, qg.tcp.Seq)
		}
	case l4ICMP, l4ICMPv6:
		add("icmp.type", hq.ICMPType, qg.icmpType)
		add("icmp.code", hq.ICMPCode, qg.icmpCode)
		if qg.hasIDSeq && (qg.icmpType == 0 || qg.icmpType == 8 || qg.icmpType == 128 || qg.icmpType == 129) {
			add("icmp.id", hq.ICMPID, qg.icmpID)
		}
	default:
		// gopacket decoded no transport header from the quote: it needs a
		// whole header (20 bytes of TCP, 12 of SCTP), while RFC 792 promises
		// only 8 bytes and hare reads ports from those (see rule
		// quote-8-bytes).
		if hq.HasL4 && hq.Proto.HasPorts() {
			add("ports.decoded", "yes", "no")
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Rules: every deliberate or unavoidable disagreement, with its reason.

type diffRule struct {
	name string
	why  string
	// explains reports whether the rule accounts for mismatch m.
	explains func(m mismatch) bool
}

func fieldIn(m mismatch, fields ...string) bool { return slices.Contains(fields, m.field) }

// firstNextHeader returns the Next Header field of hare's IPv6 header.
func firstNextHeader(h *packet.Parsed) int {
	if f := h.Frame(); h.IPVersion == 6 && h.L3Off+7 <= len(f) {
		return int(f[h.L3Off+6])
	}
	return -1
}

// failedAt reports whether gopacket's decode failed at the header of
// protocol proto and layer type lt: either that layer itself failed, or the
// decode failed where the chain named it (some decoders add no layer when
// they fail).
func failedAt(g *gview, proto uint8, lt gopacket.LayerType) bool {
	return g.extFailed == lt || g.l4Failed && g.proto == proto
}

func failedAtAH(g *gview) bool {
	return failedAt(g, uint8(layers.IPProtocolAH), layers.LayerTypeIPSecAH)
}

var diffRules = []diffRule{
	{
		name: "first-fragment-transport",
		why: "hare decodes what the first fragment carries (RFC 791 §2.3 and RFC 8200 §4.5: the offset-0 " +
			"fragment holds the rest of the header chain and the transport header; RFC 7112 §5 and K-09 " +
			"require them there; Linux ipv6_skip_exthdr walks on past a Fragment header at offset 0, K-01), so " +
			"its protocol is the one at the end of the chain and its ports are read; gopacket stops at the " +
			"fragmentation (ip4.go/ip6.go: the payload of every fragment is a Fragment layer)",
		explains: func(m mismatch) bool {
			return fieldIn(m, "transport", "proto") && m.at.h.Frag.Kind == packet.FragFirst &&
				m.at.g.l4Type == gopacket.LayerTypeFragment
		},
	},
	{
		name: "atomic-fragment-whole-packet",
		why: "an atomic fragment (offset 0, M=0) is a whole packet (RFC 6946 §4, RFC 8200 §4.5, FR-11) and " +
			"Linux walks past its Fragment header (K-01); hare decodes what follows it, gopacket's " +
			"decodeIPv6Fragment hands the payload of every Fragment header, atomic ones too, to DecodeFragment",
		explains: func(m mismatch) bool {
			if strings.HasPrefix(m.field, "quote.") {
				return m.at.qg != nil && m.at.qg.frag == packet.FragAtomic && m.at.qg.l4Type == gopacket.LayerTypeFragment
			}
			return fieldIn(m, "transport", "proto") && m.at.g.frag == packet.FragAtomic &&
				m.at.g.l4Type == gopacket.LayerTypeFragment
		},
	},
	{
		name: "nested-fragment-header",
		why: "behind an atomic Fragment header a second Fragment header makes the packet a real fragment: " +
			"hare reports the fragment (RFC 6946 §4 processes only true atomic fragments alone; K-04), " +
			"gopacket stops at the first Fragment header",
		explains: func(m mismatch) bool {
			return m.field == "frag" && m.hare != "atomic" && m.gop == "atomic" && m.at.h.Ext.Count > 1 &&
				m.at.h.Anomalies.Has(packet.AnomalyExtRepeated)
		},
	},
	{
		name: "icmp4-id-seq-only-for-queries",
		why: "gopacket reads bytes 4-7 of every ICMP message as Id/Seq; RFC 792 defines identifier and " +
			"sequence number only for echo, timestamp and information messages (errors carry unused, " +
			"pointer, MTU or gateway there), and Linux nf_conntrack_proto_icmp keys only queries on the id",
		explains: func(m mismatch) bool {
			return m.field == "icmp.idseq" && m.at.h.Proto == packet.ProtoICMP && !isQuery(m.at.h) && m.hare == "none"
		},
	},
	{
		name: "icmpv6-node-information-id",
		why: "hare takes the identifier of ICMPv6 Node Information query/reply (139/140, RFC 4620 §4) as " +
			"Linux icmpv6_pkt_to_tuple does (K-13); gopacket decodes an identifier only for echo",
		explains: func(m mismatch) bool {
			return m.field == "icmp.idseq" && m.at.h.Proto == packet.ProtoICMPv6 &&
				(m.at.h.ICMP.Type == 139 || m.at.h.ICMP.Type == 140) && m.gop == "none"
		},
	},
	{
		name: "quote-8-bytes",
		why: "an ICMP error need only quote 8 bytes of the transport header (RFC 792; RFC 4443 §2.4 (c) " +
			"as much as fits); hare reads ports (and the TCP sequence number) from those 8 bytes as Linux " +
			"nf_conntrack_inet_error does, while gopacket cannot decode a TCP/SCTP header cut short",
		explains: func(m mismatch) bool { return m.field == "quote.ports.decoded" },
	},
	{
		name: "snaplen-cut-optional-fields",
		why: "when a capture's snaplen cuts a transport header in its optional part (TCP options, the GRE " +
			"key), hare still decodes the fixed part that was captured (TCP ports, flags, seq, ack, window; " +
			"GRE version and protocol) and Reason says the capture is short (ReasonIPTruncated); gopacket " +
			"rejects the whole header",
		explains: func(m mismatch) bool {
			h := m.at.h
			if m.field != "transport" || h.Reason != packet.ReasonIPTruncated || !m.at.g.l4Failed {
				return false
			}
			switch hareL4(h) {
			case l4TCP:
				return int(h.TCP.DataOff) > h.L4Len && h.L4Len >= 20
			case l4GRE:
				return h.L4Len >= 4
			}
			return false
		},
	},
	{
		name: "tunnel-inner-truncated",
		why: "hare classifies an IP-in-IP tunnel (RFC 2003, RFC 2473, RFC 4213) from the outer protocol and " +
			"the inner version nibble; whether the inner header is whole is for DecodeInner to report " +
			"(ReasonIPv4Truncated/ReasonIPv6Truncated); gopacket fails the inner IP layer when the capture cuts it",
		explains: func(m mismatch) bool {
			return m.field == "transport" && hareL4(m.at.h) == l4Tunnel && m.at.g.l4Failed &&
				(m.at.g.l4Type == layers.LayerTypeIPv4 || m.at.g.l4Type == layers.LayerTypeIPv6)
		},
	},
	{
		name: "hbh-cut-keeps-ipv6-header",
		why: "gopacket decodes a Hop-by-Hop header as part of its IPv6 layer, so a Hop-by-Hop header cut " +
			"by the capture or malformed loses the whole IPv6 layer; hare keeps the IPv6 header's fields " +
			"(addresses for the conntrack tuple) and stops at the Hop-by-Hop header with a Reason",
		explains: func(m mismatch) bool {
			return m.field == "ip.version" && m.at.g.ipFailed && m.at.h.IPVersion == 6 && m.at.h.Reason != packet.ReasonNone &&
				firstNextHeader(m.at.h) == 0
		},
	},
	{
		name: "ipv4-total-length-below-ihl",
		why: "an IPv4 Total Length below the header length is what captures taken above a NIC doing TCP " +
			"segmentation offload show (0); hare decodes such a packet with the captured length and says " +
			"ReasonIPv4BadLength (Linux ip_rcv drops it, so the policy can too); gopacket rejects the header",
		explains: func(m mismatch) bool {
			return m.field == "ip.version" && m.at.h.Reason == packet.ReasonIPv4BadLength && m.at.g.ipFailed
		},
	},
	{
		name: "bad-option-chain-walked",
		why: "an option that runs past its Hop-by-Hop/Destination Options header (RFC 8200 §4.2, EH-06) " +
			"makes hare say ReasonExtBadOption, but the header's own length field is sound, so the walk " +
			"goes on to the upper layer as Linux ipv6_skip_exthdr does (it never parses options, K-01); " +
			"gopacket rejects the header and decodes nothing after it",
		explains: func(m mismatch) bool {
			return fieldIn(m, "transport", "proto") && m.at.h.Reason == packet.ReasonExtBadOption &&
				(failedAt(m.at.g, 60, layers.LayerTypeIPv6Destination) || failedAt(m.at.g, 0, layers.LayerTypeIPv6HopByHop))
		},
	},
	{
		name: "malformed-transport-fields-kept",
		why: "a TCP data offset below 5 or past the segment, or a UDP length below 8 or past the datagram: " +
			"hare keeps the fixed fields it could read (ports, flags) and says why in Reason " +
			"(ReasonTCPBadDataOffset, ReasonUDPBadLength; Linux tcp_error/udp_error make such packets " +
			"INVALID, K-18), so a log can still name the flow; gopacket drops the layer",
		explains: func(m mismatch) bool {
			r := m.at.h.Reason
			return m.field == "transport" && m.at.g.l4Failed &&
				(r == packet.ReasonTCPBadDataOffset || r == packet.ReasonUDPBadLength)
		},
	},
	{
		name: "short-ah-walked",
		why: "an IPv6 AH shorter than its 12-byte minimum (RFC 4302 §2.2): Linux ipv6_skip_exthdr walks past " +
			"it by its length field (K-01) and so does hare, flagging AnomalyAHShort in the packet itself; " +
			"gopacket rejects the header and decodes nothing after it",
		explains: func(m mismatch) bool {
			if strings.HasPrefix(m.field, "quote.") {
				return m.field == "quote.proto" && m.at.q.ExtSeen.Has(packet.ExtAH) && failedAtAH(m.at.qg)
			}
			return fieldIn(m, "transport", "proto") && m.at.h.Anomalies.Has(packet.AnomalyAHShort) && failedAtAH(m.at.g)
		},
	},
}

// ---------------------------------------------------------------------------
// Running the comparison.

type tally struct {
	compared, agreed int
	byRule           map[string]int
	notCompared      map[string]int // packets gopacket cannot decode at all, by reason
	failures         []string
}

func newTally() *tally { return &tally{byRule: map[string]int{}, notCompared: map[string]int{}} }

func (t *tally) add(o *tally) {
	t.compared += o.compared
	t.agreed += o.agreed
	for k, v := range o.byRule {
		t.byRule[k] += v
	}
	for k, v := range o.notCompared {
		t.notCompared[k] += v
	}
	t.failures = append(t.failures, o.failures...)
}

func (t *tally) String() string {
	s := fmt.Sprintf("%d compared, %d agree", t.compared, t.agreed)
	for _, k := range sortedKeys(t.byRule) {
		s += fmt.Sprintf(", %d by rule %s", t.byRule[k], k)
	}
	for _, k := range sortedKeys(t.notCompared) {
		s += fmt.Sprintf(", %d not compared (%s)", t.notCompared[k], k)
	}
	if len(t.failures) > 0 {
		s += fmt.Sprintf(", %d UNEXPLAINED", len(t.failures))
	}
	return s
}

func sortedKeys(m map[string]int) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// diffPacket decodes one frame both ways and records the outcome in t.
func diffPacket(t *tally, where string, data []byte, link packet.LinkType, h, inner *packet.Parsed) {
	g, why := gopacketView(data, link)
	if g == nil {
		t.notCompared[why]++
		return
	}
	h.Decode(data, link)
	t.compared++
	ms := compareViews(h, g)
	// A tunnel: compare the inner packets too.
	if g.innerAt >= 0 && h.DecodeInner(inner) {
		ig := &gview{data: g.data, layers: g.layers}
		ig.fill(g.innerAt)
		for _, m := range compareViews(inner, ig) {
			m.at.inner = true
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		t.agreed++
		return
	}
	var unexplained []string
	used := map[string]bool{}
	for _, m := range ms {
		found := false
		for _, r := range diffRules {
			if r.explains(m) {
				used[r.name], found = true, true
				break
			}
		}
		if !found {
			unexplained = append(unexplained, m.String())
		}
	}
	if len(unexplained) > 0 {
		t.failures = append(t.failures, fmt.Sprintf("%s (link %v, reason %v):\n\t%s\n\tframe %s",
			where, link, h.Reason, strings.Join(unexplained, "\n\t"), hex.EncodeToString(data)))
		return
	}
	for r := range used {
		t.byRule[r]++
	}
}

func reportTally(t *testing.T, name string, tl *tally) {
	t.Helper()
	t.Logf("%-58s %s", name, tl)
	for i, f := range tl.failures {
		if i == 10 {
			t.Errorf("%s: %d more unexplained disagreements", name, len(tl.failures)-10)
			break
		}
		t.Errorf("unexplained disagreement in %s", f)
	}
}

// TestDiffGopacketCaptures compares the decoders on every packet of the
// shared capture corpus.
func TestDiffGopacketCaptures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pcapDir, "*.pcap*"))
	if len(files) == 0 {
		t.Skipf("no captures in %s (the shared corpus is not checked out here)", pcapDir)
	}
	var h, inner packet.Parsed
	total := newTally()
	for _, f := range files {
		frames, err := readCapture(f)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		tl := newTally()
		for i, fr := range frames {
			diffPacket(tl, fmt.Sprintf("%s #%d", filepath.Base(f), i+1), fr.data, fr.link, &h, &inner)
		}
		reportTally(t, filepath.Base(f), tl)
		total.add(tl)
	}
	t.Logf("%-58s %s", fmt.Sprintf("TOTAL (%d captures)", len(files)), total)
}

// TestDiffGopacketSample compares the decoders on packettest.Sample.
func TestDiffGopacketSample(t *testing.T) {
	var h, inner packet.Parsed
	tl := newTally()
	for i, f := range pt.Sample() {
		diffPacket(tl, fmt.Sprintf("sample #%d", i+1), f.Data, f.Link, &h, &inner)
	}
	reportTally(t, "packettest.Sample", tl)
}

// ---------------------------------------------------------------------------
// Generated packets.

// gen is one random packet serialized by gopacket (with extension headers
// and SCTP chunks from packettest spliced in as payloads) and the fields the
// generator chose, which hare must decode unless the frame was truncated.
type gen struct {
	r  *rand.Rand
	tb testing.TB

	link               packet.LinkType
	v6                 bool
	proto              uint8
	sport, dport       uint16
	flags              packet.TCPFlags
	seq, ack           uint32
	icmpType, icmpCode uint8
	id, seqNo          uint16
	query              bool // ICMP message with identifier and sequence number
	numExt, numVLANs   int
	frag               packet.FragKind
	tunnel             packet.Tunnel
	truncated          bool
}

// genPacket returns a random frame: Ethernet (possibly with one or two VLAN
// tags) or raw IP; IPv4 or IPv6, the latter with a random extension-header
// chain in RFC 8200 §4.1 order; TCP with options, UDP, ICMP or ICMPv6
// queries and errors quoting a packet, SCTP, GRE or IP-in-IP tunnels; some
// of them fragmented (first, later or, for IPv6, atomic fragments); some
// cut short at a random length as a snaplen would.
func genPacket(tb testing.TB, r *rand.Rand) ([]byte, *gen) {
	g := &gen{r: r, tb: tb, link: packet.LinkRaw, v6: r.IntN(2) == 1}
	var ls []gopacket.SerializableLayer
	if r.IntN(3) > 0 {
		g.link = packet.LinkEthernet
		ls = append(ls, g.ether()...)
	}
	ls = append(ls, g.ip()...)
	frame := serialize(tb, ls...)
	if r.IntN(8) == 0 {
		frame = frame[:1+r.IntN(len(frame)-1)]
		g.truncated = true
	}
	return frame, g
}

func (g *gen) ether() []gopacket.SerializableLayer {
	et := layers.EthernetTypeIPv4
	if g.v6 {
		et = layers.EthernetTypeIPv6
	}
	e := &layers.Ethernet{SrcMAC: net.HardwareAddr(pt.MAC1[:]), DstMAC: net.HardwareAddr(pt.MAC2[:]), EthernetType: et}
	ls := []gopacket.SerializableLayer{e}
	if g.r.IntN(4) == 0 {
		g.numVLANs = 1 + g.r.IntN(2)
		e.EthernetType = layers.EthernetTypeDot1Q
		if g.numVLANs == 2 {
			e.EthernetType = layers.EthernetTypeQinQ
		}
		for i := range g.numVLANs {
			d := &layers.Dot1Q{VLANIdentifier: uint16(1 + g.r.IntN(4094)), Priority: uint8(g.r.IntN(8)), Type: layers.EthernetTypeDot1Q}
			if i == g.numVLANs-1 {
				d.Type = et
			}
			ls = append(ls, d)
		}
	}
	return ls
}

func (g *gen) addrs(v6 bool) (src, dst net.IP) {
	if v6 {
		s := [16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(g.r.IntN(256)), 15: byte(1 + g.r.IntN(254))}
		d := [16]byte{0x20, 0x01, 0x0d, 0xb8, 1, 15: byte(1 + g.r.IntN(254))}
		return s[:], d[:]
	}
	return net.IP{10, byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(1 + g.r.IntN(254))},
		net.IP{192, 0, 2, byte(1 + g.r.IntN(254))}
}

// ipHeader returns an IPv4 or IPv6 layer between src and dst; the caller
// sets the protocol.
func (g *gen) ipHeader(v6 bool, src, dst net.IP) (gopacket.SerializableLayer, gopacket.NetworkLayer) {
	if v6 {
		l := &layers.IPv6{Version: 6, HopLimit: uint8(1 + g.r.IntN(255)), TrafficClass: uint8(g.r.IntN(256)),
			FlowLabel: uint32(g.r.IntN(1 << 20)), SrcIP: src, DstIP: dst}
		return l, l
	}
	l := &layers.IPv4{Version: 4, IHL: 5, TTL: uint8(1 + g.r.IntN(255)), Id: uint16(g.r.IntN(65536)), SrcIP: src, DstIP: dst}
	if g.r.IntN(2) == 0 {
		l.Flags = layers.IPv4DontFragment
	}
	return l, l
}

func setProto(l gopacket.SerializableLayer, proto uint8) {
	switch l := l.(type) {
	case *layers.IPv4:
		l.Protocol = layers.IPProtocol(proto)
	case *layers.IPv6:
		l.NextHeader = layers.IPProtocol(proto)
	}
}

func (g *gen) payload(maxLen int) gopacket.Payload {
	p := make(gopacket.Payload, g.r.IntN(maxLen+1))
	for i := range p {
		p[i] = byte(g.r.IntN(256))
	}
	return p
}

// ip returns the outer IP packet.
func (g *gen) ip() []gopacket.SerializableLayer {
	r := g.r
	src, dst := g.addrs(g.v6)
	hdr, nl := g.ipHeader(g.v6, src, dst)
	var body []gopacket.SerializableLayer
	switch k := r.IntN(100); {
	case k < 30:
		g.proto, body = pt.ProtoTCP, g.tcp(nl)
	case k < 55:
		g.proto, body = pt.ProtoUDP, g.udp(nl)
	case k < 75:
		body = g.icmp(nl, src, dst)
	case k < 85:
		g.proto, body = pt.ProtoSCTP, g.sctp()
	case k < 92:
		g.proto, g.tunnel = pt.ProtoGRE, packet.TunnelGRE
		inner6 := r.IntN(2) == 0
		gre := &layers.GRE{Protocol: layers.EthernetTypeIPv4}
		if inner6 {
			gre.Protocol = layers.EthernetTypeIPv6
		}
		if r.IntN(2) == 0 {
			gre.KeyPresent, gre.Key = true, r.Uint32()
		}
		body = append([]gopacket.SerializableLayer{gre}, g.innerPacket(inner6)...)
	default:
		inner6 := r.IntN(2) == 0
		g.proto = pt.ProtoIPIP
		if inner6 {
			g.proto = pt.ProtoIPv6
		}
		g.tunnel = map[[2]bool]packet.Tunnel{
			{false, false}: packet.Tunnel4in4, {false, true}: packet.Tunnel6in4,
			{true, false}: packet.Tunnel4in6, {true, true}: packet.Tunnel6in6,
		}[[2]bool{g.v6, inner6}]
		body = g.innerPacket(inner6)
	}

	// Fragmentation (RFC 791 §2.3, RFC 8200 §4.5): a first fragment keeps
	// the transport header; a later one carries arbitrary data.
	fragment := r.IntN(10) == 0
	later := fragment && r.IntN(2) == 0
	if later {
		body = []gopacket.SerializableLayer{g.payload(64)}
		g.tunnel = packet.NoTunnel
	}
	if !g.v6 {
		setProto(hdr, g.proto)
		if fragment {
			l := hdr.(*layers.IPv4)
			l.Flags = layers.IPv4MoreFragments
			g.frag = packet.FragFirst
			if later {
				l.FragOffset = uint16(1 + r.IntN(1000))
				l.Flags = layers.IPv4Flag(r.IntN(2)) * layers.IPv4MoreFragments
				g.frag = packet.FragLater
			}
		}
		return append([]gopacket.SerializableLayer{hdr}, body...)
	}

	// An extension-header chain in the recommended order: HBH, DO, RH,
	// Fragment, AH, DO. Built from the inside out.
	type ext struct {
		proto uint8
		b     []byte
	}
	var chain []ext
	next := g.proto
	push := func(p uint8, b []byte) { chain, next = append(chain, ext{p, b}), p }
	if !later {
		if r.IntN(3) == 0 {
			push(pt.ProtoDestOpts, pt.DestOpts(next, pt.PadN(2+r.IntN(12))))
		}
		if r.IntN(5) == 0 {
			push(pt.ProtoAH, pt.AH(next, r.Uint32(), r.Uint32(), make([]byte, 12)))
		}
	}
	switch {
	case fragment:
		id := r.Uint32()
		if later {
			push(pt.ProtoFragment, pt.Fragment(next, id, uint16(8*(1+r.IntN(1000))), r.IntN(2) == 0))
			g.frag = packet.FragLater
		} else {
			push(pt.ProtoFragment, pt.Fragment(next, id, 0, true))
			g.frag = packet.FragFirst
		}
	case r.IntN(6) == 0:
		push(pt.ProtoFragment, pt.Fragment(next, r.Uint32(), 0, false))
		g.frag = packet.FragAtomic
	}
	if r.IntN(4) == 0 {
		push(pt.ProtoRouting, pt.Routing(next, []uint8{2, 4, 253}[r.IntN(3)], 0, netip.MustParseAddr("2001:db8::99")))
	}
	if r.IntN(4) == 0 {
		push(pt.ProtoDestOpts, pt.DestOpts(next, pt.PadN(6)))
	}
	if r.IntN(3) == 0 {
		push(pt.ProtoHopByHop, pt.HopByHop(next, pt.RouterAlert(0), pt.PadN(2)))
	}
	setProto(hdr, next)
	g.numExt = len(chain)
	out := []gopacket.SerializableLayer{hdr}
	if len(chain) > 0 {
		var b []byte
		for i := len(chain) - 1; i >= 0; i-- {
			b = append(b, chain[i].b...)
		}
		out = append(out, gopacket.Payload(b))
	}
	return append(out, body...)
}

func (g *gen) tcp(nl gopacket.NetworkLayer) []gopacket.SerializableLayer {
	r := g.r
	g.sport, g.dport = uint16(1024+r.IntN(60000)), uint16(1+r.IntN(1023))
	t := &layers.TCP{SrcPort: layers.TCPPort(g.sport), DstPort: layers.TCPPort(g.dport),
		Seq: r.Uint32(), Ack: r.Uint32(), Window: uint16(r.IntN(65536))}
	fl := r.IntN(512)
	t.FIN, t.SYN, t.RST, t.PSH, t.ACK = fl&1 != 0, fl&2 != 0, fl&4 != 0, fl&8 != 0, fl&16 != 0
	t.URG, t.ECE, t.CWR, t.NS = fl&32 != 0, fl&64 != 0, fl&128 != 0, fl&256 != 0
	g.flags, g.seq, g.ack = packet.TCPFlags(fl), t.Seq, t.Ack
	if r.IntN(2) == 0 {
		t.Options = []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{byte(r.IntN(256)), byte(r.IntN(256))}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{byte(r.IntN(15))}},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: binary.BigEndian.AppendUint64(nil, r.Uint64())},
		}
		if r.IntN(3) == 0 {
			t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionLength: 18,
				OptionData: binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, r.Uint64()), r.Uint64())})
		}
	}
	if err := t.SetNetworkLayerForChecksum(nl); err != nil {
		g.tb.Fatal(err)
	}
	return []gopacket.SerializableLayer{t, g.payload(64)}
}

func (g *gen) udp(nl gopacket.NetworkLayer) []gopacket.SerializableLayer {
	g.sport, g.dport = uint16(1024+g.r.IntN(60000)), uint16(1+g.r.IntN(1023))
	if g.dport == 3544 || g.sport == 3544 { // not Teredo
		g.dport = 53
	}
	u := &layers.UDP{SrcPort: layers.UDPPort(g.sport), DstPort: layers.UDPPort(g.dport)}
	if err := u.SetNetworkLayerForChecksum(nl); err != nil {
		g.tb.Fatal(err)
	}
	return []gopacket.SerializableLayer{u, g.payload(64)}
}

func (g *gen) sctp() []gopacket.SerializableLayer {
	g.sport, g.dport = uint16(1024+g.r.IntN(60000)), uint16(1+g.r.IntN(1023))
	s := &layers.SCTP{SrcPort: layers.SCTPPort(g.sport), DstPort: layers.SCTPPort(g.dport), VerificationTag: g.r.Uint32()}
	chunk := pt.SCTPInit(g.r.Uint32(), 65536, 10, 10, g.r.Uint32())
	if g.r.IntN(2) == 0 {
		chunk = pt.SCTPData(g.r.Uint32(), 0, 0, 0, g.payload(32))
	}
	return []gopacket.SerializableLayer{s, gopacket.Payload(chunk)}
}

// icmp returns an ICMP or ICMPv6 query, or an error quoting a packet sent
// the other way.
func (g *gen) icmp(nl gopacket.NetworkLayer, src, dst net.IP) []gopacket.SerializableLayer {
	r := g.r
	g.id, g.seqNo = uint16(r.IntN(65536)), uint16(r.IntN(65536))
	if g.v6 {
		g.proto = pt.ProtoICMPv6
		types := []uint8{128, 129, 1, 2, 3}
		g.icmpType = types[r.IntN(len(types))]
		ic := &layers.ICMPv6{}
		if err := ic.SetNetworkLayerForChecksum(nl); err != nil {
			g.tb.Fatal(err)
		}
		if g.icmpType >= 128 {
			g.query = true
			ic.TypeCode = layers.CreateICMPv6TypeCode(g.icmpType, 0)
			return []gopacket.SerializableLayer{ic, &layers.ICMPv6Echo{Identifier: g.id, SeqNumber: g.seqNo}, g.payload(32)}
		}
		g.icmpCode = uint8(r.IntN(5))
		ic.TypeCode = layers.CreateICMPv6TypeCode(g.icmpType, g.icmpCode)
		rest := binary.BigEndian.AppendUint32(nil, uint32(1280+r.IntN(200)))
		return []gopacket.SerializableLayer{ic, gopacket.Payload(append(rest, g.quote(true, dst, src)...))}
	}
	g.proto = pt.ProtoICMP
	types := []uint8{0, 8, 13, 14, 3, 11, 12}
	g.icmpType = types[r.IntN(len(types))]
	ic := &layers.ICMPv4{Id: g.id, Seq: g.seqNo}
	if g.icmpType <= 14 && g.icmpType != 3 && g.icmpType != 11 && g.icmpType != 12 {
		g.query = true
		ic.TypeCode = layers.CreateICMPv4TypeCode(g.icmpType, 0)
		return []gopacket.SerializableLayer{ic, g.payload(32)}
	}
	g.icmpCode = uint8(r.IntN(4))
	ic.TypeCode = layers.CreateICMPv4TypeCode(g.icmpType, g.icmpCode)
	return []gopacket.SerializableLayer{ic, gopacket.Payload(g.quote(false, dst, src))}
}

// quote returns the head of a TCP or UDP packet from src to dst, as an
// ICMP error quotes it: at least the IP header and 8 bytes.
func (g *gen) quote(v6 bool, src, dst net.IP) []byte {
	hdr, nl := g.ipHeader(v6, src, dst)
	var l4 gopacket.SerializableLayer
	if g.r.IntN(2) == 0 {
		setProto(hdr, pt.ProtoTCP)
		t := &layers.TCP{SrcPort: layers.TCPPort(g.r.IntN(65536)), DstPort: layers.TCPPort(g.r.IntN(65536)), Seq: g.r.Uint32(), ACK: true, PSH: true}
		_ = t.SetNetworkLayerForChecksum(nl)
		l4 = t
	} else {
		setProto(hdr, pt.ProtoUDP)
		u := &layers.UDP{SrcPort: layers.UDPPort(g.r.IntN(65536)), DstPort: layers.UDPPort(g.r.IntN(65536))}
		_ = u.SetNetworkLayerForChecksum(nl)
		l4 = u
	}
	b := serialize(g.tb, hdr, l4, g.payload(64))
	n := 28 // IPv4 header and 8 bytes (RFC 792)
	if v6 {
		n = 48
	}
	return b[:n+g.r.IntN(len(b)-n+1)]
}

// innerPacket returns a tunnelled IPv4 or IPv6 packet carrying UDP or an
// echo request.
func (g *gen) innerPacket(v6 bool) []gopacket.SerializableLayer {
	src, dst := g.addrs(v6)
	hdr, nl := g.ipHeader(v6, src, dst)
	if g.r.IntN(2) == 0 {
		setProto(hdr, pt.ProtoUDP)
		u := &layers.UDP{SrcPort: layers.UDPPort(1 + g.r.IntN(65535)), DstPort: 53}
		_ = u.SetNetworkLayerForChecksum(nl)
		return []gopacket.SerializableLayer{hdr, u, g.payload(32)}
	}
	if v6 {
		setProto(hdr, pt.ProtoICMPv6)
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		_ = ic.SetNetworkLayerForChecksum(nl)
		return []gopacket.SerializableLayer{hdr, ic, &layers.ICMPv6Echo{Identifier: 7, SeqNumber: 1}}
	}
	setProto(hdr, pt.ProtoICMP)
	return []gopacket.SerializableLayer{hdr, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 7, Seq: 1}}
}

// TestDiffGopacketGenerated compares the decoders on seeded random packets
// serialized by gopacket, and checks hare against what was generated.
func TestDiffGopacketGenerated(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 500
	}
	r := rand.New(rand.NewPCG(0x6861, 0x7265)) // fixed seed: failures reproduce
	var h, inner packet.Parsed
	tl := newTally()
	truthFailures := 0
	for i := range n {
		frame, g := genPacket(t, r)
		where := fmt.Sprintf("generated #%d", i)
		diffPacket(tl, where, frame, g.link, &h, &inner)
		h.Decode(frame, g.link)
		if err := g.check(&h); err != "" {
			if truthFailures++; truthFailures <= 10 {
				t.Errorf("%s: %s\n\tframe %x", where, err, frame)
			}
		}
	}
	reportTally(t, fmt.Sprintf("generated (%d packets)", n), tl)
}

// check compares hare's decode with what the generator chose.
func (g *gen) check(h *packet.Parsed) string {
	if g.truncated {
		return ""
	}
	switch {
	case h.Reason != packet.ReasonNone && !(g.frag != packet.NotFragment && h.Reason == packet.ReasonFragBadLength):
		return "reason " + h.Reason.String()
	case (h.IPVersion == 6) != g.v6:
		return fmt.Sprintf("IP version %d", h.IPVersion)
	case uint8(h.Proto) != g.proto:
		return fmt.Sprintf("proto %v, generated %d", h.Proto, g.proto)
	case h.Ext.Count != g.numExt:
		return fmt.Sprintf("%d extension headers, generated %d", h.Ext.Count, g.numExt)
	case int(h.NumVLAN) != g.numVLANs:
		return fmt.Sprintf("%d VLAN tags, generated %d", h.NumVLAN, g.numVLANs)
	case h.Frag.Kind != g.frag:
		return fmt.Sprintf("fragment kind %v, generated %v", h.Frag.Kind, g.frag)
	case h.Tunnel != g.tunnel:
		return fmt.Sprintf("tunnel %v, generated %v", h.Tunnel, g.tunnel)
	}
	if r := h.VerifyChecksums(); r != packet.ReasonNone {
		return "VerifyChecksums: " + r.String()
	}
	if g.frag == packet.FragLater {
		if h.HasTransport() || h.SrcPort != 0 {
			return "transport decoded in a later fragment"
		}
		return ""
	}
	switch g.proto {
	case pt.ProtoTCP:
		if h.SrcPort != g.sport || h.DstPort != g.dport || h.TCP.Flags != g.flags || h.TCP.Seq != g.seq || h.TCP.Ack != g.ack {
			return fmt.Sprintf("TCP %d>%d %v seq %d ack %d", h.SrcPort, h.DstPort, h.TCP.Flags, h.TCP.Seq, h.TCP.Ack)
		}
	case pt.ProtoUDP, pt.ProtoSCTP:
		if h.SrcPort != g.sport || h.DstPort != g.dport {
			return fmt.Sprintf("ports %d>%d", h.SrcPort, h.DstPort)
		}
	case pt.ProtoICMP, pt.ProtoICMPv6:
		if h.ICMP.Type != g.icmpType || h.ICMP.Code != g.icmpCode || h.ICMP.IsError == g.query {
			return fmt.Sprintf("ICMP type %d code %d error %v", h.ICMP.Type, h.ICMP.Code, h.ICMP.IsError)
		}
		if g.query && (h.ICMP.ID != g.id || h.ICMP.Seq != g.seqNo) {
			return fmt.Sprintf("ICMP id %d seq %d", h.ICMP.ID, h.ICMP.Seq)
		}
		if !g.query && (h.Quote.Reason != packet.ReasonNone || !h.Quote.HasL4) {
			return fmt.Sprintf("quote: %+v", h.Quote)
		}
	}
	return ""
}

// TestDiffGopacketFixtures compares the decoders on the hex fixtures of
// fixtures_test.go, well-formed and malformed.
func TestDiffGopacketFixtures(t *testing.T) {
	var h, inner packet.Parsed
	tl := newTally()
	for _, tt := range decodeTests {
		diffPacket(tl, "fixture "+tt.name, tt.in, tt.link, &h, &inner)
	}
	for _, tt := range malformedTests {
		diffPacket(tl, "malformed fixture "+tt.name, pt.MustParseHex(tt.in), tt.link, &h, &inner)
	}
	reportTally(t, "fixtures_test.go", tl)
}
