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
