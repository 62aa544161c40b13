package packet_test

import (
	"net/netip"
	"testing"

	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// TestSCTPChecksum: VerifyChecksums checks SCTP's CRC32c (RFC 9260 §6.8),
// which Linux sctp_error verifies with nf_conntrack_checksum=1, and does so
// without allocating.
func TestSCTPChecksum(t *testing.T) {
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	seg := packettest.SCTP(5000, 6000, 0, packettest.SCTPInit(0x11223344, 65535, 10, 10, 1))
	good := packettest.IPv4(src, dst, 132, seg)
	var p packet.Parsed
	p.DecodeIP(good)
	if r := p.VerifyChecksums(); r != packet.ReasonNone {
		t.Fatalf("good packet: %v", r)
	}
	if n := testing.AllocsPerRun(100, func() { p.DecodeIP(good); p.VerifyChecksums() }); n != 0 {
		t.Errorf("%v allocs", n)
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1
	p.DecodeIP(bad)
	if r := p.VerifyChecksums(); r != packet.ReasonBadSCTPChecksum {
		t.Fatalf("corrupted packet: %v", r)
	}
}
