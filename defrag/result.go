package defrag

// Result is what Add did with a packet. The zero value is invalid.
type Result uint8

const (
	_ Result = iota

	// NotFragment: the packet is not a fragment (or is an IPv6 jumbogram,
	// which Linux never defragments: K-08). Pass it on as it is.
	NotFragment
	// Held: the fragment is queued and must not go on (Linux NF_STOLEN).
	Held
	// Complete: out holds a whole datagram. The fragment completed a
	// queue, or was an IPv6 atomic fragment (offset 0, M=0) rebuilt
	// without its Fragment header and without touching any queue (FR-11).
	// Track out, not the fragment.
	Complete
	// Dropped: the fragment must not go on; DropReason says why (Linux
	// NF_DROP, or NF_STOLEN after the fragment was freed).
	Dropped
	// PassedUntracked: Linux lets this fragment go on as it is, not
	// reassembled, and conntrack will find no transport header in it: an
	// IPv6 first fragment without the whole header chain (K-09), or an
	// IPv6 non-last fragment whose length is not a multiple of 8, which
	// also killed its queue (K-08). DropReason says which.
	PassedUntracked

	numResults
)

var resultText = [numResults]string{
	NotFragment:     "not a fragment",
	Held:            "held",
	Complete:        "complete",
	Dropped:         "dropped",
	PassedUntracked: "passed untracked",
}

// String returns a short lowercase name.
func (r Result) String() string {
	if r > 0 && r < numResults {
		return resultText[r]
	}
	return "invalid result"
}

// Reason says why a fragment was dropped or passed untracked, or why a
// queue was discarded. The zero value ReasonNone means none.
type Reason uint8

const (
	ReasonNone Reason = iota

	// ReasonOverlap: the fragment overlaps one already queued (RFC 5722 §4
	// as amended by erratum 3089, RFC 8200 §4.5; K-06, FR-09). The whole
	// queue is discarded and left as a tombstone.
	ReasonOverlap
	// ReasonDeadQueue: the fragment belongs to a datagram discarded for an
	// overlap whose tombstone has not timed out yet (FR-09: "including
	// those not yet received").
	ReasonDeadQueue
	// ReasonDuplicate: the fragment lies inside data already queued
	// without overlapping anything else (an exact duplicate, or a copy of
	// part of a run of adjacent fragments, as inet_frag_queue_insert
	// decides). Dropped alone; the queue is kept (K-06).
	ReasonDuplicate
	// ReasonInconsistentLast: a last fragment that ends before data
	// already queued or disagrees with an earlier last fragment, or a
	// non-last fragment past the known end (K-07). IPv6 drops the
	// fragment; IPv4 also discards the queue (ip_frag_queue discard_qp).
	ReasonInconsistentLast
	// ReasonBadLength: an IPv6 non-last fragment whose length is not a
	// multiple of 8 (RFC 8200 §4.5; K-08, FR-05). The queue is discarded
	// and the fragment passed untracked. (IPv4 trims such a fragment
	// instead, as ip_frag_queue does.)
	ReasonBadLength
	// ReasonZeroLength: a fragment with no payload (after IPv4 trimming).
	// IPv6 drops it alone; IPv4 also discards the queue.
	ReasonZeroLength
	// ReasonTooBig: the fragment ends past 65535 bytes of payload (IPv6,
	// FR-06), or the datagram it completes would be longer than 65535
	// (IPv4 total length; IPv6 payload length). In the second case the
	// queue is discarded.
	ReasonTooBig
	// ReasonIncompleteChain: an IPv6 first fragment without the whole
	// header chain and the first bytes of the transport header (RFC 7112,
	// RFC 8200 §4.5; K-09; Linux ipv6frag_thdr_truncated). Passed
	// untracked, never queued.
	ReasonIncompleteChain
	// ReasonECN: the fragments mix Not-ECT with ECT or CE codepoints (RFC
	// 3168 §5.3; Linux ip_frag_ecn_table). The queue is discarded.
	ReasonECN
	// ReasonTimeout: the queue was not complete within its timeout (FR-04).
	ReasonTimeout
	// ReasonMemory: the queue was evicted because its family used more
	// than the High threshold (K-10).
	ReasonMemory
	// ReasonTruncated: the capture holds fewer bytes than the fragment's
	// IP header states (snaplen), so it cannot be reassembled.
	ReasonTruncated
	// ReasonMalformed: an IPv4 total length below the header length, or an
	// IPv6 Fragment header that runs past the datagram (Linux drops both
	// before or at defrag).
	ReasonMalformed

	numReasons
)

// NumReasons is the number of Reason values, for arrays of counters.
const NumReasons = int(numReasons)

var reasonText = [numReasons]string{
	ReasonNone:             "none",
	ReasonOverlap:          "overlapping fragment",
	ReasonDeadQueue:        "fragment of a datagram discarded for overlap",
	ReasonDuplicate:        "duplicate fragment",
	ReasonInconsistentLast: "inconsistent last fragment",
	ReasonBadLength:        "non-last fragment length not a multiple of 8",
	ReasonZeroLength:       "zero-length fragment",
	ReasonTooBig:           "reassembled datagram longer than 65535",
	ReasonIncompleteChain:  "first fragment without the whole header chain",
	ReasonECN:              "fragments with inconsistent ECN codepoints",
	ReasonTimeout:          "reassembly timeout",
	ReasonMemory:           "evicted under memory pressure",
	ReasonTruncated:        "fragment truncated by the capture",
	ReasonMalformed:        "malformed fragment",
}

// String returns a short human explanation of the reason.
func (r Reason) String() string {
	if r < numReasons {
		return reasonText[r]
	}
	return "unknown reason"
}
