package scenario

import (
	"encoding/binary"
	"net/netip"

	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

func otherScenarios() []Scenario {
	return []Scenario{
		udpFlows(),
		udpliteVsUDP(),
		udpliteChecksum(),
		sctpAssociation(),
		dccpRequestResponse(),
		greBothWays(),
	}
}

// udpFlows: UDP flows with replies over IPv4 and IPv6, an unreplied flow,
// an answer from another port, zero and bad checksums.
func udpFlows() Scenario {
	t := newTrace()
	for i := range 2 {
		t.add(udpPacket(client4, server4, 51030, 53, uint16(0x0100+i), fill("query ", 33)))
		t.add(udpPacket(server4, client4, 53, 51030, uint16(0x0200+i), fill("answer ", 49)))
	}
	t.add(udpPacket(client6, server6, 51031, 53, 0, fill("query ", 45)))
	t.add(udpPacket(server6, client6, 53, 51031, 0, fill("answer ", 73)))
	for i := range 3 { // an unreplied stream
		t.add(udpPacket(client4, server4b, 51032, 123, uint16(0x0300+i), fill("ntp ", 48)))
	}
	// TFTP-like: the answer comes from another port (a new flow, no helper).
	t.add(udpPacket(client4, server4, 51033, 69, 0x0110, fill("\x00\x01file.bin\x00octet\x00", 20)))
	t.add(udpPacket(server4, client4, 51999, 51033, 0x0210, fill("\x00\x03\x00\x01data", 516)))
	t.add(udpPacket(client4, server4, 51033, 51999, 0x0111, []byte{0, 4, 0, 1}))
	// Over IPv4 a zero checksum means "none" (RFC 768); over IPv6 it is
	// invalid (RFC 8200 §8.1).
	t.add(pt.IPv4(client4, server4, pt.ProtoUDP, pt.UDPNoChecksum(51034, 4789, fill("vxlan ", 50)), pt.ID(0x0120)))
	t.add(pt.IPv4(server4, client4, pt.ProtoUDP, pt.UDPNoChecksum(4789, 51034, fill("vxlan ", 50)), pt.ID(0x0220)))
	t.addWant(pt.IPv6(client6, server6, pt.ProtoUDP, pt.UDPNoChecksum(51035, 4789, fill("vxlan ", 50))), packet.ReasonUDPZeroChecksum6)
	bad := pt.UDP(client4, server4, 51036, 514, fill("bad checksum ", 40))
	bad[6] ^= 0x5a
	t.addWant(pt.IPv4(client4, server4, pt.ProtoUDP, bad, pt.ID(0x0130)), packet.ReasonBadUDPChecksum)
	// A longer exchange both ways (a game or VoIP stream).
	for i := range 4 {
		t.add(udpPacket(client6, server6, 51037, 3478, 0, fill("rtp-up ", 160)))
		t.add(udpPacket(server6, client6, 3478, 51037, 0, fill("rtp-down ", 160+i)))
	}
	return sc("udp_flows_reply",
		"UDP flows over IPv4 and IPv6: query/answer twice on one tuple, an unreplied stream, an answer from another port, zero checksum over IPv4 (valid) and IPv6 (invalid), a bad checksum, a stream both ways",
		rows("LT-12", "LT-13", "REC-14", "REC-16", "REC-17", "LB-05"), t)
}

// udpliteVsUDP: UDP-Lite flows next to UDP flows on the same addresses and
// ports, which must never match each other (RFC 6092 REC-20). Its kernel
// reference is made with nf_conntrack_checksum=0: conntrack rejects every
// RFC 3828 checksum (see udpliteChecksum).
func udpliteVsUDP() Scenario {
	t := newTrace()
	lite := func(src, dst netip.Addr, sp, dp, cov uint16, payload []byte, want packet.Reason) {
		t.addWant(ipPacket(src, dst, pt.ProtoUDPLite, 0x0140, pt.UDPLite(src, dst, sp, dp, cov, payload)), want)
	}
	for _, a := range [][2]netip.Addr{{client4, server4}, {client6, server6}} {
		c, s := a[0], a[1]
		lite(c, s, 51040, 5004, 8, fill("lite-header-only ", 80), packet.ReasonNone) // coverage: the header alone
		t.add(udpPacket(s, c, 5004, 51040, 0x0150, fill("udp-as-reply ", 80)))       // UDP "answer": a new UDP flow
		lite(s, c, 5004, 51040, 0, fill("lite-full ", 80), packet.ReasonNone)        // the real answer, full coverage
		t.add(udpPacket(c, s, 51040, 5004, 0x0151, fill("udp ", 80)))                // answers the UDP flow
		lite(c, s, 51040, 5004, 20, fill("lite-partial ", 80), packet.ReasonNone)    // coverage 20
		lite(c, s, 51040, 5004, 4, fill("bad-coverage ", 80), packet.ReasonUDPLiteBadCoverage)
		lite(c, s, 51040, 5004, 200, fill("coverage-past-end ", 80), packet.ReasonUDPLiteBadCoverage)
	}
	s := sc("udplite_vs_udp",
		"UDP-Lite and UDP on the same addresses and ports over IPv4 and IPv6: a UDP packet shaped like the UDP-Lite flow's reply, the UDP-Lite reply, coverage of the header only, full, partial, too small (4) and past the end (kernel reference with nf_conntrack_checksum=0)",
		rows("REC-20"), t)
	s.Settings = []string{"net.netfilter.nf_conntrack_checksum=0"}
	return s
}

// udpliteChecksum: Linux conntrack verifies a UDP-Lite checksum over the
// pseudo-header of UDP, protocol 17 (nf_conntrack_proto_udp.c:
// udplite_error passes IPPROTO_UDP to nf_checksum_partial), where RFC 3828
// §3.2 and the kernel's own UDP-Lite receive path use 136. Each family gets
// a datagram checksummed each way, with full and with partial coverage.
func udpliteChecksum() Scenario {
	t := newTrace()
	for i, a := range [][2]netip.Addr{{client4, server4}, {client6, server6}} {
		c, s := a[0], a[1]
		for j, cov := range []uint16{0, 8} {
			sp := uint16(51050 + 4*i + 2*j)
			rfc := pt.UDPLite(c, s, sp, 5004, cov, fill("rfc-3828 ", 60))
			t.add(ipPacket(c, s, pt.ProtoUDPLite, 0x0141, rfc))
			t.addWant(ipPacket(c, s, pt.ProtoUDPLite, 0x0142, udpliteAsUDP(c, s, sp+1, 5004, cov, fill("udp-pseudo-header ", 60))), packet.ReasonBadUDPLiteChecksum)
		}
	}
	return sc("udplite_checksum_pseudo-header",
		"UDP-Lite checksums over IPv4 and IPv6, full coverage and 8 bytes: computed as RFC 3828 says (pseudo-header protocol 136), and with protocol 17, which is what Linux conntrack verifies",
		rows("REC-20", "LB-05"), t)
}

// udpliteAsUDP returns a UDP-Lite datagram whose checksum covers cov bytes
// (0: all) under a pseudo-header naming protocol 17, with the full length.
func udpliteAsUDP(src, dst netip.Addr, sp, dp, cov uint16, payload []byte) []byte {
	b := pt.UDPLite(src, dst, sp, dp, cov, payload)
	b[6], b[7] = 0, 0
	n := int(cov)
	if n == 0 {
		n = len(b)
	}
	var sum uint32
	add := func(p []byte) {
		for i := 0; i < len(p); i += 2 {
			w := uint32(p[i]) << 8
			if i+1 < len(p) {
				w |= uint32(p[i+1])
			}
			sum += w
		}
	}
	add(src.AsSlice())
	add(dst.AsSlice())
	add([]byte{0, pt.ProtoUDP, byte(len(b) >> 8), byte(len(b))})
	add(b[:n])
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[6:], c)
	return b
}

// SCTP chunk types (RFC 9260 §3.2).
const (
	sctpData             = 0
	sctpInitAck          = 2
	sctpSack             = 3
	sctpHeartbeat        = 4
	sctpHeartbeatAck     = 5
	sctpAbort            = 6
	sctpShutdown         = 7
	sctpShutdownAck      = 8
	sctpCookieEcho       = 10
	sctpCookieAck        = 11
	sctpShutdownComplete = 14
)

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// sctpInitAckChunk returns an INIT ACK chunk (RFC 9260 §3.3.3) carrying a State
// Cookie parameter (type 7).
func sctpInitAckChunk(initTag, arwnd uint32, outStreams, inStreams uint16, initTSN uint32, cookie []byte) []byte {
	v := u32(initTag)
	v = append(v, u32(arwnd)...)
	v = binary.BigEndian.AppendUint16(v, outStreams)
	v = binary.BigEndian.AppendUint16(v, inStreams)
	v = append(v, u32(initTSN)...)
	v = binary.BigEndian.AppendUint16(v, 7)
	v = binary.BigEndian.AppendUint16(v, uint16(4+len(cookie)))
	v = append(v, cookie...)
	for len(v)%4 != 0 {
		v = append(v, 0)
	}
	return pt.SCTPChunk(sctpInitAck, 0, v)
}

// sctpSackChunk returns a SACK (RFC 9260 §3.3.4) without gap or duplicate
// reports.
func sctpSackChunk(cumTSN, arwnd uint32) []byte {
	return pt.SCTPChunk(sctpSack, 0, append(append(u32(cumTSN), u32(arwnd)...), 0, 0, 0, 0))
}

// sctpHeartbeatChunk returns a HEARTBEAT or HEARTBEAT ACK (RFC 9260
// §3.3.5-6) with a Heartbeat Info parameter.
func sctpHeartbeatChunk(typ uint8, info []byte) []byte {
	v := binary.BigEndian.AppendUint16(nil, 1)
	v = binary.BigEndian.AppendUint16(v, uint16(4+len(info)))
	return pt.SCTPChunk(typ, 0, append(v, info...))
}

// sctpAssociation: an association set up and shut down over IPv4 with
// data, heartbeats and a packet with a wrong verification tag; one set up
// and aborted over IPv6, then restarted.
func sctpAssociation() Scenario {
	t := newTrace()
	type assoc struct {
		c, s       netip.Addr
		cp, sp     uint16
		ctag, stag uint32 // the tags each side chose: packets to the client carry ctag
		ctsn, stsn uint32
	}
	pkt := func(a *assoc, fromClient bool, chunks ...[]byte) []byte {
		if fromClient {
			return ipPacket(a.c, a.s, pt.ProtoSCTP, 0x0160, pt.SCTP(a.cp, a.sp, a.stag, chunks...))
		}
		return ipPacket(a.s, a.c, pt.ProtoSCTP, 0x0260, pt.SCTP(a.sp, a.cp, a.ctag, chunks...))
	}
	setup := func(a *assoc) {
		t.add(ipPacket(a.c, a.s, pt.ProtoSCTP, 0x0161, pt.SCTP(a.cp, a.sp, 0, pt.SCTPInit(a.ctag, 106496, 10, 65535, a.ctsn))))
		t.add(pkt(a, false, sctpInitAckChunk(a.stag, 106496, 10, 10, a.stsn, fill("state-cookie ", 36))))
		t.add(pkt(a, true, pt.SCTPChunk(sctpCookieEcho, 0, fill("state-cookie ", 36))))
		t.add(pkt(a, false, pt.SCTPChunk(sctpCookieAck, 0, nil)))
		t.add(pkt(a, true, pt.SCTPData(a.ctsn, 0, 0, 60, fill("ngap-setup-request ", 100))))
		t.add(pkt(a, false, sctpSackChunk(a.ctsn, 106496)))
		t.add(pkt(a, false, pt.SCTPData(a.stsn, 0, 0, 60, fill("ngap-setup-response ", 80))))
		t.add(pkt(a, true, sctpSackChunk(a.stsn, 106496)))
	}
	a := &assoc{c: client4, s: server4, cp: 40400, sp: 38412, ctag: 0x1111_1111, stag: 0x2222_2222, ctsn: 1000, stsn: 5000}
	setup(a)
	t.add(pkt(a, true, sctpHeartbeatChunk(sctpHeartbeat, fill("hb ", 12))))
	t.add(pkt(a, false, sctpHeartbeatChunk(sctpHeartbeatAck, fill("hb ", 12))))
	t.add(ipPacket(a.s, a.c, pt.ProtoSCTP, 0x0262, pt.SCTP(a.sp, a.cp, 0xdead_beef, pt.SCTPData(a.stsn+1, 0, 1, 60, fill("wrong tag ", 40)))))
	t.add(pkt(a, true, pt.SCTPChunk(sctpShutdown, 0, u32(a.stsn))))
	t.add(pkt(a, false, pt.SCTPChunk(sctpShutdownAck, 0, nil)))
	t.add(pkt(a, true, pt.SCTPChunk(sctpShutdownComplete, 0, nil)))

	b := &assoc{c: client6, s: server6, cp: 40401, sp: 38412, ctag: 0x3333_3333, stag: 0x4444_4444, ctsn: 2000, stsn: 6000}
	setup(b)
	t.add(pkt(b, false, pt.SCTPChunk(sctpAbort, 0, nil)))
	b.ctag, b.stag = 0x5555_5555, 0x6666_6666
	setup(b)
	return sc("sctp_association_setup-shutdown",
		"SCTP over IPv4: INIT, INIT ACK, COOKIE ECHO, COOKIE ACK, DATA and SACK both ways, HEARTBEAT, a packet with a wrong verification tag, SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE; over IPv6: set up, ABORT, set up again on the same ports",
		rows("REC-38", "LT-18"), t)
}

// DCCP packet types (RFC 4340 §5.1).
const (
	dccpRequest  = 0
	dccpResponse = 1
	dccpData     = 2
	dccpAck      = 3
	dccpDataAck  = 4
	dccpCloseReq = 5
	dccpClose    = 6
	dccpReset    = 7
)

// dccp returns a DCCP packet (RFC 4340 §5) with 48-bit sequence numbers:
// the generic header, the acknowledgement subheader for every type but
// Request and Data, then extra (service code, reset code…) and payload,
// with the checksum over all of it (CsCov 0).
func dccp(src, dst netip.Addr, sp, dp uint16, typ uint8, seq, ackNum uint64, extra, payload []byte) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint16(b[0:], sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	b[8] = typ<<1 | 1 // Res 0, Type, X=1
	put48(b[10:], seq)
	if typ != dccpRequest && typ != dccpData {
		a := make([]byte, 8)
		put48(a[2:], ackNum)
		b = append(b, a...)
	}
	b = append(b, extra...)
	b[4] = byte(len(b) / 4) // Data Offset in 32-bit words
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b[6:], pt.TransportChecksum(src, dst, pt.ProtoDCCP, b))
	return b
}

func put48(b []byte, v uint64) {
	b[0], b[1] = byte(v>>40), byte(v>>32)
	binary.BigEndian.PutUint32(b[2:], uint32(v))
}

// dccpRequestResponse: a DCCP connection (RFC 4340 §8) over IPv4 and IPv6:
// Request, Response, Ack, data both ways, the server's CloseReq, Close,
// Reset.
func dccpRequestResponse() Scenario {
	t := newTrace()
	service := u32(0x68617265) // "hare"
	for i, a := range [][2]netip.Addr{{client4, server4}, {client6, server6}} {
		c, s := a[0], a[1]
		cp, sp := uint16(40500+i), uint16(5001)
		// The next sequence number each side sends; each acknowledges the
		// last one it received.
		cs, ss := uint64(0x0000_1000_0000), uint64(0x0000_2000_0000)
		up := func(typ uint8, extra, payload []byte) {
			t.add(ipPacket(c, s, pt.ProtoDCCP, 0x0170, dccp(c, s, cp, sp, typ, cs, ss-1, extra, payload)))
			cs++
		}
		down := func(typ uint8, extra, payload []byte) {
			t.add(ipPacket(s, c, pt.ProtoDCCP, 0x0270, dccp(s, c, sp, cp, typ, ss, cs-1, extra, payload)))
			ss++
		}
		up(dccpRequest, service, nil)
		down(dccpResponse, service, nil)
		up(dccpAck, nil, nil)
		up(dccpData, nil, fill("stream-up ", 200))
		down(dccpDataAck, nil, fill("stream-down ", 300))
		up(dccpAck, nil, nil)
		down(dccpCloseReq, nil, nil)
		up(dccpClose, nil, nil)
		down(dccpReset, []byte{1, 0, 0, 0}, nil) // reset code 1: closed
	}
	return sc("dccp_request-response",
		"DCCP over IPv4 and IPv6: Request, Response, Ack, Data, DataAck, Ack, CloseReq, Close, Reset",
		rows("REC-43", "LT-19"), t)
}

// greBothWays: GRE version 0 tunnels with traffic both ways: without key
// over IPv4, with a key per direction over IPv4, carrying IPv6 over IPv6.
func greBothWays() Scenario {
	t := newTrace()
	peer4 := netip.MustParseAddr("203.0.113.9")
	in1, in2 := netip.MustParseAddr("10.99.0.2"), netip.MustParseAddr("10.99.0.1")
	gre4 := func(src, dst netip.Addr, id uint16, g []byte) []byte {
		return pt.IPv4(src, dst, pt.ProtoGRE, g, pt.ID(id))
	}
	for seq := uint16(1); seq <= 2; seq++ {
		t.add(gre4(client4, peer4, 0x0180+seq, pt.GRE(pt.EtherTypeIPv4, icmp4(in1, in2, seq, pt.ICMPv4Echo(true, 0x7777, seq, fill("ping ", 16))))))
		t.add(gre4(peer4, client4, 0x0280+seq, pt.GRE(pt.EtherTypeIPv4, icmp4(in2, in1, seq, pt.ICMPv4Echo(false, 0x7777, seq, fill("ping ", 16))))))
	}
	for seq := uint16(1); seq <= 2; seq++ {
		t.add(gre4(client4b, peer4, 0x0190+seq, pt.GREKey(pt.EtherTypeIPv4, 0x1001, icmp4(in1, in2, seq, pt.ICMPv4Echo(true, 0x7778, seq, fill("ping ", 16))))))
		t.add(gre4(peer4, client4b, 0x0290+seq, pt.GREKey(pt.EtherTypeIPv4, 0x2002, icmp4(in2, in1, seq, pt.ICMPv4Echo(false, 0x7778, seq, fill("ping ", 16))))))
	}
	peer6 := netip.MustParseAddr("2001:db8:ff::9")
	i1, i2 := netip.MustParseAddr("2001:db8:99::2"), netip.MustParseAddr("2001:db8:99::1")
	t.add(pt.IPv6(client6, peer6, pt.ProtoGRE, pt.GRE(pt.EtherTypeIPv6, icmp6(i1, i2, pt.ICMPv6Echo(i1, i2, true, 0x7779, 1, fill("ping ", 16))))))
	t.add(pt.IPv6(peer6, client6, pt.ProtoGRE, pt.GRE(pt.EtherTypeIPv6, icmp6(i2, i1, pt.ICMPv6Echo(i2, i1, false, 0x7779, 1, fill("ping ", 16))))))
	return sc("gre_v0_both-ways",
		"GRE version 0 with traffic both ways: without key over IPv4, with a different key per direction over IPv4, IPv6 in GRE over IPv6",
		rows("LT-17"), t)
}
