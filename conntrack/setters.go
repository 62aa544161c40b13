package conntrack

// What a ruleset writes into the entry of the packet it judges (nft_ct
// set: ct mark set, ct label set). The entry is the one Track attached to
// res: the pending entry of a packet that opened a connection (it carries
// the values into the table at Confirm), or the entry in the table. A
// packet with no entry (invalid, untracked, a NEW packet whose entry died
// at once) has nothing to write to, and nft_ct_set_eval does nothing then.
//
// A change is an event (IPCT_MARK, IPCT_LABEL) that Linux caches on the
// entry and delivers when the packet is confirmed (nf_conntrack_confirm →
// nf_ct_deliver_cached_events): for a new entry it joins the NEW event's
// mask; for an entry already in the table it is an UPDATE that Confirm
// publishes, so a packet dropped later delivers none. Nothing here
// allocates.

// Mark returns the mark of the packet's entry; ok is false when the packet
// has none (nft_ct_get_eval breaks then).
func (t *Table) Mark(res *Result) (mark uint32, ok bool) {
	ok = t.with(res, func(e *entry) bool {
		mark = e.mark
		return false
	})
	return mark, ok
}

// SetMark sets the mark of the packet's entry (nft_ct_set_eval,
// NFT_CT_MARK); it reports whether the packet has an entry.
func (t *Table) SetMark(res *Result, mark uint32) bool {
	return t.with(res, func(e *entry) bool {
		if e.mark == mark {
			return false
		}
		e.mark = mark
		res.cached |= EventMark
		return true
	})
}

// AddLabels sets the label bits in bits (bit n of the 128 is bits[n/64]
// bit n%64) on the packet's entry (nft_ct_set_eval, NFT_CT_LABELS:
// nf_connlabels_replace with the value as its own mask, so bits are only
// ever added); it reports whether the packet has an entry.
func (t *Table) AddLabels(res *Result, bits [2]uint64) bool {
	return t.with(res, func(e *entry) bool {
		n := [2]uint64{e.labels[0] | bits[0], e.labels[1] | bits[1]}
		if n == e.labels {
			return false
		}
		e.labels = n
		res.cached |= EventLabel
		return true
	})
}

// with runs f on the packet's entry, under its shard's lock for an entry
// in the table. f reports whether it changed the entry.
func (t *Table) with(res *Result, f func(*entry) bool) bool {
	switch res.State {
	case StateInvalid, StateUntracked:
		return false
	}
	if res.hasPending {
		if f(&res.pending) {
			res.pendingMask |= res.cached
			res.cached = 0
		}
		return true
	}
	r := res.Ref
	if !r.valid || int(r.shard) >= len(t.shards) {
		return false
	}
	s := &t.shards[r.shard]
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.slot >= s.nslots || !s.live(r.slot) || s.at(r.slot).gen != r.gen {
		return false
	}
	f(s.at(r.slot))
	return true
}

// deliverCached publishes the UPDATE event of the changes a ruleset made
// to an entry in the table (the events Linux caches until confirm).
func (t *Table) deliverCached(res *Result, now int64) {
	mask := res.cached
	res.cached = 0
	if mask == 0 || !res.Ref.valid {
		return
	}
	r := res.Ref
	s := &t.shards[r.shard]
	s.mu.Lock()
	if r.slot < s.nslots && s.live(r.slot) && s.at(r.slot).gen == r.gen {
		t.event(res, EventTypeUpdate, mask, s.at(r.slot), now)
	}
	s.mu.Unlock()
	if res.nev > 0 {
		t.flush(res)
	}
}
