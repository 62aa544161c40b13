package defrag_test

import (
	"math/rand/v2"
	"testing"

	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet"
)

// sink keeps the benchmarks' results alive so the compiler cannot drop the
// calls that produce them.
var sink int

// decodedFrags returns n datagrams of family v6, each cut into two
// fragments (1448 bytes of UDP payload: a 1500-byte MTU split), decoded.
func decodedFrags(n int, v6 bool) [][2]packet.Parsed {
	rng := rand.New(rand.NewPCG(42, 42))
	out := make([][2]packet.Parsed, n)
	for i := range out {
		d := newDgram(v6, udp, 1440, uint32(i+1), rng)
		f := d.split(1232)
		out[i][0].DecodeIP(f[0])
		out[i][1].DecodeIP(f[1])
	}
	return out
}

// BenchmarkReassemble measures a two-fragment datagram per iteration:
// queue creation, the held first fragment, the completing second one and
// the rebuild into the output buffer. The "interleaved" cases rotate over
// 64 datagrams whose first fragments are all pending at once.
func BenchmarkReassemble(b *testing.B) {
	for _, bc := range []struct {
		name string
		v6   bool
		n    int
	}{
		{"ipv4", false, 1},
		{"ipv6", true, 1},
		{"ipv4-interleaved", false, 64},
		{"ipv6-interleaved", true, 64},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fs := decodedFrags(bc.n, bc.v6)
			r := defrag.New(defrag.Config{})
			b.ReportAllocs()
			b.SetBytes(int64(len(fs[0][0].IP()) + len(fs[0][1].IP())))
			b.ResetTimer()
			for i := range b.N {
				if bc.n == 1 {
					r.Add(&fs[0][0], 0, 0)
					_, out := r.Add(&fs[0][1], 0, 0)
					sink += len(out)
					continue
				}
				// Keep n first fragments pending: add the first
				// fragment of datagram i and complete datagram i-n+1.
				r.Add(&fs[i%bc.n][0], 0, 0)
				_, out := r.Add(&fs[(i+1)%bc.n][1], 0, 0)
				sink += len(out)
			}
		})
	}
	b.Run("not-fragment", func(b *testing.B) {
		var p packet.Parsed
		p.DecodeIP(newDgram(true, udp, 1000, 1, rand.New(rand.NewPCG(1, 1))).whole)
		r := defrag.New(defrag.Config{})
		b.ReportAllocs()
		for range b.N {
			res, _ := r.Add(&p, 0, 0)
			sink += int(res)
		}
	})
}

// TestNoAllocs: once its pools are warm, Add does not allocate (STYLE
// B2.1), for in-order pairs, interleaved queues, atomic fragments and
// packets that are not fragments.
func TestNoAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	for _, v6 := range []bool{false, true} {
		t.Run(famName(v6)+"/pair", func(t *testing.T) {
			fs := decodedFrags(1, v6)
			r := defrag.New(defrag.Config{})
			allocs := testing.AllocsPerRun(200, func() {
				r.Add(&fs[0][0], 0, 0)
				if res, _ := r.Add(&fs[0][1], 0, 0); res != defrag.Complete {
					t.Fatal(res)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per datagram", allocs)
			}
		})
		t.Run(famName(v6)+"/interleaved", func(t *testing.T) {
			fs := decodedFrags(64, v6)
			r := defrag.New(defrag.Config{})
			i := 0
			step := func() {
				r.Add(&fs[i%64][0], 0, 0)
				r.Add(&fs[(i+1)%64][1], 0, 0)
				i++
			}
			for range 1000 {
				step()
			}
			if allocs := testing.AllocsPerRun(1000, step); allocs != 0 {
				t.Errorf("%v allocations per datagram", allocs)
			}
		})
	}
	t.Run("atomic and not-fragment", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 3))
		d := newDgram(true, tcp, 100, 1, rng)
		var atom, plain packet.Parsed
		atom.DecodeIP(d.frag(0, len(d.payload), false))
		plain.DecodeIP(d.whole)
		r := defrag.New(defrag.Config{})
		allocs := testing.AllocsPerRun(200, func() {
			if res, _ := r.Add(&atom, 0, 0); res != defrag.Complete {
				t.Fatal(res)
			}
			if res, _ := r.Add(&plain, 0, 0); res != defrag.NotFragment {
				t.Fatal(res)
			}
		})
		if allocs != 0 {
			t.Errorf("%v allocations", allocs)
		}
	})
}
