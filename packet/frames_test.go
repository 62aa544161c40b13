package packet_test

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Frames for the fuzz seeds, allocation test and benchmarks, built with
// gopacket's serializer so they come from an implementation other than the
// decoder under test.

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	v4A  = net.IP{192, 0, 2, 1}
	v4B  = net.IP{198, 51, 100, 7}
	v6A  = net.ParseIP("2001:db8::1")
	v6B  = net.ParseIP("2001:db8:ffff::2")
)

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func ip4(p layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x1234, Flags: layers.IPv4DontFragment, Protocol: p, SrcIP: v4A, DstIP: v4B}
}

func ip6(nh layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: nh, SrcIP: v6A, DstIP: v6B}
}

func tcpSYN() *layers.TCP {
	return &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1000, SYN: true, Window: 64240,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 0}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}}
}

// benchFrames are the packet kinds the decoder is measured on
// (BENCHMARKS.md), all Ethernet frames.
func benchFrames(tb testing.TB) []struct {
	name  string
	frame []byte
} {
	payload := gopacket.Payload(make([]byte, 64))

	t4 := tcpSYN()
	i4 := ip4(layers.IPProtocolTCP)
	t4.SetNetworkLayerForChecksum(i4)
	tcp4 := serialize(tb, eth(layers.EthernetTypeIPv4), i4, t4)

	t6 := tcpSYN()
	i6 := ip6(layers.IPProtocolTCP)
	t6.SetNetworkLayerForChecksum(i6)
	tcp6 := serialize(tb, eth(layers.EthernetTypeIPv6), i6, t6, payload)

	// gopacket serializes no extension headers, so they are spliced in by
	// hand: IPv6 | HBH 8B | DO 8B | RH 8B (type 4, SL 0) | TCP.
	ext := []byte{
		60, 0, 1, 4, 0, 0, 0, 0, // HBH: next DO, len 0, PadN(4)
		43, 0, 1, 4, 0, 0, 0, 0, // DO: next RH, len 0, PadN(4)
		6, 0, 4, 0, 0, 0, 0, 0, // RH: next TCP, len 0, type 4, SL 0
	}
	tcp6ext := spliceExt(tcp6, 0, ext)

	u4 := &layers.UDP{SrcPort: 5353, DstPort: 53}
	iu4 := ip4(layers.IPProtocolUDP)
	u4.SetNetworkLayerForChecksum(iu4)
	udp4 := serialize(tb, eth(layers.EthernetTypeIPv4), iu4, u4, payload)

	// ICMPv6 Packet Too Big quoting the tcp6 packet.
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypePacketTooBig, 0)}
	oi := ip6(layers.IPProtocolICMPv6)
	oi.SrcIP, oi.DstIP = net.ParseIP("2001:db8:ff::fe"), v6A
	ic.SetNetworkLayerForChecksum(oi)
	mtu := []byte{0, 0, 0x05, 0x00}
	icmp6err := serialize(tb, eth(layers.EthernetTypeIPv6), oi, ic, gopacket.Payload(append(mtu, tcp6[14:14+40+40]...)))

	// First fragment of a UDP datagram over IPv6: Fragment header M=1.
	frag := []byte{17, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef}
	fu := &layers.UDP{SrcPort: 4000, DstPort: 4001}
	fi := ip6(layers.IPProtocolUDP)
	fu.SetNetworkLayerForChecksum(fi)
	frag6 := spliceExt(serialize(tb, eth(layers.EthernetTypeIPv6), fi, fu, gopacket.Payload(make([]byte, 1224))), 44, frag)

	return []struct {
		name  string
		frame []byte
	}{
		{"tcp4", tcp4}, {"tcp6", tcp6}, {"tcp6-3ext", tcp6ext}, {"udp4", udp4},
		{"icmp6-error", icmp6err}, {"frag6-first", frag6},
	}
}

// spliceExt inserts extension headers ext, the first of type first, after
// the IPv6 header of an Ethernet frame, fixing Next Header and Payload
// Length. The last header of ext must name what the frame carried.
func spliceExt(frame []byte, first byte, ext []byte) []byte {
	const l3 = 14
	out := append([]byte(nil), frame[:l3+40]...)
	out[l3+6] = first
	plen := int(out[l3+4])<<8 | int(out[l3+5]) + len(ext)
	out[l3+4], out[l3+5] = byte(plen>>8), byte(plen)
	out = append(out, ext...)
	return append(out, frame[l3+40:]...)
}
