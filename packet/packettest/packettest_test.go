package packettest_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

var (
	a4 = netip.MustParseAddr("192.0.2.1")
	b4 = netip.MustParseAddr("198.51.100.7")
	a6 = netip.MustParseAddr("2001:db8::1")
	b6 = netip.MustParseAddr("2001:db8:ffff::2")
)

// TestBuildersChecksums checks that every builder writes checksums the
// decoder accepts and that a corrupted one is caught.
func TestBuildersChecksums(t *testing.T) {
	syn := pt.TCPHeader{SrcPort: 40000, DstPort: 443, Seq: 7, Flags: packet.TCPSyn, Window: 65535,
		Options: pt.Cat(pt.MSS(1460), pt.SACKPermitted(), pt.Timestamps(1, 0), pt.NOP(), pt.WScale(7))}
	tests := []struct {
		name  string
		ip    []byte
		proto packet.IPProto
	}{
		{"tcp4", pt.IPv4(a4, b4, pt.ProtoTCP, pt.TCP(a4, b4, syn, []byte("odd"))), packet.ProtoTCP},
		{"tcp6", pt.IPv6(a6, b6, pt.ProtoTCP, pt.TCP(a6, b6, syn, nil)), packet.ProtoTCP},
		{"udp4", pt.IPv4(a4, b4, pt.ProtoUDP, pt.UDP(a4, b4, 1, 53, []byte("q"))), packet.ProtoUDP},
		{"udp6-ext", pt.IPv6(a6, b6, pt.ProtoHopByHop, pt.Cat(pt.HopByHop(pt.ProtoDestOpts, pt.RouterAlert(0)),
			pt.DestOpts(pt.ProtoUDP, pt.PadN(4)), pt.UDP(a6, b6, 1, 53, []byte("q")))), packet.ProtoUDP},
		{"udplite6", pt.IPv6(a6, b6, pt.ProtoUDPLite, pt.UDPLite(a6, b6, 5, 6, 8, []byte("uncovered"))), packet.ProtoUDPLite},
		{"icmp4", pt.IPv4(a4, b4, pt.ProtoICMP, pt.ICMPv4Echo(true, 1, 2, []byte("abc"))), packet.ProtoICMP},
		{"icmp6", pt.IPv6(a6, b6, pt.ProtoICMPv6, pt.ICMPv6Echo(a6, b6, true, 1, 2, []byte("abc"))), packet.ProtoICMPv6},
		{"ns", pt.IPv6(a6, pt.SolicitedNode(b6), pt.ProtoICMPv6, pt.NeighborSolicitation(a6, pt.SolicitedNode(b6), b6, pt.MAC1[:]), pt.HopLimit(255)), packet.ProtoICMPv6},
	}
	var p packet.Parsed
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.Decode(tt.ip, packet.LinkRaw)
			if p.Reason != packet.ReasonNone || p.Proto != tt.proto {
				t.Fatalf("decode: proto %v reason %v", p.Proto, p.Reason)
			}
			if r := p.VerifyChecksums(); r != packet.ReasonNone {
				t.Fatalf("VerifyChecksums = %v", r)
			}
			bad := append([]byte(nil), tt.ip...)
			bad[p.L4Off+1] ^= 0x5a // source port or ICMP code: covered by every checksum
			p.Decode(bad, packet.LinkRaw)
			if r := p.VerifyChecksums(); !r.IsChecksum() {
				t.Fatalf("corrupted packet: VerifyChecksums = %v, want a checksum failure", r)
			}
		})
	}
}

// TestSCTPChecksum checks the CRC32c against the example in RFC 9260
// Appendix A's description: a zeroed checksum field then the CRC stored
// little-endian; recomputing over the packet with the field zeroed gives it.
func TestSCTPChecksum(t *testing.T) {
	b := pt.SCTP(5000, 5001, 0, pt.SCTPInit(0x01020304, 65536, 10, 10, 1))
	if len(b) != 12+20 {
		t.Fatalf("len %d", len(b))
	}
	got := binary.LittleEndian.Uint32(b[8:])
	if got == 0 {
		t.Fatal("zero CRC")
	}
	// CRC32c("123456789") = 0xE3069283 is the standard check value of the
	// Castagnoli polynomial; the builder must use that polynomial.
	if c := crc32c([]byte("123456789")); c != 0xE3069283 {
		t.Fatalf("check value %#x", c)
	}
	z := append([]byte(nil), b...)
	copy(z[8:12], []byte{0, 0, 0, 0})
	if crc32c(z) != got {
		t.Fatal("stored CRC does not match")
	}
}

// crc32c is a bitwise CRC32c (reflected polynomial 0x82F63B78), written out
// so the test does not share the builder's code path.
func crc32c(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x82F63B78
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}

func TestMustParseHex(t *testing.T) {
	got := pt.MustParseHex(`
		45 00 // version, TOS
		0a:0b # colon separated
		ff.01
	`)
	want := []byte{0x45, 0, 0x0a, 0x0b, 0xff, 1}
	if string(got) != string(want) {
		t.Fatalf("got % x", got)
	}
}

// TestSample checks that Sample holds what its doc comment promises and
// that only the deliberately broken packets fail to decode or verify.
func TestSample(t *testing.T) {
	frames := pt.Sample()
	if n := len(frames); n < 60 || n > 120 {
		t.Errorf("Sample has %d frames, want 60-120", n)
	}
	if !sameFrames(frames, pt.Sample()) {
		t.Error("Sample is not deterministic")
	}
	var p packet.Parsed
	var (
		arp, nd, ptb, portUnreach, frag4First, frag4Later, frag6First, frag6Later, atomic int
		vlan1, vlan2, sctp, dccp, gre, esp, hao, rh0, incomplete, badTCP, truncTCP, hbhdo int
		flags                                                                             = map[packet.TCPFlags]int{}
	)
	for i, f := range frames {
		if i > 0 && f.Time <= frames[i-1].Time {
			t.Errorf("frame %d: time %d not after %d", i, f.Time, frames[i-1].Time)
		}
		if f.Link != packet.LinkEthernet || len(f.Data) < 60 {
			t.Errorf("frame %d: link %v, %d bytes", i, f.Link, len(f.Data))
		}
		p.Decode(f.Data, f.Link)
		decodeReason := p.Reason
		csum := p.VerifyChecksums()
		switch {
		case p.EtherType == pt.EtherTypeARP:
			arp++
		case p.Proto == packet.ProtoICMPv6 && (p.ICMP.Type == 135 || p.ICMP.Type == 136):
			nd++
		case p.Proto == packet.ProtoICMPv6 && p.ICMP.Type == 2:
			if p.Quote.Proto == packet.ProtoTCP && p.Quote.DstPort == 443 &&
				p.Quote.ExtSeen.Has(packet.ExtHopByHop) && p.Quote.ExtSeen.Has(packet.ExtDestOpts) && p.ICMP.MTU == 1280 {
				ptb++
			}
		case p.Proto == packet.ProtoICMP && p.ICMP.Type == 3 && p.ICMP.Code == 3:
			if p.Quote.Proto == packet.ProtoUDP && p.Quote.DstPort == 514 {
				portUnreach++
			}
		case p.Proto == packet.ProtoSCTP && p.SCTP.FirstChunk == 1:
			sctp++
		case p.Proto == packet.ProtoDCCP && p.DCCPType == 0:
			dccp++
		case p.Tunnel == packet.TunnelGRE && p.GRE.HasKey:
			gre++
		case p.Proto == packet.ProtoESP && p.SPI != 0:
			esp++
		}
		switch {
		case p.IPVersion == 4 && p.Frag.Kind == packet.FragFirst:
			frag4First++
		case p.IPVersion == 4 && p.Frag.Kind == packet.FragLater:
			frag4Later++
		case p.IPVersion == 6 && p.Frag.Kind == packet.FragFirst && decodeReason == packet.ReasonNone:
			frag6First++
		case p.IPVersion == 6 && p.Frag.Kind == packet.FragLater:
			frag6Later++
		case p.Frag.Kind == packet.FragAtomic:
			atomic++
		}
		switch p.NumVLAN {
		case 1:
			vlan1++
		case 2:
			vlan2++
		}
		if p.Proto == packet.ProtoTCP && p.Ext.Seen.Has(packet.ExtHopByHop) && p.Ext.Seen.Has(packet.ExtDestOpts) {
			hbhdo++
		}
		if p.Anomalies.Has(packet.AnomalyHomeAddress) {
			hao++
		}
		if p.Anomalies.Has(packet.AnomalyRH0) && csum == packet.ReasonBadUDPChecksum {
			rh0++ // checksum over the final destination (RFC 8200 §8.1)
		}
		switch decodeReason {
		case packet.ReasonNone:
		case packet.ReasonFragIncomplete:
			incomplete++
		case packet.ReasonTCPTruncated:
			truncTCP++
		default:
			t.Errorf("frame %d: unexpected decode reason %v", i, decodeReason)
		}
		switch csum {
		case packet.ReasonNone, packet.ReasonBadUDPChecksum:
		case packet.ReasonBadTCPChecksum:
			badTCP++
		default:
			t.Errorf("frame %d: unexpected checksum result %v", i, csum)
		}
		if p.Proto == packet.ProtoTCP && p.HasTransport() {
			flags[p.TCP.Flags]++
		}
	}
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"ARP", arp, 2}, {"NS/NA", nd, 2}, {"Packet Too Big quoting TCP behind HBH+DO", ptb, 1},
		{"port unreachable quoting UDP/514", portUnreach, 1},
		{"IPv4 first fragments", frag4First, 2}, {"IPv4 later fragments", frag4Later, 2},
		{"IPv6 first fragments", frag6First, 1}, {"IPv6 later fragments", frag6Later, 2}, {"atomic fragments", atomic, 1},
		{"802.1Q", vlan1, 2}, {"QinQ", vlan2, 1}, {"SCTP INIT", sctp, 1}, {"DCCP Request", dccp, 1},
		{"GRE with key", gre, 1}, {"ESP", esp, 1}, {"Home Address option", hao, 1}, {"RH0", rh0, 1},
		{"RFC 7112 incomplete first fragment", incomplete, 1}, {"bad TCP checksum", badTCP, 1},
		{"truncated TCP header", truncTCP, 1}, {"TCP behind HBH+DO", hbhdo, 7},
		{"SYN", flags[packet.TCPSyn], 4}, {"SYN-ACK", flags[packet.TCPSyn|packet.TCPAck], 2},
		{"FIN-ACK", flags[packet.TCPFin|packet.TCPAck], 4}, {"RST-ACK", flags[packet.TCPRst|packet.TCPAck], 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d frames, want %d", c.what, c.got, c.want)
		}
	}
}

// TestSampleTCPSequence follows the IPv4 HTTP connection of Sample and
// checks that every segment's ACK covers exactly what the peer has sent
// (SYN and FIN count one), except the SACK-bearing duplicate ACK.
func TestSampleTCPSequence(t *testing.T) {
	var p packet.Parsed
	hi := map[netip.Addr]uint32{} // highest sequence number sent + length, per sender
	n := 0
	for _, f := range pt.Sample() {
		p.Decode(f.Data, f.Link)
		if p.Proto != packet.ProtoTCP || (p.SrcPort != 80 && p.DstPort != 80) {
			continue
		}
		n++
		seglen := uint32(len(p.Transport())) - uint32(p.TCP.DataOff)
		if p.TCP.Flags&(packet.TCPSyn|packet.TCPFin) != 0 {
			seglen++
		}
		if p.TCP.Flags&packet.TCPAck != 0 {
			want := hi[p.Dst]
			if p.TCP.Opts&packet.OptSACK != 0 {
				want = p.TCP.Ack // duplicate ACK: checked through its SACK block
				if p.TCP.SACK[0].Right != hi[p.Dst] {
					t.Errorf("SACK block %+v does not end at %#x", p.TCP.SACK[0], hi[p.Dst])
				}
			}
			if p.TCP.Ack != want {
				t.Errorf("%v:%d ack %#x, want %#x", p.Src, p.SrcPort, p.TCP.Ack, want)
			}
		}
		hi[p.Src] = max(hi[p.Src], p.TCP.Seq+seglen)
	}
	if n != 13 {
		t.Errorf("%d segments of the HTTP connection, want 13", n)
	}
}

func sameFrames(a, b []pt.Frame) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Time != b[i].Time || a[i].Link != b[i].Link || string(a[i].Data) != string(b[i].Data) {
			return false
		}
	}
	return true
}
