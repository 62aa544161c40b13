package conntrack

import (
	"hash/maphash"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// Table is a connection tracking table: Linux's conntrack hash, its
// entries, and the per-packet logic of nf_conntrack_in (see Track).
//
// Concurrency: a Table is safe for concurrent use by any number of packet
// workers. It is split into shards, each with its own mutex, index and
// entry array; there is no table-wide lock. A connection lives in exactly
// one shard, chosen by a hash of its original tuple that is symmetric in
// the two endpoints, so the reply tuple (which swaps them) lands in the same
// shard, and both tuples are keys of that shard's index. A packet therefore
// takes exactly one shard lock, and no code ever holds two shard locks at
// once: there is no lock order to get wrong. (Address translation, when it
// comes, makes reply tuples whose endpoints differ from the original's; it
// will need a cross-shard index entry, taken after releasing the first
// shard's lock.)
//
// Memory: entries sit in arrays of pointer-free structs and the index is a
// map from Tuple (no pointers) to a slot number, so the garbage collector
// never scans the table, however large.
type Table struct {
	shards   []shard
	mask     uint64
	seed     uint64
	settings atomic.Pointer[Settings]
	count    atomic.Int64 // entries in the table, all shards
	nextID   atomic.Uint32
	events   *Events
	reapNext atomic.Uint32 // next shard Reap visits

	// Counters of packets decided without a shard lock (Stats adds them).
	invalidN   atomic.Uint64
	untrackedN atomic.Uint64
}

// shard is one lock's worth of the table.
type shard struct {
	mu      sync.Mutex
	idx     index    // guarded by mu: both tuples of every entry → slot
	pages   []*page  // guarded by mu: entries, pageSize to a page
	nslots  uint32   // guarded by mu: slots handed out so far (free ones included)
	free    []uint32 // guarded by mu: released slots
	cursor  int      // guarded by mu: where Reap and early drop resume
	stats   Stats    // guarded by mu
	inserts uint64   // guarded by mu: entries ever inserted; a lookup miss stays valid while it is unchanged
	num     uint32   // position in Table.shards
	_       [64]byte // keep shards' hot fields on separate cache lines
}

// Entries live in fixed pages rather than one growing slice: growing never
// copies the entries already there (a slice doubling would copy them all,
// and briefly need twice the memory), and no more than one page is ever
// allocated and unused. A page holds no pointers, so the garbage collector
// sees only the page pointers.
const (
	pageShift = 10
	pageSize  = 1 << pageShift
	pageMask  = pageSize - 1
)

type page struct {
	e    [pageSize]entry
	used [pageSize]bool
}

// at returns the entry in slot i.
func (s *shard) at(i uint32) *entry { return &s.pages[i>>pageShift].e[i&pageMask] }

// live reports whether slot i holds an entry.
func (s *shard) live(i uint32) bool { return s.pages[i>>pageShift].used[i&pageMask] }

// NewTable returns an empty table with the given settings (nil means
// DefaultSettings) and event bus (nil means no events).
func NewTable(s *Settings, ev *Events) *Table {
	if s == nil {
		s = DefaultSettings()
	}
	n := 1 << bits.Len(uint(4*runtime.GOMAXPROCS(0)-1))
	n = max(n, 16)
	t := &Table{shards: make([]shard, n), mask: uint64(n - 1), events: ev}
	t.seed = new(maphash.Hash).Sum64() // a random per-table seed
	for i := range t.shards {
		t.shards[i].num = uint32(i)
	}
	t.settings.Store(s)
	return t
}

// SetSettings replaces the settings; packets after it see the new ones.
// Entries keep their deadlines until their next packet.
func (t *Table) SetSettings(s *Settings) { t.settings.Store(s) }

// Settings returns the settings in force. They must not be modified.
func (t *Table) Settings() *Settings { return t.settings.Load() }

// Len returns the number of entries (nf_conntrack_count).
func (t *Table) Len() int { return int(t.count.Load()) }

// hashes returns the shard hash of a tuple, symmetric in its endpoints so
// that a tuple and its inverse share a shard, and the index hash, which is
// not. Both come from one hash per endpoint.
func (t *Table) hashes(k *Tuple) (shardH, tupleH uint64) {
	sp, dp := k.SrcPort, k.DstPort
	meta := uint64(k.Proto)<<8 | uint64(k.Family) | uint64(k.Zone)<<16
	if k.Proto == 1 || k.Proto == 58 {
		// ICMP's inverse changes the type, not the ports: the shard
		// hash takes only the identifier.
		sp, dp = 0, 0
		meta ^= uint64(k.SrcPort) << 32
	}
	a := endpointHash(&k.Src, sp, t.seed)
	b := endpointHash(&k.Dst, dp, t.seed)
	shardH = mix(a + b ^ meta)
	tupleH = mix(bits.RotateLeft64(a, 23) ^ b ^ meta ^ uint64(k.DstPort)<<40)
	return shardH, tupleH
}

// shardOf returns the shard of a tuple.
func (t *Table) shardOf(k *Tuple) *shard {
	h, _ := t.hashes(k)
	return &t.shards[h&t.mask]
}

// endpointHash hashes an address and port with one finaliser.
func endpointHash(a *[16]byte, port uint16, seed uint64) uint64 {
	lo := uint64(a[0]) | uint64(a[1])<<8 | uint64(a[2])<<16 | uint64(a[3])<<24 |
		uint64(a[4])<<32 | uint64(a[5])<<40 | uint64(a[6])<<48 | uint64(a[7])<<56
	hi := uint64(a[8]) | uint64(a[9])<<8 | uint64(a[10])<<16 | uint64(a[11])<<24 |
		uint64(a[12])<<32 | uint64(a[13])<<40 | uint64(a[14])<<48 | uint64(a[15])<<56
	return mix(lo ^ seed ^ bits.RotateLeft64(hi+seed, 29) ^ uint64(port)*0x9E3779B97F4A7C15)
}

// mix is a 64-bit finaliser (the one of MurmurHash3's fmix64).
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// alloc returns a free slot of s, adding a page when none is left.
func (s *shard) alloc() uint32 {
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		return i
	}
	if s.nslots == uint32(len(s.pages))*pageSize {
		s.pages = append(s.pages, new(page))
	}
	s.nslots++
	return s.nslots - 1
}

// insert makes slot i, holding entry e, live and indexes both its tuples.
func (t *Table) insert(s *shard, i uint32, e *entry) {
	_, ho := t.hashes(&e.tuple[DirOriginal])
	_, hr := t.hashes(&e.tuple[DirReply])
	t.insertHashed(s, i, e, ho, hr)
}

// insertHashed is insert with the tuples' index hashes already computed.
func (t *Table) insertHashed(s *shard, i uint32, e *entry, ho, hr uint64) {
	d := s.at(i)
	gen := d.gen
	*d = *e
	d.gen = gen
	s.inserts++
	s.pages[i>>pageShift].used[i&pageMask] = true
	s.add(ho, i, DirOriginal)
	s.add(hr, i, DirReply)
}

// release frees slot i of s, dropping its index keys.
func (t *Table) release(s *shard, i uint32) {
	e := s.at(i)
	_, ho := t.hashes(&e.tuple[DirOriginal])
	_, hr := t.hashes(&e.tuple[DirReply])
	s.remove(ho, i, DirOriginal)
	s.remove(hr, i, DirReply)
	*e = entry{gen: e.gen + 1}
	s.pages[i>>pageShift].used[i&pageMask] = false
	s.free = append(s.free, i)
}

// lookup finds tuple k in s.
func (t *Table) lookup(s *shard, k *Tuple) (uint32, Dir, bool) {
	_, h := t.hashes(k)
	return s.find(k, h)
}

// Ref refers to an entry: its shard, slot and the slot's generation, so a
// Ref to an entry that has since been destroyed (and its slot reused) is
// recognised as stale. The zero Ref refers to nothing.
type Ref struct {
	shard uint32
	slot  uint32
	gen   uint32
	valid bool
}

// IsValid reports whether r refers to an entry (which may since be gone).
func (r Ref) IsValid() bool { return r.valid }

func ref(s *shard, i uint32) Ref {
	return Ref{shard: s.num, slot: i, gen: s.at(i).gen, valid: true}
}
