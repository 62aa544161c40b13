package nfqueue

import (
	nfq "github.com/florianl/go-nfqueue/v2"

	"github.com/hare-fw/hare/datapath"
)

var _ datapath.Forwarder = (*port)(nil)

// Forward accepts pk, a packet of an earlier batch the worker kept
// (Verdict Stolen: a fragment held until its datagram was whole and
// accepted), with mark NewMark if SetMark says so. It is still in the kernel's queue, unchanged: its verdict,
// an NFQNL_MSG_VERDICT of its own, goes with the next Done's, before
// them, so that the fragments of a datagram leave in the order they came.
// The kernel reinjects it where it was queued (nf_reinject), as it would
// have had hare answered at once; nothing is copied.
func (p *port) Forward(pk *datapath.Packet) error {
	p.pend = putVerdict(p.pend, p.queue, uint32(pk.Handle), nfq.NfAccept, false, pk.NewMark, pk.SetMark)
	// Not clamped at 0: pk may be a packet of the current batch, which
	// Done counts as kept only afterwards (a fragment and the one
	// completing its datagram in one Read).
	p.held--
	p.forwarded.Add(1)
	p.accepted.Add(1)
	return nil
}

// Forget drops pk, a packet kept from an earlier batch, with the next
// Done's verdicts: a kept packet holds a slot of the queue until it has a
// verdict.
func (p *port) Forget(pk *datapath.Packet) {
	p.pend = putVerdict(p.pend, p.queue, uint32(pk.Handle), nfq.NfDrop, false, 0, false)
	p.held-- // as in Forward
	p.dropped.Add(1)
}

// HoldMax is a quarter of the queue's length: packets kept wait in the
// kernel's queue, and a full queue drops (or, failing open, accepts
// unseen) whatever comes next. A queue shorter than 4 packets gets 0, and
// its worker keeps nothing: a kept packet could fill it, and with no new
// packet queued no batch would come to expire it.
func (p *port) HoldMax() int { return int(p.dp.cfg.MaxQueueLen) / 4 }
