package engine_test

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

var (
	c4, s4 = net.IP{10, 1, 0, 1}, net.IP{10, 2, 0, 2}
	c6, s6 = net.ParseIP("2001:db8:1::1"), net.ParseIP("2001:db8:2::2")
)

// build serialises ls with lengths and checksums filled in.
func build(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ip4(src, dst net.IP, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 61, Protocol: proto, SrcIP: src, DstIP: dst, Id: 77}
}

func ip6(src, dst net.IP, nh layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 60, NextHeader: nh, SrcIP: src, DstIP: dst}
}

func tcpSeg(ipl gopacket.NetworkLayer, syn, ack, fin, rst bool, payload int) []gopacket.SerializableLayer {
	tc := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 5000, SYN: syn, ACK: ack, FIN: fin, RST: rst, Window: 512}
	_ = tc.SetNetworkLayerForChecksum(ipl)
	return []gopacket.SerializableLayer{ipl.(gopacket.SerializableLayer), tc, gopacket.Payload(make([]byte, payload))}
}

func udpDgram(ipl gopacket.NetworkLayer, payload int) []gopacket.SerializableLayer {
	u := &layers.UDP{SrcPort: 5353, DstPort: 53}
	_ = u.SetNetworkLayerForChecksum(ipl)
	pl := make([]byte, payload)
	for i := range pl {
		pl[i] = byte(i)
	}
	return []gopacket.SerializableLayer{ipl.(gopacket.SerializableLayer), u, gopacket.Payload(pl)}
}

// reply decodes a generated packet with packet.Parsed (checksums
// verified) and gopacket, and returns both.
func reply(t *testing.T, b []byte) (*packet.Parsed, gopacket.Packet) {
	t.Helper()
	var p packet.Parsed
	p.DecodeIP(b)
	if p.Reason != packet.ReasonNone {
		t.Fatalf("reply decodes with %v", p.Reason)
	}
	if r := p.VerifyChecksums(); r != packet.ReasonNone {
		t.Fatalf("reply checksum: %v", r)
	}
	first := layers.LayerTypeIPv4
	if b[0]>>4 == 6 {
		first = layers.LayerTypeIPv6
	}
	g := gopacket.NewPacket(b, first, gopacket.Default)
	if el := g.ErrorLayer(); el != nil {
		t.Fatalf("gopacket: %v", el.Error())
	}
	return &p, g
}

func TestRejectTCPReset(t *testing.T) {
	for _, tc := range []struct {
		name             string
		v6               bool
		syn, ack, fin    bool
		payload          int
		wantSeq, wantAck uint32
		wantACKFlag      bool
	}{
		{"syn4", false, true, false, false, 0, 0, 1001, true},
		{"syn6 with data", true, true, false, false, 10, 0, 1011, true},
		{"ack4 data", false, false, true, false, 100, 5000, 0, false},
		{"fin-ack6", true, false, true, true, 0, 5000, 0, false},
		{"fin4 no ack", false, false, false, true, 3, 0, 1004, true},
		{"null6", true, false, false, false, 0, 0, 1000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ipl gopacket.NetworkLayer = ip4(c4, s4, layers.IPProtocolTCP)
			if tc.v6 {
				ipl = ip6(c6, s6, layers.IPProtocolTCP)
			}
			var in packet.Parsed
			in.DecodeIP(build(t, tcpSeg(ipl, tc.syn, tc.ack, tc.fin, false, tc.payload)...))
			out := engine.BuildReject(nil, &in, engine.RejectKind{With: engine.RejectTCPReset})
			if len(out) == 0 {
				t.Fatal("no reset")
			}
			p, g := reply(t, out)
			if p.Src != in.Dst || p.Dst != in.Src || p.SrcPort != 80 || p.DstPort != 40000 {
				t.Errorf("addresses %v:%d > %v:%d", p.Src, p.SrcPort, p.Dst, p.DstPort)
			}
			if p.HopLimit != 64 || p.Proto != packet.ProtoTCP || p.L4Len != 20 {
				t.Errorf("ttl %d proto %v l4len %d", p.HopLimit, p.Proto, p.L4Len)
			}
			want := packet.TCPRst
			if tc.wantACKFlag {
				want |= packet.TCPAck
			}
			if p.TCP.Flags != want || p.TCP.Seq != tc.wantSeq || p.TCP.Ack != tc.wantAck || p.TCP.Window != 0 {
				t.Errorf("flags %v seq %d ack %d win %d, want %v seq %d ack %d", p.TCP.Flags, p.TCP.Seq, p.TCP.Ack, p.TCP.Window, want, tc.wantSeq, tc.wantAck)
			}
			gt := g.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if !gt.RST || gt.ACK != tc.wantACKFlag || gt.Seq != tc.wantSeq || gt.Ack != tc.wantAck {
				t.Errorf("gopacket: %+v", gt)
			}
			if !tc.v6 {
				gi := g.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if gi.Flags != layers.IPv4DontFragment || gi.Id != 0 || gi.TOS != 0 || gi.Length != 40 {
					t.Errorf("ipv4 header %+v", gi)
				}
			}
		})
	}
}

func TestRejectUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		v6       bool
		payload  int
		how      engine.RejectKind
		typ      uint8
		code     uint8
		wantLen  int // reply length
		quoteLen int
	}{
		{"udp4 port", false, 20, engine.RejectKind{With: engine.RejectICMP, Code: 3}, 3, 3, 20 + 8 + 48, 48},
		{"udp4 big, 576 cap", false, 1400, engine.RejectKind{With: engine.RejectICMPx, Code: engine.IcmpxAdminProhibited}, 3, 13, 576, 548},
		{"udp4 icmpx host", false, 0, engine.RejectKind{With: engine.RejectICMPx, Code: engine.IcmpxHostUnreachable}, 3, 1, 20 + 8 + 28, 28},
		{"udp6 port", true, 20, engine.RejectKind{With: engine.RejectICMPv6, Code: 4}, 1, 4, 40 + 8 + 68, 68},
		{"udp6 big, 1280 cap", true, 3000, engine.RejectKind{With: engine.RejectICMPx, Code: engine.IcmpxPortUnreachable}, 1, 4, 1280, 1232},
		{"udp6 icmpx admin", true, 0, engine.RejectKind{With: engine.RejectICMPx, Code: engine.IcmpxAdminProhibited}, 1, 1, 40 + 8 + 48, 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ipl gopacket.NetworkLayer = ip4(c4, s4, layers.IPProtocolUDP)
			if tc.v6 {
				ipl = ip6(c6, s6, layers.IPProtocolUDP)
			}
			orig := build(t, udpDgram(ipl, tc.payload)...)
			var in packet.Parsed
			in.DecodeIP(orig)
			out := engine.BuildReject(make([]byte, 3, 2000), &in, tc.how)[3:]
			if len(out) != tc.wantLen {
				t.Fatalf("reply %d bytes, want %d", len(out), tc.wantLen)
			}
			p, g := reply(t, out)
			if p.Src != in.Dst || p.Dst != in.Src || p.HopLimit != 64 {
				t.Errorf("%v > %v hop %d", p.Src, p.Dst, p.HopLimit)
			}
			if p.ICMP.Type != tc.typ || p.ICMP.Code != tc.code || !p.ICMP.IsError {
				t.Errorf("type %d code %d", p.ICMP.Type, p.ICMP.Code)
			}
			q := &p.Quote
			if q.Src != in.Src || q.Dst != in.Dst || q.SrcPort != 5353 || q.DstPort != 53 || q.L3Len != len(orig) {
				t.Errorf("quote %+v", q)
			}
			hdr := 28
			if tc.v6 {
				hdr = 48
				ic := g.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				if ic.TypeCode.Type() != tc.typ || ic.TypeCode.Code() != tc.code {
					t.Errorf("gopacket %v", ic.TypeCode)
				}
			} else {
				ic := g.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
				if ic.TypeCode.Type() != tc.typ || ic.TypeCode.Code() != tc.code {
					t.Errorf("gopacket %v", ic.TypeCode)
				}
				gi := g.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if gi.TOS != 0xc0 || gi.Flags != 0 {
					t.Errorf("tos %#x flags %v", gi.TOS, gi.Flags)
				}
			}
			if string(out[hdr:]) != string(orig[:tc.quoteLen]) {
				t.Error("quote is not the start of the invoking packet")
			}
		})
	}
}

func TestRejectEcho(t *testing.T) {
	e4 := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 2}
	e6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
	i6 := ip6(c6, s6, layers.IPProtocolICMPv6)
	_ = e6.SetNetworkLayerForChecksum(i6)
	for _, f := range [][]byte{
		build(t, ip4(c4, s4, layers.IPProtocolICMPv4), e4, gopacket.Payload("abcd")),
		build(t, i6, e6, &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 2}),
	} {
		var in packet.Parsed
		in.DecodeIP(f)
		out := engine.BuildReject(nil, &in, engine.RejectKind{With: engine.RejectICMPx, Code: engine.IcmpxPortUnreachable})
		if len(out) == 0 {
			t.Fatalf("no error for echo request v%d", in.IPVersion)
		}
		p, _ := reply(t, out)
		if !p.ICMP.IsError || p.Quote.ICMPType != in.ICMP.Type {
			t.Errorf("v%d: %+v", in.IPVersion, p.ICMP)
		}
	}
}

// TestRejectSilent: the packets Linux never answers.
func TestRejectSilent(t *testing.T) {
	rst := engine.RejectKind{With: engine.RejectTCPReset}
	x := engine.RejectKind{With: engine.RejectICMPx, Code: engine.IcmpxPortUnreachable}
	ul4 := ip4(c4, s4, layers.IPProtocolUDP)
	ul6 := ip6(c6, s6, layers.IPProtocolUDP)
	badsum := build(t, udpDgram(ul4, 8)...)
	badsum[len(badsum)-1]++
	badtcp := build(t, tcpSeg(ip4(c4, s4, layers.IPProtocolTCP), true, false, false, false, 4)...)
	badtcp[len(badtcp)-1]++
	later := ip4(c4, s4, layers.IPProtocolUDP)
	later.FragOffset = 100
	unr4 := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}
	unr6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(1, 4)}
	i6 := ip6(c6, s6, layers.IPProtocolICMPv6)
	_ = unr6.SetNetworkLayerForChecksum(i6)
	redir := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(137, 0)}
	i6r := ip6(c6, s6, layers.IPProtocolICMPv6)
	_ = redir.SetNetworkLayerForChecksum(i6r)
	for _, tc := range []struct {
		name string
		b    []byte
		how  engine.RejectKind
	}{
		{"rst answering rst", build(t, tcpSeg(ip4(c4, s4, layers.IPProtocolTCP), false, true, false, true, 0)...), rst},
		{"rst6 answering rst", build(t, tcpSeg(ip6(c6, s6, layers.IPProtocolTCP), false, false, false, true, 0)...), rst},
		{"reset for udp", build(t, udpDgram(ul4, 8)...), rst},
		{"icmp for ipv6", build(t, udpDgram(ul6, 8)...), engine.RejectKind{With: engine.RejectICMP, Code: 3}},
		{"icmpv6 for ipv4", build(t, udpDgram(ul4, 8)...), engine.RejectKind{With: engine.RejectICMPv6, Code: 4}},
		{"icmp error", build(t, ip4(c4, s4, layers.IPProtocolICMPv4), unr4, gopacket.Payload(make([]byte, 28))), x},
		{"icmpv6 error", build(t, i6, unr6, gopacket.Payload(make([]byte, 48))), x},
		{"icmpv6 redirect", build(t, i6r, redir, gopacket.Payload(make([]byte, 36))), x},
		{"multicast4", build(t, udpDgram(ip4(c4, net.IP{224, 0, 0, 251}, layers.IPProtocolUDP), 8)...), x},
		{"broadcast4", build(t, udpDgram(ip4(c4, net.IPv4bcast, layers.IPProtocolUDP), 8)...), x},
		{"from 0.0.0.0", build(t, udpDgram(ip4(net.IPv4zero, s4, layers.IPProtocolUDP), 8)...), x},
		{"multicast6", build(t, udpDgram(ip6(c6, net.ParseIP("ff02::fb"), layers.IPProtocolUDP), 8)...), x},
		{"from ::", build(t, udpDgram(ip6(net.IPv6unspecified, s6, layers.IPProtocolUDP), 8)...), x},
		{"rst6 to multicast", build(t, tcpSeg(ip6(c6, net.ParseIP("ff05::1"), layers.IPProtocolTCP), true, false, false, false, 0)...), rst},
		{"later fragment", build(t, later, gopacket.Payload(make([]byte, 16))), x},
		{"bad udp checksum", badsum, x},
		{"bad tcp checksum", badtcp, rst},
		{"none", build(t, udpDgram(ul4, 8)...), engine.RejectKind{}},
	} {
		var in packet.Parsed
		in.DecodeIP(tc.b)
		if out := engine.BuildReject(nil, &in, tc.how); len(out) != 0 {
			t.Errorf("%s: sent %d bytes", tc.name, len(out))
		}
	}
}

func TestRejectNoAllocs(t *testing.T) {
	frames := [][]byte{
		build(t, tcpSeg(ip4(c4, s4, layers.IPProtocolTCP), true, false, false, false, 0)...),
		build(t, udpDgram(ip6(c6, s6, layers.IPProtocolUDP), 3000)...),
	}
	hows := []engine.RejectKind{{With: engine.RejectTCPReset}, {With: engine.RejectICMPx, Code: 1}}
	var p packet.Parsed
	buf := make([]byte, 0, 1280)
	if n := testing.AllocsPerRun(100, func() {
		for i, f := range frames {
			p.DecodeIP(f)
			buf = engine.BuildReject(buf[:0], &p, hows[i])
		}
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// TestRejectKindCompiled: each form of the statement reaches
// Result.Reject.
func TestRejectKindCompiled(t *testing.T) {
	for _, tc := range []struct {
		fam, stmt string
		v6        bool
		want      engine.RejectKind
	}{
		{"ip", "reject", false, engine.RejectKind{With: engine.RejectICMP, Code: 3}},
		{"ip6", "reject", true, engine.RejectKind{With: engine.RejectICMPv6, Code: 4}},
		{"inet", "reject", true, engine.RejectKind{With: engine.RejectICMPx, Code: 1}},
		{"inet", "reject with tcp reset", false, engine.RejectKind{With: engine.RejectTCPReset}},
		{"ip", "reject with icmp type host-prohibited", false, engine.RejectKind{With: engine.RejectICMP, Code: 10}},
		{"ip", "reject with icmp type 2", false, engine.RejectKind{With: engine.RejectICMP, Code: 2}},
		{"inet", "reject with icmpv6 type admin-prohibited", true, engine.RejectKind{With: engine.RejectICMPv6, Code: 1}},
		{"inet", "reject with icmpx type admin-prohibited", false, engine.RejectKind{With: engine.RejectICMPx, Code: 3}},
		{"inet", "reject with icmpx type no-route", true, engine.RejectKind{With: engine.RejectICMPx, Code: 0}},
	} {
		src := "table " + tc.fam + " t { chain in { type filter hook input priority 0; " + tc.stmt + "; } }"
		c, err := compileString(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		var f []byte
		if tc.v6 {
			f = build(t, tcpSeg(ip6(c6, s6, layers.IPProtocolTCP), true, false, false, false, 0)...)
		} else {
			f = build(t, tcpSeg(ip4(c4, s4, layers.IPProtocolTCP), true, false, false, false, 0)...)
		}
		var p packet.Parsed
		p.DecodeIP(f)
		var res engine.Result
		engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c).Packet(&p, &engine.Meta{}, 1, &res)
		if res.Verdict != engine.Reject || res.Reject != tc.want {
			t.Errorf("%s: %v %+v, want %+v", src, res.Verdict, res.Reject, tc.want)
		}
	}
	for _, bad := range []string{"reject with icmpv6 type no-route", "reject with icmp type bogus", "reject with icmpx type 9"} {
		if _, err := compileString("table ip t { chain in { type filter hook input priority 0; " + bad + "; } }"); err == nil {
			t.Errorf("%s: compiled", bad)
		}
	}
}
