package engine

// keyTable maps an index key (class<<16 | port or ICMP type) to the rules
// listed under it, in rule order. It is an open-addressing hash over flat
// arrays, built in two passes (count, then fill) with no per-key
// allocation: buildIndex runs on every Update of a chain, and with Go maps
// the map operations were the whole cost of an `add rule` into a
// 10,000-rule chain (BenchmarkUpdateAddRule). Lookups are one multiply and
// usually one probe.
type keyTable struct {
	shift uint8
	slots []uint32 // key+1; 0 is an empty slot
	lo    []int32  // the slot's rules are rules[lo:hi]
	hi    []int32
	rules []int32
}

// keyPair is one (key, rule) listing, in rule order.
type keyPair struct {
	key  uint32
	rule int32
}

// newKeyTable builds the table of pairs, which are in rule order.
func newKeyTable(pairs []keyPair) keyTable {
	var t keyTable
	if len(pairs) == 0 {
		return t
	}
	bits := uint8(1)
	for 1<<bits < 2*len(pairs) {
		bits++
	}
	t.shift = 32 - bits
	n := 1 << bits
	t.slots = make([]uint32, n)
	t.lo = make([]int32, n)
	t.hi = make([]int32, n)
	for _, p := range pairs {
		s := t.find(p.key)
		t.slots[s] = p.key + 1
		t.hi[s]++ // a count for now
	}
	off := int32(0)
	for s := range t.slots {
		if t.slots[s] != 0 {
			c := t.hi[s]
			t.lo[s], t.hi[s] = off, off
			off += c
		}
	}
	t.rules = make([]int32, off)
	for _, p := range pairs {
		s := t.find(p.key)
		// A key listed twice for one rule (a value both in a set's hash
		// and in its intervals) lists the rule once; its slot stays
		// unused.
		if h := t.hi[s]; h > t.lo[s] && t.rules[h-1] == p.rule {
			continue
		}
		t.rules[t.hi[s]] = p.rule
		t.hi[s]++
	}
	return t
}

// find returns the slot of key: where it is, or the empty slot where it
// goes.
func (t *keyTable) find(key uint32) uint32 {
	mask := uint32(len(t.slots) - 1)
	s := (key * 0x9e3779b1) >> t.shift
	for t.slots[s] != 0 && t.slots[s] != key+1 {
		s = (s + 1) & mask
	}
	return s
}

// lookup returns the rules listed under key, in rule order.
func (t *keyTable) lookup(key uint32) []int32 {
	if len(t.slots) == 0 {
		return nil
	}
	s := t.find(key)
	if t.slots[s] == 0 {
		return nil
	}
	return t.rules[t.lo[s]:t.hi[s]]
}
