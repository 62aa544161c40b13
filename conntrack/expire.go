package conntrack

// earlyDropScan bounds the slots early drop inspects for a victim, as Linux
// early_drop bounds its bucket walk: a full table costs a new connection a
// bounded search, never a sweep.
const earlyDropScan = 64

// makeRoom checks the table limit (max) before a new entry is made. When
// the table is full it evicts one entry that is expired or not ASSURED, as
// Linux early_drop does. Linux looks at 8 hash buckets only, so with a large
// hash it often finds nothing and drops the packet although the table is
// full of unanswered probes; hare looks at up to earlyDropScan slots of
// every shard in turn, starting with the new tuple's, locking one shard at a
// time. When nothing can be evicted the packet is dropped and counted (Linux
// "table full, dropping packet"), never silently.
func (t *Table) makeRoom(k *Tuple, s *Settings, now int64, res *Result) bool {
	if m := s.get(setMax); m == 0 || t.count.Load() < m {
		return true // max=0: no limit, as nf_conntrack_max=0 means in Linux
	}
	first := t.shardOf(k)
	for n := range t.shards {
		sh := &t.shards[(int(first.num)+n)%len(t.shards)]
		sh.mu.Lock()
		ok := t.evictOne(sh, now, res)
		sh.mu.Unlock()
		if ok {
			return true
		}
	}
	first.mu.Lock()
	first.stats.Drop++
	first.mu.Unlock()
	res.State, res.Reason, res.Drop = StateInvalid, ReasonTableFull, true
	return false
}

// evictOne destroys one expired or unassured entry of sh, which must be
// locked, looking at no more than earlyDropScan slots.
func (t *Table) evictOne(sh *shard, now int64, res *Result) bool {
	n := int(sh.nslots)
	for j := 0; j < min(n, earlyDropScan); j++ {
		i := (sh.cursor + j) % n
		if !sh.live(uint32(i)) {
			continue
		}
		e := sh.at(uint32(i))
		switch {
		case e.deadline <= now:
			t.destroy(sh, uint32(i), e.deadline, res)
			sh.stats.Expired++
		case e.status&StatusAssured == 0:
			t.destroy(sh, uint32(i), now, res)
			sh.stats.EarlyDrop++
		default:
			continue
		}
		sh.cursor = (i + 1) % n
		return true
	}
	sh.cursor = (sh.cursor + min(n, earlyDropScan)) % max(n, 1)
	return false
}

// Reap removes expired entries, inspecting at most budget slots, and
// returns how many it removed. Call it regularly (say once per batch with a
// budget of a few hundred): like Linux's gc worker it does bounded work per
// call, resuming where the last call stopped, so there is never a
// stop-the-world sweep. Lookups also treat expired entries as gone.
func (t *Table) Reap(now int64, budget int) int {
	var res Result
	removed := 0
	for budget > 0 {
		si := int(t.reapNext.Add(1)-1) % len(t.shards)
		sh := &t.shards[si]
		sh.mu.Lock()
		n := int(sh.nslots)
		steps := min(budget, n)
		for j := 0; j < steps; j++ {
			i := uint32((sh.cursor + j) % n)
			if sh.live(i) && sh.at(i).deadline <= now {
				t.destroy(sh, i, sh.at(i).deadline, &res)
				sh.stats.Expired++
				removed++
				if res.nev == len(res.events) {
					sh.mu.Unlock()
					t.flush(&res)
					sh.mu.Lock()
				}
			}
		}
		if n > 0 {
			sh.cursor = (sh.cursor + steps) % n
		}
		sh.mu.Unlock()
		t.flush(&res)
		budget -= max(steps, 1)
	}
	return removed
}

// Expire removes every expired entry. It visits the whole table, one shard
// at a time; use Reap on the packet path.
func (t *Table) Expire(now int64) int {
	var res Result
	n := 0
	for si := range t.shards {
		sh := &t.shards[si]
		sh.mu.Lock()
		for i := range sh.nslots {
			if sh.live(i) && sh.at(i).deadline <= now {
				t.destroy(sh, i, sh.at(i).deadline, &res)
				sh.stats.Expired++
				n++
				if res.nev == len(res.events) {
					sh.mu.Unlock()
					t.flush(&res)
					sh.mu.Lock()
				}
			}
		}
		sh.mu.Unlock()
		t.flush(&res)
	}
	return n
}

// Delete destroys the entry with tuple k (either direction) and reports
// whether there was one (conntrack -D).
func (t *Table) Delete(k Tuple, now int64) bool {
	var res Result
	sh := t.shardOf(&k)
	sh.mu.Lock()
	i, _, ok := t.lookup(sh, &k)
	if ok {
		t.destroy(sh, i, now, &res)
	}
	sh.mu.Unlock()
	t.flush(&res)
	return ok
}

// Flush destroys every entry (conntrack -F) and returns how many.
func (t *Table) Flush(now int64) int {
	var res Result
	n := 0
	for si := range t.shards {
		sh := &t.shards[si]
		sh.mu.Lock()
		for i := range sh.nslots {
			if sh.live(i) {
				t.destroy(sh, i, now, &res)
				n++
				if res.nev == len(res.events) {
					sh.mu.Unlock()
					t.flush(&res)
					sh.mu.Lock()
				}
			}
		}
		sh.mu.Unlock()
		t.flush(&res)
	}
	return n
}
