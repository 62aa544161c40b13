package daemon

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hare-fw/hare/datapath"
)

// TestFragHoldPool checks the pool against a naive model under random
// holds and frees: a hold fails only when no run of free slots is long
// enough (the model scans every slot), held bytes come back unchanged
// and in order, and freeing gives every slot back. Pools of a few slots
// and of sizes that are not a multiple of 64 slots (a word of the
// bitmap) too: the search for a free slot wraps around after the
// bitmap's last, partial word.
func TestFragHoldPool(t *testing.T) {
	for _, slots := range []int{1, 3, 64, 65, 200} {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("slots=%d/seed=%d", slots, seed), func(t *testing.T) { testFragHoldPool(t, slots, seed) })
		}
	}
}

func testFragHoldPool(t *testing.T, slots int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed+1, 2))
	h := newFragHold(int64(slots) * holdSlot)
	model := make([]bool, h.nslots) // slot in use
	type held struct {
		data  [][]byte
		slots [][2]int
	}
	live := map[int32]*held{}
	fits := func(n int) bool {
		run := 0
		for _, u := range model {
			if u {
				run = 0
			} else if run++; run >= n {
				return true
			}
		}
		return false
	}
	for step := range 20000 {
		if len(live) > 0 && rng.IntN(3) == 0 {
			for tag, d := range live { // free one datagram
				i := h.first(tag)
				for k, want := range d.data {
					if i < 0 || !bytes.Equal(h.frame(i), want) {
						t.Fatalf("step %d: datagram %d fragment %d changed", step, tag, k)
					}
					i = h.frags[i].next
				}
				if i >= 0 {
					t.Fatalf("step %d: datagram %d has more fragments than held", step, tag)
				}
				h.free(tag)
				for _, s := range d.slots {
					for j := s[0]; j < s[0]+s[1]; j++ {
						model[j] = false
					}
				}
				delete(live, tag)
				break
			}
			continue
		}
		n := 1 + rng.IntN(holdSlot*4)
		if rng.IntN(10) == 0 {
			n = 9018 // a jumbo frame
		}
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		var tag int32
		if len(live) > 0 && rng.IntN(2) == 0 {
			for t := range live {
				tag = t
				break
			}
		}
		need := (n + holdSlot - 1) / holdSlot
		free := fits(need)
		got, ok := h.add(tag, &datapath.Packet{Data: data}, n)
		if ok != free {
			t.Fatalf("step %d: add of %d slots: %v, model says a run is free: %v", step, need, ok, free)
		}
		if !ok {
			continue
		}
		if tag != 0 && got != tag {
			t.Fatalf("step %d: tag %d became %d", step, tag, got)
		}
		d := live[got]
		if d == nil {
			d = &held{}
			live[got] = d
		}
		f := &h.frags[h.dgrams[got-1].tail]
		for j := int(f.slot); j < int(f.slot)+need; j++ {
			if model[j] {
				t.Fatalf("step %d: slot %d given twice", step, j)
			}
			model[j] = true
		}
		d.data = append(d.data, data)
		d.slots = append(d.slots, [2]int{int(f.slot), need})
	}
	for tag := range live {
		h.free(tag)
	}
	if h.inUse != 0 {
		t.Errorf("%d slots in use after freeing everything", h.inUse)
	}
	for _, w := range h.used {
		if w != 0 {
			t.Fatal("slot bits left set")
		}
	}
}
