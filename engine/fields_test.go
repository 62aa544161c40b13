package engine_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

// Table tests of the wider selector set: each match is the only one of a
// counting rule, run on one hand-built datagram whose field values are
// written here, so the expected outcome follows from the packet's bytes
// and the nft semantics (comments name them), not from the engine.

var (
	fa4 = netip.MustParseAddr("192.0.2.1")
	fb4 = netip.MustParseAddr("198.51.100.7")
	fa6 = netip.MustParseAddr("2001:db8::1")
	fb6 = netip.MustParseAddr("2001:db8::2")
)

type fieldCase struct {
	match string
	frame []byte
	want  bool
}

func tcp4(h pt.TCPHeader, opts ...pt.IPv4Option) []byte {
	return pt.IPv4(fa4, fb4, pt.ProtoTCP, pt.TCP(fa4, fb4, h, nil), opts...)
}

func tcp6(h pt.TCPHeader, opts ...pt.IPv6Option) []byte {
	return pt.IPv6(fa6, fb6, pt.ProtoTCP, pt.TCP(fa6, fb6, h, nil), opts...)
}

func fieldCases() []fieldCase {
	syn := pt.TCPHeader{SrcPort: 40000, DstPort: 443, Seq: 0x01020304, Ack: 0, Flags: packet.TCPSyn, Window: 64240, Urgent: 7,
		Options: pt.Cat(pt.MSS(1460), pt.SACKPermitted(), pt.Timestamps(1111, 0), pt.NOP(), pt.WScale(7))}
	ack := pt.TCPHeader{SrcPort: 40000, DstPort: 443, Seq: 5, Ack: 99, Flags: packet.TCPAck | packet.TCPPsh, Window: 501}
	// EOL then a kind-2 option: nft_exthdr_tcp_eval steps over EOL one
	// byte at a time and still finds it.
	eolMSS := pt.TCPHeader{SrcPort: 1, DstPort: 2, Flags: packet.TCPSyn, Options: pt.Cat([]byte{0}, pt.MSS(536))}
	v4 := tcp4(syn, pt.TOS(0x22<<2|1), pt.ID(0xbeef), pt.DF(), pt.TTL(9))
	v6 := tcp6(syn, pt.TrafficClass(0x2e<<2|3), pt.FlowLabel(0x12345))
	udp4 := pt.IPv4(fa4, fb4, pt.ProtoUDP, pt.UDP(fa4, fb4, 5353, 53, []byte("abcd")))
	echo4 := pt.IPv4(fa4, fb4, pt.ProtoICMP, pt.ICMPv4Echo(true, 0x4242, 7, nil))
	unreach4 := pt.IPv4(fa4, fb4, pt.ProtoICMP, pt.ICMPv4Error(3, 4, 1400, pt.Head(udp4, 28)))
	redirect4 := pt.IPv4(fa4, fb4, pt.ProtoICMP, pt.ICMPv4Error(5, 1, 0xc0000263, pt.Head(udp4, 28)))
	echo6 := pt.IPv6(fa6, fb6, pt.ProtoICMPv6, pt.ICMPv6Echo(fa6, fb6, false, 0x99, 3, nil))
	ptb6 := pt.IPv6(fa6, fb6, pt.ProtoICMPv6, pt.ICMPv6PacketTooBig(fa6, fb6, 1280, pt.Head(v6, 48)))
	mldq := pt.IPv6(fa6, netip.MustParseAddr("ff02::1"), pt.ProtoICMPv6,
		pt.ICMPv6(fa6, netip.MustParseAddr("ff02::1"), 130, 0, []byte{0x27, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
	bcast := pt.IPv4(fa4, netip.MustParseAddr("255.255.255.255"), pt.ProtoUDP, pt.UDP(fa4, netip.MustParseAddr("255.255.255.255"), 68, 67, nil))
	dadDst := netip.MustParseAddr("ff02::1:ff00:1")
	dad := pt.IPv6(netip.IPv6Unspecified(), dadDst, pt.ProtoICMPv6, pt.NeighborSolicitation(netip.IPv6Unspecified(), dadDst, fa6, nil))
	sctp := pt.IPv4(fa4, fb4, pt.ProtoSCTP, pt.SCTP(5000, 38412, 0xabcdef01, pt.SCTPInit(1, 2, 3, 4, 5)))
	dccp := pt.IPv4(fa4, fb4, pt.ProtoDCCP, pt.DCCPRequest(fa4, fb4, 1000, 5004, 1, 42))
	esp := pt.IPv4(fa4, fb4, pt.ProtoESP, pt.ESP(0x100, 9, make([]byte, 16)))
	ah4 := pt.IPv4(fa4, fb4, pt.ProtoAH, pt.AH(pt.ProtoUDP, 0x200, 3, make([]byte, 12)))
	udpl := pt.IPv4(fa4, fb4, 136, pt.UDPLite(fa4, fb4, 7, 9, 8, []byte("xy")))
	// IPv6 with Hop-by-Hop, a type 0 Routing header with 1 segment left,
	// Destination Options, then TCP.
	rh0 := pt.IPv6(fa6, fb6, 0, pt.Cat(
		pt.HopByHop(43, pt.RouterAlert(0)),
		pt.Routing(60, 0, 1, netip.MustParseAddr("2001:db8::99")),
		pt.DestOpts(pt.ProtoTCP, pt.PadN(6)),
		pt.TCP(fa6, fb6, ack, nil)))
	// An atomic fragment (offset 0, M=0, RFC 6946) of UDP, id 0x77.
	atomic := pt.IPv6(fa6, fb6, 44, pt.Cat(pt.Fragment(pt.ProtoUDP, 0x77, 0, false), pt.UDP(fa6, fb6, 1, 2, nil)))
	// A later fragment (offset 8, M=1): a Destination Options header after it
	// is not a header to ipv6_find_hdr.
	later := pt.IPv6(fa6, fb6, 44, pt.Cat(pt.Fragment(60, 0x78, 8, true), make([]byte, 16)))
	mh := pt.IPv6(fa6, fb6, 135, []byte{59, 0, 5, 0, 0xab, 0xcd, 0, 0})

	return []fieldCase{
		{"ip version 4", v4, true},
		{"ip version 6", v4, false},
		{"ip hdrlength 5", v4, true},
		{"ip dscp af41", v4, true},
		{"ip dscp cs1", v4, false},
		{"ip ecn ect1", v4, true},
		{"ip ecn ce", v4, false},
		{fmt.Sprintf("ip length %d", len(v4)), v4, true},
		{"ip length > 2000", v4, false},
		{"ip id 0xbeef", v4, true},
		{"ip frag-off 0x4000", v4, true}, // DF only: the field holds the flags
		{"ip frag-off & 0x1fff != 0", v4, false},
		{"ip frag-off & 0x4000 == 0x4000", v4, true},
		{"ip checksum 0", v4, false}, // computed, never 0 here
		{"ip checksum != 0", v4, true},
		{"ip version 4", v6, false}, // an IPv6 packet has no ip header
		{"ip6 version 6", v6, true},
		{"ip6 dscp ef", v6, true},
		{"ip6 ecn ce", v6, true},
		{"ip6 flowlabel 0x12345", v6, true},
		{"ip6 flowlabel 0-0x12344", v6, false},
		{fmt.Sprintf("ip6 length %d", len(v6)-40), v6, true},
		{"ip6 dscp ef", v4, false},

		{"meta protocol ip", v4, true},
		{"meta protocol ip6", v4, false},
		{"meta protocol { ip, ip6 }", v6, true},
		{fmt.Sprintf("meta length %d", len(v4)), v4, true},
		{"meta pkttype host", v4, true},
		{"meta pkttype multicast", mldq, true},
		{"pkttype broadcast", pt.IPv4(fa4, netip.MustParseAddr("255.255.255.255"), pt.ProtoUDP, pt.UDP(fa4, netip.MustParseAddr("255.255.255.255"), 68, 67, nil)), true},
		{"meta iif 2", v4, true},
		{`meta iif "eth0"`, v4, true},
		{`iif "lo"`, v4, false},
		{"meta iiftype 65534", v4, true},
		{"meta iiftype ether", v4, false},
		{"meta oif 0", v4, true},
		{"meta ipsec missing", esp, true},
		{"meta ipsec exists", esp, false},
		{"meta oiftype 0", v4, false}, // no output device: NFT_BREAK (kernel oracle)

		{"tcp sequence 0x01020304", v4, true},
		{"tcp ackseq 99", tcp4(ack), true},
		{"tcp doff 10", v4, true}, // 20 + 20 bytes of options
		{"tcp doff 5", tcp4(ack), true},
		{"tcp window 64240", v6, true},
		{"tcp urgptr 7", v4, true},
		{"tcp checksum 0", v4, false},
		{"tcp flags & (syn|ack) == syn", v4, true},
		{"tcp flags & (syn|ack) == syn", tcp4(ack), false},
		{"tcp flags & (fin|syn|rst|psh|ack|urg) == ack|psh", tcp4(ack), true},
		{"tcp flags syn / syn,ack", v4, true}, // nft's short form of & … ==
		{"tcp flags syn / syn,ack", tcp4(ack), false},
		{"tcp flags ack,psh / fin,syn,rst,psh,ack,urg", tcp4(ack), true},
		{"tcp option maxseg exists", v4, true},
		{"tcp option maxseg missing", tcp4(ack), true},
		{"tcp option maxseg missing", udp4, true}, // no tcp dependency (rules.t any/tcpopt.t.payload)
		{"tcp option maxseg size 1460", udp4, false},
		{"tcp option maxseg size 1460", v4, true},
		{"tcp option maxseg size 1400-1500", v6, true},
		{"tcp option maxseg size 536", pt.IPv4(fa4, fb4, pt.ProtoTCP, pt.TCP(fa4, fb4, eolMSS, nil)), true},
		{"tcp option window count 7", v4, true},
		{"tcp option sack-perm exists", v4, true},
		{"tcp option sack exists", v4, false},
		{"tcp option timestamp tsval 1111", v4, true},
		{"tcp option timestamp tsecr 0", v4, true},
		{"tcp option timestamp length 10", v4, true},
		{"tcp option window kind 3", v4, true},
		{"tcp option fastopen exists", v4, false},

		{"udp length 12", udp4, true},
		{"udp checksum 0", udp4, false},
		{"udplite sport 7", udpl, true},
		{"udplite csumcov 8", udpl, true},
		{"sctp sport 5000", sctp, true},
		{"sctp dport 38412", sctp, true},
		{"sctp vtag 0xabcdef01", sctp, true},
		{"sctp checksum 0", sctp, false},
		{"dccp dport 5004", dccp, true},
		{"dccp type request", dccp, true},
		{"dccp type response", dccp, false},
		{"esp spi 0x100", esp, true},
		{"esp sequence 9", esp, true},
		{"ah spi 0x200", ah4, true},
		{"ah sequence 3", ah4, true},
		{"ah nexthdr udp", ah4, true},
		{"ah hdrlength 4", ah4, true},

		{"icmp id 0x4242", echo4, true},
		{"icmp sequence 7", echo4, true},
		{"icmp id 0", unreach4, false}, // nft's echo type dependency
		{"icmp mtu 1400", unreach4, true},
		{"icmp mtu 1400", echo4, false},
		{"icmp gateway 0xc0000263", redirect4, true},
		{"icmp checksum != 0", echo4, true},
		{"icmpv6 id 0x99", echo6, true},
		{"icmpv6 sequence 3", echo6, true},
		{"icmpv6 mtu 1280", ptb6, true},
		{"icmpv6 mtu 1280", echo6, false},
		{"icmpv6 max-delay 10000", mldq, true},
		{"icmpv6 checksum 0", echo6, false},

		{"exthdr hbh exists", rh0, true},
		{"exthdr rt exists", rh0, true},
		{"exthdr dst exists", rh0, true},
		{"exthdr frag exists", rh0, false},
		{"exthdr frag missing", rh0, true},
		{"exthdr hbh missing", v6, true},
		{"exthdr hbh missing", v4, false}, // IPv6 only (nfproto ipv6 dependency in inet)
		{"rt type 0", rh0, true},
		{"rt type 2", rh0, false},
		{"rt seg-left 1", rh0, true},
		{"rt seg-left > 0", rh0, true},
		{"rt nexthdr 60", rh0, true},
		{"rt hdrlength 2", rh0, true},
		{"hbh nexthdr 43", rh0, true},
		{"dst nexthdr tcp", rh0, true},
		{"rt type 0", v6, false},
		{"rt type != 0", v6, false}, // no header: NFT_BREAK whatever the operator
		{"exthdr frag exists", atomic, true},
		{"frag id 0x77", atomic, true},
		{"frag more-fragments 0", atomic, true},
		{"frag frag-off 0", atomic, true},
		{"frag nexthdr udp", atomic, true},
		{"frag frag-off 1", later, true}, // 8 bytes = 1 unit
		{"frag more-fragments 1", later, true},
		{"frag id 0x78", later, true},
		{"exthdr dst exists", later, false},
		{"exthdr mh exists", mh, true},
		{"mh type 5", mh, true},
		{"mh checksum 0xabcd", mh, true},
		{"mh nexthdr 59", mh, true},

		// fib on the kernel oracle's namespace (fib.go).
		{"fib saddr . iif oif missing", v4, true},
		{"fib saddr . iif oif missing", v6, true},
		{"fib daddr oif exists", mldq, true},
		{"fib daddr . iif oif 2", mldq, true},
		{`fib daddr oif "eth0"`, mldq, true},
		{"fib saddr oif exists", mldq, false},
		{"fib saddr . iif oif exists", dad, true}, // nft_fib_v6_skip_icmpv6
		{"fib saddr . mark . iif oif missing", v4, true},
		{"fib daddr type local", v4, true},
		{"fib daddr type local", v6, true},
		{"fib daddr . iif type unicast", v6, true},
		{"fib daddr type multicast", mldq, true},
		{"fib daddr type { broadcast, multicast }", bcast, true},
		{"fib daddr type broadcast", bcast, true},
		{"fib daddr type broadcast", v4, false},
	}
}

// runOne compiles `match counter` in an inet input chain and reports
// whether it counted frame.
func runOne(t *testing.T, match string, frame []byte) bool {
	t.Helper()
	src := "table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t\t" + match + " counter\n\t}\n}\n"
	rs := buildRuleset(t, src)
	c, err := engine.Compile(rs)
	if err != nil {
		t.Fatalf("%s: %v", match, err)
	}
	e := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
	var p packet.Parsed
	p.DecodeIP(frame)
	var res engine.Result
	m := engine.Meta{Iifname: engine.IfName("eth0")}
	e.Packet(&p, &m, 1e9, &res)
	got := c.Counters()[0].Packets == 1
	// The reference interpreter reads the same field its own way.
	slow := newSlowEngine(rs)
	var p2 packet.Parsed
	p2.DecodeIP(frame)
	slow.packet(&p2, &m, 1e9)
	if ref := slow.countersInOrder()[0] == 1; ref != got {
		t.Errorf("%s: engine matched %v, reference interpreter %v", match, got, ref)
	}
	return got
}

func TestFields(t *testing.T) {
	for _, tc := range fieldCases() {
		if got := runOne(t, tc.match, tc.frame); got != tc.want {
			t.Errorf("%s on %x: matched %v, want %v", tc.match, tc.frame, got, tc.want)
		}
	}
}

// TestFieldsUnsupported: selectors outside the supported set fail Compile
// with an *engine.Error naming them.
func TestFieldsUnsupported(t *testing.T) {
	for _, m := range []string{"meta skuid 0", "meta cpu 1", "meta hour \"10:00\"", "ct expiration 5s", "rt mtu 1500", "fib saddr type local", "ct id 5", "tcp option 255 exists", "srh tag 5", "meta time < \"2020-01-01\"", "ether saddr . ip6 daddr { 00:11:22:33:44:55 . ::2 }"} {
		src := "table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t\t" + m + " counter\n\t}\n}\n"
		_, err := engine.Compile(buildRuleset(t, src))
		var ee *engine.Error
		if !errors.As(err, &ee) {
			t.Errorf("%s: error %v, want an *engine.Error", m, err)
		}
	}
}

// TestFieldsNoAlloc: every new load, on packets that have and lack its
// field, allocates nothing (the packet path rule).
func TestFieldsNoAlloc(t *testing.T) {
	cases := fieldCases()
	var b strings.Builder
	b.WriteString("table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n")
	for _, tc := range cases {
		b.WriteString("\t\t" + tc.match + " counter\n")
	}
	b.WriteString("\t\tct original packets > 0 ct reply bytes 0 ct avgpkt > 1 ct direction original ct original ip saddr 192.0.2.1 counter\n")
	b.WriteString("\t}\n}\n")
	c, err := engine.Compile(buildRuleset(t, b.String()))
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
	var p packet.Parsed
	var res engine.Result
	m := engine.Meta{Iifname: engine.IfName("eth0")}
	run := func() {
		for _, tc := range cases {
			p.DecodeIP(tc.frame)
			e.Packet(&p, &m, 1e9, &res)
		}
	}
	run()
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Fatalf("%v allocations per run of %d packets", n, len(cases))
	}
}

// TestFieldsForwardDevices: on the forward path the output device exists
// (meta oif is ReplayOifindex, oiftype its type), and on IPv4 postrouting
// the input device does too (ip_output passes it, as the kernel showed in
// daemon's TestDevicesMatchKernel: iif is not 0), with iiftype the type of
// skb->dev, the output device.
func TestFieldsForwardDevices(t *testing.T) {
	src := `table inet t {
	chain f {
		type filter hook forward priority 0;
		meta oif 3 counter
		meta oiftype 65534 counter
		meta iif 2 counter
		oifname "eth1" counter
	}
	chain p {
		type filter hook postrouting priority 0;
		meta iif 0 counter
		meta iiftype 65534 counter
		meta oif 3 counter
	}
	chain i {
		type filter hook input priority 0;
		meta oif 0 counter
	}
}
`
	c, err := engine.Compile(buildRuleset(t, src))
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
	var p packet.Parsed
	p.DecodeIP(pt.IPv4(fa4, fb4, pt.ProtoUDP, pt.UDP(fa4, fb4, 1, 2, nil)))
	var res engine.Result
	m := engine.Meta{Iifname: engine.IfName("eth0"), Forward: true, Oifname: engine.IfName("eth1")}
	e.Packet(&p, &m, 1, &res)
	want := []uint64{1, 1, 1, 1, 0, 1, 1, 0}
	for i, cv := range c.Counters() {
		if cv.Packets != want[i] {
			t.Errorf("counter %d (%s handle %d): %d packets, want %d", i, cv.Chain, cv.Handle, cv.Packets, want[i])
		}
	}
}

// BenchmarkFields runs every field case's packet through one chain with
// all the field matches (about 150 rules, each loading a new field).
//
//	go test ./engine -run '^$' -bench BenchmarkFields -benchtime=1s
func BenchmarkFields(b *testing.B) {
	cases := fieldCases()
	var sb strings.Builder
	sb.WriteString("table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n")
	for _, tc := range cases {
		sb.WriteString("\t\t" + tc.match + " counter\n")
	}
	sb.WriteString("\t}\n}\n")
	c, err := engine.Compile(buildRuleset(b, sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	e := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
	var p packet.Parsed
	var res engine.Result
	m := engine.Meta{Iifname: engine.IfName("eth0")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.DecodeIP(cases[i%len(cases)].frame)
		e.Packet(&p, &m, 1e9, &res)
	}
}
