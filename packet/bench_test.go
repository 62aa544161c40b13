package packet_test

import (
	"testing"

	"github.com/hare-fw/hare/packet"
)

// sinkProto keeps the compiler from discarding the decode.
var sinkProto packet.IPProto

func BenchmarkDecode(b *testing.B) {
	for _, f := range benchFrames(b) {
		b.Run(f.name, func(b *testing.B) {
			var p packet.Parsed
			b.ReportAllocs()
			b.SetBytes(int64(len(f.frame)))
			b.ResetTimer()
			for b.Loop() {
				p.Decode(f.frame, packet.LinkEthernet)
				sinkProto = p.Proto
			}
		})
	}
}

func BenchmarkVerifyChecksums(b *testing.B) {
	for _, f := range benchFrames(b) {
		b.Run(f.name, func(b *testing.B) {
			var p packet.Parsed
			b.ReportAllocs()
			b.SetBytes(int64(len(f.frame)))
			b.ResetTimer()
			for b.Loop() {
				p.Decode(f.frame, packet.LinkEthernet)
				p.VerifyChecksums()
				sinkProto = p.Proto
			}
		})
	}
}
