package daemon

import (
	"math/bits"

	"github.com/hare-fw/hare/datapath"
)

// fragHold keeps copies of the fragments of the datagrams a worker
// is reassembling, so that none of them leaves before the datagram is
// whole and decided (RFC 8200 §4.5: only the whole datagram has a
// transport header to judge). When the datagram is accepted its fragments
// go out unchanged and in the order they came (datapath.Forwarder); when
// it is dropped, or its reassembly queue is discarded (timeout, memory,
// an overlap: RFC 5722), they are dropped with it (Forget). Linux's
// br_netfilter holds the skbs in the reassembly queue instead
// (nf_ct_frag6_gather, ip_defrag: NF_STOLEN) and fragments the reassembled
// datagram again on its way out (br_nf_dev_queue_xmit), which changes the
// fragments' sizes. Behind NFQUEUE the packet itself waits in the
// kernel's queue and only the copy's metadata is used; the pool then also
// bounds how many wait there (HoldMax).
//
// Memory is fixed when the worker starts: slots of holdSlot bytes, as
// many as ipfrag_high_thresh and frag6_high_thresh together allow
// (net.ipv4.ipfrag_high_thresh, net.netfilter.nf_conntrack_frag6_high_thresh:
// Linux's bounds on the bytes its reassembly queues hold). A
// frame takes a run of adjacent slots. When no run is free the fragment
// is refused (the worker drops it, and its datagram, which can no longer
// be sent whole): never an unbounded queue. Holding and releasing allocate
// nothing.
type fragHold struct {
	mem    []byte
	used   []uint64 // one bit per slot
	nslots int
	cursor int // where the search for free slots starts (next fit)
	inUse  int // slots in use

	frags  []heldFrag
	freeF  int32 // free list of frags, -1: none
	nfrags int   // fragments held
	// maxFrags bounds nfrags (datapath.Forwarder.HoldMax: NFQUEUE's kept
	// packets take slots of the kernel's queue).
	maxFrags int
	dgrams   []heldDgram
	freeD    int32 // free list of dgrams, -1: none
}

const (
	holdSlot = 512     // bytes
	holdMax  = 1 << 30 // the pool's ceiling, whatever frag6_high_thresh says
)

// heldFrag is one held fragment: the Packet as Read gave it (its Data
// cleared: the bytes are in the slots) and where its frame lies.
type heldFrag struct {
	pk   datapath.Packet
	slot int32 // first slot
	n    int32 // frame bytes
	size int32 // layer-3 bytes, for the counters
	next int32 // the datagram's next fragment, or the next free one; -1: none
}

// heldDgram is a datagram's fragments, in arrival order. Its index plus
// one is the tag of its reassembly queue (defrag.Reassembler.SetTag).
type heldDgram struct {
	head, tail int32
	n          int32
}

func newFragHold(bytes int64) *fragHold {
	bytes = min(max(bytes, holdSlot), holdMax)
	n := int((bytes + holdSlot - 1) / holdSlot)
	h := &fragHold{mem: make([]byte, n*holdSlot), used: make([]uint64, (n+63)/64), nslots: n,
		frags: make([]heldFrag, n), dgrams: make([]heldDgram, n), maxFrags: n}
	for i := range h.frags {
		h.frags[i].next = int32(i + 1)
		h.dgrams[i].head = int32(i + 1) // the free list's link
	}
	h.frags[n-1].next, h.dgrams[n-1].head = -1, -1
	return h
}

// add keeps a copy of pk (its frame, pk.Data) as the last fragment of
// datagram tag, or of a new datagram when tag is 0, and returns the
// datagram's tag; ok is false, and nothing is kept, when the pool has no
// room.
func (h *fragHold) add(tag int32, pk *datapath.Packet, size int) (int32, bool) {
	need := (len(pk.Data) + holdSlot - 1) / holdSlot
	if tag == 0 && h.freeD < 0 || h.freeF < 0 || need == 0 || h.nfrags >= h.maxFrags {
		return 0, false
	}
	slot := h.findFree(need)
	if slot < 0 {
		return 0, false
	}
	h.mark(slot, need, true)
	fi := h.freeF
	f := &h.frags[fi]
	h.freeF = f.next
	f.pk = *pk
	f.pk.Data = nil
	f.slot, f.n, f.size, f.next = int32(slot), int32(len(pk.Data)), int32(size), -1
	copy(h.mem[slot*holdSlot:], pk.Data)
	if tag == 0 {
		di := h.freeD
		h.freeD = h.dgrams[di].head
		h.dgrams[di] = heldDgram{head: -1, tail: -1}
		tag = di + 1
	}
	d := &h.dgrams[tag-1]
	if d.tail < 0 {
		d.head = fi
	} else {
		h.frags[d.tail].next = fi
	}
	d.tail = fi
	d.n++
	h.nfrags++
	return tag, true
}

// first returns the index of datagram tag's first fragment (-1: none);
// frags[i].next leads to the others.
func (h *fragHold) first(tag int32) int32 {
	if tag <= 0 || int(tag) > len(h.dgrams) {
		return -1
	}
	return h.dgrams[tag-1].head
}

// frame returns the bytes of held fragment i.
func (h *fragHold) frame(i int32) []byte {
	f := &h.frags[i]
	o := int(f.slot) * holdSlot
	return h.mem[o : o+int(f.n) : o+int(f.n)]
}

// free forgets datagram tag and its fragments.
func (h *fragHold) free(tag int32) {
	if tag <= 0 || int(tag) > len(h.dgrams) {
		return
	}
	d := &h.dgrams[tag-1]
	for i := d.head; i >= 0; {
		f := &h.frags[i]
		next := f.next
		h.mark(int(f.slot), (int(f.n)+holdSlot-1)/holdSlot, false)
		f.pk = datapath.Packet{}
		f.next = h.freeF
		h.nfrags--
		h.freeF = i
		i = next
	}
	*d = heldDgram{head: h.freeD}
	h.freeD = tag - 1
}

// findFree returns the first slot of a run of n free slots, searching
// from the cursor and wrapping around, or -1. Full words are skipped
// whole.
func (h *fragHold) findFree(n int) int {
	if h.nslots-h.inUse < n {
		return -1
	}
	run, start := 0, 0
	s := h.cursor
	for k := 0; k < h.nslots+n; {
		if s >= h.nslots {
			s, run = 0, 0 // a run does not wrap
		}
		w := h.used[s>>6]
		if s&63 == 0 && w == ^uint64(0) {
			s += 64
			k += 64
			run = 0
			continue
		}
		if n == 1 && w != ^uint64(0) {
			// A frame of one slot: the first free slot at or after s
			// in this word, if any.
			if z := bits.TrailingZeros64(^w >> (s & 63)); z < 64-(s&63) && s+z < h.nslots {
				return s + z
			}
			// On to the next word; the last word's bits past nslots
			// are no slots and must not use up the search's budget,
			// or it would end before wrapping round to the slots
			// just below the cursor.
			step := min(64-s&63, h.nslots-s)
			k += step
			s += step
			continue
		}
		if w&(1<<(s&63)) != 0 {
			run = 0
		} else {
			if run == 0 {
				start = s
			}
			run++
			if run == n {
				return start
			}
		}
		s++
		k++
	}
	return -1
}

// mark sets (or clears) n slots from slot and moves the cursor past them.
func (h *fragHold) mark(slot, n int, set bool) {
	for s := slot; s < slot+n; s++ {
		if set {
			h.used[s>>6] |= 1 << (s & 63)
		} else {
			h.used[s>>6] &^= 1 << (s & 63)
		}
	}
	if set {
		h.inUse += n
		h.cursor = slot + n
		if h.cursor >= h.nslots {
			h.cursor = 0
		}
	} else {
		h.inUse -= n
	}
}
