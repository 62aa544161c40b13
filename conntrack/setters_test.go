package conntrack_test

import (
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet/packettest"
)

// track runs one UDP datagram through Track only (the ruleset has not
// decided yet).
func (tr *tracker) track(src, dst uint8, now int64) *conntrack.Result {
	a, b := cli4, srv4
	sp, dp := uint16(5000), uint16(53)
	if src != 0 {
		a, b, sp, dp = srv4, cli4, 53, 5000
	}
	tr.p.DecodeIP(ip(a, b, 17, packettest.UDP(a, b, sp, dp, []byte("q"))))
	tr.t.Track(&tr.p, 0, now, &tr.res)
	return &tr.res
}

// TestSetMarkEvents: a mark set on a new entry travels into the table
// with it and its NEW event carries IPCT_MARK; on an entry in the table
// the change is an UPDATE delivered at Confirm, and none when the packet
// is not confirmed (Linux caches the events until nf_conntrack_confirm).
func TestSetMarkEvents(t *testing.T) {
	tr := newTracker(t, conntrack.DefaultSettings())
	r := tr.track(0, 0, 0)
	if m, ok := tr.t.Mark(r); !ok || m != 0 {
		t.Fatalf("pending mark %d %v", m, ok)
	}
	if !tr.t.SetMark(r, 7) {
		t.Fatal("SetMark on a pending entry failed")
	}
	if m, _ := tr.t.Mark(r); m != 7 {
		t.Errorf("pending mark %d after SetMark", m)
	}
	tr.t.Confirm(r, 0)
	evs := tr.events()
	if len(evs) != 1 || evs[0].Type != conntrack.EventTypeNew || evs[0].Mask&conntrack.EventMark == 0 || evs[0].Entry.Mark != 7 {
		t.Fatalf("events %+v, want one NEW with mark 7 and IPCT_MARK", evs)
	}

	// A reply: its own UPDATE (SEEN_REPLY) comes from Track; the mark
	// change waits for Confirm.
	r = tr.track(1, 0, sec)
	tr.events()
	tr.t.SetMark(r, 9)
	if n := len(tr.events()); n != 0 {
		t.Errorf("%d events before Confirm", n)
	}
	tr.t.Confirm(r, sec)
	evs = tr.events()
	if len(evs) != 1 || evs[0].Type != conntrack.EventTypeUpdate || evs[0].Mask != conntrack.EventMark || evs[0].Entry.Mark != 9 {
		t.Fatalf("events %+v, want one UPDATE [MARK] with mark 9", evs)
	}
	// Setting the same mark again is no change: no event.
	r = tr.track(0, 0, 2*sec)
	tr.events()
	tr.t.SetMark(r, 9)
	tr.t.Confirm(r, 2*sec)
	if evs := tr.events(); len(evs) != 0 {
		t.Errorf("events %+v for an unchanged mark", evs)
	}
	// A change on a packet never confirmed (dropped) is kept but not
	// announced.
	r = tr.track(0, 0, 3*sec)
	tr.events()
	tr.t.SetMark(r, 11)
	if evs := tr.events(); len(evs) != 0 {
		t.Errorf("events %+v for a dropped packet", evs)
	}
	var e conntrack.Entry
	if !tr.t.Get(r.Ref, &e) || e.Mark != 11 {
		t.Errorf("entry mark %d, want 11", e.Mark)
	}
}

func TestAddLabels(t *testing.T) {
	tr := newTracker(t, conntrack.DefaultSettings())
	r := tr.track(0, 0, 0)
	tr.t.AddLabels(r, [2]uint64{1, 0})
	tr.t.Confirm(r, 0)
	tr.events()
	r = tr.track(0, 0, sec)
	tr.t.AddLabels(r, [2]uint64{0, 4})
	tr.t.Confirm(r, sec)
	evs := tr.events()
	if len(evs) != 1 || evs[0].Mask != conntrack.EventLabel || evs[0].Entry.Labels != [2]uint64{1, 4} {
		t.Fatalf("events %+v, want one UPDATE [LABEL] with labels {1,4}", evs)
	}
}

func TestSettersWithoutEntry(t *testing.T) {
	tr := newTracker(t, conntrack.DefaultSettings())
	var r conntrack.Result
	tr.t.Untrack(&r)
	if tr.t.SetMark(&r, 1) || tr.t.AddLabels(&r, [2]uint64{1, 0}) {
		t.Error("an untracked packet has no entry to set")
	}
	if _, ok := tr.t.Mark(&r); ok {
		t.Error("an untracked packet has no mark to read")
	}
}
