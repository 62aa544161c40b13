package defrag

import (
	"github.com/hare-fw/hare/packet"
)

// IPv4 header fields (RFC 791 §3.1).
const (
	ipv4FlagDF  = 0x4000
	maxDatagram = 65535
)

// expireBudget is how many expired queues Add discards per call before it
// looks up its own (bounded work per packet; Expire does the rest).
const expireBudget = 2

// add4 handles an IPv4 fragment (MF set or offset non-zero): Linux
// nf_defrag_ipv4.c ipv4_conntrack_defrag, then ip_fragment.c ip_defrag and
// ip_frag_queue. Every outcome other than completion is NF_STOLEN there: the
// fragment is held or freed.
func (r *Reassembler) add4(p *packet.Parsed, now int64, zone uint16) (Result, []byte) {
	ip := p.IP()
	ihl := int(p.IHL)
	switch {
	case p.Reason == packet.ReasonIPv4BadLength:
		return r.drop(ReasonMalformed) // ip_rcv_core drops it before netfilter
	case len(ip) < p.L3Len:
		return r.drop(ReasonTruncated)
	}
	f := &r.fam[0]
	r.expire(f, now, expireBudget)
	r.evict(f)
	q := r.find(f, keyFrom(false, p.Src, p.Dst, p.Frag.ID, uint8(p.Proto), zone), now)
	r.cur = q
	if q.dead {
		return r.drop(ReasonDeadQueue)
	}

	off := int(p.Frag.Offset)
	end := off + p.L3Len - ihl
	if !p.Frag.More {
		// The last fragment: it may not end before data already held,
		// nor disagree with an earlier last fragment. IPv4 discards the
		// whole queue for it (K-07; ip_frag_queue discard_qp).
		if end < q.len || (q.last && end != q.len) {
			return r.kill(q, ReasonInconsistentLast)
		}
		q.last, q.len = true, end
	} else {
		// A non-last fragment whose length is not a multiple of 8 is
		// trimmed to one, not refused, so that a next fragment starting
		// at the rounded-down end does not overlap it (ip_frag_queue;
		// IPv6 refuses instead, K-08).
		end &^= 7
		if end > q.len {
			if q.last {
				return r.kill(q, ReasonInconsistentLast)
			}
			q.len = end
		}
	}
	if end == off {
		return r.kill(q, ReasonZeroLength)
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
	q.hold(off, end, ip[ihl:ihl+end-off], len(ip))
	q.ecn |= 1 << (p.TOS & 3)
	if off == 0 {
		// The first fragment's header is the datagram's (ip_frag_reasm
		// makes it the head).
		q.first = true
		q.st.head = append(q.st.head[:0], ip[:ihl]...)
	}
	size := end - off + ihl
	q.maxSize = max(q.maxSize, size)
	if p.Frag.DF {
		q.maxDFSize = max(q.maxDFSize, size)
	}
	if !q.complete() {
		return Held, nil
	}
	return r.reasm4(q)
}

// reasm4 builds the datagram of a complete IPv4 queue into the output
// buffer (ip_fragment.c ip_frag_reasm): the first fragment's header and
// options, the payload, total length, the merged ECN codepoint, DF if the
// largest fragment had it (so that a forwarder refragments no larger than
// the sender did), offset 0 and MF clear, and a new header checksum.
func (r *Reassembler) reasm4(q *queue) (Result, []byte) {
	ecn, ok := ecnMerge(q.ecn)
	if !ok {
		return r.kill(q, ReasonECN)
	}
	head := q.st.head
	ihl := len(head)
	n := ihl + q.len
	if n > maxDatagram {
		return r.kill(q, ReasonTooBig)
	}
	out := r.out[:n]
	copy(out, head)
	q.place(out[ihl:])
	put16(out[2:], uint16(n))
	out[1] |= ecn
	var ff uint16
	if q.maxDFSize == q.maxSize {
		ff = ipv4FlagDF
	}
	put16(out[6:], ff)
	put16(out[10:], 0)
	put16(out[10:], ^packet.ChecksumFold(packet.ChecksumAdd(out[:ihl], 0)))
	r.fragMax = max(q.maxDFSize, q.maxSize)
	r.stats.Reassembled++
	r.release(q)
	return Complete, out
}

// drop records why the fragment is dropped.
func (r *Reassembler) drop(why Reason) (Result, []byte) {
	r.reason = why
	return Dropped, nil
}

// kill discards q (counting why) and drops the fragment.
func (r *Reassembler) kill(q *queue, why Reason) (Result, []byte) {
	r.remove(q, why)
	return r.drop(why)
}

func put16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
