package packet_test

import (
	"net/netip"
	"testing"

	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// TestJumbogram checks the RFC 2675 §3 rules: a Jumbo Payload option needs
// Payload Length 0 and a length over 65535; Payload Length 0 behind a
// Hop-by-Hop header needs the option.
func TestJumbogram(t *testing.T) {
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	udp := packettest.UDP(src, dst, 1, 2, []byte("12345678"))
	for _, tt := range []struct {
		name   string
		hbh    []byte
		plen   int
		reason packet.Reason
		l3len  int
	}{
		{"valid jumbogram, capture shorter than stated", packettest.HopByHop(17, packettest.JumboPayload(100000)), 0, packet.ReasonIPTruncated, 40 + 100000},
		{"jumbo option with nonzero payload length", packettest.HopByHop(17, packettest.JumboPayload(100000)), 24, packet.ReasonBadJumbo, 40 + 24},
		{"jumbo length below 65536", packettest.HopByHop(17, packettest.JumboPayload(24)), 0, packet.ReasonBadJumbo, 40 + 24},
		{"payload length 0 without jumbo option", packettest.HopByHop(17, packettest.PadN(4)), 0, packet.ReasonBadJumbo, 40 + 24},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := packettest.IPv6(src, dst, 0, packettest.Cat(tt.hbh, udp), packettest.PayloadLength(tt.plen))
			var p packet.Parsed
			p.DecodeIP(b)
			if p.Reason != tt.reason || p.L3Len != tt.l3len {
				t.Errorf("reason %q L3Len %d, want %q %d", p.Reason, p.L3Len, tt.reason, tt.l3len)
			}
		})
	}
}
