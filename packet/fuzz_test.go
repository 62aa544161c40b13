package packet_test

import (
	"reflect"
	"testing"

	"github.com/hare-fw/hare/packet"
)

// FuzzDecode feeds arbitrary frames of every supported link type to the
// decoder. Properties: no panic; decoding is deterministic (twice gives the
// same Parsed); every offset stays inside the frame; enums stay in range;
// checksum verification and inner decoding never panic either.
func FuzzDecode(f *testing.F) {
	for _, fr := range benchFrames(f) {
		f.Add(fr.frame, uint16(packet.LinkEthernet))                   // the benchmark kinds (tcp4, tcp6, ext chain, udp4, icmp6 error, fragment)
		f.Add(fr.frame[14:], uint16(packet.LinkRaw))                   // the same as raw IP
		f.Add(fr.frame[:len(fr.frame)/2], uint16(packet.LinkEthernet)) // cut by a snaplen
	}
	f.Add([]byte{2, 0, 0, 0, 0x45}, uint16(packet.LinkNull))                       // BSD loopback, IPv4 family, truncated header
	f.Add([]byte{0, 0, 0, 0x1e, 0x60}, uint16(packet.LinkLoop))                    // OpenBSD loopback, Darwin AF_INET6
	f.Add([]byte{2, 0, 0, 0, 8, 0, 9, 0, 0x45, 0, 0, 0}, uint16(packet.LinkNFLOG)) // NFLOG with a tiny payload TLV
	f.Add(make([]byte, 20), uint16(packet.LinkLinuxSLL2))                          // SLL2, protocol 0
	f.Add([]byte{0x60, 0, 0, 0, 0, 8, 59, 64}, uint16(packet.LinkIPv6))            // IPv6 header cut short, No Next Header

	var p, q, inner packet.Parsed
	f.Fuzz(func(t *testing.T, b []byte, link uint16) {
		lt := packet.LinkType(link)
		p.Decode(b, lt)
		q.Decode(b, lt)
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("two decodes differ:\n%+v\n%+v", p, q)
		}
		checkInvariants(t, &p, len(b))
		r := p.VerifyChecksums()
		if r != packet.ReasonNone && !r.IsChecksum() {
			t.Fatalf("VerifyChecksums returned non-checksum reason %v", r)
		}
		if p.DecodeInner(&inner) {
			checkInvariants(t, &inner, len(p.InnerIP()))
		}
	})
}

func checkInvariants(t *testing.T, p *packet.Parsed, n int) {
	t.Helper()
	if int(p.Reason) >= packet.NumReasons {
		t.Fatalf("reason %d out of range", p.Reason)
	}
	if p.HasTransport() && (p.L4Off < p.L3Off || p.L4Off+p.L4Len > n || p.L4Len < 0) {
		t.Fatalf("transport [%d,+%d) outside frame of %d (L3 at %d)", p.L4Off, p.L4Len, n, p.L3Off)
	}
	if p.IPVersion != 0 && p.IPVersion != 4 && p.IPVersion != 6 {
		t.Fatalf("IP version %d", p.IPVersion)
	}
	if p.IPVersion == 0 && (p.HasTransport() || p.Src.IsValid()) {
		t.Fatalf("transport or address without IP: %+v", p)
	}
	if int(p.Ext.N) > len(p.Ext.Hdrs) || int(p.Ext.N) > p.Ext.Count {
		t.Fatalf("ext chain N=%d Count=%d", p.Ext.N, p.Ext.Count)
	}
	for _, h := range p.Ext.Headers() {
		if int(h.Off)+int(h.Len) > n {
			t.Fatalf("extension header %v [%d,+%d) past frame end %d", h.Kind, h.Off, h.Len, n)
		}
	}
	if p.Frag.Kind == packet.FragLater && p.HasTransport() {
		t.Fatalf("non-first fragment with a transport header")
	}
	if ip := p.IP(); p.IPVersion != 0 && len(ip) > n {
		t.Fatalf("IP() longer than frame")
	}
	if p.Quote.Off > n {
		t.Fatalf("quote offset %d past frame end %d", p.Quote.Off, n)
	}
}
