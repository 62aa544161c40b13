package conntrack

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/hare-fw/hare/packet"
)

// TestIndexAgainstMap drives a shard's open-addressing index and a Go map
// (the slow reference) through the same random inserts and deletes, with
// few distinct hash tags so that long probe runs and backward shifts happen,
// and checks that they agree after every step.
func TestIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := NewTable(nil, nil)
	tab.seed = 7
	sh := &tab.shards[0]
	ref := map[Tuple]uint32{}
	var live []uint32
	tuple := func(n int) Tuple {
		return TupleFrom(netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)}), netip.MustParseAddr("10.1.0.1"),
			packet.ProtoUDP, uint16(n), 53)
	}
	for step := range 20000 {
		if len(live) == 0 || rng.IntN(3) != 0 {
			n := rng.IntN(5000)
			k := tuple(n)
			if _, ok := ref[k]; ok {
				continue
			}
			r, _ := k.invert()
			i := sh.alloc()
			tab.insert(sh, i, &entry{tuple: [2]Tuple{k, r}})
			ref[k], ref[r] = i, i
			live = append(live, i)
		} else {
			j := rng.IntN(len(live))
			i := live[j]
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
			e := sh.at(i)
			delete(ref, e.tuple[0])
			delete(ref, e.tuple[1])
			tab.release(sh, i)
		}
		if step%997 == 0 || step == 19999 {
			if sh.idx.n != len(ref) {
				t.Fatalf("step %d: index holds %d keys, reference %d", step, sh.idx.n, len(ref))
			}
			for k, want := range ref {
				got, dir, ok := tab.lookup(sh, &k)
				if !ok || got != want || sh.at(got).tuple[dir] != k {
					t.Fatalf("step %d: lookup %v = %d,%v,%v; want slot %d", step, k, got, dir, ok, want)
				}
			}
			for n := range 5000 {
				k := tuple(n)
				if _, ok := ref[k]; !ok {
					if _, _, ok := tab.lookup(sh, &k); ok {
						t.Fatalf("step %d: found deleted tuple %v", step, k)
					}
				}
			}
		}
	}
}
