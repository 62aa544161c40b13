package engine

import (
	mbits "math/bits"
	"math/rand/v2"
)

// hashTab is an open-addressing hash table of exact keys of a fixed
// number of 32-bit registers, with linear probing and at most half its
// slots used: a lookup hashes the key's registers and compares them in
// place, in constant expected time and with no allocation, whatever the
// key's components. It plays the kernel's nft_set_hash (nft_hash_lookup /
// nft_rhash_lookup) for the exact elements of a set or map. The seed is
// random per table, as the kernel's jhash seed is, so that keys chosen
// by a peer do not collide on purpose.
type hashTab struct {
	regs int
	seed uint64
	mask uint64
	n    int
	keys []uint32 // slot i is keys[i*regs : (i+1)*regs]
	vals []int32  // value index + 1 of slot i; 0 for an empty slot
}

// newHashTab returns a table for n keys of regs registers.
func newHashTab(regs, n int) hashTab {
	c := uint64(8)
	for c < uint64(2*n) {
		c <<= 1
	}
	return hashTab{regs: regs, seed: rand.Uint64() | 1, mask: c - 1, keys: make([]uint32, int(c)*regs), vals: make([]int32, c)}
}

// hashKey mixes a key's registers, two at a time (a multiply-xorshift
// mix, as in wyhash's mum step).
func hashKey(k []uint32, seed uint64) uint64 {
	h := seed
	for len(k) >= 2 {
		hi, lo := mbits.Mul64(h^(uint64(k[0])<<32|uint64(k[1])), 0x9e3779b97f4a7c15)
		h = hi ^ lo
		k = k[2:]
	}
	if len(k) == 1 {
		hi, lo := mbits.Mul64(h^uint64(k[0]), 0xbf58476d1ce4e5b9)
		h = hi ^ lo
	}
	hi, lo := mbits.Mul64(h, 0x94d049bb133111eb)
	return hi ^ lo
}

func sameKey(a, b []uint32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// find returns the value index of key k, or -1.
func (h *hashTab) find(k []uint32) int32 {
	if h.n == 0 {
		return -1
	}
	r := h.regs
	for i := hashKey(k, h.seed) & h.mask; ; i = (i + 1) & h.mask {
		v := h.vals[i]
		if v == 0 {
			return -1
		}
		if sameKey(h.keys[int(i)*r:int(i)*r+r], k) {
			return v - 1
		}
	}
}

// insert adds k with value index val; when k is there already it returns
// the value index it has and false.
func (h *hashTab) insert(k []uint32, val int32) (int32, bool) {
	r := h.regs
	for i := hashKey(k, h.seed) & h.mask; ; i = (i + 1) & h.mask {
		v := h.vals[i]
		if v == 0 {
			copy(h.keys[int(i)*r:], k)
			h.vals[i] = val + 1
			h.n++
			return val, true
		}
		if sameKey(h.keys[int(i)*r:int(i)*r+r], k) {
			return v - 1, false
		}
	}
}
