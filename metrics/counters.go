package metrics

import (
	"sync/atomic"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

// Verdict is what became of a packet, as the packet and byte counters
// split them.
type Verdict uint8

const (
	VerdictAccept Verdict = iota
	VerdictDrop           // dropped without a reply
	VerdictReject         // dropped by a reject statement, which answers it
	NumVerdicts
)

var verdictNames = [NumVerdicts]string{"accept", "drop", "reject"}

// String returns the verdict's label value; "unknown" out of range
// (a label, not a panic, whatever a caller passes).
func (v Verdict) String() string {
	if v >= NumVerdicts {
		return "unknown"
	}
	return verdictNames[v]
}

// DropReason says why a packet was dropped (or rejected).
type DropReason uint8

const (
	DropRule         DropReason = iota // a rule's drop verdict
	DropReject                         // a rule's reject statement
	DropPolicy                         // a base chain's drop policy
	DropTableFull                      // conntrack's table was full and nothing could be early-dropped (Linux NF_DROP in nf_conntrack_in)
	DropNoRoute                        // no local route between prerouting and input
	DropUndecodable                    // an IP header the decoder refused, with [workers] invalid = "drop"
	DropFragment                       // a fragment defrag refused (overlap, timeout...)
	DropNotIP                          // a frame without IP, not passed
	DropFragPoolFull                   // a fragment a worker could not hold: its hold pool was full
	NumDropReasons
)

var dropReasonNames = [NumDropReasons]string{
	"rule", "reject", "policy", "table_full", "no_route", "undecodable", "fragment", "not_ip",
	"fragment_pool_full",
}

// String returns the reason's label value; "unknown" out of range.
func (r DropReason) String() string {
	if r >= NumDropReasons {
		return "unknown"
	}
	return dropReasonNames[r]
}

// WorkerStats are one worker's counts, as plain numbers (a snapshot).
type WorkerStats struct {
	Batches uint64
	// Packets and Bytes by verdict (bytes: layer-3 lengths).
	Packets [NumVerdicts]uint64
	Bytes   [NumVerdicts]uint64
	// Drops by reason: every packet counted under VerdictDrop or
	// VerdictReject has one.
	Drops [NumDropReasons]uint64
	// CTInvalid counts packets conntrack found invalid, by reason, whatever
	// the ruleset then did with them.
	CTInvalid [conntrack.NumReasons]uint64
	// Undecodable counts IP packets the decoder refused, by reason;
	// FragDropped fragments defrag refused, by reason.
	Undecodable [packet.NumReasons]uint64
	FragDropped [defrag.NumReasons]uint64
}

func (s *WorkerStats) add(o *WorkerStats) {
	s.Batches += o.Batches
	addAll(s.Packets[:], o.Packets[:])
	addAll(s.Bytes[:], o.Bytes[:])
	addAll(s.Drops[:], o.Drops[:])
	addAll(s.CTInvalid[:], o.CTInvalid[:])
	addAll(s.Undecodable[:], o.Undecodable[:])
	addAll(s.FragDropped[:], o.FragDropped[:])
}

func addAll(dst, src []uint64) {
	for i := range dst {
		dst[i] += src[i]
	}
}

// Counters are one worker's counters. The worker counts into them with
// plain increments (Packet, Drop, Decided...): no atomic instruction, no
// lock and no allocation per packet, and no cache line shared with another
// worker. Once per batch it calls Publish, which copies the counts to a
// second set that Snapshot reads from any goroutine with atomic loads. A
// scrape therefore sees each worker as of its last batch.
//
// Every method but Snapshot must be called by the owning worker only.
type Counters struct {
	_     [64]byte    // keep the worker's counts off its neighbours' cache lines
	local WorkerStats // the worker's own, plain
	pub   WorkerStats // published copy: accessed only with sync/atomic
	_     [64]byte
}

// NewCounters returns zeroed counters for one worker.
func NewCounters() *Counters { return new(Counters) }

// Packet counts a packet of bytes bytes with verdict v.
func (c *Counters) Packet(v Verdict, bytes int) {
	c.local.Packets[v]++
	c.local.Bytes[v] += uint64(bytes)
}

// Drop counts the reason a packet was dropped; call it besides Packet.
func (c *Counters) Drop(r DropReason) { c.local.Drops[r]++ }

// Undecodable counts an IP packet the decoder refused.
func (c *Counters) Undecodable(r packet.Reason) {
	if int(r) < len(c.local.Undecodable) {
		c.local.Undecodable[r]++
	}
}

// FragmentDropped counts a fragment defrag refused.
func (c *Counters) FragmentDropped(r defrag.Reason) {
	if int(r) < len(c.local.FragDropped) {
		c.local.FragDropped[r]++
	}
}

// Decided counts a packet the engine judged (Engine.Packet's Result) of
// bytes bytes: its verdict, why it was dropped, and, if conntrack found it
// invalid, the reason.
func (c *Counters) Decided(r *engine.Result, bytes int) {
	if r.CT.State == conntrack.StateInvalid && !r.Untracked && r.CT.Reason != conntrack.ReasonNone &&
		int(r.CT.Reason) < len(c.local.CTInvalid) {
		c.local.CTInvalid[r.CT.Reason]++
	}
	c.Judged(r, bytes)
}

// Judged counts a packet of bytes bytes with the verdict of r, and why it
// was dropped: a packet that shares the verdict of a packet Decided
// counted (a held fragment of a reassembled datagram).
func (c *Counters) Judged(r *engine.Result, bytes int) {
	switch r.Verdict {
	case engine.Accept:
		c.Packet(VerdictAccept, bytes)
		return
	case engine.Reject:
		c.Packet(VerdictReject, bytes)
		c.Drop(DropReject)
		return
	}
	c.Packet(VerdictDrop, bytes)
	switch r.By {
	case engine.DecidedPolicy:
		c.Drop(DropPolicy)
	case engine.DecidedConntrack:
		c.Drop(DropTableFull)
	case engine.DecidedRouting:
		c.Drop(DropNoRoute)
	default:
		c.Drop(DropRule)
	}
}

// Batch counts a batch; call it once per batch, before Publish.
func (c *Counters) Batch() { c.local.Batches++ }

// Publish makes the counts so far visible to Snapshot. Call it once per
// batch: it costs one atomic store per counter.
func (c *Counters) Publish() {
	storeAll(c.pub.Packets[:], c.local.Packets[:])
	storeAll(c.pub.Bytes[:], c.local.Bytes[:])
	storeAll(c.pub.Drops[:], c.local.Drops[:])
	storeAll(c.pub.CTInvalid[:], c.local.CTInvalid[:])
	storeAll(c.pub.Undecodable[:], c.local.Undecodable[:])
	storeAll(c.pub.FragDropped[:], c.local.FragDropped[:])
	// Batches last, and Snapshot loads it first: a snapshot that sees
	// batch n sees every count of batches up to n (Publish stored them
	// before it, Snapshot reads them after).
	atomic.StoreUint64(&c.pub.Batches, c.local.Batches)
}

// Snapshot copies the published counts into out. Any goroutine may call it.
func (c *Counters) Snapshot(out *WorkerStats) {
	out.Batches = atomic.LoadUint64(&c.pub.Batches)
	loadAll(out.Packets[:], c.pub.Packets[:])
	loadAll(out.Bytes[:], c.pub.Bytes[:])
	loadAll(out.Drops[:], c.pub.Drops[:])
	loadAll(out.CTInvalid[:], c.pub.CTInvalid[:])
	loadAll(out.Undecodable[:], c.pub.Undecodable[:])
	loadAll(out.FragDropped[:], c.pub.FragDropped[:])
}

// storeAll stores src into dst, skipping counters that did not change (a
// store of an unchanged value would still dirty the line for readers).
func storeAll(dst, src []uint64) {
	for i := range dst {
		if v := src[i]; atomic.LoadUint64(&dst[i]) != v {
			atomic.StoreUint64(&dst[i], v)
		}
	}
}

func loadAll(dst, src []uint64) {
	for i := range dst {
		dst[i] = atomic.LoadUint64(&src[i])
	}
}
