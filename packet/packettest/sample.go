package packettest

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hare-fw/hare/packet"
)

// Frame is one captured frame: when, on which link type, and its bytes.
type Frame struct {
	Time int64 // capture time in nanoseconds since the Unix epoch
	Link packet.LinkType
	Data []byte
}

// Addresses of the Sample network: a client LAN (192.0.2.0/24,
// 2001:db8:1::/64) behind a router, servers on 198.51.100.0/24 and
// 2001:db8:2::/64.
var (
	SampleClient4 = netip.MustParseAddr("192.0.2.10")
	SampleRouter4 = netip.MustParseAddr("192.0.2.1")
	SampleDNS4    = netip.MustParseAddr("192.0.2.53")
	SampleServer4 = netip.MustParseAddr("198.51.100.20")
	SampleNTP4    = netip.MustParseAddr("192.0.2.123")
	SampleTunnel4 = netip.MustParseAddr("203.0.113.9") // GRE peer

	SampleClient6 = netip.MustParseAddr("2001:db8:1::10")
	SampleRouter6 = netip.MustParseAddr("2001:db8:1::1")
	SampleDNS6    = netip.MustParseAddr("2001:db8:1::53")
	SampleServer6 = netip.MustParseAddr("2001:db8:2::20")
	SampleHop6    = netip.MustParseAddr("2001:db8:2::1") // router on the server side, sends the Packet Too Big
	SampleHome6   = netip.MustParseAddr("2001:db8:99::10")

	sampleClientMAC = [6]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0x0a}
	sampleRouterMAC = [6]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01}
	sampleDNSMAC    = [6]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0x35}
	sampleNTPMAC    = [6]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0x7b}
)

// SampleStart is the time of Sample's first frame: 2024-06-01 12:00:00 UTC.
const SampleStart = int64(1717243200) * int64(time.Second)

// Sample returns a small deterministic trace as seen on the client LAN's
// Ethernet segment (every frame LinkEthernet), in time order. It is what
// the README tells users to replay, so it holds a bit of everything a
// stateful IPv4/IPv6 firewall meets, legitimate and hostile:
//
//  1. ARP who-has for the router and its reply; IPv6 Neighbor Solicitation
//     and Advertisement for the router (K-14: untracked ND).
//  2. DNS over UDP: an A query and answer over IPv4, an AAAA query and
//     answer over IPv6.
//  3. An IPv4 TCP connection to 198.51.100.20:80: handshake with MSS, SACK
//     permitted, timestamps and window scale; an HTTP request and a
//     three-segment response with a SACK-bearing duplicate ACK; FIN close
//     from the client.
//  4. ICMP echo: three request/reply pairs over IPv4, two over IPv6.
//  5. An IPv6 TCP connection to [2001:db8:2::20]:443 whose client segments
//     carry Hop-by-Hop and Destination Options headers (K-01): handshake,
//     a 1400-byte client segment answered by an ICMPv6 Packet Too Big (MTU
//  1280. from the router quoting it with its extension headers (K-12),
//     the data resent in two smaller segments, a reply, FIN close from the
//     server. Then an IPv4 SYN to port 8080 refused with RST+ACK.
//  6. A UDP syslog datagram to 198.51.100.20:514 answered by ICMP port
//     unreachable quoting it (RELATED traffic).
//  7. Fragments: an IPv4 echo request and its reply of 2000 bytes each,
//     each in two fragments; an IPv6 UDP datagram (RTP-like, port 5004) in
//     two fragments (K-04); an ICMPv6 echo request carried as an atomic
//     fragment (FR-11, RFC 6946).
//  8. VLAN: an NTP request and reply on 802.1Q VLAN 100, and an NTP
//     request in 802.1ad QinQ (S-VLAN 200, C-VLAN 100).
//  9. Other transports: an SCTP INIT (port 38412) and a DCCP Request (port
//     5001); GRE with a key carrying an IPv4 echo request; an ESP packet.
//  10. Hostile or broken input: a UDP packet behind a type 0 Routing header
//     (RFC 5095, deprecated; its UDP checksum uses the final destination
//     as RFC 8200 §8.1 says, so a Linux-like checker that uses the header
//     destination calls it bad), a Destination Options header carrying a
//     Mobile IPv6 Home Address option (K-17), an IPv6 first fragment whose
//     TCP header is in the second fragment (RFC 7112, K-09), a TCP SYN with
//     a bad checksum (K-18), and a TCP packet whose header is cut to 12
//     bytes although the IP header says that is all there is (malformed).
//
// Frames shorter than 60 bytes are padded as a NIC pads them. Sample returns
// a new slice on each call; the result does not depend on the clock or on
// any randomness.
func Sample() []Frame {
	t := &trace{now: SampleStart}
	c4, r4, s4, d4 := SampleClient4, SampleRouter4, SampleServer4, SampleDNS4
	c6, r6, s6, d6 := SampleClient6, SampleRouter6, SampleServer6, SampleDNS6
	cm, rm := sampleClientMAC, sampleRouterMAC

	// out and in frame an IP packet between the client and the router.
	out4 := func(ip []byte) []byte { return Cat(Ether(rm, cm, EtherTypeIPv4), ip) }
	in4 := func(ip []byte) []byte { return Cat(Ether(cm, rm, EtherTypeIPv4), ip) }
	out6 := func(ip []byte) []byte { return Cat(Ether(rm, cm, EtherTypeIPv6), ip) }
	in6 := func(ip []byte) []byte { return Cat(Ether(cm, rm, EtherTypeIPv6), ip) }

	// 1. Neighbour resolution.
	t.add(0, Cat(Ether(MACBroadcast, cm, EtherTypeARP), ARP(1, cm, c4, [6]byte{}, r4)))
	t.add(300*time.Microsecond, Cat(Ether(cm, rm, EtherTypeARP), ARP(2, rm, r4, cm, c4)))
	sn := SolicitedNode(r6)
	t.add(2*time.Millisecond, Cat(Ether(MulticastMAC(sn), cm, EtherTypeIPv6),
		IPv6(c6, sn, ProtoICMPv6, NeighborSolicitation(c6, sn, r6, cm[:]), HopLimit(255))))
	t.add(250*time.Microsecond, in6(IPv6(r6, c6, ProtoICMPv6, NeighborAdvertisement(r6, c6, r6, NARouter|NASolicited|NAOverride, rm[:]), HopLimit(255))))

	// 2. DNS.
	q4 := dnsMessage(0x1a2b, false, "www.example.com", 1, nil)
	a4 := dnsMessage(0x1a2b, true, "www.example.com", 1, s4.AsSlice())
	t.add(5*time.Millisecond, Cat(Ether(sampleDNSMAC, cm, EtherTypeIPv4), IPv4(c4, d4, ProtoUDP, UDP(c4, d4, 51000, 53, q4), ID(0x4d01))))
	t.add(900*time.Microsecond, Cat(Ether(cm, sampleDNSMAC, EtherTypeIPv4), IPv4(d4, c4, ProtoUDP, UDP(d4, c4, 53, 51000, a4), ID(0x0c31))))
	q6 := dnsMessage(0x3c4d, false, "www.example.com", 28, nil)
	a6 := dnsMessage(0x3c4d, true, "www.example.com", 28, s6.AsSlice())
	t.add(100*time.Microsecond, Cat(Ether(sampleDNSMAC, cm, EtherTypeIPv6), IPv6(c6, d6, ProtoUDP, UDP(c6, d6, 51001, 53, q6), FlowLabel(0x2f00d))))
	t.add(850*time.Microsecond, Cat(Ether(cm, sampleDNSMAC, EtherTypeIPv6), IPv6(d6, c6, ProtoUDP, UDP(d6, c6, 53, 51001, a6))))

	// 3. IPv4 TCP, HTTP.
	h := &tcpConv{c: c4, s: s4, cp: 40000, sp: 80, cseq: 0x1000_0000, sseq: 0x7000_0000, tsc: 100000, tss: 5000000}
	ip4 := func(fromClient bool, seg []byte) []byte {
		if fromClient {
			return out4(IPv4(c4, s4, ProtoTCP, seg, ID(h.nextID()), DF()))
		}
		return in4(IPv4(s4, c4, ProtoTCP, seg, ID(0), DF(), TTL(52)))
	}
	t.add(10*time.Millisecond, ip4(true, h.seg(true, packet.TCPSyn, 64240, Cat(MSS(1460), SACKPermitted(), h.ts(true), NOP(), WScale(7)), nil)))
	t.add(21*time.Millisecond, ip4(false, h.seg(false, packet.TCPSyn|packet.TCPAck, 65160, Cat(MSS(1400), SACKPermitted(), h.ts(false), NOP(), WScale(8)), nil)))
	t.add(60*time.Microsecond, ip4(true, h.seg(true, packet.TCPAck, 502, Cat(NOP(), NOP(), h.ts(true)), nil)))
	req := []byte("GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: hare-sample\r\nAccept: */*\r\n\r\n")
	t.add(200*time.Microsecond, ip4(true, h.seg(true, packet.TCPPsh|packet.TCPAck, 502, Cat(NOP(), NOP(), h.ts(true)), req)))
	t.add(21*time.Millisecond, ip4(false, h.seg(false, packet.TCPAck, 255, Cat(NOP(), NOP(), h.ts(false)), nil)))
	body := httpResponse(3000)
	seg1, seg2, seg3 := body[:1348], body[1348:2696], body[2696:]
	t.add(3*time.Millisecond, ip4(false, h.seg(false, packet.TCPAck, 255, Cat(NOP(), NOP(), h.ts(false)), seg1)))
	// The second segment is lost on the way: the client sees the third and
	// sends a duplicate ACK with a SACK block, then the retransmission.
	lost := h.sseq
	h.sseq += uint32(len(seg2))
	t.add(150*time.Microsecond, ip4(false, h.seg(false, packet.TCPPsh|packet.TCPAck, 255, Cat(NOP(), NOP(), h.ts(false)), seg3)))
	h.cack = lost
	t.add(100*time.Microsecond, ip4(true, h.seg(true, packet.TCPAck, 501,
		Cat(NOP(), NOP(), h.ts(true), NOP(), NOP(), SACK([2]uint32{lost + uint32(len(seg2)), h.sseq})), nil)))
	end := h.sseq
	h.sseq = lost
	t.add(22*time.Millisecond, ip4(false, h.seg(false, packet.TCPAck, 255, Cat(NOP(), NOP(), h.ts(false)), seg2)))
	h.sseq = end
	h.cack = end
	t.add(80*time.Microsecond, ip4(true, h.seg(true, packet.TCPAck, 501, Cat(NOP(), NOP(), h.ts(true)), nil)))
	t.add(5*time.Millisecond, ip4(true, h.seg(true, packet.TCPFin|packet.TCPAck, 501, Cat(NOP(), NOP(), h.ts(true)), nil)))
	t.add(21*time.Millisecond, ip4(false, h.seg(false, packet.TCPFin|packet.TCPAck, 255, Cat(NOP(), NOP(), h.ts(false)), nil)))
	t.add(70*time.Microsecond, ip4(true, h.seg(true, packet.TCPAck, 501, Cat(NOP(), NOP(), h.ts(true)), nil)))

	// 4. Echo.
	ping := []byte("hare-sample-ping-0123456789abcdefghijklmnopqrstu")
	for seq := uint16(1); seq <= 3; seq++ {
		t.add(300*time.Millisecond, out4(IPv4(c4, s4, ProtoICMP, ICMPv4Echo(true, 0x0d0e, seq, ping), ID(0x5000+seq), DF())))
		t.add(20*time.Millisecond, in4(IPv4(s4, c4, ProtoICMP, ICMPv4Echo(false, 0x0d0e, seq, ping), ID(0x9100+seq), TTL(52))))
	}
	for seq := uint16(1); seq <= 2; seq++ {
		t.add(300*time.Millisecond, out6(IPv6(c6, s6, ProtoICMPv6, ICMPv6Echo(c6, s6, true, 0x0e0f, seq, ping))))
		t.add(20*time.Millisecond, in6(IPv6(s6, c6, ProtoICMPv6, ICMPv6Echo(s6, c6, false, 0x0e0f, seq, ping), HopLimit(55))))
	}

	// 5. IPv6 TCP behind HBH + DestOpts (client side only). The client's
	// 1400-byte segment does not fit the 1280-byte link beyond the router,
	// which answers with Packet Too Big quoting it, extension headers and
	// all; the client resends the data in two smaller segments.
	k := &tcpConv{c: c6, s: s6, cp: 41000, sp: 443, cseq: 0x2000_0000, sseq: 0x9000_0000, tsc: 200000, tss: 9000000}
	tcp6 := func(fromClient bool, seg []byte) []byte {
		if fromClient {
			ext := Cat(HopByHop(ProtoDestOpts, PadN(6)), DestOpts(ProtoTCP, TunnelEncapLimit(4), PadN(3)))
			return IPv6(c6, s6, ProtoHopByHop, Cat(ext, seg), FlowLabel(0x5eed1))
		}
		return IPv6(s6, c6, ProtoTCP, seg, FlowLabel(0x0beef), HopLimit(55))
	}
	t.add(200*time.Millisecond, out6(tcp6(true, k.seg(true, packet.TCPSyn, 64800, Cat(MSS(1440), SACKPermitted(), k.ts(true), NOP(), WScale(7)), nil))))
	t.add(20*time.Millisecond, in6(tcp6(false, k.seg(false, packet.TCPSyn|packet.TCPAck, 64260, Cat(MSS(1440), SACKPermitted(), k.ts(false), NOP(), WScale(7)), nil))))
	t.add(50*time.Microsecond, out6(tcp6(true, k.seg(true, packet.TCPAck, 507, Cat(NOP(), NOP(), k.ts(true)), nil))))
	hello := []byte(strings.Repeat("\x16\x03\x01client-hello+early-data.", 60))[:1400]
	helloSeq := k.cseq
	tooBig := tcp6(true, k.seg(true, packet.TCPPsh|packet.TCPAck, 507, Cat(NOP(), NOP(), k.ts(true)), hello))
	t.add(300*time.Microsecond, out6(tooBig))
	t.add(400*time.Microsecond, in6(IPv6(r6, c6, ProtoICMPv6, ICMPv6PacketTooBig(r6, c6, 1280, tooBig))))
	k.cseq = helloSeq
	t.add(100*time.Microsecond, out6(tcp6(true, k.seg(true, packet.TCPAck, 507, Cat(NOP(), NOP(), k.ts(true)), hello[:1188]))))
	t.add(10*time.Microsecond, out6(tcp6(true, k.seg(true, packet.TCPPsh|packet.TCPAck, 507, Cat(NOP(), NOP(), k.ts(true)), hello[1188:]))))
	t.add(20*time.Millisecond, in6(tcp6(false, k.seg(false, packet.TCPAck, 491, Cat(NOP(), NOP(), k.ts(false)), nil))))
	reply := []byte(strings.Repeat("\x16\x03\x03server-hello.", 30))
	t.add(2*time.Millisecond, in6(tcp6(false, k.seg(false, packet.TCPPsh|packet.TCPAck, 491, Cat(NOP(), NOP(), k.ts(false)), reply))))
	t.add(40*time.Microsecond, out6(tcp6(true, k.seg(true, packet.TCPAck, 501, Cat(NOP(), NOP(), k.ts(true)), nil))))
	t.add(30*time.Millisecond, in6(tcp6(false, k.seg(false, packet.TCPFin|packet.TCPAck, 491, Cat(NOP(), NOP(), k.ts(false)), nil))))
	t.add(90*time.Microsecond, out6(tcp6(true, k.seg(true, packet.TCPFin|packet.TCPAck, 501, Cat(NOP(), NOP(), k.ts(true)), nil))))
	t.add(20*time.Millisecond, in6(tcp6(false, k.seg(false, packet.TCPAck, 491, Cat(NOP(), NOP(), k.ts(false)), nil))))

	// A refused connection: SYN to a closed port, RST+ACK back.
	rf := &tcpConv{c: c4, s: s4, cp: 40001, sp: 8080, cseq: 0x3000_0000, tsc: 300000}
	t.add(100*time.Millisecond, ip4(true, rf.seg(true, packet.TCPSyn, 64240, Cat(MSS(1460), SACKPermitted(), rf.ts(true), NOP(), WScale(7)), nil)))
	t.add(20*time.Millisecond, ip4(false, rf.seg(false, packet.TCPRst|packet.TCPAck, 0, nil, nil)))

	// 6. UDP answered by ICMP port unreachable.
	syslog := IPv4(c4, s4, ProtoUDP, UDP(c4, s4, 51514, 514, []byte("<34>Jun  1 12:00:01 client su: 'su root' failed for user on /dev/pts/0")), ID(0x6001))
	t.add(400*time.Millisecond, out4(syslog))
	t.add(20*time.Millisecond, in4(IPv4(s4, c4, ProtoICMP, ICMPv4Error(ICMPTypeDestUnreach, 3, 0, syslog), ID(0x9200), TTL(52))))

	// 7. Fragments.
	bigPing := make([]byte, 2000-8)
	for i := range bigPing {
		bigPing[i] = byte(i)
	}
	gaps := []time.Duration{200 * time.Millisecond, 30 * time.Microsecond, 20 * time.Millisecond, 30 * time.Microsecond}
	frags := IPv4Fragments(c4, s4, ProtoICMP, ICMPv4Echo(true, 0x0d0e, 4, bigPing), 1480, ID(0x7001))
	for _, f := range frags {
		t.add(gaps[0], out4(f))
		gaps = gaps[1:]
	}
	for _, f := range IPv4Fragments(s4, c4, ProtoICMP, ICMPv4Echo(false, 0x0d0e, 4, bigPing), 1480, ID(0x9301), TTL(52)) {
		t.add(gaps[0], in4(f))
		gaps = gaps[1:]
	}
	rtp := make([]byte, 1800)
	for i := range rtp {
		rtp[i] = byte(i * 7)
	}
	rtp[0], rtp[1] = 0x80, 0x60 // RTP version 2, payload type 96
	for i, f := range IPv6Fragments(c6, s6, ProtoFragment, nil, ProtoUDP, UDP(c6, s6, 5004, 5004, rtp), 0x00c0ffee, 1232) {
		t.add(time.Duration(1+999*(1-i))*100*time.Microsecond, out6(f)) // 100 ms, then 100 µs
	}
	t.add(100*time.Millisecond, out6(IPv6(c6, s6, ProtoFragment, Cat(Fragment(ProtoICMPv6, 0x00a70111, 0, false),
		ICMPv6Echo(c6, s6, true, 0x0e0f, 3, ping)))))

	// 8. VLANs.
	ntp := make([]byte, 48)
	ntp[0] = 0x23 // LI 0, version 4, mode 3 (client)
	ntpReply := append([]byte(nil), ntp...)
	ntpReply[0], ntpReply[1] = 0x24, 2 // mode 4 (server), stratum 2
	ntpIP := SampleNTP4
	t.add(150*time.Millisecond, Cat(Ether(sampleNTPMAC, cm, EtherTypeIPv4, 100), IPv4(c4, ntpIP, ProtoUDP, UDP(c4, ntpIP, 123, 123, ntp), ID(0x6101))))
	t.add(400*time.Microsecond, Cat(Ether(cm, sampleNTPMAC, EtherTypeIPv4, 100), IPv4(ntpIP, c4, ProtoUDP, UDP(ntpIP, c4, 123, 123, ntpReply), ID(0x0a01))))
	t.add(10*time.Millisecond, Cat(Ether(sampleNTPMAC, cm, EtherTypeIPv4, 200, 100), IPv4(c4, ntpIP, ProtoUDP, UDP(c4, ntpIP, 123, 123, ntp), ID(0x6102))))

	// 9. Other transports.
	t.add(100*time.Millisecond, out4(IPv4(c4, s4, ProtoSCTP, SCTP(40100, 38412, 0, SCTPInit(0x5ca1ab1e, 106496, 10, 65535, 0x01000000)), ID(0x6201), DF())))
	t.add(50*time.Millisecond, out6(IPv6(c6, s6, ProtoDCCP, DCCPRequest(c6, s6, 40200, 5001, 0x0000_1234_5678, 0x68617265)))) // service "hare"
	inner := IPv4(netip.MustParseAddr("10.99.0.2"), netip.MustParseAddr("10.99.0.1"), ProtoICMP, ICMPv4Echo(true, 0x7777, 1, ping[:16]), ID(0x0001))
	t.add(50*time.Millisecond, out4(IPv4(c4, SampleTunnel4, ProtoGRE, GREKey(EtherTypeIPv4, 0x00001001, inner), ID(0x6301))))
	t.add(50*time.Millisecond, out4(IPv4(c4, SampleTunnel4, ProtoESP, ESP(0xc0de0001, 1, make([]byte, 64)), ID(0x6302))))

	// 10. Hostile and broken packets.
	t.add(100*time.Millisecond, in6(IPv6(netip.MustParseAddr("2001:db8:bad::66"), c6, ProtoRouting,
		Cat(Routing(ProtoUDP, 0, 1, s6), UDP(netip.MustParseAddr("2001:db8:bad::66"), s6, 5353, 53, q6)))))
	t.add(50*time.Millisecond, out6(IPv6(c6, s6, ProtoDestOpts,
		Cat(DestOpts(ProtoUDP, PadN(4), HomeAddress(SampleHome6)), UDP(c6, s6, 5060, 5060, []byte("OPTIONS sip:server SIP/2.0\r\n\r\n"))))))
	// RFC 7112 first fragment: 1200 bytes of Destination Options in the
	// first fragment, the TCP header in the second.
	evil := netip.MustParseAddr("2001:db8:bad::66")
	do := DestOpts(ProtoTCP, PadN(250), PadN(250), PadN(250), PadN(250), PadN(194))
	syn := TCP(evil, c6, TCPHeader{SrcPort: 6666, DstPort: 22, Seq: 1, Flags: packet.TCPSyn, Window: 1024}, nil)
	chain := Cat(do, syn)
	for i, f := range IPv6Fragments(evil, c6, ProtoFragment, nil, ProtoDestOpts, chain, 0xbad00001, 1200) {
		t.add(time.Duration(1+i)*time.Millisecond, in6(f))
	}
	t.add(100*time.Millisecond, in4(IPv4(netip.MustParseAddr("203.0.113.66"), c4, ProtoTCP,
		TCP(netip.MustParseAddr("203.0.113.66"), c4, TCPHeader{SrcPort: 6667, DstPort: 22, Seq: 0xdead, Flags: packet.TCPSyn, Window: 1024, BadChecksum: true}, nil), ID(0x0bad))))
	cut := TCP(netip.MustParseAddr("203.0.113.66"), c4, TCPHeader{SrcPort: 6668, DstPort: 23, Seq: 0xbeef, Flags: packet.TCPSyn, Window: 1024}, nil)[:12]
	t.add(20*time.Millisecond, in4(IPv4(netip.MustParseAddr("203.0.113.66"), c4, ProtoTCP, cut, ID(0x0bae))))

	return t.frames
}

type trace struct {
	now    int64
	frames []Frame
}

func (t *trace) add(dt time.Duration, data []byte) {
	t.now += int64(dt)
	t.frames = append(t.frames, Frame{Time: t.now, Link: packet.LinkEthernet, Data: PadEthernet(data)})
}

// tcpConv keeps the sequence numbers and timestamps of one TCP connection.
type tcpConv struct {
	c, s       netip.Addr
	cp, sp     uint16
	cseq, sseq uint32 // next sequence number each side sends
	cack       uint32 // what the client acknowledges (normally sseq)
	tsc, tss   uint32 // timestamp clocks
	ids        uint16
	heard      bool // the client has received a segment with the server's clock
}

func (f *tcpConv) nextID() uint16 {
	f.ids++
	return 0x2000 + f.ids
}

// ts returns a Timestamps option from one side, echoing the other's clock.
func (f *tcpConv) ts(fromClient bool) []byte {
	if fromClient {
		f.tsc += 3
		if !f.heard {
			return Timestamps(f.tsc, 0) // RFC 7323 §3.2: TSecr 0 until a timestamp was received
		}
		return Timestamps(f.tsc, f.tss)
	}
	f.tss += 2
	return Timestamps(f.tss, f.tsc)
}

// seg builds the next segment from one side and advances its sequence
// number (SYN and FIN count one).
func (f *tcpConv) seg(fromClient bool, flags packet.TCPFlags, window uint16, opts, payload []byte) []byte {
	h := TCPHeader{Flags: flags, Window: window, Options: opts}
	src, dst := f.s, f.c
	if fromClient {
		src, dst = f.c, f.s
		h.SrcPort, h.DstPort, h.Seq = f.cp, f.sp, f.cseq
		if flags&packet.TCPAck != 0 {
			h.Ack = f.cack
		}
	} else {
		h.SrcPort, h.DstPort, h.Seq = f.sp, f.cp, f.sseq
		if flags&packet.TCPAck != 0 {
			h.Ack = f.cseq
		}
	}
	n := uint32(len(payload))
	if flags&(packet.TCPSyn|packet.TCPFin) != 0 {
		n++
	}
	if fromClient {
		f.cseq += n
	} else {
		f.sseq += n
		f.cack = f.sseq
		f.heard = true
	}
	return TCP(src, dst, h, payload)
}

// dnsMessage returns a DNS query or a response with one answer (RFC 1035
// §4.1) for name and qtype (1 A, 28 AAAA).
func dnsMessage(id uint16, response bool, name string, qtype uint16, rdata []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	flags, an := uint16(0x0100), uint16(0) // RD
	if response {
		flags, an = 0x8180, 1 // QR, RD, RA
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint16(b, 1) // QDCOUNT
	b = binary.BigEndian.AppendUint16(b, an)
	b = append(b, 0, 0, 0, 0) // NSCOUNT, ARCOUNT
	for label := range strings.SplitSeq(name, ".") {
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, 1) // IN
	if response {
		b = append(b, 0xc0, 12) // pointer to the question name
		b = binary.BigEndian.AppendUint16(b, qtype)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, 300)
		b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
		b = append(b, rdata...)
	}
	return b
}

// httpResponse returns an HTTP response of n bytes.
func httpResponse(n int) []byte {
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
	var body strings.Builder
	for body.Len() < n {
		body.WriteString("<p>hare sample page: stateful firewalling for IPv4 and IPv6.</p>\n")
	}
	// The Content-Length has four digits for any n this is called with.
	hdr := len(head) + len("0000\r\n\r\n")
	s := head + fmt.Sprintf("%04d\r\n\r\n", n-hdr) + body.String()
	return []byte(s[:n])
}
