package control

import (
	"context"
	"net/netip"
	"testing"

	pt "github.com/hare-fw/hare/packet/packettest"
)

// BenchmarkListText measures `hare ct -L` over the socket: a table of
// 100,000 UDP flows listed as text (one op = the whole table; see
// entries/s).
func BenchmarkListText(b *testing.B) {
	r := newRig(b, "")
	const n = 100_000
	for i := 0; i < n; i++ {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		r.packet(pt.IPv4(src, s4, 17, pt.UDP(src, s4, uint16(1024+i%50000), 53, nil)))
	}
	if r.table.Len() != n {
		b.Fatalf("%d entries", r.table.Len())
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		k := 0
		if err := r.c.List(ctx, &Filter{}, TextOptions{Extended: true}, func(string) error { k++; return nil }); err != nil || k != n {
			b.Fatal(k, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
