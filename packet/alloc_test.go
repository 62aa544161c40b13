package packet_test

import (
	"testing"

	"github.com/hare-fw/hare/packet"
)

// TestNoAllocs holds the decoder to STYLE B2.1: decoding a packet, verifying
// its checksums and decoding a tunnel's inner packet allocate nothing.
func TestNoAllocs(t *testing.T) {
	var p, inner packet.Parsed
	for _, f := range benchFrames(t) {
		t.Run(f.name, func(t *testing.T) {
			n := testing.AllocsPerRun(1000, func() {
				p.Decode(f.frame, packet.LinkEthernet)
				p.VerifyChecksums()
				p.DecodeInner(&inner)
			})
			if n != 0 {
				t.Errorf("Decode+VerifyChecksums: %v allocs per packet, want 0", n)
			}
			if p.Reason != packet.ReasonNone {
				t.Errorf("fixture decodes with reason %q; the measurement must cover a clean decode", p.Reason)
			}
		})
	}
}

// TestBenchFrames checks that each benchmark frame decodes as the packet
// kind it is named for, so the figures in BENCHMARKS.md measure what they
// claim.
func TestBenchFrames(t *testing.T) {
	var p packet.Parsed
	for _, f := range benchFrames(t) {
		p.Decode(f.frame, packet.LinkEthernet)
		if r := p.VerifyChecksums(); r != packet.ReasonNone {
			t.Errorf("%s: %v", f.name, r)
		}
		ok := false
		switch f.name {
		case "tcp4":
			ok = p.IPVersion == 4 && p.Proto == packet.ProtoTCP && p.TCP.Opts&packet.OptWScale != 0 && p.TCP.WScale == 7
		case "tcp6":
			ok = p.IPVersion == 6 && p.Proto == packet.ProtoTCP && p.TCP.MSS == 1460
		case "tcp6-3ext":
			ok = p.Proto == packet.ProtoTCP && p.Ext.N == 3 && p.Ext.Hdrs[2].Kind == packet.ExtRouting && p.Ext.RoutingType == 4 && p.Anomalies == 0
		case "udp4":
			ok = p.Proto == packet.ProtoUDP && p.DstPort == 53
		case "icmp6-error":
			ok = p.ICMP.IsError && p.ICMP.MTU == 1280 && p.Quote.Proto == packet.ProtoTCP && p.Quote.DstPort == 443 && p.Quote.HasL4
		case "frag6-first":
			ok = p.Frag.Kind == packet.FragFirst && p.Frag.ID == 0xdeadbeef && p.Proto == packet.ProtoUDP && p.DstPort == 4001
		}
		if !ok {
			t.Errorf("%s decodes as %+v", f.name, p)
		}
	}
}
