package defrag_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

func famName(v6 bool) string {
	if v6 {
		return "ipv6"
	}
	return "ipv4"
}

func protoName(p uint8) string {
	switch p {
	case tcp:
		return "tcp"
	case udp:
		return "udp"
	}
	return "icmp"
}

// TestOrders reassembles datagrams of each family and protocol whose
// fragments arrive in order, in reverse and shuffled (U-REQ-14, K-04).
func TestOrders(t *testing.T) {
	orders := []struct {
		name  string
		apply func([][]byte, *rand.Rand) [][]byte
	}{
		{"in-order", func(f [][]byte, _ *rand.Rand) [][]byte { return f }},
		{"reverse", func(f [][]byte, _ *rand.Rand) [][]byte { return reversed(f) }},
		{"random", func(f [][]byte, rng *rand.Rand) [][]byte { return reorder(f, rng.Perm(len(f))) }},
		{"last-first", func(f [][]byte, _ *rand.Rand) [][]byte {
			return append([][]byte{f[len(f)-1]}, f[:len(f)-1]...)
		}},
	}
	for _, v6 := range []bool{false, true} {
		for _, proto := range []uint8{tcp, udp, icmp} {
			for _, o := range orders {
				t.Run(fmt.Sprintf("%s/%s/%s", famName(v6), protoName(proto), o.name), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(1, uint64(proto)))
					d := newDgram(v6, proto, 3001, 0x1234, rng)
					h := newHarness(t, defrag.Config{})
					out := h.feed(o.apply(d.even(512), rng))
					sameDatagram(t, out, d.whole)
					s := h.r.Stats()
					if s.Reassembled != 1 || s.QueuesIPv4+s.QueuesIPv6 != 0 || s.MemIPv4+s.MemIPv6 != 0 {
						t.Errorf("stats after completion: %+v", s)
					}
				})
			}
		}
	}
}

// fragSpec is a fragment of a test datagram: payload [off, off+n) with the
// M flag more; fill, if not zero, replaces its bytes (an overlap that
// carries other data).
type fragSpec struct {
	off, n int
	more   bool
	fill   byte
}

func (d *dgram) spec(s fragSpec) []byte {
	data := d.payload[s.off:min(s.off+s.n, len(d.payload))]
	if s.fill != 0 || len(data) < s.n {
		data = make([]byte, s.n)
		for i := range data {
			data[i] = s.fill
		}
	}
	return d.fragData(s.off, s.more, data)
}

// TestOverlap sends the five overlap shapes of SI6 frag6 -p (requirements
// §6.4) and firewall6-style overlaps rewriting the TCP header, for both
// families: the queue is discarded, nothing is delivered, and every later
// fragment of the datagram is dropped until the tombstone times out
// (K-06, FR-09, §8 trap 3).
func TestOverlap(t *testing.T) {
	// The datagram's payload is 64 bytes of TCP header and data, cut
	// A=[0,24) B=[24,40) C=[40,64): A holds the whole TCP header (K-09).
	tests := []struct {
		name  string
		frags []fragSpec // the last one is the overlap
	}{
		{"p1 A then overlapping B", []fragSpec{{0, 24, true, 0}, {16, 24, true, 0xee}}},
		{"p2 A, C after a gap, X fills the gap and overlaps C", []fragSpec{{0, 24, true, 0}, {40, 24, false, 0}, {24, 24, true, 0xee}}},
		{"p3 like p2, X overlaps A", []fragSpec{{0, 24, true, 0}, {40, 24, false, 0}, {16, 24, true, 0xee}}},
		{"p4 C spans B", []fragSpec{{0, 24, true, 0}, {32, 8, true, 0}, {24, 40, false, 0xee}}},
		{"p5 A, B, C with a gap, then D fills it and overlaps B", []fragSpec{{0, 24, true, 0}, {24, 16, true, 0}, {48, 16, false, 0}, {32, 16, true, 0xee}}},
		{"tcp header rewritten by a later offset-0 fragment", []fragSpec{{0, 24, true, 0}, {0, 32, true, 0xee}}},
		{"tcp flags rewritten at offset 8", []fragSpec{{0, 24, true, 0}, {40, 24, false, 0}, {8, 32, true, 0xee}}},
		{"overlap arrives first, real header second", []fragSpec{{8, 24, true, 0xee}, {0, 24, true, 0}}},
		{"last fragment overlaps the tail", []fragSpec{{0, 40, true, 0}, {32, 32, false, 0xee}}},
		{"larger last fragment over a short one", []fragSpec{{48, 16, false, 0}, {40, 24, false, 0xee}}},
	}
	for _, v6 := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(famName(v6)+"/"+tt.name, func(t *testing.T) {
				d := newDgram(v6, tcp, 44, 77, rand.New(rand.NewPCG(2, 2)))
				if len(d.payload) != 64 {
					t.Fatalf("payload %d bytes", len(d.payload))
				}
				h := newHarness(t, defrag.Config{})
				last := len(tt.frags) - 1
				for _, s := range tt.frags[:last] {
					h.expect(d.spec(s), defrag.Held, 0)
				}
				h.expect(d.spec(tt.frags[last]), defrag.Dropped, defrag.ReasonOverlap)
				// Every fragment of the datagram, even ones that would
				// complete it, is now dropped (FR-09).
				for _, f := range d.split(24, 40) {
					h.expect(f, defrag.Dropped, defrag.ReasonDeadQueue)
				}
				if s := h.r.Stats(); s.Killed[defrag.ReasonOverlap] != 1 || s.Reassembled != 0 {
					t.Errorf("stats: %+v", s)
				}
				// Another datagram with another ID is unaffected.
				d2 := *d
				d2.id++
				sameDatagram(t, h.feed(d2.split(24, 40)), d2.rebuiltWhole())
				// After the timeout the ID is free again.
				h.now += timeout(v6)
				sameDatagram(t, h.feed(d.split(24, 40)), d.whole)
			})
		}
	}
}

func (d dgram) rebuiltWhole() []byte {
	d.rebuild()
	return d.whole
}

func timeout(v6 bool) int64 {
	if v6 {
		return 60e9
	}
	return 30e9
}

// TestDuplicate: an exact duplicate is dropped alone and the datagram still
// completes (K-06); the first copy wins. A fragment inside a run of
// fragments that arrived in order is a duplicate too, but the same bytes
// spanning two fragments that did not arrive in order overlap
// (inet_frag_queue_insert's runs).
func TestDuplicate(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(famName(v6)+"/exact", func(t *testing.T) {
			d := newDgram(v6, udp, 40, 9, rand.New(rand.NewPCG(3, 3)))
			f := d.split(16, 32)
			h := newHarness(t, defrag.Config{})
			h.expect(f[1], defrag.Held, 0)
			h.expect(f[1], defrag.Dropped, defrag.ReasonDuplicate)
			h.expect(f[0], defrag.Held, 0)
			// Same range, other bytes: still a duplicate, first copy wins.
			h.expect(d.spec(fragSpec{0, 16, true, 0xee}), defrag.Dropped, defrag.ReasonDuplicate)
			sameDatagram(t, h.expect(f[2], defrag.Complete, 0), d.whole)
			if s := h.r.Stats(); s.Dropped[defrag.ReasonDuplicate] != 2 {
				t.Errorf("duplicates counted %d", s.Dropped[defrag.ReasonDuplicate])
			}
		})
		t.Run(famName(v6)+"/inside a run", func(t *testing.T) {
			d := newDgram(v6, udp, 40, 9, rand.New(rand.NewPCG(3, 3)))
			f := d.split(16, 32)
			h := newHarness(t, defrag.Config{})
			h.expect(f[0], defrag.Held, 0)
			h.expect(f[1], defrag.Held, 0) // appended to the run of f[0]
			h.expect(d.frag(8, 24, true), defrag.Dropped, defrag.ReasonDuplicate)
			sameDatagram(t, h.expect(f[2], defrag.Complete, 0), d.whole)
		})
		t.Run(famName(v6)+"/across two runs", func(t *testing.T) {
			d := newDgram(v6, udp, 40, 9, rand.New(rand.NewPCG(3, 3)))
			f := d.split(16, 32)
			h := newHarness(t, defrag.Config{})
			h.expect(f[1], defrag.Held, 0)
			h.expect(f[0], defrag.Held, 0) // a run of its own
			h.expect(d.frag(8, 24, true), defrag.Dropped, defrag.ReasonOverlap)
			h.expect(f[2], defrag.Dropped, defrag.ReasonDeadQueue)
		})
	}
}

// TestAtomic: an atomic fragment (offset 0, M=0) is processed on its own,
// its Fragment header removed, and a pending queue with the same ID is
// neither fed nor discarded (FR-11, RFC 6946 §4, §8 trap 4).
func TestAtomic(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	d := newDgram(true, tcp, 100, 0xabcd, rng)
	atom := newDgram(true, tcp, 20, 0xabcd, rng) // same ID, a different packet
	atomFrag := atom.frag(0, len(atom.payload), false)
	f := d.split(64)

	h := newHarness(t, defrag.Config{})
	h.expect(f[0], defrag.Held, 0)
	sameDatagram(t, h.expect(atomFrag, defrag.Complete, 0), atom.whole)
	if got := h.r.FragMaxSize(); got != len(atomFrag) {
		t.Errorf("FragMaxSize = %d, want %d", got, len(atomFrag))
	}
	sameDatagram(t, h.expect(f[1], defrag.Complete, 0), d.whole)

	// After an overlap killed the ID, atomic fragments still pass.
	h.expect(f[0], defrag.Held, 0)
	h.expect(d.frag(8, 72, true), defrag.Dropped, defrag.ReasonOverlap)
	sameDatagram(t, h.expect(atomFrag, defrag.Complete, 0), atom.whole)

	// An atomic fragment that completes nothing: nothing after the
	// Fragment header is a zero-length fragment (nf_ct_frag6_queue).
	empty := packettest.IPv6(src6, dst6, packettest.ProtoFragment, packettest.Fragment(packettest.ProtoNoNext, 5, 0, false))
	h.expect(empty, defrag.Dropped, defrag.ReasonZeroLength)

	if s := h.r.Stats(); s.Atomic != 2 || s.Reassembled != 1 {
		t.Errorf("stats: %+v", s)
	}

	// With a Hop-by-Hop header before it, that header's Next Header is
	// rewritten.
	hd := newDgram(true, udp, 30, 1, rng)
	hd.unfrag = packettest.HopByHop(packettest.ProtoFragment, packettest.RouterAlert(0))
	hd.firstHdr = packettest.ProtoHopByHop
	hd.rebuild()
	sameDatagram(t, h.expect(hd.frag(0, len(hd.payload), false), defrag.Complete, 0), hd.whole)
}

// TestInconsistentLast covers K-07 for both families: IPv6 drops the
// fragment and keeps the queue, IPv4 discards the queue too.
func TestInconsistentLast(t *testing.T) {
	// Payload of 64 bytes: A=[0,24) holds the TCP header, [24,40) is the
	// missing middle, C=[40,64) the tail.
	tests := []struct {
		name  string
		first []fragSpec // held
		bad   fragSpec
	}{
		{"two last fragments with different ends", []fragSpec{{0, 24, true, 0}, {40, 24, false, 0}}, fragSpec{40, 16, false, 0}},
		{"last fragment ends before data held", []fragSpec{{0, 24, true, 0}, {40, 24, true, 0}}, fragSpec{24, 8, false, 0}},
		{"non-last fragment past the known end", []fragSpec{{0, 24, true, 0}, {40, 24, false, 0}}, fragSpec{64, 8, true, 0}},
	}
	for _, v6 := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(famName(v6)+"/"+tt.name, func(t *testing.T) {
				d := newDgram(v6, tcp, 44, 5, rand.New(rand.NewPCG(5, 5)))
				h := newHarness(t, defrag.Config{})
				for _, s := range tt.first {
					h.expect(d.spec(s), defrag.Held, 0)
				}
				h.expect(d.spec(tt.bad), defrag.Dropped, defrag.ReasonInconsistentLast)
				rest := d.frag(24, 40, true)
				if !v6 {
					if s := h.r.Stats(); s.Killed[defrag.ReasonInconsistentLast] != 1 || s.QueuesIPv4 != 0 {
						t.Fatalf("stats: %+v", s)
					}
					h.expect(rest, defrag.Held, 0) // a new queue
					return
				}
				// IPv6 dropped the fragment alone: the queue is intact.
				if tt.first[1].more {
					// The tail again with M=0 is a duplicate, but
					// nf_ct_frag6_queue has recorded the end first.
					h.expect(d.frag(40, 64, false), defrag.Dropped, defrag.ReasonDuplicate)
				}
				sameDatagram(t, h.expect(rest, defrag.Complete, 0), d.whole)
			})
		}
	}
}

// TestLength covers K-08 and FR-05: non-multiple-of-8 non-last fragments
// (IPv6: queue discarded, fragment passed untracked; IPv4: trimmed) and
// zero-length fragments.
func TestLength(t *testing.T) {
	t.Run("ipv6/non-last not a multiple of 8", func(t *testing.T) {
		d := newDgram(true, udp, 40, 8, rand.New(rand.NewPCG(6, 6)))
		h := newHarness(t, defrag.Config{})
		h.expect(d.frag(0, 16, true), defrag.Held, 0)
		h.expect(d.frag(16, 28, true), defrag.PassedUntracked, defrag.ReasonBadLength)
		if s := h.r.Stats(); s.Killed[defrag.ReasonBadLength] != 1 || s.Untracked != 1 || s.QueuesIPv6 != 0 {
			t.Fatalf("stats: %+v", s)
		}
		// The first fragment went with the queue: the rest cannot complete.
		h.expect(d.frag(16, 32, true), defrag.Held, 0)
		h.expect(d.frag(32, 48, false), defrag.Held, 0)
	})
	t.Run("ipv4/non-last not a multiple of 8 is trimmed", func(t *testing.T) {
		d := newDgram(false, udp, 40, 8, rand.New(rand.NewPCG(6, 6)))
		h := newHarness(t, defrag.Config{})
		h.expect(d.frag(0, 21, true), defrag.Held, 0) // held as [0,16)
		h.expect(d.frag(32, 48, false), defrag.Held, 0)
		sameDatagram(t, h.expect(d.frag(16, 32, true), defrag.Complete, 0), d.whole)
	})
	t.Run("ipv4/trimmed to nothing", func(t *testing.T) {
		d := newDgram(false, udp, 40, 8, rand.New(rand.NewPCG(6, 6)))
		h := newHarness(t, defrag.Config{})
		h.expect(d.frag(16, 32, true), defrag.Held, 0)
		h.expect(d.frag(0, 5, true), defrag.Dropped, defrag.ReasonZeroLength)
		if s := h.r.Stats(); s.Killed[defrag.ReasonZeroLength] != 1 {
			t.Fatalf("stats: %+v", s)
		}
	})
	t.Run("ipv6/zero-length dropped alone", func(t *testing.T) {
		d := newDgram(true, udp, 40, 8, rand.New(rand.NewPCG(6, 6)))
		h := newHarness(t, defrag.Config{})
		h.expect(d.frag(0, 16, true), defrag.Held, 0)
		h.expect(d.fragData(16, true, nil), defrag.Dropped, defrag.ReasonZeroLength)
		h.expect(d.frag(16, 32, true), defrag.Held, 0)
		sameDatagram(t, h.expect(d.frag(32, 48, false), defrag.Complete, 0), d.whole)
	})
	t.Run("ipv6/jumbogram is not a fragment", func(t *testing.T) {
		body := packettest.Cat(
			packettest.HopByHop(packettest.ProtoFragment, packettest.JumboPayload(70000)),
			packettest.Fragment(packettest.ProtoUDP, 1, 8, true), make([]byte, 16))
		h := newHarness(t, defrag.Config{})
		h.expect(packettest.IPv6(src6, dst6, packettest.ProtoHopByHop, body, packettest.PayloadLength(0)), defrag.NotFragment, 0)
	})
}

// TestTooBig covers FR-06: an IPv6 fragment ending past 65535 is dropped;
// a datagram longer than 65535 is discarded when it completes.
func TestTooBig(t *testing.T) {
	t.Run("ipv6/fragment past 65535", func(t *testing.T) {
		d := newDgram(true, udp, 40, 11, rand.New(rand.NewPCG(7, 7)))
		h := newHarness(t, defrag.Config{})
		h.expect(d.frag(0, 16, true), defrag.Held, 0)
		h.expect(d.fragData(8191*8, false, make([]byte, 9)), defrag.Dropped, defrag.ReasonTooBig)
		sameDatagram(t, h.feed(d.split(16)[1:]), d.whole) // the queue was kept
	})
	t.Run("ipv6/payload with its unfragmentable part past 65535", func(t *testing.T) {
		// The fragments end exactly at 65535, but an 8-byte Hop-by-Hop
		// header before the Fragment header makes the payload 65543.
		d := &dgram{v6: true, src: src6, dst: dst6, proto: udp, id: 12,
			unfrag:   packettest.HopByHop(packettest.ProtoFragment),
			firstHdr: packettest.ProtoHopByHop,
			payload:  make([]byte, 65535)}
		h := newHarness(t, defrag.Config{})
		frags := d.even(1232)
		for _, f := range frags[:len(frags)-1] {
			h.expect(f, defrag.Held, 0)
		}
		h.expect(frags[len(frags)-1], defrag.Dropped, defrag.ReasonTooBig)
		if s := h.r.Stats(); s.Killed[defrag.ReasonTooBig] != 1 || s.QueuesIPv6 != 0 || s.MemIPv6 != 0 {
			t.Fatalf("stats: %+v", s)
		}
	})
	t.Run("ipv4/total length past 65535", func(t *testing.T) {
		// Linux holds such fragments and fails the reassembly
		// (ip_frag_reasm: -E2BIG).
		d := &dgram{src: src4, dst: dst4, proto: udp, id: 12, payload: make([]byte, 65628)}
		h := newHarness(t, defrag.Config{})
		frags := d.even(1480)
		for _, f := range frags[:len(frags)-1] {
			h.expect(f, defrag.Held, 0)
		}
		h.expect(frags[len(frags)-1], defrag.Dropped, defrag.ReasonTooBig)
		if s := h.r.Stats(); s.Killed[defrag.ReasonTooBig] != 1 || s.QueuesIPv4 != 0 || s.MemIPv4 != 0 {
			t.Fatalf("stats: %+v", s)
		}
	})
	t.Run("ipv4/largest possible datagram", func(t *testing.T) {
		d := newDgram(false, udp, 65535-20-8, 13, rand.New(rand.NewPCG(7, 8)))
		h := newHarness(t, defrag.Config{})
		sameDatagram(t, h.feed(reversed(d.even(1480))), d.whole)
	})
}

// TestIncompleteChain covers K-09 (RFC 7112, §8 trap 5): a first fragment
// whose TCP header falls into the second fragment is not queued and goes on
// untracked; the datagram never completes.
func TestIncompleteChain(t *testing.T) {
	seg := packettest.TCP(src6, dst6, packettest.TCPHeader{SrcPort: 1, DstPort: 22, Flags: packet.TCPSyn}, make([]byte, 100))
	pad := make([][]byte, 0, 5)
	for range 5 {
		pad = append(pad, packettest.PadN(240))
	}
	do := packettest.DestOpts(packettest.ProtoTCP, pad...)
	d := &dgram{v6: true, src: src6, dst: dst6, proto: packettest.ProtoDestOpts, id: 99,
		payload: packettest.Cat(do, seg)}
	if len(do) <= 1200 {
		t.Fatalf("Destination Options header of %d bytes", len(do))
	}
	h := newHarness(t, defrag.Config{})
	h.expect(d.frag(0, 1200, true), defrag.PassedUntracked, defrag.ReasonIncompleteChain)
	h.expect(d.frag(1200, len(d.payload), false), defrag.Held, 0)
	if s := h.r.Stats(); s.Untracked != 1 || s.QueuesIPv6 != 1 {
		t.Fatalf("stats: %+v", s)
	}

	// The same with the whole chain and 20 bytes of TCP in the first
	// fragment completes.
	h2 := newHarness(t, defrag.Config{})
	sameDatagram(t, h2.feed(d.split((len(do)+20+7)&^7)), d.rebuiltWhole())

	// UDP needs 8 bytes, ICMPv6 8, TCP 20, anything else 1.
	for _, tt := range []struct {
		proto     uint8
		n         int
		truncated bool
	}{
		{packettest.ProtoUDP, 7, true},
		{packettest.ProtoUDP, 8, false},
		{packettest.ProtoICMPv6, 7, true},
		{packettest.ProtoICMPv6, 8, false},
		{packettest.ProtoTCP, 19, true},
		{packettest.ProtoTCP, 20, false},
		{packettest.ProtoGRE, 0, true},
		{packettest.ProtoGRE, 1, false},
		{packettest.ProtoNoNext, 0, false}, // ipv6_skip_exthdr fails: not judged
	} {
		// A first fragment whose Destination Options header is followed
		// by n bytes of proto.
		b := packettest.IPv6(src6, dst6, packettest.ProtoFragment, packettest.Cat(
			packettest.Fragment(packettest.ProtoDestOpts, 7, 0, true),
			packettest.DestOpts(tt.proto, packettest.PadN(6)),
			make([]byte, tt.n)))
		h := newHarness(t, defrag.Config{})
		res, _ := h.add(b)
		got := res == defrag.PassedUntracked && h.r.DropReason() == defrag.ReasonIncompleteChain
		if got != tt.truncated {
			t.Errorf("proto %d with %d bytes: %v (%v), want truncated %v", tt.proto, tt.n, res, h.r.DropReason(), tt.truncated)
		}
	}
}

// TestTimeout checks FR-04 with a manual clock: a queue completes up to
// 1 ns before its timeout and never after it, whether or not Expire ran;
// Expire counts what it discards.
func TestTimeout(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		to := timeout(v6)
		d := newDgram(v6, udp, 100, 21, rand.New(rand.NewPCG(9, 9)))
		f := d.split(64)
		t.Run(famName(v6)+"/just in time", func(t *testing.T) {
			h := newHarness(t, defrag.Config{})
			t0 := h.now
			h.expect(f[0], defrag.Held, 0)
			if n := h.r.Expire(t0 + to - 1); n != 0 {
				t.Fatalf("Expire before the timeout discarded %d", n)
			}
			h.now = t0 + to - 1
			sameDatagram(t, h.expect(f[1], defrag.Complete, 0), d.whole)
		})
		t.Run(famName(v6)+"/too late without Expire", func(t *testing.T) {
			h := newHarness(t, defrag.Config{})
			t0 := h.now
			h.expect(f[0], defrag.Held, 0)
			h.now = t0 + to + 1
			h.expect(f[1], defrag.Held, 0) // starts a new queue
			if s := h.r.Stats(); s.Killed[defrag.ReasonTimeout] != 1 {
				t.Fatalf("stats: %+v", s)
			}
		})
		t.Run(famName(v6)+"/Expire", func(t *testing.T) {
			h := newHarness(t, defrag.Config{})
			t0 := h.now
			h.expect(f[0], defrag.Held, 0)
			h.now += to / 2
			d2 := *d
			d2.id++
			h.expect(d2.frag(0, 64, true), defrag.Held, 0)
			if n := h.r.Expire(t0 + to); n != 1 {
				t.Fatalf("Expire at the first timeout discarded %d, want 1", n)
			}
			if n := h.r.Expire(t0 + to + to/2); n != 1 {
				t.Fatalf("Expire at the second timeout discarded %d, want 1", n)
			}
			s := h.r.Stats()
			if s.Killed[defrag.ReasonTimeout] != 2 || s.QueuesIPv4+s.QueuesIPv6 != 0 || s.MemIPv4+s.MemIPv6 != 0 {
				t.Fatalf("stats: %+v", s)
			}
		})
		t.Run(famName(v6)+"/configured timeout", func(t *testing.T) {
			c := defrag.Config{Timeout4: 5e9, Timeout6: 5e9}
			h := newHarness(t, c)
			h.expect(f[0], defrag.Held, 0)
			h.now += 5e9
			h.expect(f[1], defrag.Held, 0)
		})
		t.Run(famName(v6)+"/tombstone", func(t *testing.T) {
			h := newHarness(t, defrag.Config{})
			t0 := h.now
			h.expect(f[0], defrag.Held, 0)
			h.expect(d.frag(8, 72, true), defrag.Dropped, defrag.ReasonOverlap)
			h.now = t0 + to - 1
			h.expect(f[1], defrag.Dropped, defrag.ReasonDeadQueue)
			h.now = t0 + to
			h.expect(f[1], defrag.Held, 0)
			if s := h.r.Stats(); s.Killed[defrag.ReasonTimeout] != 0 {
				t.Fatalf("a tombstone's timeout counted as a kill: %+v", s)
			}
		})
	}
}

// TestMemory fills a family past its high threshold and checks that the
// next fragment evicts the oldest queues down to the low threshold, that
// the other family is unaffected, and that unfragmented traffic passes
// throughout (K-10, U-REQ-14a).
func TestMemory(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(famName(v6), func(t *testing.T) {
			c := defrag.Config{High4: 64 << 10, Low4: 48 << 10, High6: 64 << 10, Low6: 48 << 10}
			h := newHarness(t, c)
			rng := rand.New(rand.NewPCG(10, 10))
			mem := func() int64 {
				s := h.r.Stats()
				if v6 {
					return s.MemIPv6
				}
				return s.MemIPv4
			}
			other := newDgram(!v6, udp, 100, 1, rng)
			h.expect(other.frag(0, 64, true), defrag.Held, 0)
			otherMem := h.r.Stats().MemIPv4 + h.r.Stats().MemIPv6 - mem()

			var ds []*dgram
			for id := uint32(1); mem() <= 64<<10; id++ {
				d := newDgram(v6, udp, 1500, id, rng)
				ds = append(ds, d)
				h.expect(d.frag(0, 1024, true), defrag.Held, 0)
			}
			n := len(ds)
			// Unfragmented packets are not affected.
			h.expect(newDgram(v6, udp, 100, 0, rng).whole, defrag.NotFragment, 0)
			// The next fragment evicts.
			d := newDgram(v6, udp, 1500, 0xffff, rng)
			h.expect(d.frag(0, 1024, true), defrag.Held, 0)
			s := h.r.Stats()
			if s.Killed[defrag.ReasonMemory] == 0 {
				t.Fatalf("nothing evicted: %+v", s)
			}
			if m := mem(); m > 48<<10+2048 {
				t.Fatalf("%d bytes in use after eviction", m)
			}
			evicted := int(s.Killed[defrag.ReasonMemory])
			// The oldest are gone, the newest still complete.
			h.expect(ds[0].frag(1024, len(ds[0].payload), false), defrag.Held, 0)
			sameDatagram(t, h.expect(ds[n-1].frag(1024, len(ds[n-1].payload), false), defrag.Complete, 0), ds[n-1].whole)
			if evicted >= n {
				t.Fatalf("evicted %d of %d", evicted, n)
			}
			if got := h.r.Stats().MemIPv4 + h.r.Stats().MemIPv6 - mem(); got != otherMem {
				t.Fatalf("other family's memory went from %d to %d", otherMem, got)
			}
		})
	}
}

// TestKeys: queues are kept apart by zone and by source (K-05), and by
// protocol for IPv4 (ip_find).
func TestKeys(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(11, 11))
		t.Run(famName(v6)+"/zones", func(t *testing.T) {
			a := newDgram(v6, udp, 100, 5, rng)
			b := newDgram(v6, udp, 100, 5, rng) // same key, other bytes
			fa, fb := a.split(64), b.split(64)
			h := newHarness(t, defrag.Config{})
			h.zone = 1
			h.expect(fa[0], defrag.Held, 0)
			h.zone = 2
			h.expect(fb[1], defrag.Held, 0)
			h.zone = 1
			sameDatagram(t, h.expect(fa[1], defrag.Complete, 0), a.whole)
			h.zone = 2
			sameDatagram(t, h.expect(fb[0], defrag.Complete, 0), b.whole)
		})
		t.Run(famName(v6)+"/two sources", func(t *testing.T) {
			a := newDgram(v6, udp, 100, 5, rng)
			b := newDgram(v6, udp, 100, 5, rng)
			b.src = oth4
			if v6 {
				b.src = oth6
			}
			b.payload = newDgram(v6, udp, 100, 5, rng).payload // checksums are not checked by defrag
			b.rebuild()
			fa, fb := a.split(64), b.split(64)
			h := newHarness(t, defrag.Config{})
			h.expect(fa[0], defrag.Held, 0)
			h.expect(fb[0], defrag.Held, 0)
			got := h.expect(fb[1], defrag.Complete, 0)
			if string(got) != string(b.whole) {
				t.Fatal("second source's datagram differs")
			}
			sameDatagram(t, h.expect(fa[1], defrag.Complete, 0), a.whole)
		})
	}
	t.Run("ipv4/protocols", func(t *testing.T) {
		a := newDgram(false, udp, 100, 5, rng())
		b := newDgram(false, tcp, 100, 5, rng())
		h := newHarness(t, defrag.Config{})
		fa, fb := a.split(64), b.split(64)
		h.expect(fa[0], defrag.Held, 0)
		h.expect(fb[0], defrag.Held, 0)
		sameDatagram(t, h.expect(fa[1], defrag.Complete, 0), a.whole)
		sameDatagram(t, h.expect(fb[1], defrag.Complete, 0), b.whole)
	})
}

func rng() *rand.Rand { return rand.New(rand.NewPCG(12, 12)) }

// TestFirstFragmentHeaders: only the offset-0 fragment's headers count
// (FR-12, §8 trap 2): the IPv4 header with its options and TTL, the IPv6
// unfragmentable part and Fragment header Next Header, whatever the other
// fragments carry.
func TestFirstFragmentHeaders(t *testing.T) {
	t.Run("ipv4", func(t *testing.T) {
		d := newDgram(false, tcp, 100, 3, rng())
		d.ipOpts = []packettest.IPv4Option{packettest.TTL(9), packettest.IPOptions([]byte{0x94, 4, 0, 0})} // Router Alert
		d.rebuild()
		f := d.split(64)
		later := packettest.IPv4(d.src, d.dst, d.proto, d.payload[64:], packettest.ID(3), packettest.FragOffset(64), packettest.TTL(200))
		h := newHarness(t, defrag.Config{})
		h.expect(later, defrag.Held, 0)
		sameDatagram(t, h.expect(f[0], defrag.Complete, 0), d.whole)
	})
	t.Run("ipv6 next header", func(t *testing.T) {
		d := newDgram(true, tcp, 100, 3, rng())
		f := d.split(64)
		// The last fragment claims UDP and carries a Routing header in
		// its unfragmentable part.
		rh := packettest.Routing(packettest.ProtoFragment, 0, 0)
		later := packettest.IPv6(d.src, d.dst, packettest.ProtoRouting, packettest.Cat(rh,
			packettest.Fragment(packettest.ProtoUDP, 3, 64, false), d.payload[64:]), packettest.HopLimit(3))
		h := newHarness(t, defrag.Config{})
		h.expect(later, defrag.Held, 0)
		sameDatagram(t, h.expect(f[0], defrag.Complete, 0), d.whole)
	})
	t.Run("ipv6 unfragmentable part", func(t *testing.T) {
		d := newDgram(true, udp, 300, 3, rng())
		d.unfrag = packettest.Cat(
			packettest.HopByHop(packettest.ProtoDestOpts, packettest.RouterAlert(0)),
			packettest.DestOpts(packettest.ProtoRouting, packettest.PadN(6)),
			packettest.Routing(packettest.ProtoFragment, 2, 1, oth6))
		d.firstHdr = packettest.ProtoHopByHop
		d.rebuild()
		h := newHarness(t, defrag.Config{})
		sameDatagram(t, h.feed(reorder(d.even(96), []int{3, 1, 0, 2})), d.whole)
	})
}

// TestIPv4Flags: the reassembled header has MF clear and offset 0, and DF
// when the largest fragment had it (ip_frag_reasm); FragMaxSize reports the
// largest fragment (K-11).
func TestIPv4Flags(t *testing.T) {
	d := newDgram(false, udp, 1000, 4, rng())
	for _, tt := range []struct {
		name   string
		dfs    []bool
		wantDF bool
	}{
		{"no DF", []bool{false, false}, false},
		{"all DF", []bool{true, true}, true},
		{"largest DF", []bool{true, false}, true},
		{"smaller DF", []bool{false, true}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, defrag.Config{})
			var out []byte
			for i, cut := range [][2]int{{0, 800}, {800, len(d.payload)}} {
				o := []packettest.IPv4Option{packettest.ID(4), packettest.FragOffset(uint16(cut[0]))}
				if i == 0 {
					o = append(o, packettest.MF())
				}
				if tt.dfs[i] {
					o = append(o, packettest.DF())
				}
				_, out = h.add(packettest.IPv4(d.src, d.dst, d.proto, d.payload[cut[0]:cut[1]], o...))
			}
			var p packet.Parsed
			p.DecodeIP(out)
			if p.Frag.DF != tt.wantDF || p.Frag.More || p.Frag.Offset != 0 || p.L3Len != len(d.whole) {
				t.Fatalf("reassembled %+v", p.Frag)
			}
			if r := p.VerifyChecksums(); r != packet.ReasonNone {
				t.Fatal(r)
			}
			if got := h.r.FragMaxSize(); got != 820 {
				t.Fatalf("FragMaxSize = %d, want 820", got)
			}
		})
	}
}

// TestECN: RFC 3168 §5.3 as ip_frag_ecn_table applies it.
func TestECN(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, tt := range []struct {
			name    string
			a, b    uint8
			want    defrag.Result
			wantECN uint8
		}{
			{"not-ect", 0, 0, defrag.Complete, 0},
			{"ect0 and ce", 2, 3, defrag.Complete, 3},
			{"ect1 and ect0", 1, 2, defrag.Complete, 1},
			{"not-ect and ce", 0, 3, defrag.Dropped, 0},
			{"ect0 and not-ect", 2, 0, defrag.Dropped, 0},
		} {
			t.Run(famName(v6)+"/"+tt.name, func(t *testing.T) {
				d := newDgram(v6, udp, 100, 6, rng())
				f := d.split(64)
				for i, ecn := range []uint8{tt.a, tt.b} {
					if v6 {
						f[i][1] |= ecn << 4
					} else {
						f[i][1] |= ecn
						f[i][10], f[i][11] = 0, 0
						c := packettest.Checksum(f[i][:20])
						f[i][10], f[i][11] = byte(c>>8), byte(c)
					}
				}
				h := newHarness(t, defrag.Config{})
				h.expect(f[0], defrag.Held, 0)
				res, out := h.add(f[1])
				if res != tt.want {
					t.Fatalf("%v (%v), want %v", res, h.r.DropReason(), tt.want)
				}
				if res != defrag.Complete {
					if h.r.DropReason() != defrag.ReasonECN {
						t.Fatal(h.r.DropReason())
					}
					return
				}
				var p packet.Parsed
				p.DecodeIP(out)
				if p.TOS&3 != tt.wantECN {
					t.Fatalf("ECN %d, want %d", p.TOS&3, tt.wantECN)
				}
			})
		}
	}
}

// TestNotFragment: unfragmented and non-IP packets pass untouched; so does
// a captured fragment truncated by the snaplen (Dropped, it cannot be
// reassembled).
func TestNotFragment(t *testing.T) {
	h := newHarness(t, defrag.Config{})
	for _, v6 := range []bool{false, true} {
		d := newDgram(v6, tcp, 100, 1, rng())
		h.expect(d.whole, defrag.NotFragment, 0)
		f := d.split(64)[0]
		h.expect(f[:len(f)-8], defrag.Dropped, defrag.ReasonTruncated)
	}
	// A non-first IPv6 fragment whose Fragment header is cut short, and an
	// IPv4 fragment whose total length is below its header length: Linux
	// drops both (pskb_may_pull in nf_ct_frag6_gather; ip_rcv_core).
	h.expect(packettest.IPv6(src6, dst6, packettest.ProtoFragment, []byte{17, 0, 0, 8}), defrag.Dropped, defrag.ReasonMalformed)
	h.expect(packettest.IPv4(src4, dst4, udp, make([]byte, 16), packettest.MF(), packettest.TotalLength(10)), defrag.Dropped, defrag.ReasonMalformed)
	// A first fragment cut the same way is judged by its header chain
	// first (ipv6frag_thdr_truncated), as in Linux.
	h.expect(packettest.IPv6(src6, dst6, packettest.ProtoFragment, []byte{17, 0, 0, 1}), defrag.PassedUntracked, defrag.ReasonIncompleteChain)

	var p packet.Parsed
	p.Decode(packettest.Cat(packettest.Ether(packettest.MAC1, packettest.MACBroadcast, packettest.EtherTypeARP),
		packettest.ARP(1, packettest.MAC1, src4, [6]byte{}, dst4)), packet.LinkEthernet)
	if res, out := h.r.Add(&p, 0, 0); res != defrag.NotFragment || out != nil {
		t.Fatalf("ARP: %v", res)
	}
	if s := h.r.Stats(); s.QueuesIPv4+s.QueuesIPv6 != 0 {
		t.Fatalf("stats: %+v", s)
	}
}

// TestStrings: every Result and Reason has a name.
func TestStrings(t *testing.T) {
	for r := defrag.Result(0); r < 8; r++ {
		if r.String() == "" {
			t.Errorf("Result(%d) has no name", r)
		}
	}
	seen := map[string]bool{}
	for r := defrag.Reason(0); int(r) < defrag.NumReasons; r++ {
		s := r.String()
		if s == "" || s == "unknown reason" || seen[s] {
			t.Errorf("Reason(%d) = %q", r, s)
		}
		seen[s] = true
	}
}

// TestTinyFragments reassembles the largest datagrams from 8-byte
// fragments in reverse and random order: every fragment takes the
// binary-search path of inet_frag_queue_insert, which the unit bitmaps keep
// at O(length/512) per fragment instead of a shift of the whole list.
func TestTinyFragments(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		n := 65535 - 8
		if !v6 {
			n = 65515 - 8
		}
		d := newDgram(v6, udp, n, 31, rng())
		frags := d.even(8)
		for _, order := range []string{"reverse", "random"} {
			t.Run(famName(v6)+"/"+order, func(t *testing.T) {
				f := reversed(frags)
				if order == "random" {
					f = reorder(frags, rng().Perm(len(frags)))
				}
				r := defrag.New(defrag.Config{})
				var p packet.Parsed
				for i, b := range f {
					p.DecodeIP(b)
					res, out := r.Add(&p, 0, 0)
					if i < len(f)-1 && res != defrag.Held {
						t.Fatalf("fragment %d: %v (%v)", i, res, r.DropReason())
					}
					if i == len(f)-1 {
						if res != defrag.Complete {
							t.Fatalf("last fragment: %v (%v)", res, r.DropReason())
						}
						sameDatagram(t, out, d.whole)
					}
				}
				if err := defrag.Check(r); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
