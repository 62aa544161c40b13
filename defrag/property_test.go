package defrag_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"

	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet/packettest"
)

// randomFrags cuts d into fragments of random sizes (multiples of 8; the
// first holds at least 24 bytes, so that a TCP header fits, K-09), shuffles
// them and sprinkles exact duplicates. It returns the fragments and, for
// each, whether it is a duplicate of one sent earlier.
func randomFrags(d *dgram, rng *rand.Rand) (frags [][]byte, dup []bool) {
	var cuts []int
	for c := 0; ; {
		step := 8 * (1 + rng.IntN(200))
		if c == 0 {
			step = max(step, 24)
		}
		c += step
		if c >= len(d.payload) {
			break
		}
		cuts = append(cuts, c)
	}
	if len(cuts) == 0 {
		cuts = []int{24} // at least two fragments (payloads are longer than 24)
	}
	base := d.split(cuts...)
	for _, i := range rng.Perm(len(base)) {
		frags = append(frags, base[i])
		dup = append(dup, false)
		if rng.IntN(5) == 0 {
			j := rng.IntN(len(frags))
			if !dup[j] {
				frags = append(frags, frags[j])
				dup = append(dup, true)
			}
		}
	}
	return frags, dup
}

// randomDgram returns a datagram of a random family, protocol and size;
// IPv6 ones sometimes carry an unfragmentable Hop-by-Hop and Destination
// Options part, IPv4 ones options.
func randomDgram(rng *rand.Rand, id uint32) *dgram {
	v6 := rng.IntN(2) == 0
	proto := []uint8{tcp, udp, icmp}[rng.IntN(3)]
	d := newDgram(v6, proto, 64+rng.IntN(6000), id, rng)
	switch {
	case v6 && rng.IntN(3) == 0:
		d.unfrag = packettest.Cat(
			packettest.HopByHop(packettest.ProtoDestOpts, packettest.RouterAlert(0)),
			packettest.DestOpts(packettest.ProtoFragment, packettest.PadN(2+rng.IntN(30))))
		d.firstHdr = packettest.ProtoHopByHop
		d.rebuild()
	case !v6 && rng.IntN(3) == 0:
		d.ipOpts = []packettest.IPv4Option{packettest.IPOptions([]byte{0x94, 4, 0, 0}), packettest.TTL(uint8(rng.IntN(256)))}
		d.rebuild()
	}
	return d
}

// TestRandomReassembly is a seeded property test: random datagrams, cut
// into fragments of random sizes, shuffled, with duplicates, several
// datagrams interleaved, reassemble to their unfragmented originals byte
// for byte, each exactly when its last missing fragment arrives.
func TestRandomReassembly(t *testing.T) {
	for seed := range uint64(60) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0xdef))
			h := newHarness(t, defrag.Config{})
			type stream struct {
				d     *dgram
				frags [][]byte
				dup   []bool
				next  int
			}
			var ss []*stream
			for i := range 1 + rng.IntN(5) {
				d := randomDgram(rng, uint32(100+i))
				f, dup := randomFrags(d, rng)
				ss = append(ss, &stream{d: d, frags: f, dup: dup})
			}
			for live := len(ss); live > 0; {
				s := ss[rng.IntN(len(ss))]
				if s.next == len(s.frags) {
					continue
				}
				i := s.next
				s.next++
				res, out := h.add(s.frags[i])
				lastNew := true
				for j := i + 1; j < len(s.frags); j++ {
					if !s.dup[j] {
						lastNew = false
					}
				}
				switch {
				case s.dup[i]:
					if res != defrag.Dropped || h.r.DropReason() != defrag.ReasonDuplicate {
						t.Fatalf("duplicate: %v (%v)", res, h.r.DropReason())
					}
				case lastNew:
					if res != defrag.Complete {
						t.Fatalf("last fragment: %v (%v)", res, h.r.DropReason())
					}
					sameDatagram(t, out, s.d.whole)
				default:
					if res != defrag.Held {
						t.Fatalf("fragment %d of %d: %v (%v)", i, len(s.frags), res, h.r.DropReason())
					}
				}
				if res == defrag.Complete {
					// Duplicates after completion start a new queue;
					// stop the stream here.
					s.next = len(s.frags)
				}
				if s.next == len(s.frags) {
					live--
				}
			}
		})
	}
}

// TestGopacketOracle compares completion and the reassembled payload with
// gopacket's ip4defrag and ip6defrag on the same random, non-overlapping
// fragment streams (duplicates included): a differential test against an
// independent implementation.
func TestGopacketOracle(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 0x0dd))
		d := randomDgram(rng, uint32(seed))
		d.unfrag, d.ipOpts = nil, nil // ip6defrag keeps no unfragmentable part
		d.rebuild()
		frags, _ := randomFrags(d, rng)
		t.Run(fmt.Sprintf("%d/%s", seed, famName(d.v6)), func(t *testing.T) {
			h := newHarness(t, defrag.Config{})
			d4, d6 := ip4defrag.NewIPv4Defragmenter(), ip6defrag.NewIPv6Defragmenter()
			for i, f := range frags {
				res, out := h.add(f)
				var want []byte // the oracle's reassembled payload
				var nh uint8
				if d.v6 {
					pk := gopacket.NewPacket(f, layers.LayerTypeIPv6, gopacket.Default)
					ip := pk.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
					fg := pk.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
					if l := d6.DefragIPv6(ip, fg); l != nil {
						want, nh = l.Payload, uint8(l.NextHeader)
					}
				} else {
					pk := gopacket.NewPacket(f, layers.LayerTypeIPv4, gopacket.Default)
					l, err := d4.DefragIPv4(pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4))
					if err != nil {
						t.Fatalf("ip4defrag: %v", err)
					}
					if l != nil {
						want, nh = l.Payload, uint8(l.Protocol)
					}
				}
				if (res == defrag.Complete) != (want != nil) {
					t.Fatalf("fragment %d: %v, oracle complete %v", i, res, want != nil)
				}
				if want == nil {
					continue
				}
				hl := 40
				gotNH := out[6]
				if !d.v6 {
					hl, gotNH = int(out[0]&0xf)*4, out[9]
				}
				if !bytes.Equal(out[hl:], want) || gotNH != nh {
					t.Fatalf("fragment %d: payload or protocol differs from the oracle's", i)
				}
				return
			}
			t.Fatal("never completed")
		})
	}
}
