// Package defrag reassembles IPv4 and IPv6 fragments before connection
// tracking, as Linux's nf_defrag_ipv4 and nf_defrag_ipv6 do (kernel 6.x:
// net/ipv4/ip_fragment.c, net/ipv6/netfilter/nf_conntrack_reasm.c,
// net/ipv4/inet_fragment.c). Non-first fragments carry no transport header,
// so a tracker that did not reassemble would have to pass or drop them
// blindly (K-04).
//
//	r := defrag.New(defrag.DefaultConfig())
//	var p, whole packet.Parsed
//	p.Decode(frame, link)
//	switch res, out := r.Add(&p, now, zone); res {
//	case defrag.NotFragment:
//		track(&p)
//	case defrag.Complete:
//		whole.DecodeIP(out) // out is valid until the next Add
//		track(&whole)
//	case defrag.PassedUntracked:
//		trackUntracked(&p) // Linux lets it through; conntrack finds no L4
//	case defrag.Held, defrag.Dropped:
//		// the packet goes no further
//	}
//
// # Rules
//
// Each rule names the requirement row (docs/ipv6-fw-requirements.md) and the
// Linux function it mirrors.
//
//   - Queue identity (K-05): {family, Identification, source, destination,
//     conntrack zone}, plus the protocol for IPv4 (ip_find, fq_find). Linux
//     adds the input interface for link-local and multicast destinations;
//     hare has no interface index yet.
//   - Overlap (K-06, FR-09, RFC 5722 §4): a fragment that overlaps data
//     already queued discards the queue and everything in it, silently. The
//     queue stays as a tombstone until its timeout, dropping every later
//     fragment of its key ("including those not yet received"). Linux 6.x
//     unhashes a killed queue instead (inet_frag_kill), so there later
//     fragments start a new queue; the stricter choice costs nothing legit,
//     since a sender never reuses an ID within the timeout.
//   - Duplicates (K-06): a fragment lying wholly inside data already
//     queued, within one run of fragments, is dropped alone and the queue is
//     kept (inet_frag_queue_insert, IPFRAG_DUP); the first copy wins. An
//     exact duplicate always is one; a sub-range of a run of adjacent
//     fragments is one only when those fragments arrived in order, as in
//     Linux. (Linux reports an IPv6 duplicate as NF_STOLEN; either way it
//     goes no further.)
//   - Inconsistent last fragment (K-07): a last fragment ending before data
//     held or disagreeing with an earlier last fragment, and a non-last
//     fragment ending past a known end, are dropped (IPv6: alone,
//     nf_ct_frag6_queue; IPv4: with the whole queue, ip_frag_queue).
//   - Length (K-08, FR-05): an IPv6 non-last fragment whose length is not a
//     multiple of 8 kills its queue and is passed on untracked. IPv4 trims
//     such a fragment to a multiple of 8 (ip_frag_queue). A zero-length
//     fragment is dropped (IPv4: with its queue). An IPv6 jumbogram (Payload
//     Length 0) is not a fragment.
//   - Size (FR-06): an IPv6 fragment ending past 65535 is dropped; a
//     datagram whose reassembled payload (IPv6) or total length (IPv4)
//     would exceed 65535 is discarded with its queue.
//   - Header chain (K-09, FR-07/08, RFC 7112): an IPv6 first fragment that
//     does not hold the whole chain and the first 20 bytes of TCP, 8 of UDP
//     or ICMPv6, or 1 of anything else, is not queued and goes on untracked
//     (ipv6frag_thdr_truncated).
//   - Atomic fragments (FR-11, RFC 6946 §4): an IPv6 fragment with offset 0
//     and M=0 is rebuilt on its own, without its Fragment header, and comes
//     back Complete; it never looks at a queue, so a pending datagram with
//     the same ID still completes. Linux strips the header the same way but
//     through the queue table, merging it into a pending queue.
//   - Only the offset-0 fragment's headers count (FR-12): the IPv4 header,
//     or the IPv6 unfragmentable part and Fragment header Next Header, of
//     the fragment at offset 0 become the datagram's, whatever the others
//     carry.
//   - Order (U-REQ-14): fragments may arrive in any order.
//   - ECN (RFC 3168 §5.3): fragments mixing Not-ECT with ECT or CE are
//     discarded; CE in any fragment with ECT in the others sets CE
//     (ip_frag_ecn_table).
//   - K-11: FragMaxSize reports the largest fragment of the last datagram
//     completed (frag_max_size), for refragmentation on forward.
//   - Timeouts (FR-04, K-10): 30 s for IPv4 and 60 s for IPv6 from the
//     queue's first fragment. A queue whose time has come is never
//     completed, whether or not Expire ran.
//   - Memory (K-10): each family has its own accounting (see Stats) and
//     thresholds: a fragment arriving while the family is over High first
//     evicts the oldest queues until the family is at or below Low, as the
//     evictor of Linux up to 4.16 did; Linux 6.x instead refuses fragments
//     until timeouts free memory.
//
// As in Linux, the queue is looked up (and created) before the fragment is
// judged, so a fragment dropped for its own sake (too big, zero length,
// inconsistent last) may leave an empty queue behind until its timeout,
// and the timeout of a queue runs from the first fragment of its key,
// whatever became of that fragment. Eviction takes tombstones too, oldest
// first.
//
// # Not mirrored
//
// Linux's ipfrag_max_dist (an IPv4 queue that falls more than 64 fragments
// of its source behind is reinitialised) is not implemented. Expiry sends
// no ICMP Time Exceeded (FR-04; Linux sends none for forwarded traffic
// either). Packets that Linux's IP layer drops before netfilter (bad IPv4
// header checksum) are the caller's to drop.
//
// # Memory and allocation
//
// A queue's fragments are appended to a per-queue store in arrival order
// and copied to their offsets only once, into the Reassembler's output
// buffer, when the datagram is complete; overlaps and duplicates are found
// with two bitmaps over 8-byte units, so each fragment costs O(length/512)
// whatever the order of arrival. Queues and stores are recycled through
// bounded pools (64 each). New allocates the 64 KiB output buffer and the
// map; after that, Add allocates only when a store must grow past the
// largest capacity it had, when the pools are empty (more queues in flight
// than ever before), and when the queue map grows. In steady state it does
// not allocate (TestNoAllocs).
package defrag
