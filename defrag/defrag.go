package defrag

import (
	"github.com/hare-fw/hare/packet"
)

// The path of one packet through Add:
//
//  1. Not IP, or IP but not a fragment (IPv4 MF=0 and offset 0; IPv6 without
//     a Fragment header that find_prev_fhdr would find, or a jumbogram):
//     NotFragment, nothing else is touched.
//  2. IPv6 checks made before any queue is looked at (nf_ct_frag6_gather):
//     a first fragment without the whole header chain goes on untracked
//     (K-09); an atomic fragment is rebuilt without its Fragment header on
//     its own, never touching a queue (FR-11).
//  3. Memory: over the family's High threshold, the oldest queues are
//     evicted until it is at most Low (K-10).
//  4. The queue for {family, ID, src, dst, zone (, IPv4 protocol)} is found
//     or created (K-05). A queue killed for an overlap stays as a tombstone
//     until it times out, and drops every fragment of its key (FR-09).
//  5. The fragment is checked against the queue (ip_frag_queue or
//     nf_ct_frag6_queue: K-06..K-08, FR-06), inserted
//     (inet_frag_queue_insert: overlaps kill, duplicates are dropped alone),
//     and its payload copied into the queue's store: Held.
//  6. When the first and last fragments are in and every byte between them,
//     the datagram is rebuilt into the Reassembler's output buffer
//     (ip_frag_reasm, nf_ct_frag6_reasm): Complete.
//
// There is no locking: a Reassembler belongs to one goroutine.

// Config sets timeouts and memory thresholds. A zero field takes its
// default (DefaultConfig), so the zero Config is the Linux configuration.
type Config struct {
	// Timeout4 and Timeout6 are how long, in nanoseconds, a queue may wait
	// for its missing fragments, counted from its first fragment (Linux
	// ipfrag_time, 30 s; nf_conntrack_frag6_timeout, 60 s; FR-04).
	Timeout4, Timeout6 int64
	// High4/Low4 and High6/Low6 are the memory thresholds of each family in
	// bytes (see Stats for what is counted): when a fragment arrives while
	// the family uses more than High, the oldest queues are discarded
	// until it uses at most Low. Linux: 4 MiB and 3 MiB (K-10). Low is
	// clamped to High.
	High4, Low4, High6, Low6 int64
}

// Linux defaults (include/net/ip.h, include/net/ipv6.h).
const (
	defaultTimeout4 = 30e9 // ipfrag_time
	defaultTimeout6 = 60e9 // IPV6_FRAG_TIMEOUT
	defaultHigh     = 4 << 20
	defaultLow      = 3 << 20
)

// DefaultConfig returns Linux's defaults: 30 s for IPv4, 60 s for IPv6,
// 4 MiB high and 3 MiB low memory thresholds for each family.
func DefaultConfig() Config {
	return Config{
		Timeout4: defaultTimeout4, Timeout6: defaultTimeout6,
		High4: defaultHigh, Low4: defaultLow,
		High6: defaultHigh, Low6: defaultLow,
	}
}

// Sysctls is where ConfigFrom reads settings by their Linux sysctl name;
// *conntrack.Settings is one.
type Sysctls interface {
	Get(name string) (int64, bool)
}

// ConfigFrom takes the timeouts (seconds) and memory thresholds (bytes)
// from the sysctls net.ipv4.ipfrag_{time,high_thresh,low_thresh} and
// net.netfilter.nf_conntrack_frag6_{timeout,high_thresh,low_thresh}, as
// hare replay and hare run configure reassembly. A missing name is 0.
func ConfigFrom(s Sysctls) Config {
	get := func(name string) int64 { v, _ := s.Get(name); return v }
	return Config{
		Timeout4: get("ipfrag_time") * 1e9,
		Timeout6: get("frag6_timeout") * 1e9,
		High4:    get("ipfrag_high_thresh"),
		Low4:     get("ipfrag_low_thresh"),
		High6:    get("frag6_high_thresh"),
		Low6:     get("frag6_low_thresh"),
	}
}

// maxOut is the longest datagram Add can return: an IPv6 header plus a
// 65535-byte payload (an IPv4 datagram is at most 65535 bytes in all).
const maxOut = ipv6HdrLen + maxPayload

// Reassembler reassembles IPv4 and IPv6 fragments before connection
// tracking, as Linux nf_defrag_ipv4 and nf_defrag_ipv6 do. See the package
// documentation for the rules.
//
// A Reassembler is not safe for concurrent use: give each worker its own
// (Linux shares one table between CPUs under per-queue locks; a worker that
// owns its flows needs no lock). Fragments of one datagram must reach the
// same Reassembler, so shard by {src, dst} (or src, dst and ID), never by
// transport ports, which non-first fragments do not carry. Callers at
// different hooks (Linux: prerouting and output use distinct defrag
// "users") keep one Reassembler per hook.
//
// The zero value is not usable; call New.
type Reassembler struct {
	fam    [2]family // IPv4, IPv6
	queues map[key]*queue

	out        *[maxOut]byte // the datagram Add returns, valid until the next Add
	reason     Reason        // why the last Add dropped or passed a fragment
	fragMax    int           // K-11 of the last Complete
	freeQueues []*queue      // bounded pool (poolMax) of queue structs
	freeStores []*store      // bounded pool of fragment stores
	stats      counters

	cur       *queue                      // the queue the last Add found (tag.go)
	curTag    int32                       // cur's tag when cur was released during the last Add
	onDiscard func(tag int32, why Reason) // OnDiscard
}

// New returns a Reassembler with configuration c (zero fields take the
// defaults). It allocates the 64 KiB output buffer and the queue map.
func New(c Config) *Reassembler {
	d := DefaultConfig()
	pick := func(v, def int64) int64 {
		if v <= 0 {
			return def
		}
		return v
	}
	r := &Reassembler{
		queues: make(map[key]*queue),
		out:    new([maxOut]byte),
	}
	r.fam[0] = family{timeout: pick(c.Timeout4, d.Timeout4), high: pick(c.High4, d.High4), low: pick(c.Low4, d.Low4)}
	r.fam[1] = family{timeout: pick(c.Timeout6, d.Timeout6), high: pick(c.High6, d.High6), low: pick(c.Low6, d.Low6)}
	for i := range r.fam {
		r.fam[i].low = min(r.fam[i].low, r.fam[i].high)
	}
	return r
}

// Add takes one decoded packet p, seen at time now (nanoseconds on the
// caller's monotonic clock), in conntrack zone zone, and says what became
// of it. For Complete, out holds the reassembled datagram: a complete IP
// datagram as Linux hands it to conntrack (IPv4: the first fragment's
// header with MF clear, offset 0, total length and checksum recomputed;
// IPv6: the first fragment's unfragmentable part with the Fragment header
// removed, Next Header and Payload Length fixed). out aliases the
// Reassembler's buffer and is valid until the next call to Add; for every
// other Result it is nil. Add keeps no reference to p or its frame.
//
// Add does not allocate once its pools are warm (see the package
// documentation); it never panics on any input p.Decode produced.
func (r *Reassembler) Add(p *packet.Parsed, now int64, zone uint16) (res Result, out []byte) {
	r.reason = ReasonNone
	r.fragMax = 0
	r.cur, r.curTag = nil, 0
	switch p.IPVersion {
	case 4:
		if !p.Frag.IsFragment() {
			return NotFragment, nil
		}
		res, out = r.add4(p, now, zone)
	case 6:
		res, out = r.add6(p, now, zone)
	default:
		return NotFragment, nil
	}
	r.count(res)
	return res, out
}

// DropReason says why the last Add returned Dropped or PassedUntracked
// (ReasonNone after any other result).
func (r *Reassembler) DropReason() Reason { return r.reason }

// FragMaxSize returns, after Add returned Complete, the size of the
// largest fragment of the datagram (IP header included), which a
// forwarder must not exceed when it refragments it (K-11; Linux
// IP6CB(skb)->frag_max_size, IPCB(skb)->frag_max_size with IPv4's DF
// rule). It is 0 after any other result.
func (r *Reassembler) FragMaxSize() int { return r.fragMax }

// Expire discards every queue whose timeout has passed at now (FR-04)
// and returns how many it discarded, tombstones of killed queues
// included. Its work is proportional to the number of queues discarded:
// queues are kept in order of creation, which is the order in which they
// expire. Add also discards a few expired queues on each call, and never
// adds a fragment to an expired queue, so calling Expire only bounds the
// memory that idle queues hold.
func (r *Reassembler) Expire(now int64) int {
	n := 0
	for i := range r.fam {
		n += r.expire(&r.fam[i], now, -1)
	}
	return n
}

// Stats returns the counters and the memory in use. It does not allocate.
func (r *Reassembler) Stats() Stats {
	s := r.stats.Stats
	s.MemIPv4, s.MemIPv6 = r.fam[0].mem, r.fam[1].mem
	s.QueuesIPv4, s.QueuesIPv6 = r.fam[0].n, r.fam[1].n
	return s
}

// Stats are a Reassembler's counters.
type Stats struct {
	Held        uint64 // fragments queued (Held results)
	Reassembled uint64 // datagrams completed from a queue
	Atomic      uint64 // atomic fragments passed on without their Fragment header (FR-11)
	Untracked   uint64 // fragments passed on untracked (PassedUntracked: K-08, K-09)

	// Dropped counts fragments dropped (Result Dropped), by reason.
	Dropped [NumReasons]uint64
	// Killed counts queues discarded with the fragments they held, by
	// reason: overlap, inconsistent or malformed fragments, too big,
	// timeout, memory pressure (evicted).
	Killed [NumReasons]uint64

	// MemIPv4 and MemIPv6 are the bytes charged to each family, the
	// quantity the thresholds apply to: per queue a fixed cost, per held
	// fragment its length plus a fixed cost (Linux charges skb truesize),
	// plus the queue's overlap bitmaps. QueuesIPv4 and QueuesIPv6 count
	// queues, tombstones included.
	MemIPv4, MemIPv6       int64
	QueuesIPv4, QueuesIPv6 int
}

type counters struct{ Stats }

func (r *Reassembler) count(res Result) {
	switch res {
	case Held:
		r.stats.Held++
	case Complete:
		// Reassembled or Atomic was counted where the datagram was built.
	case Dropped:
		r.stats.Dropped[r.reason]++
	case PassedUntracked:
		r.stats.Untracked++
	}
}
