package defrag

import (
	"github.com/hare-fw/hare/packet"
)

// IPv6 layout (RFC 8200 §3, §4) and the Next Header values the walks know.
const (
	ipv6HdrLen = 40
	fragHdrLen = 8
	maxPayload = 65535 // IPV6_MAXPLEN

	nhHopByHop = 0
	nhTCP      = 6
	nhUDP      = 17
	nhRouting  = 43
	nhFragment = 44
	nhAH       = 51
	nhICMPv6   = 58
	nhNone     = 59
	nhDestOpts = 60
)

// add6 handles an IPv6 packet as nf_defrag_ipv6_hooks.c ipv6_defrag and
// nf_conntrack_reasm.c nf_ct_frag6_gather do, with one difference: an atomic
// fragment never touches a queue (RFC 6946 §4, FR-11), where Linux queues it
// like any other fragment and so merges it into a pending queue of the same
// ID.
func (r *Reassembler) add6(p *packet.Parsed, now int64, zone uint16) (Result, []byte) {
	ip := p.IP()
	if len(ip) < ipv6HdrLen {
		return NotFragment, nil
	}
	plen := int(be16(ip[4:]))
	if plen == 0 {
		return NotFragment, nil // "Jumbo payload inhibits frag. header" (K-08)
	}
	fhoff, prevNH, ok := findFragHdr(ip)
	if !ok {
		return NotFragment, nil
	}
	if len(ip) < ipv6HdrLen+plen {
		return r.drop(ReasonTruncated)
	}
	if thdrTruncated(ip, fhoff) {
		// RFC 8200 §4.5, RFC 7112: not queued, and conntrack will find
		// no transport header in it (K-09).
		r.reason = ReasonIncompleteChain
		return PassedUntracked, nil
	}
	if fhoff+fragHdrLen > len(ip) {
		return r.drop(ReasonMalformed) // pskb_may_pull fails: NF_DROP
	}
	fo := be16(ip[fhoff+2:])
	off, more := int(fo&^7), fo&1 != 0
	if off == 0 && !more {
		return r.atomic(ip, fhoff, prevNH)
	}

	f := &r.fam[1]
	r.expire(f, now, expireBudget)
	r.evict(f)
	q := r.find(f, keyFrom(true, p.Src, p.Dst, be32(ip[fhoff+4:]), 0, zone), now)
	r.cur = q
	if q.dead {
		return r.drop(ReasonDeadQueue)
	}

	// nf_ct_frag6_queue.
	payload := ip[fhoff+fragHdrLen:]
	end := off + len(payload)
	if end > maxPayload {
		return r.drop(ReasonTooBig) // FR-06; the queue is kept
	}
	if !more {
		// K-07: a last fragment may not end before data already held,
		// nor disagree with an earlier last fragment. Only the fragment
		// is dropped.
		if end < q.len || (q.last && end != q.len) {
			return r.drop(ReasonInconsistentLast)
		}
		q.last, q.len = true, end
	} else {
		if end&7 != 0 {
			// K-08, FR-05: the queue dies and the fragment goes on
			// as it is (-EPROTO becomes NF_ACCEPT).
			r.remove(q, ReasonBadLength)
			r.reason = ReasonBadLength
			return PassedUntracked, nil
		}
		if end > q.len {
			if q.last {
				return r.drop(ReasonInconsistentLast) // K-07: past the known end
			}
			q.len = end
		}
	}
	if end == off {
		return r.drop(ReasonZeroLength) // K-08; the queue is kept
	}

	if q.st == nil {
		q.st = r.getStore()
	}
	switch r.insert(q, off, end) {
	case insertDup:
		return r.drop(ReasonDuplicate)
	case insertOverlap:
		r.bury(q)
		return r.drop(ReasonOverlap)
	}
	q.hold(off, end, payload, len(ip))
	q.ecn |= 1 << ecn6(ip)
	q.maxSize = max(q.maxSize, plen)
	if off == 0 {
		// Only the offset-0 fragment's unfragmentable part and Next
		// Header count (RFC 8200 §4.5, FR-12).
		q.first = true
		q.st.head = append(q.st.head[:0], ip[:fhoff]...)
		q.prevNH, q.nextHdr = prevNH, ip[fhoff]
	}
	if !q.complete() {
		return Held, nil
	}
	return r.reasm6(q)
}

// reasm6 builds the datagram of a complete IPv6 queue into the output buffer
// (nf_ct_frag6_reasm): the first fragment's unfragmentable part with the
// Fragment header removed, its Next Header written where the Fragment
// header was named, Payload Length fixed and the merged ECN codepoint set.
func (r *Reassembler) reasm6(q *queue) (Result, []byte) {
	ecn, ok := ecnMerge(q.ecn)
	if !ok {
		return r.kill(q, ReasonECN)
	}
	head := q.st.head
	plen := len(head) - ipv6HdrLen + q.len
	if plen > maxPayload {
		return r.kill(q, ReasonTooBig) // FR-06
	}
	out := r.out[:len(head)+q.len]
	copy(out, head)
	out[q.prevNH] = q.nextHdr
	q.place(out[len(head):])
	put16(out[4:], uint16(plen))
	out[1] |= ecn << 4
	r.fragMax = ipv6HdrLen + q.maxSize
	r.stats.Reassembled++
	r.release(q)
	return Complete, out
}

// atomic rebuilds an atomic fragment (offset 0, M=0) without its Fragment
// header, exactly as a one-fragment queue would be, but without looking at
// any queue: RFC 6946 §4 wants it processed in isolation, and a pending
// queue with the same ID must neither absorb it nor be discarded because
// of it (FR-11).
func (r *Reassembler) atomic(ip []byte, fhoff, prevNH int) (Result, []byte) {
	n := len(ip) - fragHdrLen
	if n == fhoff {
		return r.drop(ReasonZeroLength) // as nf_ct_frag6_queue: end == offset
	}
	out := r.out[:n]
	copy(out, ip[:fhoff])
	copy(out[fhoff:], ip[fhoff+fragHdrLen:])
	out[prevNH] = ip[fhoff]
	put16(out[4:], uint16(n-ipv6HdrLen))
	r.fragMax = len(ip)
	r.stats.Atomic++
	return Complete, out
}

// ecn6 returns the ECN codepoint of an IPv6 header (the low two bits of the
// Traffic Class).
func ecn6(ip []byte) uint8 { return ip[1] >> 4 & 3 }

// isExt reports whether nh is one of the headers Linux ipv6_ext_hdr calls an
// extension header (No Next Header included).
func isExt(nh uint8) bool {
	switch nh {
	case nhHopByHop, nhRouting, nhFragment, nhAH, nhNone, nhDestOpts:
		return true
	}
	return false
}

// extLen returns the length of the extension header at b[0:2] of kind nh.
func extLen(nh uint8, b []byte) int {
	if nh == nhAH {
		return (int(b[1]) + 2) * 4 // RFC 4302 §2.2
	}
	return (int(b[1]) + 1) * 8 // RFC 8200 §4.3
}

// findFragHdr finds the first Fragment header of the datagram ip as Linux
// nf_conntrack_reasm.c find_prev_fhdr does: walking Hop-by-Hop, Routing,
// Destination Options and AH headers only. It returns the Fragment header's
// offset and the offset of the Next Header byte that names it.
func findFragHdr(ip []byte) (fhoff, prevNH int, ok bool) {
	nh := ip[6]
	prevNH = 6
	start := ipv6HdrLen
	left := len(ip) - start
	for nh != nhFragment {
		if !isExt(nh) || nh == nhNone || left < 2 {
			return 0, 0, false
		}
		n := extLen(nh, ip[start:])
		prevNH = start
		nh = ip[start]
		left -= n
		start += n
	}
	if left < 0 {
		return 0, 0, false
	}
	return start, prevNH, true
}

// thdrTruncated reports whether ip is a first (or atomic) fragment whose
// header chain, walked from the Fragment header at fhoff, does not hold
// the first bytes of the transport header: 20 for TCP, 8 for UDP and
// ICMPv6, 1 for anything else (include/net/ipv6_frag.h
// ipv6frag_thdr_truncated over net/ipv6/exthdr.c ipv6_skip_exthdr).
func thdrTruncated(ip []byte, fhoff int) bool {
	nh := uint8(nhFragment)
	start := fhoff
	var fragOff uint16
	for isExt(nh) {
		if nh == nhNone || start+2 > len(ip) {
			return false // ipv6_skip_exthdr fails: not judged truncated
		}
		n := 0
		if nh == nhFragment {
			if start+4 > len(ip) {
				return false
			}
			fragOff = be16(ip[start+2:])
			if fragOff&^7 != 0 {
				break
			}
			n = fragHdrLen
		} else {
			n = extLen(nh, ip[start:])
		}
		nh = ip[start]
		start += n
	}
	if fragOff&^7 != 0 {
		return false // not the first fragment
	}
	switch nh {
	case nhTCP:
		start += 20
	case nhUDP, nhICMPv6:
		start += 8
	default:
		start++
	}
	return start > len(ip)
}
