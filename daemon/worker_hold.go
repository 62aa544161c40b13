package daemon

import (
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/metrics"
)

// holdFragment keeps a copy of pk, a fragment defrag queued (Held), in
// the hold pool under its queue's tag, and tells the datapath it is
// stolen (Linux: nf_ct_frag6_gather or ip_defrag queues the skb and
// ipv6_defrag, ipv4_conntrack_defrag return NF_STOLEN). A held fragment is
// counted (packets, bytes, verdict) when its datagram's fate is known.
// When the pool is full, the oldest other datagrams held are evicted to
// make room (their fragments dropped, counted as evicted under memory
// pressure), so that a flood of fragments that never complete cannot
// block all fragmented traffic until it times out (RFC 4787 REQ-14a).
// Only when nothing else is held is the fragment dropped, and its queue
// with it: the datagram can no longer leave whole.
func (w *Worker) holdFragment(pk *datapath.Packet, size int) {
	tag := w.defrag.Tag()
	t, ok := w.hold.add(tag, pk, size)
	for !ok && w.defrag.EvictOldest() { // counted by heldDiscarded
		t, ok = w.hold.add(tag, pk, size)
	}
	if !ok {
		w.c.x.FragPoolFull++
		w.defrag.Discard(defrag.ReasonMemory)
		w.verdict(pk, false, size, metrics.DropFragPoolFull)
		return
	}
	if tag == 0 {
		w.defrag.SetTag(t)
	}
	w.c.x.FragHeld++
	pk.SetMark = false
	pk.Verdict = datapath.Stolen
}

// releaseHeld applies r, the verdict of a datagram just reassembled, to
// the fragments held for it: an accepted datagram's fragments are sent
// as they came, in arrival order (before the completing fragment, which
// leaves with its batch), where br_nf_dev_queue_xmit would send the
// reassembled datagram cut again; a dropped or rejected one's never
// leave. Either way each is counted as the datagram's verdict.
func (w *Worker) releaseHeld(tag int32, r *engine.Result) {
	h, c := w.hold, &w.c
	for i := h.first(tag); i >= 0; i = h.frags[i].next {
		f := &h.frags[i]
		if r.Verdict != engine.Accept {
			w.fwd.Forget(&f.pk)
			c.m.Judged(r, int(f.size))
			continue
		}
		f.pk.Data = h.frame(i)
		// The datagram's mark goes on each fragment, as ip6_fragment and
		// ip_do_fragment copy the reassembled skb's mark to the fragments
		// they cut (ip_copy_metadata).
		f.pk.SetMark, f.pk.NewMark = r.Mark != f.pk.Mark, r.Mark
		if err := w.fwd.Forward(&f.pk); err != nil {
			w.fwd.Forget(&f.pk)
			c.x.Errors++
			c.m.Packet(metrics.VerdictDrop, int(f.size))
			c.m.Drop(metrics.DropFragment)
			continue
		}
		c.x.FragForwarded++
		c.m.Packet(metrics.VerdictAccept, int(f.size))
	}
	h.free(tag)
}

// heldDiscarded drops the held fragments of a reassembly queue defrag
// discarded (defrag.Reassembler.OnDiscard): timed out (RFC 8200 §4.5),
// evicted, killed by an overlap (RFC 5722 §4) or an inconsistency. They
// are counted as fragments defrag refused, by its reason.
func (w *Worker) heldDiscarded(tag int32, why defrag.Reason) {
	h, c := w.hold, &w.c
	for i := h.first(tag); i >= 0; i = h.frags[i].next {
		w.fwd.Forget(&h.frags[i].pk)
		c.m.FragmentDropped(why)
		c.m.Packet(metrics.VerdictDrop, int(h.frags[i].size))
		c.m.Drop(metrics.DropFragment)
	}
	h.free(tag)
}
