package conntrack

// index maps tuples to entry slots within a shard: an open-addressing hash
// table with linear probing, 8 bytes per key, holding no pointers.
//
// A Go map[Tuple]uint32 costs about 50 bytes per key (the 40-byte key is
// stored again) and reallocates in steps; here a key costs 8 bytes at a load
// factor of at most 3/4, and the tuple is compared in the entry itself.
// Deletion shifts later keys back (no tombstones), so lookups never slow
// down as connections come and go.
//
// Each word is tag<<32 | slot<<1 | dir, plus one so that 0 means empty; tag
// is the low 32 bits of the tuple's hash, which gives both the home position
// and a cheap filter before the tuple comparison.
type index struct {
	words []uint64
	n     int // keys stored
}

const minIndexSize = 8

func (x *index) mask() uint64 { return uint64(len(x.words) - 1) }

// find returns the slot and direction of tuple k, whose hash is h.
func (s *shard) find(k *Tuple, h uint64) (slot uint32, dir Dir, ok bool) {
	x := &s.idx
	if len(x.words) == 0 {
		return 0, 0, false
	}
	tag := uint32(h)
	m := x.mask()
	for i := uint64(tag) & m; ; i = (i + 1) & m {
		w := x.words[i]
		if w == 0 {
			return 0, 0, false
		}
		w--
		if uint32(w>>32) != tag {
			continue
		}
		slot, dir = uint32(w)>>1, Dir(w&1)
		if s.at(slot).tuple[dir] == *k {
			return slot, dir, true
		}
	}
}

// add indexes direction dir of entry slot under hash h. The caller has
// checked that the tuple is not indexed yet.
func (s *shard) add(h uint64, slot uint32, dir Dir) {
	x := &s.idx
	if (x.n+1)*4 > len(x.words)*3 {
		s.grow()
	}
	tag := uint32(h)
	m := x.mask()
	i := uint64(tag) & m
	for x.words[i] != 0 {
		i = (i + 1) & m
	}
	x.words[i] = (uint64(tag)<<32 | uint64(slot)<<1 | uint64(dir)) + 1
	x.n++
}

// remove drops direction dir of entry slot, whose tuple hashes to h.
func (s *shard) remove(h uint64, slot uint32, dir Dir) {
	x := &s.idx
	want := (uint64(uint32(h))<<32 | uint64(slot)<<1 | uint64(dir)) + 1
	m := x.mask()
	i := uint64(uint32(h)) & m
	for x.words[i] != want {
		if x.words[i] == 0 {
			return
		}
		i = (i + 1) & m
	}
	// Backward-shift deletion: move each later key of the run into the
	// hole if its home position does not lie cyclically in (hole, j].
	for j := (i + 1) & m; x.words[j] != 0; j = (j + 1) & m {
		home := uint64(uint32((x.words[j]-1)>>32)) & m
		if (j-home)&m >= (j-i)&m {
			x.words[i] = x.words[j]
			i = j
		}
	}
	x.words[i] = 0
	x.n--
}

// grow doubles the index and re-inserts every key.
func (s *shard) grow() {
	x := &s.idx
	old := x.words
	x.words = make([]uint64, max(minIndexSize, 2*len(old)))
	m := x.mask()
	for _, w := range old {
		if w == 0 {
			continue
		}
		i := uint64(uint32((w-1)>>32)) & m
		for x.words[i] != 0 {
			i = (i + 1) & m
		}
		x.words[i] = w
	}
}
