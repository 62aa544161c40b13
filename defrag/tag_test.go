package defrag_test

import (
	"bytes"
	"testing"

	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// frags6 cuts a UDP datagram of n bytes with identification id into
// fragments of at most size payload bytes.
func frags6(id uint32, n, size int) [][]byte {
	u := packettest.UDP(src6, dst6, 1, 2, bytes.Repeat([]byte{7}, n))
	return packettest.IPv6Fragments(src6, dst6, packettest.ProtoFragment, nil, packettest.ProtoUDP, u, id, size)
}

type discard struct {
	tag int32
	why defrag.Reason
}

// TestTags: the tag set on a held queue is what Tag gives back for every
// later fragment of the datagram, the completing one included; the
// OnDiscard function hears, once, of each tagged queue that goes without
// completing (overlap, timeout, eviction, Discard), and never of a
// completed one.
func TestTags(t *testing.T) {
	r := defrag.New(defrag.Config{})
	var got []discard
	r.OnDiscard(func(tag int32, why defrag.Reason) { got = append(got, discard{tag, why}) })
	var p packet.Parsed
	add := func(b []byte, now int64) defrag.Result {
		p.DecodeIP(b)
		res, _ := r.Add(&p, now, 0)
		return res
	}

	// Completion.
	f := frags6(1, 3000, 1232)
	if res := add(f[0], 0); res != defrag.Held || r.Tag() != 0 {
		t.Fatalf("first fragment: %v, tag %d", res, r.Tag())
	}
	r.SetTag(5)
	if res := add(f[1], 0); res != defrag.Held || r.Tag() != 5 {
		t.Fatalf("second fragment: %v, tag %d", res, r.Tag())
	}
	if res := add(f[2], 0); res != defrag.Complete || r.Tag() != 5 {
		t.Fatalf("last fragment: %v, tag %d", res, r.Tag())
	}

	// Overlap (RFC 5722): reported once, then the dead queue drops.
	f = frags6(2, 3000, 1232)
	o := frags6(2, 3000, 1000)
	add(f[0], 0)
	r.SetTag(6)
	if res := add(o[1], 0); res != defrag.Dropped || r.DropReason() != defrag.ReasonOverlap {
		t.Fatalf("overlap: %v %v", res, r.DropReason())
	}
	add(f[1], 0)

	// Timeout, seen by Expire.
	f = frags6(3, 3000, 1232)
	add(f[0], 0)
	r.SetTag(7)
	r.Expire(59e9)
	r.Expire(60e9)

	// Discard.
	f = frags6(4, 3000, 1232)
	add(f[0], 61e9)
	r.SetTag(8)
	r.Discard(defrag.ReasonMemory)
	if res := add(f[1], 61e9); res != defrag.Held || r.Tag() != 0 {
		t.Fatalf("after Discard: %v, tag %d (a new queue)", res, r.Tag())
	}

	want := []discard{{6, defrag.ReasonOverlap}, {7, defrag.ReasonTimeout}, {8, defrag.ReasonMemory}}
	if len(got) != len(want) {
		t.Fatalf("discards %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("discard %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// TestTagEvicted: a tagged queue evicted under memory pressure (K-10) is
// reported with ReasonMemory.
func TestTagEvicted(t *testing.T) {
	r := defrag.New(defrag.Config{High6: 4096, Low6: 2048})
	var got []discard
	r.OnDiscard(func(tag int32, why defrag.Reason) { got = append(got, discard{tag, why}) })
	var p packet.Parsed
	for id := range uint32(4) {
		f := frags6(10+id, 3000, 1232)
		p.DecodeIP(f[0])
		if res, _ := r.Add(&p, int64(id), 0); res != defrag.Held {
			t.Fatalf("datagram %d: %v", id, res)
		}
		r.SetTag(int32(id + 1))
	}
	if len(got) == 0 || got[0] != (discard{1, defrag.ReasonMemory}) {
		t.Errorf("discards %v, want the oldest (tag 1) evicted first", got)
	}
}

// TestEvictOldest: EvictOldest discards the oldest tagged queue of either
// family, never the one the last Add held its fragment in nor an untagged
// one, reports it as evicted under memory pressure, and says false when
// there is nothing else to evict.
func TestEvictOldest(t *testing.T) {
	r := defrag.New(defrag.Config{})
	var got []discard
	r.OnDiscard(func(tag int32, why defrag.Reason) { got = append(got, discard{tag, why}) })
	var p packet.Parsed
	hold := func(b []byte, now int64, tag int32) {
		t.Helper()
		p.DecodeIP(b)
		if res, _ := r.Add(&p, now, 0); res != defrag.Held {
			t.Fatalf("%v, want held", res)
		}
		if tag != 0 {
			r.SetTag(tag)
		}
	}
	u4 := packettest.UDP(src4, dst4, 1, 2, make([]byte, 3000))
	v4 := packettest.IPv4Fragments(src4, dst4, packettest.ProtoUDP, u4, 1200, packettest.ID(9))
	hold(frags6(1, 3000, 1232)[0], 10, 0) // untagged, oldest of all
	hold(frags6(2, 3000, 1232)[0], 20, 2)
	hold(v4[0], 15, 4) // IPv4, older than tag 2
	hold(frags6(3, 3000, 1232)[0], 30, 3)
	for _, want := range []int32{4, 2} {
		if !r.EvictOldest() {
			t.Fatalf("nothing evicted, want tag %d", want)
		}
		if len(got) != 1 || got[0] != (discard{want, defrag.ReasonMemory}) {
			t.Fatalf("discarded %v, want tag %d evicted", got, want)
		}
		got = got[:0]
	}
	// Tag 3's queue is the one the last Add held in; the untagged one is
	// not the caller's to count.
	if r.EvictOldest() || len(got) != 0 {
		t.Errorf("evicted %v past the current and untagged queues", got)
	}
	if s := r.Stats(); s.Killed[defrag.ReasonMemory] != 2 {
		t.Errorf("%d evictions counted, want 2", s.Killed[defrag.ReasonMemory])
	}
}
