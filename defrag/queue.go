package defrag

import "net/netip"

// key identifies a reassembly queue (K-05). Linux keys IPv6 queues on
// {ID, src, dst, user, iif} (nf_conntrack_reasm.c fq_find) and IPv4 queues
// on {src, dst, ID, protocol, user, vif} (ip_fragment.c ip_find); "user"
// carries the conntrack zone. We have no interface index yet: Linux uses
// iif only for link-local and multicast destinations, so fragments of such
// a datagram that arrive on different interfaces share a queue here.
type key struct {
	src, dst [16]byte
	id       uint32
	zone     uint16
	v6       bool
	proto    uint8 // IPv4 protocol; 0 for IPv6
}

func keyFrom(v6 bool, src, dst netip.Addr, id uint32, proto uint8, zone uint16) key {
	return key{src: src.As16(), dst: dst.As16(), id: id, zone: zone, v6: v6, proto: proto}
}

// family is the per-family state: settings, memory in use, and the queues in
// order of creation, which is also the order in which they time out (the
// family has one timeout) and the order of eviction.
type family struct {
	timeout, high, low int64
	mem                int64 // bytes charged, see Stats
	n                  int   // queues, tombstones included
	oldest, newest     *queue
}

// Memory charges beyond the bytes of the fragments themselves, in the
// spirit of Linux's frags->qsize and skb->truesize.
const (
	queueCost = 256 // a queue: the struct, its map entry
	fragCost  = 64  // a held fragment: its index entry, allocation slack
	wordCost  = 16  // one word of each of the two unit bitmaps
)

// queue is one datagram under reassembly (struct inet_frag_queue with
// struct ipq or struct frag_queue).
type queue struct {
	key        key
	fam        *family
	created    int64
	prev, next *queue // in fam's list, oldest first

	// dead marks a tombstone: a queue discarded for an overlap that drops
	// every fragment of its key until it times out (FR-09). It holds no
	// store.
	dead bool

	first, last bool // INET_FRAG_FIRST_IN, INET_FRAG_LAST_IN
	len         int  // q.len: the datagram's payload length as far as known
	meat        int  // payload bytes held
	tailEnd     int  // end of the fragment at the tail (fragments_tail)
	hasTail     bool
	ecn         uint8 // 1<<codepoint of every fragment, ORed
	maxSize     int   // largest fragment (q.max_size), K-11
	maxDFSize   int   // IPv4: largest fragment with DF set (ipq.max_df_size)
	prevNH      int   // IPv6: offset in head of the Next Header that names the Fragment header (nhoffset)
	nextHdr     uint8 // IPv6: Next Header of the offset-0 fragment's Fragment header (FR-12)
	mem         int64 // bytes charged to fam for this queue
	st          *store
	tag         int32 // the caller's (SetTag); 0: none
}

// frag locates one held fragment: payload bytes [off, end) of the datagram,
// stored at data[pos:].
type frag struct{ off, end, pos int32 }

// store holds a queue's fragments. Payloads are appended in arrival order,
// so memory follows the bytes held, not the offsets they claim; the
// datagram is laid out only once, into the output buffer.
//
// covered and runStart are bitmaps over 8-byte units of the payload (every
// offset and every non-last end is a multiple of 8; only the last fragment
// may end inside a unit, and nothing may follow it). covered marks the
// units held; runStart marks the first unit of each "run", Linux's
// rb-tree node: a fragment inserted as a node of its own, followed by any
// fragments that arrived next and extended it at the tail
// (inet_fragment.c fragrun_create, fragrun_append_to_last). They make the
// overlap and duplicate tests O(length/512) whatever the arrival order.
type store struct {
	data              []byte
	frags             []frag
	head              []byte // the offset-0 fragment's headers: IPv4 header, or IPv6 unfragmentable part
	covered, runStart []uint64
}

// Pool bounds: at most poolMax idle queues and stores are kept for reuse;
// beyond that they are left to the garbage collector.
const poolMax = 64

func (r *Reassembler) newQueue() *queue {
	if n := len(r.freeQueues); n > 0 {
		q := r.freeQueues[n-1]
		r.freeQueues[n-1] = nil
		r.freeQueues = r.freeQueues[:n-1]
		return q
	}
	return new(queue)
}

func (r *Reassembler) putQueue(q *queue) {
	if q.st != nil {
		r.putStore(q.st)
	}
	*q = queue{}
	if len(r.freeQueues) < poolMax {
		r.freeQueues = append(r.freeQueues, q)
	}
}

func (r *Reassembler) getStore() *store {
	if n := len(r.freeStores); n > 0 {
		st := r.freeStores[n-1]
		r.freeStores[n-1] = nil
		r.freeStores = r.freeStores[:n-1]
		return st
	}
	return new(store)
}

// putStore resets st for reuse. Bitmap words past len are kept zero, so
// growBitmaps can extend a bitmap by reslicing.
func (r *Reassembler) putStore(st *store) {
	clear(st.covered)
	clear(st.runStart)
	st.covered, st.runStart = st.covered[:0], st.runStart[:0]
	st.data, st.frags, st.head = st.data[:0], st.frags[:0], st.head[:0]
	if len(r.freeStores) < poolMax {
		r.freeStores = append(r.freeStores, st)
	}
}

// find returns the queue for k, creating it at now if there is none
// (inet_frag_find). A queue whose timeout has passed is discarded first: its
// timer would have fired before this fragment arrived.
func (r *Reassembler) find(f *family, k key, now int64) *queue {
	q := r.queues[k]
	if q != nil && now-q.created >= f.timeout {
		r.remove(q, ReasonTimeout)
		q = nil
	}
	if q != nil {
		return q
	}
	q = r.newQueue()
	q.key, q.fam, q.created = k, f, now
	q.prev = f.newest
	if f.newest != nil {
		f.newest.next = q
	} else {
		f.oldest = q
	}
	f.newest = q
	f.n++
	r.queues[k] = q
	q.charge(queueCost)
	return q
}

func (q *queue) charge(n int64) {
	q.mem += n
	q.fam.mem += n
}

// remove discards q and everything it holds (inet_frag_kill then
// inet_frag_destroy) and counts why, unless q is a tombstone, which was
// counted when it was killed.
func (r *Reassembler) remove(q *queue, why Reason) {
	if !q.dead {
		r.stats.Killed[why]++
	}
	r.discarded(q, why)
	r.release(q)
}

// release unlinks q, returns its memory and recycles it.
func (r *Reassembler) release(q *queue) {
	f := q.fam
	if q.prev != nil {
		q.prev.next = q.next
	} else {
		f.oldest = q.next
	}
	if q.next != nil {
		q.next.prev = q.prev
	} else {
		f.newest = q.prev
	}
	f.n--
	f.mem -= q.mem
	if q == r.cur {
		r.curTag, r.cur = q.tag, nil
	}
	delete(r.queues, q.key)
	r.putQueue(q)
}

// bury turns q into a tombstone after an overlap (FR-09): its fragments are
// freed, but the queue stays until its timeout so that fragments of the
// same datagram still to come are dropped too. (Linux 6.x removes a killed
// queue from its hash at once, so later fragments start a new queue that
// can only complete if a whole non-overlapping set arrives; RFC 5722 §4 as
// first published asked for this stricter behaviour.)
func (r *Reassembler) bury(q *queue) {
	r.stats.Killed[ReasonOverlap]++
	r.discarded(q, ReasonOverlap)
	if q.st != nil {
		r.putStore(q.st)
	}
	f, k, created, prev, next := q.fam, q.key, q.created, q.prev, q.next
	f.mem -= q.mem - queueCost
	*q = queue{key: k, fam: f, created: created, prev: prev, next: next, dead: true, mem: queueCost}
}

// expire removes up to limit (all if negative) queues of f whose timeout has
// passed at now, and returns how many.
func (r *Reassembler) expire(f *family, now int64, limit int) int {
	n := 0
	for q := f.oldest; q != nil && now-q.created >= f.timeout && n != limit; q = f.oldest {
		r.remove(q, ReasonTimeout)
		n++
	}
	return n
}

// evict discards the oldest queues of f while it uses more than its low
// threshold, once it uses more than its high one (K-10). This is the
// evictor of Linux up to 4.16 (inet_frag_evictor); since 4.17 Linux
// instead refuses every fragment of the family above high_thresh until
// timeouts free memory, which lets a flood of fragments block all
// fragmented traffic (RFC 4787 REQ-14a asks that it not).
func (r *Reassembler) evict(f *family) {
	if f.mem <= f.high {
		return
	}
	for f.mem > f.low && f.oldest != nil {
		r.remove(f.oldest, ReasonMemory)
	}
}

// Results of queue.insert (inet_frag_queue_insert).
const (
	insertOK = iota
	insertDup
	insertOverlap
)

// insert decides where the fragment [off, end) of the payload goes, as
// inet_frag_queue_insert does: a fragment past the tail is appended (to the
// tail's run when adjacent); one that overlaps the tail or any run is an
// overlap, unless it lies wholly inside one run, which makes it a duplicate
// (RFC 5722 §4 as amended by erratum 3089: duplicates are dropped, the
// queue is kept). On insertOK the units are marked; the caller stores the
// bytes.
func (r *Reassembler) insert(q *queue, off, end int) int {
	u0, u1 := off>>3, (end+7)>>3
	st := q.st
	if w := (u1 + 63) >> 6; w > len(st.covered) {
		q.charge(int64(w-len(st.covered)) * wordCost)
		st.covered = growWords(st.covered, w)
		st.runStart = growWords(st.runStart, w)
	}
	switch {
	case !q.hasTail:
		setBit(st.runStart, u0)
		q.tailEnd, q.hasTail = end, true
	case q.tailEnd < end:
		if off < q.tailEnd {
			return insertOverlap
		}
		if off > q.tailEnd {
			setBit(st.runStart, u0)
		}
		q.tailEnd = end
	default:
		if anySet(st.covered, u0, u1) {
			if allSet(st.covered, u0, u1) && !anySet(st.runStart, u0+1, u1) {
				return insertDup
			}
			return insertOverlap
		}
		setBit(st.runStart, u0)
	}
	setRange(st.covered, u0, u1)
	return insertOK
}

// hold copies the payload of an inserted fragment into q's store and
// updates the queue's totals (the tail of ip_frag_queue and
// nf_ct_frag6_queue). size is what the fragment is charged: its whole
// length as received.
func (q *queue) hold(off, end int, payload []byte, size int) {
	st := q.st
	st.frags = append(st.frags, frag{off: int32(off), end: int32(end), pos: int32(len(st.data))})
	st.data = append(st.data, payload...)
	q.meat += end - off
	q.charge(int64(size) + fragCost)
}

// complete reports whether q holds its whole datagram.
func (q *queue) complete() bool { return q.first && q.last && q.meat == q.len }

// place copies every held payload to its offset in dst.
func (q *queue) place(dst []byte) {
	st := q.st
	for _, f := range st.frags {
		copy(dst[f.off:f.end], st.data[f.pos:])
	}
}

// ecnMerge applies RFC 3168 §5.3 to the codepoints of all fragments (bits
// 1<<codepoint, ORed) as Linux ip_frag_ecn_table does: CE with ECT(0) or
// ECT(1) gives CE, to be ORed into the reassembled header; Not-ECT mixed
// with any other is invalid.
func ecnMerge(bits uint8) (or uint8, ok bool) {
	const notECT, ect1, ect0, ce = 1 << 0, 1 << 1, 1 << 2, 1 << 3
	switch {
	case bits&notECT != 0 && bits&^notECT != 0:
		return 0, false
	case bits&ce != 0 && bits&(ect0|ect1) != 0:
		return 3, true
	}
	return 0, true
}

// Bitmap helpers over units [u0, u1).

func growWords(b []uint64, n int) []uint64 {
	if n <= cap(b) {
		return b[:n] // words past len are zero (putStore)
	}
	nb := make([]uint64, n, max(n, 2*cap(b)))
	copy(nb, b)
	return nb
}

func setBit(b []uint64, u int) { b[u>>6] |= 1 << (u & 63) }

// span returns the mask of n bits from bit lo (lo+n <= 64).
func span(lo, n int) uint64 {
	if n == 64 {
		return ^uint64(0)
	}
	return (1<<n - 1) << lo
}

func anySet(b []uint64, u0, u1 int) bool {
	for u0 < u1 {
		lo := u0 & 63
		n := min(64-lo, u1-u0)
		if b[u0>>6]&span(lo, n) != 0 {
			return true
		}
		u0 += n
	}
	return false
}

func allSet(b []uint64, u0, u1 int) bool {
	for u0 < u1 {
		lo := u0 & 63
		n := min(64-lo, u1-u0)
		m := span(lo, n)
		if b[u0>>6]&m != m {
			return false
		}
		u0 += n
	}
	return true
}

func setRange(b []uint64, u0, u1 int) {
	for u0 < u1 {
		lo := u0 & 63
		n := min(64-lo, u1-u0)
		b[u0>>6] |= span(lo, n)
		u0 += n
	}
}
