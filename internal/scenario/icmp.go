package scenario

import (
	"encoding/binary"
	"net/netip"

	pt "github.com/hare-fw/hare/packet/packettest"
)

func icmpScenarios() []Scenario {
	return []Scenario{
		icmpErrors4(),
		icmpErrors6(),
		icmpv6PTBExtHeaders(),
		icmpErrorQuotingError(),
		icmpEcho(),
		icmpv6Informational(),
		icmpv6NDMLD(),
		ipv6NoNextHeader(),
	}
}

// udpPacket returns a UDP datagram in an IP packet of src's family.
func udpPacket(src, dst netip.Addr, sp, dp uint16, id uint16, payload []byte) []byte {
	return ipPacket(src, dst, pt.ProtoUDP, id, pt.UDP(src, dst, sp, dp, payload))
}

// icmp4 returns an ICMP message in an IPv4 packet.
func icmp4(src, dst netip.Addr, id uint16, msg []byte) []byte {
	return pt.IPv4(src, dst, pt.ProtoICMP, msg, pt.ID(id))
}

// icmp6 returns msg, an ICMPv6 message checksummed for src and dst, in an
// IPv6 packet.
func icmp6(src, dst netip.Addr, msg []byte, opts ...pt.IPv6Option) []byte {
	return pt.IPv6(src, dst, pt.ProtoICMPv6, msg, opts...)
}

// icmpErrors4: ICMP errors about a UDP and a TCP flow with the right outer
// destination (RELATED), the wrong one (INVALID), about no flow (INVALID),
// and traffic of both flows afterwards.
func icmpErrors4() Scenario {
	t := newTrace()
	q := udpPacket(client4, server4, 51000, 53, 0x0101, fill("query ", 40))
	r := udpPacket(server4, client4, 53, 51000, 0x0201, fill("answer ", 80))
	t.addAll(q, r)
	t.add(icmp4(server4, client4, 0x0202, pt.ICMPv4Error(pt.ICMPTypeDestUnreach, 3, 0, q)))    // port unreachable from the server: related
	t.add(icmp4(server4, spoof4, 0x0203, pt.ICMPv4Error(pt.ICMPTypeDestUnreach, 3, 0, q)))     // the same to a stranger: invalid
	t.add(icmp4(hop4, client4, 0x0301, pt.ICMPv4Error(pt.ICMPTypeTimeExceeded, 0, 0, q)))      // from a router on the path: related
	t.add(icmp4(hop4, server4, 0x0302, pt.ICMPv4Error(pt.ICMPTypeTimeExceeded, 0, 0, r)))      // about the answer, to the server: related
	t.add(icmp4(hop4, server4, 0x0303, pt.ICMPv4Error(pt.ICMPTypeTimeExceeded, 0, 0, q)))      // about the query, but to the server: invalid
	t.add(icmp4(hop4, client4, 0x0304, pt.ICMPv4Error(pt.ICMPTypeParamProblem, 0, 20<<24, q))) // parameter problem, pointer 20: related
	t.add(udpPacket(client4, server4, 51000, 53, 0x0102, fill("query ", 40)))                  // the flow goes on (REC-19)
	t.add(udpPacket(server4, client4, 53, 51000, 0x0204, fill("answer ", 80)))

	k := &conn{c: client4, s: server4, cp: 40200, sp: 443, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 64240, swin: 65160}
	t.addAll(k.handshake(-1, -1)...)
	big := k.c2s(pshAck, nil, fill("upload ", 1460))
	t.add(big)
	// Fragmentation needed (code 4, next-hop MTU 1400), quoting 576 bytes
	// as RFC 1812 §4.3.2.3 routers do.
	quote := pt.Head(big, 576-20-8)
	t.add(icmp4(hop4, client4, 0x0305, pt.ICMPv4(pt.ICMPTypeDestUnreach, 4, 1400, quote)))
	t.add(icmp4(hop4, spoof4, 0x0306, pt.ICMPv4(pt.ICMPTypeDestUnreach, 4, 1400, quote)))
	t.add(icmp4(server4, client4, 0x0307, pt.ICMPv4Error(pt.ICMPTypeDestUnreach, 13, 0, big))) // admin prohibited from the server
	// About no flow (REC-10): a datagram and a segment never seen.
	ghost := udpPacket(client4, server4b, 51999, 123, 0x0103, fill("ntp ", 48))
	t.add(icmp4(server4b, client4, 0x0308, pt.ICMPv4Error(pt.ICMPTypeDestUnreach, 3, 0, ghost)))
	ghostSYN := (&conn{c: client4, s: server4b, cp: 40299, sp: 22, cseq: 0x7000_0000, cwin: 64240}).c2s(syn, synOpts(7), nil)
	t.add(icmp4(hop4, client4, 0x0309, pt.ICMPv4Error(pt.ICMPTypeDestUnreach, 1, 0, ghostSYN)))
	t.add(k.raw(true, pshAck, k.cseq-1460, k.sseq, nil, fill("upload ", 1360))) // resent smaller: the flow goes on (REC-37)
	t.add(k.raw(true, pshAck, k.cseq-100, k.sseq, nil, fill("upload ", 100)))
	t.add(k.s2c(ack, nil, nil))
	return sc("icmp_errors_related-and-spoofed",
		"IPv4 ICMP errors about a UDP and a TCP flow: port unreachable, time exceeded, parameter problem, fragmentation needed, admin prohibited, to the right host (related) and to a stranger or the wrong end (invalid); errors about flows never seen; both flows go on",
		rows("K-12", "REC-10", "REC-18", "REC-19", "REC-36", "REC-37"), t)
}

// icmpErrors6 is icmpErrors4 for ICMPv6.
func icmpErrors6() Scenario {
	t := newTrace()
	q := udpPacket(client6, server6, 51000, 53, 0, fill("query ", 40))
	r := udpPacket(server6, client6, 53, 51000, 0, fill("answer ", 80))
	t.addAll(q, r)
	t.add(icmp6(server6, client6, pt.ICMPv6DestUnreach(server6, client6, 4, q))) // port unreachable: related
	t.add(icmp6(server6, spoof6, pt.ICMPv6DestUnreach(server6, spoof6, 4, q)))   // to a stranger: invalid
	t.add(icmp6(hop6, client6, pt.ICMPv6Error(hop6, client6, pt.ICMPv6TypeTimeExceeded, 0, 0, q)))
	t.add(icmp6(hop6, server6, pt.ICMPv6Error(hop6, server6, pt.ICMPv6TypeTimeExceeded, 0, 0, r)))
	t.add(icmp6(hop6, server6, pt.ICMPv6Error(hop6, server6, pt.ICMPv6TypeTimeExceeded, 0, 0, q))) // wrong end: invalid
	t.add(icmp6(hop6, client6, pt.ICMPv6Error(hop6, client6, pt.ICMPv6TypeParamProblem, 0, 6, q))) // pointer at Next Header
	t.add(udpPacket(client6, server6, 51000, 53, 0, fill("query ", 40)))
	t.add(udpPacket(server6, client6, 53, 51000, 0, fill("answer ", 80)))

	k := &conn{c: client6, s: server6, cp: 40210, sp: 443, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 64800, swin: 64800}
	t.addAll(k.handshake(-1, -1)...)
	big := k.c2s(pshAck, nil, fill("upload ", 1400))
	t.add(big)
	t.add(icmp6(hop6, client6, pt.ICMPv6PacketTooBig(hop6, client6, 1280, big)))   // related
	t.add(icmp6(hop6, spoof6, pt.ICMPv6PacketTooBig(hop6, spoof6, 1280, big)))     // invalid
	t.add(icmp6(hop6, server6, pt.ICMPv6PacketTooBig(hop6, server6, 1280, big)))   // to the wrong end: invalid
	t.add(icmp6(server6, client6, pt.ICMPv6DestUnreach(server6, client6, 1, big))) // admin prohibited from the server
	ghost := udpPacket(client6, server6b, 51999, 123, 0, fill("ntp ", 48))
	t.add(icmp6(server6b, client6, pt.ICMPv6DestUnreach(server6b, client6, 4, ghost)))
	ghostSYN := (&conn{c: client6, s: server6b, cp: 40299, sp: 22, cseq: 0x7000_0000, cwin: 64800}).c2s(syn, synOpts(7), nil)
	t.add(icmp6(hop6, client6, pt.ICMPv6PacketTooBig(hop6, client6, 1280, ghostSYN)))
	t.add(k.raw(true, pshAck, k.cseq-1400, k.sseq, nil, fill("upload ", 1200)))
	t.add(k.raw(true, pshAck, k.cseq-200, k.sseq, nil, fill("upload ", 200)))
	t.add(k.s2c(ack, nil, nil))
	return sc("icmpv6_errors_related-and-spoofed",
		"ICMPv6 errors about a UDP and a TCP flow: destination unreachable, time exceeded, parameter problem, packet too big, to the right host (related) and to a stranger or the wrong end (invalid); errors about flows never seen; both flows go on",
		rows("K-12", "REC-10", "REC-18", "REC-19", "REC-36", "REC-37"), t)
}

// icmpv6PTBExtHeaders: Packet Too Big quoting packets sent behind extension
// headers: a TCP segment behind HBH, DestOpts and Routing; the first and a
// later fragment of a UDP datagram; an ESP packet.
func icmpv6PTBExtHeaders() Scenario {
	t := newTrace()
	k := &conn{c: client6, s: server6, cp: 40220, sp: 443, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 64800, swin: 64800,
		ext: func(next uint8) (uint8, []byte) {
			return pt.ProtoHopByHop, pt.Cat(
				pt.HopByHop(pt.ProtoDestOpts, pt.RouterAlert(0)),
				pt.DestOpts(pt.ProtoRouting, pt.TunnelEncapLimit(4), pt.PadN(3)),
				pt.Routing(next, 0, 0, server6),
			)
		}}
	t.addAll(k.handshake(7, 7)...)
	big := k.c2s(pshAck, nil, fill("upload ", 1400))
	t.add(big)
	t.add(icmp6(hop6, client6, pt.ICMPv6PacketTooBig(hop6, client6, 1280, big))) // related
	t.add(icmp6(hop6, spoof6, pt.ICMPv6PacketTooBig(hop6, spoof6, 1280, big)))   // invalid
	t.add(k.raw(true, pshAck, k.cseq-1400, k.sseq, nil, fill("upload ", 1100)))
	t.add(k.s2c(ack, nil, nil))

	// A UDP datagram of 3000 bytes in fragments of 1232, answered; PTB
	// quoting the first fragment (Fragment header, offset 0) and a later
	// one (no UDP header in the quote).
	frags := pt.IPv6Fragments(client6, server6, pt.ProtoFragment, nil, pt.ProtoUDP,
		pt.UDP(client6, server6, 5004, 5004, fill("rtp ", 2992)), 0x00abcdef, 1232)
	t.addAll(frags...)
	t.add(udpPacket(server6, client6, 5004, 5004, 0, fill("rtcp ", 60)))
	t.add(icmp6(hop6, client6, pt.ICMPv6PacketTooBig(hop6, client6, 1280, frags[0])))
	t.add(icmp6(hop6, client6, pt.ICMPv6PacketTooBig(hop6, client6, 1280, frags[1])))

	// ESP (REC-23).
	esp := pt.IPv6(client6, server6, pt.ProtoESP, pt.ESP(0xc0de0001, 1, fill("ciphertext ", 1400)))
	t.add(esp)
	t.add(pt.IPv6(server6, client6, pt.ProtoESP, pt.ESP(0xc0de0002, 1, fill("ciphertext ", 200))))
	t.add(icmp6(hop6, client6, pt.ICMPv6PacketTooBig(hop6, client6, 1280, esp)))
	return sc("icmpv6_ptb_quoting-ext-hdrs",
		"ICMPv6 Packet Too Big quoting a TCP segment behind HBH+DestOpts+Routing (right and spoofed outer destination), the first and a non-first fragment of a UDP datagram, and an ESP packet",
		rows("K-12", "K-01", "K-04", "REC-23", "REC-36"), t)
}

// icmpErrorQuotingError: ICMP errors quoting ICMP errors (RFC 1122
// §3.2.2 and RFC 4443 §2.4 (e) forbid sending them), next to errors
// quoting echo requests and replies.
func icmpErrorQuotingError() Scenario {
	t := newTrace()
	q := udpPacket(client4, server4, 51010, 514, 0x0401, fill("<34>syslog ", 60))
	t.add(q)
	unreach := icmp4(server4, client4, 0x0501, pt.ICMPv4Error(pt.ICMPTypeDestUnreach, 3, 0, q))
	t.add(unreach)                                                                              // related
	t.add(icmp4(hop4, server4, 0x0601, pt.ICMPv4Error(pt.ICMPTypeTimeExceeded, 0, 0, unreach))) // quoting that error
	t.add(icmp4(hop4, server4, 0x0602, pt.ICMPv4(pt.ICMPTypeTimeExceeded, 0, 0, unreach)))      // the whole error quoted
	echo := icmp4(client4, server4, 0x0402, pt.ICMPv4Echo(true, 0x0a0b, 1, fill("ping ", 32)))
	reply := icmp4(server4, client4, 0x0502, pt.ICMPv4Echo(false, 0x0a0b, 1, fill("ping ", 32)))
	t.addAll(echo, reply)
	t.add(icmp4(hop4, client4, 0x0603, pt.ICMPv4Error(pt.ICMPTypeTimeExceeded, 0, 0, echo)))  // about the request: related
	t.add(icmp4(hop4, server4, 0x0604, pt.ICMPv4Error(pt.ICMPTypeTimeExceeded, 0, 0, reply))) // about the reply: related

	q6 := udpPacket(client6, server6, 51010, 514, 0, fill("<34>syslog ", 60))
	t.add(q6)
	unreach6 := icmp6(server6, client6, pt.ICMPv6DestUnreach(server6, client6, 4, q6))
	t.add(unreach6)
	t.add(icmp6(hop6, server6, pt.ICMPv6Error(hop6, server6, pt.ICMPv6TypeTimeExceeded, 0, 0, unreach6)))
	t.add(icmp6(hop6, server6, pt.ICMPv6PacketTooBig(hop6, server6, 1280, unreach6)))
	echo6 := icmp6(client6, server6, pt.ICMPv6Echo(client6, server6, true, 0x0a0b, 1, fill("ping ", 32)))
	reply6 := icmp6(server6, client6, pt.ICMPv6Echo(server6, client6, false, 0x0a0b, 1, fill("ping ", 32)))
	t.addAll(echo6, reply6)
	t.add(icmp6(hop6, client6, pt.ICMPv6Error(hop6, client6, pt.ICMPv6TypeTimeExceeded, 0, 0, echo6)))
	t.add(icmp6(hop6, server6, pt.ICMPv6Error(hop6, server6, pt.ICMPv6TypeTimeExceeded, 0, 0, reply6)))
	return sc("icmp_error-quoting-icmp-error",
		"ICMP and ICMPv6 errors quoting an ICMP error that was itself related to a UDP flow, next to errors quoting an echo request and an echo reply",
		rows("K-12", "K-13"), t)
}

// icmpEcho: echo over IPv4 and IPv6, unsolicited replies, replies with a
// wrong identifier, the other query types that create entries.
func icmpEcho() Scenario {
	t := newTrace()
	data := fill("ping ", 56)
	for seq := uint16(1); seq <= 2; seq++ {
		t.add(icmp4(client4, server4, 0x0700+seq, pt.ICMPv4Echo(true, 0x1001, seq, data)))
		t.add(icmp4(server4, client4, 0x0800+seq, pt.ICMPv4Echo(false, 0x1001, seq, data)))
	}
	t.add(icmp4(server4, client4, 0x0810, pt.ICMPv4Echo(false, 0x2002, 1, data)))  // unsolicited reply
	t.add(icmp4(server4b, client4, 0x0811, pt.ICMPv4Echo(false, 0x1001, 1, data))) // reply from another host
	t.add(icmp4(server4, client4, 0x0812, pt.ICMPv4Echo(true, 0x1001, 1, data)))   // a request the other way, same id
	t.add(icmp4(client4, server4, 0x0710, pt.ICMPv4Echo(false, 0x1001, 1, data)))  // and its reply
	// Timestamp (13/14), information (15/16) and address mask (17/18)
	// requests, each answered.
	ts := make([]byte, 12)
	binary.BigEndian.PutUint32(ts, 3_600_000)
	t.add(icmp4(client4, server4, 0x0720, pt.ICMPv4(13, 0, 0x3003<<16|1, ts)))
	t.add(icmp4(server4, client4, 0x0820, pt.ICMPv4(14, 0, 0x3003<<16|1, ts)))
	t.add(icmp4(client4, server4, 0x0721, pt.ICMPv4(15, 0, 0x3004<<16|1, nil)))
	t.add(icmp4(server4, client4, 0x0821, pt.ICMPv4(16, 0, 0x3004<<16|1, nil)))
	t.add(icmp4(client4, server4, 0x0722, pt.ICMPv4(17, 0, 0x3005<<16|1, make([]byte, 4))))
	t.add(icmp4(server4, client4, 0x0822, pt.ICMPv4(18, 0, 0x3005<<16|1, []byte{255, 255, 255, 0})))

	for seq := uint16(1); seq <= 2; seq++ {
		t.add(icmp6(client6, server6, pt.ICMPv6Echo(client6, server6, true, 0x1001, seq, data)))
		t.add(icmp6(server6, client6, pt.ICMPv6Echo(server6, client6, false, 0x1001, seq, data)))
	}
	t.add(icmp6(server6, client6, pt.ICMPv6Echo(server6, client6, false, 0x2002, 1, data)))
	t.add(icmp6(server6b, client6, pt.ICMPv6Echo(server6b, client6, false, 0x1001, 1, data)))
	// Node Information Query (139) and Reply (140), RFC 4620: qtype 2
	// (node name), flags 0, an 8-byte nonce, the subject an IPv6 address.
	niq := pt.Cat([]byte{0, 2, 0, 0}, []byte("nonce-01"), server6.AsSlice())
	nir := pt.Cat([]byte{0, 2, 0, 0}, []byte("nonce-01"), []byte{0, 0, 0, 0, 6}, []byte("server"))
	t.add(icmp6(client6, server6, pt.ICMPv6(client6, server6, 139, 0, niq)))
	t.add(icmp6(server6, client6, pt.ICMPv6(server6, client6, 140, 0, nir)))
	return sc("icmp_echo_unsolicited-reply",
		"ICMP and ICMPv6 echo with replies, unsolicited replies (unknown id, unknown host), an echo in the other direction with the same id; IPv4 timestamp, information and address-mask queries; ICMPv6 node information query and reply",
		rows("K-13", "LT-14", "LT-15"), t)
}

// icmpv6Informational: ICMPv6 informational types conntrack cannot pair
// (RFC 6275 §6.5-6.8 mobile IPv6 messages, unsolicited replies,
// experimental types) and ICMPv4 types without a reply type.
func icmpv6Informational() Scenario {
	t := newTrace()
	// Home Agent Address Discovery Request (144): identifier, reserved,
	// then the home agent anycast address as the destination.
	haad := netip.MustParseAddr("2001:db8:2::fdff:ffff:ffff:fffe")
	t.add(icmp6(client6, haad, pt.ICMPv6(client6, haad, 144, 0, []byte{0x44, 0x01, 0, 0})))
	t.add(icmp6(server6, client6, pt.ICMPv6(server6, client6, 145, 0, pt.Cat([]byte{0x44, 0x01, 0, 0}, make([]byte, 8), server6.AsSlice()))))
	t.add(icmp6(client6, server6, pt.ICMPv6(client6, server6, 146, 0, []byte{0x44, 0x02, 0, 0})))                       // mobile prefix solicitation
	t.add(icmp6(server6, client6, pt.ICMPv6(server6, client6, 147, 0, []byte{0x44, 0x02, 0, 0})))                       // mobile prefix advertisement
	t.add(icmp6(server6, client6, pt.ICMPv6(server6, client6, 140, 0, pt.Cat([]byte{0, 2, 0, 0}, []byte("nonce-02"))))) // unsolicited NI reply
	t.add(icmp6(client6, server6, pt.ICMPv6(client6, server6, 200, 0, []byte("private experimentation"))))
	t.add(icmp6(client6, server6, pt.ICMPv6(client6, server6, 160, 0, []byte{0x44, 0x03, 0, 1}))) // extended echo request (RFC 8335)
	t.add(icmp4(client4, server4, 0x0901, pt.ICMPv4(42, 0, 0x4403<<16|1<<8, nil)))                // extended echo request (RFC 8335)
	t.add(icmp4(client4, server4, 0x0902, pt.ICMPv4(40, 0, 0, nil)))                              // Photuris
	t.add(icmp4(server4, client4, 0x0903, pt.ICMPv4(14, 0, 0x4404<<16|1, make([]byte, 12))))      // unsolicited timestamp reply
	return sc("icmpv6_informational_type-144",
		"ICMPv6 informational messages without a pair: mobile IPv6 144-147, an unsolicited node information reply, types 160 and 200; ICMPv4 extended echo (42), Photuris (40), an unsolicited timestamp reply",
		rows("K-16", "K-13"), t)
}

// mldMessage returns an MLDv1 message (RFC 2710 §3): type 130, 131 or 132,
// maximum response delay and the multicast address.
func mldMessage(src, dst netip.Addr, typ uint8, delay uint16, group netip.Addr) []byte {
	body := binary.BigEndian.AppendUint16(nil, delay)
	body = append(body, 0, 0)
	body = append(body, group.AsSlice()...)
	return pt.ICMPv6(src, dst, typ, 0, body)
}

// mldv2Report returns an MLDv2 report (RFC 3810 §5.2) with one
// CHANGE_TO_EXCLUDE record (type 4, no sources) per group.
func mldv2Report(src, dst netip.Addr, groups ...netip.Addr) []byte {
	body := []byte{0, 0}
	body = binary.BigEndian.AppendUint16(body, uint16(len(groups)))
	for _, g := range groups {
		body = append(body, 4, 0, 0, 0)
		body = append(body, g.AsSlice()...)
	}
	return pt.ICMPv6(src, dst, 143, 0, body)
}

// mld wraps an MLD message as RFC 3810 §5 sends it: hop limit 1 and a
// Hop-by-Hop header with the Router Alert option.
func mld(src, dst netip.Addr, msg []byte) []byte {
	return pt.IPv6(src, dst, pt.ProtoHopByHop, pt.Cat(pt.HopByHop(pt.ProtoICMPv6, pt.RouterAlert(0)), msg), pt.HopLimit(1))
}

// icmpv6NDMLD: neighbour discovery and MLD, which conntrack leaves
// untracked, and redirects with and without the hop limit RFC 4861 §8.1
// requires.
func icmpv6NDMLD() Scenario {
	t := newTrace()
	hl255 := pt.HopLimit(255)
	mac1, mac2 := pt.MAC1, pt.MAC2
	allNodes := netip.MustParseAddr("ff02::1")
	allRouters := netip.MustParseAddr("ff02::2")
	mldv2 := netip.MustParseAddr("ff02::16")
	group := netip.MustParseAddr("ff02::fb")

	sn := pt.SolicitedNode(router6)
	t.add(icmp6(client6, sn, pt.NeighborSolicitation(client6, sn, router6, mac1[:]), hl255))
	t.add(icmp6(router6, client6, pt.NeighborAdvertisement(router6, client6, router6, pt.NARouter|pt.NASolicited|pt.NAOverride, mac2[:]), hl255))
	t.add(icmp6(client6, router6, pt.NeighborSolicitation(client6, router6, router6, nil), hl255)) // unicast probe (NUD)
	t.add(icmp6(router6, client6, pt.NeighborAdvertisement(router6, client6, router6, pt.NARouter|pt.NASolicited, nil), hl255))
	unspec := netip.IPv6Unspecified()
	snl := pt.SolicitedNode(linkClient6)
	t.add(icmp6(unspec, snl, pt.NeighborSolicitation(unspec, snl, linkClient6, nil), hl255)) // duplicate address detection
	t.add(icmp6(linkClient6, allNodes, pt.NeighborAdvertisement(linkClient6, allNodes, linkClient6, pt.NAOverride, mac1[:]), hl255))
	// Router solicitation (133) and advertisement (134) with a prefix.
	t.add(icmp6(linkClient6, allRouters, pt.ICMPv6(linkClient6, allRouters, 133, 0, pt.Cat([]byte{0, 0, 0, 0}, []byte{1, 1}, mac1[:])), hl255))
	ra := pt.Cat([]byte{64, 0, 0x07, 0x08}, make([]byte, 8), // hop limit, flags, lifetime 1800, reachable, retrans
		[]byte{3, 4, 64, 0xc0}, []byte{0, 0, 0x0e, 0x10, 0, 0, 0x07, 0x08, 0, 0, 0, 0}, // prefix information: /64, L+A, lifetimes
		netip.MustParseAddr("2001:db8:1::").AsSlice())
	t.add(icmp6(linkRouter6, allNodes, pt.ICMPv6(linkRouter6, allNodes, 134, 0, ra), hl255))
	// Redirect (137), RFC 4861 §4.5 and §8.1: conntrack matches the packet
	// in a Redirected Header option like an ICMP error's quote, when that
	// option comes first. An echo first, so there is a flow to match.
	echo := icmp6(client6, server6, pt.ICMPv6Echo(client6, server6, true, 0x0c0e, 1, fill("ping ", 16)))
	t.add(echo)
	t.add(icmp6(server6, client6, pt.ICMPv6Echo(server6, client6, false, 0x0c0e, 1, fill("ping ", 16))))
	redirect := func(code uint8, opts ...[]byte) []byte {
		body := pt.Cat([]byte{0, 0, 0, 0}, netip.MustParseAddr("fe80::2").AsSlice(), server6.AsSlice())
		return pt.ICMPv6(linkRouter6, client6, 137, code, pt.Cat(append([][]byte{body}, opts...)...))
	}
	rhOpt := func(quote []byte) []byte { // Redirected Header option (type 4): 6 reserved bytes, then the packet
		b := pt.Cat([]byte{4, 0, 0, 0, 0, 0, 0, 0}, quote)
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		b[1] = byte(len(b) / 8)
		return b
	}
	tlla := pt.Cat([]byte{2, 1}, mac2[:])
	t.add(icmp6(linkRouter6, client6, redirect(0, rhOpt(echo)), hl255))       // quoting the echo request: related
	t.add(icmp6(linkRouter6, client6, redirect(0, tlla, rhOpt(echo)), hl255)) // the target's address option first
	t.add(icmp6(linkRouter6, client6, redirect(0, rhOpt(echo))))              // hop limit 64
	t.add(icmp6(linkRouter6, client6, redirect(1, rhOpt(echo)), hl255))       // code 1
	// MLD: a general query, a v1 report and done, a v2 report.
	t.add(mld(linkRouter6, allNodes, mldMessage(linkRouter6, allNodes, 130, 10000, netip.IPv6Unspecified())))
	t.add(mld(linkClient6, group, mldMessage(linkClient6, group, 131, 0, group)))
	t.add(mld(linkClient6, allRouters, mldMessage(linkClient6, allRouters, 132, 0, group)))
	t.add(mld(linkClient6, mldv2, mldv2Report(linkClient6, mldv2, group, sn)))
	// An echo between the hosts of the ND exchange above: ordinary
	// traffic is tracked.
	t.add(icmp6(client6, router6, pt.ICMPv6Echo(client6, router6, true, 0x0c0d, 1, fill("ping ", 16))))
	t.add(icmp6(router6, client6, pt.ICMPv6Echo(router6, client6, false, 0x0c0d, 1, fill("ping ", 16))))
	return sc("icmpv6_nd-mld",
		"IPv6 neighbour discovery (NS/NA multicast, unicast and DAD from ::, RS, RA); redirects quoting an echo in a Redirected Header option (first option, second option, hop limit 64, code 1); MLDv1 query/report/done and an MLDv2 report; an echo between the ND hosts",
		rows("K-14", "K-15"), t)
}

// ipv6NoNextHeader: IPv6 packets whose chain ends in No Next Header (59),
// with and without bytes after it, then UDP between the same hosts.
func ipv6NoNextHeader() Scenario {
	t := newTrace()
	t.add(pt.IPv6(client6, server6, pt.ProtoNoNext, nil))
	t.add(pt.IPv6(client6, server6, pt.ProtoNoNext, fill("covert ", 16))) // RFC 8200 §4.7: ignored, passed on
	t.add(pt.IPv6(client6, server6, pt.ProtoHopByHop, pt.HopByHop(pt.ProtoNoNext, pt.PadN(6))))
	t.add(pt.IPv6(client6, server6, pt.ProtoDestOpts, pt.Cat(pt.DestOpts(pt.ProtoNoNext, pt.PadN(6)), fill("covert ", 24))))
	t.add(pt.IPv6(client6, server6, pt.ProtoFragment, pt.Fragment(pt.ProtoNoNext, 0x5959, 0, false)))                              // atomic fragment of nothing: zero length (K-08)
	t.add(pt.IPv6(client6, server6, pt.ProtoFragment, pt.Cat(pt.Fragment(pt.ProtoNoNext, 0x595a, 0, false), fill("covert ", 16)))) // atomic fragment, 16 bytes after 59
	t.add(pt.IPv6(server6, client6, pt.ProtoNoNext, nil))
	t.add(udpPacket(client6, server6, 51020, 9, 0, fill("discard ", 20)))
	t.add(udpPacket(server6, client6, 9, 51020, 0, fill("discard ", 20)))
	return sc("ipv6_no-next-header",
		"IPv6 No Next Header (59): bare, with trailing bytes, behind Hop-by-Hop, behind DestOpts with trailing bytes, behind an empty and a 16-byte atomic fragment, from the other side; then UDP between the same hosts",
		rows("K-03", "K-02", "K-08", "FR-15"), t)
}
