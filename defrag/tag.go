package defrag

// Tags let a caller keep something of its own per reassembly queue, and
// learn when a queue goes without completing. A bridge that holds copies
// of the fragments it does not forward yet (RFC 8200 §4.5: the datagram's
// verdict is known only once it is whole) tags each queue with its own
// reference to those copies, sends them when Add returns Complete, and
// drops them when the queue is discarded: timed out, evicted under memory
// pressure, killed by an overlap (RFC 5722) or an inconsistency. Linux
// has no counterpart: nf_ct_frag6_gather keeps the skbs themselves in the
// queue and frees them with it (inet_frag_destroy).

// Tag returns the tag of the queue the last Add held its fragment in or
// completed (0: untagged, or the packet touched no queue).
func (r *Reassembler) Tag() int32 {
	if r.cur != nil {
		return r.cur.tag
	}
	return r.curTag
}

// SetTag tags the queue the last Add held its fragment in. Call it only
// after Add returned Held; t is the caller's, 0 meaning none.
func (r *Reassembler) SetTag(t int32) {
	if r.cur != nil && !r.cur.dead {
		r.cur.tag = t
	}
}

// Discard discards the queue the last Add held its fragment in, as if it
// were evicted, and reports it to the OnDiscard function with why. For a
// caller that cannot keep the fragment Add just held (its own memory is
// full): the datagram can no longer be delivered whole.
func (r *Reassembler) Discard(why Reason) {
	if r.cur != nil && !r.cur.dead {
		r.remove(r.cur, why)
	}
}

// OnDiscard sets the function called, during Add, Expire or Discard, with
// the tag of each tagged queue discarded without completing, and why
// (ReasonTimeout, ReasonMemory, ReasonOverlap, ReasonBadLength,
// ReasonECN, ReasonTooBig, ReasonInconsistentLast for IPv4...). f must not
// call the Reassembler.
func (r *Reassembler) OnDiscard(f func(tag int32, why Reason)) { r.onDiscard = f }

// discarded reports q's discard to the caller, once: q's tag is cleared.
func (r *Reassembler) discarded(q *queue, why Reason) {
	if q.tag != 0 && r.onDiscard != nil {
		t := q.tag
		q.tag = 0
		r.onDiscard(t, why)
	}
}

// evictScan bounds how many queues EvictOldest passes over in each family
// (tombstones, untagged queues, the current one) before it gives up, so
// that a flood of overlapping fragments, which leaves tombstones, cannot
// make each call walk them all.
const evictScan = 16

// EvictOldest discards the oldest tagged queue of either family other
// than the one the last Add held its fragment in, reports it to the
// OnDiscard function with ReasonMemory, and says whether there was one.
// For a caller whose own memory for held fragments is full: making room
// by evicting the oldest datagram, as the reassembler's own evictor does
// at its memory threshold (inet_frag_evictor before Linux 4.17; RFC 4787
// REQ-14a asks that a flood of fragments not block all fragmented
// traffic), rather than refusing every new fragment until timeouts free
// room.
func (r *Reassembler) EvictOldest() bool {
	var victim *queue
	for i := range r.fam {
		n := 0
		for q := r.fam[i].oldest; q != nil && n < evictScan; q, n = q.next, n+1 {
			if q.dead || q.tag == 0 || q == r.cur {
				continue
			}
			if victim == nil || q.created < victim.created {
				victim = q
			}
			break
		}
	}
	if victim == nil {
		return false
	}
	r.remove(victim, ReasonMemory)
	return true
}
