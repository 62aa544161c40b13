package engine

import (
	"math"
	"sync"
	"sync/atomic"
)

// dynTab holds the elements of a set that changes from the packet path
// (`add @s { ip saddr }`, nft_dynset) or whose elements time out: the
// kernel's nft_set_rhash. Elements are exact keys (the kernel's dynamic
// sets are hash sets: rbtree and pipapo have no update operation).
//
// The table is split into dynShards shards, each an open-addressing
// table (linear probing, backward-shift deletion) under its own
// RWMutex: a lookup takes one shard's read lock, an insertion one shard's
// write lock, and nothing allocates after Compile (the shards are sized
// for the set's size). The state belongs to the set, shared by every
// rule that names it.
type dynTab struct {
	regs    int
	seed    uint64
	size    int64 // the set's size: an add to a full set fails (0: no limit)
	timeout int64 // the set's default timeout in ns (0: elements never expire)
	gcInt   int64 // ns between collections of expired elements
	// n counts the elements, expired ones included until collected, as
	// the kernel's set->nelems does.
	n atomic.Int64
	// epoch is the Compiled's: 1 + the time of its first packet, from
	// which declared element timeouts run (the kernel counts from the
	// ruleset load, which for a replay is its first packet).
	epoch  *atomic.Int64
	lastGC atomic.Int64
	shards [dynShards]dynShard
}

const dynShards = 16

// never is the deadline of an element without timeout.
const never = math.MaxInt64

type dynShard struct {
	mu   sync.RWMutex
	mask uint64
	used int
	keys []uint32
	vals []int32
	// exp is each slot's deadline: 0 for an empty slot, never, a time
	// in ns, or below 0 the negated timeout of an element of the
	// declaration, which runs from the epoch.
	exp []int64
}

// newDynTab returns a table for a set of the given size holding up to
// elems declared elements.
func newDynTab(regs int, size int64, elems int, timeout, gcInt int64) *dynTab {
	d := &dynTab{regs: regs, size: size, timeout: timeout, gcInt: gcInt, epoch: new(atomic.Int64)}
	h := newHashTab(regs, 0)
	d.seed = h.seed
	want := max(int64(elems), size)
	per := uint64(8)
	for per*dynShards < uint64(2*want) {
		per <<= 1
	}
	for i := range d.shards {
		s := &d.shards[i]
		s.mask = per - 1
		s.keys = make([]uint32, int(per)*regs)
		s.vals = make([]int32, per)
		s.exp = make([]int64, per)
	}
	return d
}

// deadline resolves an element's expiry at time now.
func (d *dynTab) deadline(e, now int64) int64 {
	if e >= 0 {
		return e
	}
	ep := d.epoch.Load()
	if ep == 0 {
		ep = now + 1 // a lookup outside Engine.Packet (tests)
	}
	return ep - 1 - e
}

// alive reports whether an element with expiry e is there at time now:
// the kernel's nft_set_elem_expired is time_after_eq(now, expiration).
func (d *dynTab) alive(e, now int64) bool {
	return e == never || now < d.deadline(e, now)
}

func (d *dynTab) shard(k []uint32) (*dynShard, uint64) {
	h := hashKey(k, d.seed)
	return &d.shards[h>>60], h
}

// probe returns the slot of k in s, or the empty slot ending its chain.
func (s *dynShard) probe(k []uint32, h uint64, regs int) (uint64, bool) {
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		if s.exp[i] == 0 {
			return i, false
		}
		if sameKey(s.keys[int(i)*regs:int(i)*regs+regs], k) {
			return i, true
		}
	}
}

// find returns the value index of k at time now, or -1 (nft_rhash_lookup:
// an expired element is not found).
func (d *dynTab) find(k []uint32, now int64) int32 {
	s, h := d.shard(k)
	s.mu.RLock()
	i, ok := s.probe(k, h, d.regs)
	v := int32(-1)
	if ok && d.alive(s.exp[i], now) {
		v = s.vals[i]
	}
	s.mu.RUnlock()
	return v
}

// put inserts k with value val and expiry exp (build time and packet
// path). When k is present and alive it is left alone, except that
// refresh sets the deadline of an element that has one (nft_dynset_eval
// for update). It returns false when the set is full (nft_dynset_new:
// atomic_add_unless(&set->nelems, 1, set->size)) or its shard is.
func (d *dynTab) put(k []uint32, val int32, exp, now int64, refresh bool) bool {
	s, h := d.shard(k)
	for collected := false; ; collected = true {
		s.mu.Lock()
		i, ok := s.probe(k, h, d.regs)
		if ok {
			if !d.alive(s.exp[i], now) {
				// An expired element is replaced (nft_rhash_update
				// finds no live element and inserts); it already
				// counts in n.
				s.exp[i], s.vals[i] = exp, val
			} else if refresh && s.exp[i] != never {
				s.exp[i] = exp
			}
			s.mu.Unlock()
			return true
		}
		if d.size > 0 && d.n.Load() >= d.size && !collected {
			s.mu.Unlock()
			d.gc(now)
			continue
		}
		ok = d.insertAt(s, i, k, val, exp)
		s.mu.Unlock()
		return ok
	}
}

// insertAt puts a new element in empty slot i of s, if the set and the
// shard have room.
func (d *dynTab) insertAt(s *dynShard, i uint64, k []uint32, val int32, exp int64) bool {
	if 4*(s.used+1) > 3*len(s.exp) {
		return false
	}
	for {
		c := d.n.Load()
		if d.size > 0 && c >= d.size {
			return false
		}
		if d.n.CompareAndSwap(c, c+1) {
			break
		}
	}
	copy(s.keys[int(i)*d.regs:], k)
	s.vals[i], s.exp[i] = val, exp
	s.used++
	return true
}

// remove deletes k (nft_rhash_delete for `delete @s { … }`).
func (d *dynTab) remove(k []uint32) {
	s, h := d.shard(k)
	s.mu.Lock()
	if i, ok := s.probe(k, h, d.regs); ok {
		d.removeAt(s, i)
		d.n.Add(-1)
	}
	s.mu.Unlock()
}

// removeAt empties slot i of s and shifts back the entries after it whose
// chain crossed it (backward-shift deletion: no tombstones).
func (d *dynTab) removeAt(s *dynShard, i uint64) {
	r := d.regs
	j := i
	for {
		j = (j + 1) & s.mask
		if s.exp[j] == 0 {
			break
		}
		home := hashKey(s.keys[int(j)*r:int(j)*r+r], d.seed) & s.mask
		// The entry at j stays when its home lies cyclically in (i, j].
		if i <= j {
			if i < home && home <= j {
				continue
			}
		} else if i < home || home <= j {
			continue
		}
		copy(s.keys[int(i)*r:int(i)*r+r], s.keys[int(j)*r:int(j)*r+r])
		s.vals[i], s.exp[i] = s.vals[j], s.exp[j]
		i = j
	}
	s.exp[i], s.vals[i] = 0, 0
	s.used--
}

// gc removes expired elements when an add finds the set full, at most
// once per gcInt of packet time: the kernel's set garbage collector runs
// every gc-interval on its own clock, so an expired element counts
// against the size until it has run (see DIFFERENCES.md).
func (d *dynTab) gc(now int64) {
	last := d.lastGC.Load() // 1 + the time of the last collection, 0 for none
	if last != 0 && now-(last-1) < d.gcInt {
		return
	}
	if !d.lastGC.CompareAndSwap(last, now+1) {
		return
	}
	for si := range d.shards {
		s := &d.shards[si]
		s.mu.Lock()
		for i := uint64(0); i <= s.mask; {
			if e := s.exp[i]; e != 0 && !d.alive(e, now) {
				d.removeAt(s, i)
				d.n.Add(-1)
				continue // slot i now holds a shifted entry, or nothing
			}
			i++
		}
		s.mu.Unlock()
	}
}
