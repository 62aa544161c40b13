package daemon

import (
	"math/rand/v2"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet/packettest"
)

// TestFragHoldRandom sends the fragments of many datagrams in random
// order, with duplicates, losses and reassembly timeouts, through a worker
// and checks what leaves against what RFC 8200 §4.5 allows a receiver to
// reassemble: no fragment of a datagram the ruleset drops ever leaves; the
// fragments that leave of an allowed datagram are whole sets (each of its
// fragments as often as every other: each completion sends one of each);
// every fragment held is, by the end, sent or forgotten exactly once; and
// once every queue has timed out the pool is empty.
func TestFragHoldRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	r := newFragRig(t, rulesFwdNoDNS, defrag.Config{High6: 128 << 10}) // small: evictions and a full pool happen too
	type dgram struct {
		frags []datapath.Packet
		drop  bool
	}
	var dgrams []dgram
	for id := range uint32(60) {
		dport := uint16(123)
		if id%4 == 0 {
			dport = 53
		}
		n := 1500 + rng.IntN(5000)
		size := 504 + 8*rng.IntN(92)
		dgrams = append(dgrams, dgram{frames6(dport, 1000+id, n, size), dport == 53})
	}
	type origin struct{ d, f int }
	var from []origin // by handle
	for range 400 {
		var batch []datapath.Packet
		for range 1 + rng.IntN(8) {
			di := rng.IntN(len(dgrams))
			fi := rng.IntN(len(dgrams[di].frags))
			batch = append(batch, dgrams[di].frags[fi])
			from = append(from, origin{di, fi})
		}
		dt := int64(1e6)
		if rng.IntN(40) == 0 {
			dt = 30e9 // now and then half a reassembly timeout
		}
		r.batch(dt, batch...)
	}
	// Every queue times out (a packet that is no fragment, to have a batch).
	r.batch(61e9, ethPkt(packettest.IPv6(client6, server6, packettest.ProtoUDP, packettest.UDP(client6, server6, 1, 2, nil))))
	if r.w.hold.inUse != 0 || r.w.hold.nfrags != 0 {
		t.Errorf("pool not empty after every timeout: %d slots, %d fragments", r.w.hold.inUse, r.w.hold.nfrags)
	}
	forwarded := map[int]int{}
	for _, f := range r.port.forwarded {
		forwarded[f.handle]++
	}
	forgotten := map[int]int{}
	for _, h := range r.port.forgotten {
		forgotten[h]++
	}
	sentCount := make([]map[int]int, len(dgrams))
	for i := range sentCount {
		sentCount[i] = map[int]int{}
	}
	var held, sent, pool int
	for h, o := range from {
		v := r.port.verdicts[h]
		if forwarded[h] > 1 || forgotten[h] > 1 || forwarded[h]+forgotten[h] > 1 {
			t.Errorf("packet %d forwarded %d times, forgotten %d", h, forwarded[h], forgotten[h])
		}
		if forwarded[h] == 1 || forgotten[h] == 1 {
			held++
		}
		if v == datapath.Stolen && forwarded[h]+forgotten[h] != 1 {
			t.Errorf("packet %d held and never sent nor forgotten", h)
		}
		if v != datapath.Accept {
			continue
		}
		sent++
		if dgrams[o.d].drop {
			t.Errorf("packet %d, fragment %d of a dropped datagram, was sent", h, o.f)
		}
		sentCount[o.d][o.f]++
	}
	for i, c := range sentCount {
		if len(c) == 0 {
			continue
		}
		k := c[0]
		for f := range dgrams[i].frags {
			if c[f] != k {
				t.Errorf("datagram %d: fragments sent %v times each, not whole sets", i, c)
				break
			}
		}
	}
	pool = int(r.w.Extras().FragPoolFull)
	s := r.stats()
	t.Logf("%d fragments: %d sent, %d held, %d refused for a full pool; dropped by reason %v", len(from), sent, held, pool, s.FragDropped)
	if sent == 0 || held == 0 || s.FragDropped[defrag.ReasonTimeout] == 0 {
		t.Errorf("the run did not exercise completion, holding and timeouts")
	}
}
