package scenario

import (
	"net/netip"

	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

func fragScenarios() []Scenario {
	return []Scenario{
		fragOrders(4),
		fragOrders(6),
		fragOverlap(4),
		fragOverlap(6),
		fragSameIDPending(4),
		fragSameIDPending(6),
		ipv4FragTinyFirst(),
		ipv6FragIncompleteChain(),
	}
}

// fragmenter builds the fragments of UDP datagrams for one family.
type fragmenter struct {
	v int // 4 or 6
}

// udp returns the fragments of a UDP datagram from src:sp to dst:dp with
// a payload of n bytes, identification id, each fragment carrying at most
// 1000 bytes of the datagram (the last one less).
func (f fragmenter) udp(src, dst netip.Addr, sp, dp uint16, id uint32, n int, tag string) [][]byte {
	l4 := pt.UDP(src, dst, sp, dp, fill(tag, n))
	if f.v == 4 {
		return pt.IPv4Fragments(src, dst, pt.ProtoUDP, l4, 1000, pt.ID(uint16(id)))
	}
	return pt.IPv6Fragments(src, dst, pt.ProtoFragment, nil, pt.ProtoUDP, l4, id, 1000)
}

// piece returns one fragment of the datagram whose whole upper-layer
// packet is l4, at byte offset off with data l4[off:end] (more fragments
// follow if more): for overlaps and forged fragments.
func (f fragmenter) piece(src, dst netip.Addr, proto uint8, id uint32, l4 []byte, off, end int, more bool) []byte {
	if f.v == 4 {
		o := []pt.IPv4Option{pt.ID(uint16(id)), pt.FragOffset(uint16(off))}
		if more {
			o = append(o, pt.MF())
		}
		return pt.IPv4(src, dst, proto, l4[off:end], o...)
	}
	return pt.IPv6(src, dst, pt.ProtoFragment, pt.Cat(pt.Fragment(proto, id, uint16(off), more), l4[off:end]))
}

// addrs returns the client, a second client and the server of family v.
func addrs(v int) (c, c2, s netip.Addr) {
	if v == 4 {
		return client4, client4b, server4
	}
	return client6, client6b, server6
}

func famName(v int) string {
	if v == 4 {
		return "ipv4"
	}
	return "ipv6"
}

// fragOrders: 3-fragment UDP datagrams delivered in order, in reverse,
// last first, two interleaved, and two with the same identification from
// different sources interleaved; each answered with an unfragmented reply.
func fragOrders(v int) Scenario {
	t := newTrace()
	f := fragmenter{v}
	c, c2, s := addrs(v)
	reply := func(from, to netip.Addr, sp, dp uint16) { t.add(udpPacket(from, to, sp, dp, 0x0100, fill("ack ", 20))) }

	a := f.udp(c, s, 5001, 7000, 0x1001, 2600, "in-order ")
	t.addAll(a[0], a[1], a[2])
	reply(s, c, 7000, 5001)
	b := f.udp(c, s, 5002, 7000, 0x1002, 2600, "reverse ")
	t.addAll(b[2], b[1], b[0])
	reply(s, c, 7000, 5002)
	l := f.udp(c, s, 5003, 7000, 0x1003, 2600, "last-first ")
	t.addAll(l[2], l[0], l[1])
	reply(s, c, 7000, 5003)
	x := f.udp(c, s, 5004, 7000, 0x1004, 2600, "interleaved-x ")
	y := f.udp(c, s, 5005, 7000, 0x1005, 2600, "interleaved-y ")
	t.addAll(x[0], y[2], x[2], y[0], x[1], y[1])
	reply(s, c, 7000, 5004)
	reply(s, c, 7000, 5005)
	// K-05: the same identification from two sources.
	p := f.udp(c, s, 5006, 7000, 0x1006, 2600, "same-id-p ")
	q := f.udp(c2, s, 5006, 7000, 0x1006, 2600, "same-id-q ")
	t.addAll(p[0], q[0], q[1], p[1], p[2], q[2])
	reply(s, c, 7000, 5006)
	reply(s, c2, 7000, 5006)
	// The reply direction fragmented too.
	r := f.udp(s, c, 7000, 5001, 0x9001, 2600, "big-reply ")
	t.addAll(r[1], r[0], r[2])
	return sc(famName(v)+"_frag_orders",
		famName(v)+" UDP datagrams of 3 fragments in order, reversed, last first, two interleaved, two with the same identification from different sources interleaved; unfragmented replies, then a fragmented reply",
		rows("K-04", "K-05", "K-11"), t)
}

// fragOverlap: an exact duplicate fragment, a duplicate with the same
// offset and length but other bytes, a partial overlap, a fragment
// inside another, and a duplicate of the last fragment after the datagram
// completed.
func fragOverlap(v int) Scenario {
	t := newTrace()
	f := fragmenter{v}
	c, _, s := addrs(v)
	reply := func(dp uint16) { t.add(udpPacket(s, c, 7000, dp, 0x0100, fill("ack ", 20))) }

	// An exact duplicate of the middle fragment: dropped alone.
	a := f.udp(c, s, 5011, 7000, 0x2001, 2600, "duplicate ")
	t.addAll(a[0], a[1], a[1], a[2])
	reply(5011)
	// Same offset and length, other bytes.
	b := pt.UDP(c, s, 5012, 7000, fill("same-span ", 2600))
	forged := append([]byte(nil), b...)
	for i := 1000; i < 2000; i++ {
		forged[i] ^= 0xff
	}
	proto := uint8(pt.ProtoUDP)
	t.add(f.piece(c, s, proto, 0x2002, b, 0, 1000, true))
	t.add(f.piece(c, s, proto, 0x2002, b, 1000, 2000, true))
	t.add(f.piece(c, s, proto, 0x2002, forged, 1000, 2000, true))
	t.add(f.piece(c, s, proto, 0x2002, b, 2000, len(b), false))
	reply(5012)
	// A partial overlap (RFC 5722): 504..1504 over the first fragment's
	// 0..1000; then the rest of the datagram arrives.
	o := pt.UDP(c, s, 5013, 7000, fill("overlap ", 2600))
	t.add(f.piece(c, s, proto, 0x2003, o, 0, 1000, true))
	t.add(f.piece(c, s, proto, 0x2003, o, 504, 1504, true))
	t.add(f.piece(c, s, proto, 0x2003, o, 1000, 2000, true))
	t.add(f.piece(c, s, proto, 0x2003, o, 2000, len(o), false))
	// The sender tries again with a new identification.
	for _, p := range f.udp(c, s, 5013, 7000, 0x2004, 2600, "overlap ") {
		t.add(p)
	}
	reply(5013)
	// A fragment lying inside one already queued.
	in := pt.UDP(c, s, 5014, 7000, fill("inside ", 2600))
	t.add(f.piece(c, s, proto, 0x2005, in, 1000, 2000, true))
	t.add(f.piece(c, s, proto, 0x2005, in, 1200, 1600, true))
	t.add(f.piece(c, s, proto, 0x2005, in, 0, 1000, true))
	t.add(f.piece(c, s, proto, 0x2005, in, 2000, len(in), false))
	// A duplicate of the last fragment after its datagram completed.
	d := f.udp(c, s, 5015, 7000, 0x2006, 2600, "late-duplicate ")
	t.addAll(d[0], d[1], d[2], d[2])
	reply(5015)
	return sc(famName(v)+"_frag_overlap-duplicate",
		famName(v)+" fragments: an exact duplicate, a same-span duplicate with other bytes, a partial overlap (then a clean retry), a fragment inside another, a duplicate of the last fragment after completion",
		rows("K-06", "FR-09", "FR-10"), t)
}

// fragSameIDPending: a datagram's first fragment waits; a packet with the
// same identification that is not a fragment (an IPv6 atomic fragment, an
// IPv4 packet with MF clear and offset 0) arrives and must be tracked on
// its own; then the datagram completes.
func fragSameIDPending(v int) Scenario {
	t := newTrace()
	f := fragmenter{v}
	c, _, s := addrs(v)
	const id = 0x3001
	echo := func(from, to netip.Addr, request bool, seq uint16) []byte {
		if v == 4 {
			return pt.ICMPv4Echo(request, 0x0e0e, seq, fill("ping ", 56))
		}
		return pt.ICMPv6Echo(from, to, request, 0x0e0e, seq, fill("ping ", 56))
	}
	// whole returns a packet with identification id that is not a
	// fragment: IPv4 MF clear and offset 0, or an IPv6 atomic fragment.
	whole := func(from, to netip.Addr, id uint16, l4proto uint8, l4 []byte) []byte {
		if v == 4 {
			return pt.IPv4(from, to, l4proto, l4, pt.ID(id))
		}
		return pt.IPv6(from, to, pt.ProtoFragment, pt.Cat(pt.Fragment(l4proto, uint32(id), 0, false), l4))
	}
	icmpProto := uint8(pt.ProtoICMP)
	if v == 6 {
		icmpProto = pt.ProtoICMPv6
	}
	d := f.udp(c, s, 5021, 7000, id, 2600, "pending ")
	t.add(d[0])
	t.add(whole(c, s, id, icmpProto, echo(c, s, true, 1))) // same src, dst and id; not a fragment
	t.add(whole(s, c, id, icmpProto, echo(s, c, false, 1)))
	t.add(d[1])
	t.add(whole(c, s, id, pt.ProtoUDP, pt.UDP(c, s, 5022, 7000, fill("whole ", 100)))) // UDP this time
	t.add(d[2])
	t.add(udpPacket(s, c, 7000, 5021, 0x0100, fill("ack ", 20)))
	// Only the later fragments of a datagram are pending, so the whole
	// packet overlaps nothing queued; then the first fragment.
	g := f.udp(c, s, 5024, 7000, id+1, 2600, "later-pending ")
	t.addAll(g[1], g[2])
	t.add(whole(c, s, id+1, pt.ProtoUDP, pt.UDP(c, s, 5025, 7000, fill("whole ", 100))))
	t.add(g[0])
	t.add(udpPacket(s, c, 7000, 5024, 0x0101, fill("ack ", 20)))
	// The other order: the whole packet first, then a fragmented datagram
	// reusing its identification.
	t.add(whole(c, s, id, icmpProto, echo(c, s, true, 2)))
	e := f.udp(c, s, 5023, 7000, id, 2600, "reuse ")
	t.addAll(e[2], e[0], e[1])
	name, doc := "ipv6_frag_atomic-fragment_pending-queue",
		"IPv6 atomic fragments (offset 0, M clear) with the identification of a datagram whose fragments are pending (an echo request and reply, a UDP datagram), the pending datagram completing; an atomic fragment while only later fragments are pending; the identification reused by a fragmented datagram"
	if v == 4 {
		name, doc = "ipv4_frag_same-id_pending-queue",
			"IPv4 unfragmented packets (MF clear, offset 0) with the identification of a datagram whose fragments are pending (an echo request and reply, a UDP datagram), the pending datagram completing; the same while only later fragments are pending; the identification reused by a fragmented datagram"
	}
	return sc(name, doc, rows("FR-11", "K-04"), t)
}

// ipv4FragTinyFirst: IPv4 first fragments that do not hold the whole TCP
// header (RFC 1858 §3.1 tiny fragments), the RFC 1858 §4 overlapping
// attack that rewrites the TCP flags, and an 8-byte UDP first fragment.
func ipv4FragTinyFirst() Scenario {
	t := newTrace()
	f := fragmenter{4}
	proto := uint8(pt.ProtoTCP)
	// A SYN whose first fragment holds the ports and the sequence number
	// only; the flags come in the second.
	k := &conn{c: client4, s: server4, cp: 40300, sp: 22, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 64240, swin: 65160}
	seg := pt.TCP(client4, server4, pt.TCPHeader{SrcPort: k.cp, DstPort: k.sp, Seq: k.cseq, Flags: syn, Window: k.cwin, Options: synOpts(7)}, nil)
	k.cseq++
	t.addWant(f.piece(client4, server4, proto, 0x4001, seg, 0, 8, true), packet.ReasonTCPTruncated)
	t.add(f.piece(client4, server4, proto, 0x4001, seg, 8, len(seg), false))
	t.add(k.s2c(synAck, synOpts(7), nil))
	t.add(k.c2s(ack, nil, nil))
	// RFC 1858 §4: the first fragment says ACK, a second one at offset 8
	// overlaps it and says SYN.
	k2 := &conn{c: evil4, s: client4, cp: 6666, sp: 23, cseq: 0x3000_0000, cwin: 1024}
	okSeg := pt.TCP(evil4, client4, pt.TCPHeader{SrcPort: 6666, DstPort: 23, Seq: k2.cseq, Ack: 1, Flags: ack, Window: 1024}, fill("x", 8))
	synSeg := pt.TCP(evil4, client4, pt.TCPHeader{SrcPort: 6666, DstPort: 23, Seq: k2.cseq, Flags: syn, Window: 1024}, fill("x", 8))
	t.addWant(f.piece(evil4, client4, proto, 0x4002, okSeg, 0, 16, true), packet.ReasonTCPTruncated)
	t.add(f.piece(evil4, client4, proto, 0x4002, synSeg, 8, len(synSeg), false))
	// A UDP datagram whose first fragment is its 8-byte header alone.
	u := pt.UDP(client4, server4, 5031, 7000, fill("tiny-first ", 1000))
	t.add(f.piece(client4, server4, pt.ProtoUDP, 0x4003, u, 0, 8, true))
	t.add(f.piece(client4, server4, pt.ProtoUDP, 0x4003, u, 8, len(u), false))
	t.add(udpPacket(server4, client4, 7000, 5031, 0x0100, fill("ack ", 20)))
	return sc("ipv4_frag_tiny-first-fragment",
		"IPv4 first fragments without the whole L4 header: a TCP SYN split after 8 bytes (flags in the second fragment), the RFC 1858 overlapping-fragment attack turning an ACK into a SYN, a UDP datagram whose first fragment is its header alone",
		rows("K-09", "K-06", "K-04"), t)
}

// ipv6FragIncompleteChain: first fragments that do not hold the whole
// header chain and transport header (RFC 7112), next to one that does.
func ipv6FragIncompleteChain() Scenario {
	t := newTrace()
	frag := func(src, dst netip.Addr, chain []byte, id uint32, size int, want packet.Reason) {
		for i, p := range pt.IPv6Fragments(src, dst, pt.ProtoFragment, nil, pt.ProtoDestOpts, chain, id, size) {
			if i == 0 {
				t.addWant(p, want)
			} else {
				t.add(p)
			}
		}
	}
	// bigDO returns a Destination Options header n bytes long (n a multiple
	// of 8) made of experimental options (type 0x1E, RFC 4727: skip if
	// unknown) and at most 7 bytes of padding: Linux drops more padding
	// than that (ip6_parse_tlv), and more than 8 options
	// (net.ipv6.max_dst_opts_number).
	bigDO := func(next uint8, n int) []byte {
		var opts [][]byte
		rest := n - 2
		for rest >= 8 {
			m := min(rest, 257)
			opts = append(opts, pt.TLV(0x1e, fill("", m-2)))
			rest -= m
		}
		return pt.DestOpts(next, opts...)
	}
	// TCP SYN behind 1200 bytes of DestOpts: the first fragment (1200
	// bytes) ends with the options, the TCP header is all in the second.
	syn1 := pt.TCP(evil6, client6, pt.TCPHeader{SrcPort: 6666, DstPort: 22, Seq: 1, Flags: syn, Window: 1024}, nil)
	frag(evil6, client6, pt.Cat(bigDO(pt.ProtoTCP, 1200), syn1), 0xbad00001, 1200, packet.ReasonFragIncomplete)
	// 1192 bytes of DestOpts: the first fragment holds 8 bytes of the TCP
	// header (ports and sequence number), not its flags.
	syn2 := pt.TCP(evil6, client6, pt.TCPHeader{SrcPort: 6667, DstPort: 22, Seq: 1, Flags: syn, Window: 1024}, nil)
	frag(evil6, client6, pt.Cat(bigDO(pt.ProtoTCP, 1192), syn2), 0xbad00002, 1200, packet.ReasonFragIncomplete)
	// UDP behind 1192 bytes of DestOpts: the 8-byte UDP header is whole in
	// the first fragment, which is all RFC 7112 asks.
	u := pt.UDP(client6, server6, 5041, 7000, fill("complete-chain ", 600))
	frag(client6, server6, pt.Cat(bigDO(pt.ProtoUDP, 1192), u), 0x00c0ffee, 1200, packet.ReasonNone)
	t.add(udpPacket(server6, client6, 7000, 5041, 0, fill("ack ", 20)))
	// A TCP connection whose SYN, carrying 1000 bytes of data (TCP Fast
	// Open style), is fragmented behind a short chain.
	k := &conn{c: client6, s: server6, cp: 40310, sp: 22, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 64800, swin: 64800}
	data := fill("syn-data ", 1000)
	seg := pt.TCP(client6, server6, pt.TCPHeader{SrcPort: k.cp, DstPort: k.sp, Seq: k.cseq, Flags: syn, Window: k.cwin, Options: synOpts(7)}, data)
	k.cseq += 1 + uint32(len(data))
	frag(client6, server6, pt.Cat(bigDO(pt.ProtoTCP, 16), seg), 0x00c0ffef, 512, packet.ReasonNone)
	t.add(k.s2c(synAck, synOpts(7), nil))
	t.add(k.c2s(ack, nil, nil))
	return sc("ipv6_frag_first-without-chain",
		"IPv6 first fragments without the whole header chain (RFC 7112): TCP entirely in the second fragment, TCP cut after 8 bytes; a UDP datagram whose first fragment holds its header (reassembled); a TCP SYN with a short chain",
		rows("K-09", "FR-07", "FR-08", "K-04"), t)
}
