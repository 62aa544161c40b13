package packet_test

import (
	"net/netip"
	"testing"

	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

// TestCsumUnnecessary: a packet whose transport checksum is not computed
// yet (a GSO super-packet's field holds the pseudo-header sum) fails
// VerifyChecksums unless the caller sets CsumUnnecessary, as Linux's
// nf_ip_checksum skips CHECKSUM_PARTIAL skbs; the IPv4 header checksum is
// checked either way (ip_rcv checked it before netfilter), and Decode
// clears the flag.
func TestCsumUnnecessary(t *testing.T) {
	a4, b4 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	payload := make([]byte, 3000) // longer than an MTU, as a super-packet is
	tcp := func(src, dst netip.Addr) []byte {
		return pt.TCP(src, dst, pt.TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 1, Ack: 1, Flags: packet.TCPAck, Window: 500, BadChecksum: true}, payload)
	}
	for _, tc := range []struct {
		name     string
		pkt      []byte
		want     packet.Reason // without the flag
		wantFlag packet.Reason // with it
	}{
		{"tcp4", pt.IPv4(a4, b4, 6, tcp(a4, b4)), packet.ReasonBadTCPChecksum, packet.ReasonNone},
		{"tcp6", pt.IPv6(a6, b6, 6, tcp(a6, b6)), packet.ReasonBadTCPChecksum, packet.ReasonNone},
		{"tcp4 bad ip header", pt.IPv4(a4, b4, 6, tcp(a4, b4), pt.BadIPChecksum()), packet.ReasonBadIPv4Checksum, packet.ReasonBadIPv4Checksum},
	} {
		var p packet.Parsed
		p.DecodeIP(tc.pkt)
		if r := p.VerifyChecksums(); r != tc.want {
			t.Errorf("%s: VerifyChecksums %v, want %v", tc.name, r, tc.want)
		}
		p.DecodeIP(tc.pkt)
		p.CsumUnnecessary = true
		if r := p.VerifyChecksums(); r != tc.wantFlag {
			t.Errorf("%s with CsumUnnecessary: VerifyChecksums %v, want %v", tc.name, r, tc.wantFlag)
		}
		p.DecodeIP(tc.pkt)
		if p.CsumUnnecessary {
			t.Errorf("%s: Decode left CsumUnnecessary set", tc.name)
		}
	}
	lite := pt.UDPLite(a4, b4, 5000, 5001, 0, []byte("data"))
	lite[len(lite)-5] ^= 0xff // a payload byte the checksum covers
	var p packet.Parsed
	p.DecodeIP(pt.IPv4(a4, b4, 136, lite))
	if p.VerifyUDPLiteAs(packet.ProtoUDP) {
		t.Errorf("UDP-Lite with a changed byte passed VerifyUDPLiteAs")
	}
	p.CsumUnnecessary = true
	if !p.VerifyUDPLiteAs(packet.ProtoUDP) {
		t.Errorf("UDP-Lite with CsumUnnecessary failed VerifyUDPLiteAs")
	}
}
