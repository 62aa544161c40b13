package report

import (
	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet"
)

// The tracking stage of a replay, per packet, in capture order:
//
//  1. The clock: the packet's capture time (ClockCapture, never going
//     backwards) or the first packet's time (ClockFrozen).
//  2. Packets Tracker.Skip names and frames without an IP header are not
//     tracked: conntrack sees IP packets only.
//  3. Reassembly (defrag.Reassembler, Linux nf_defrag_ipv4/ipv6): a
//     fragment is held, dropped, or completes a datagram, which is decoded
//     and tracked in its place, once; an IPv6 atomic fragment comes back
//     without its Fragment header. A fragment defrag passes on
//     unreassembled goes to conntrack as it is.
//  4. conntrack.Table.Process (Track, then Confirm: every packet is
//     accepted, as in a replay without a ruleset), in zone 0; or, with a
//     ruleset, Tracker.Filter (the hooks around Track, Confirm if accepted).
//  5. The events the packet caused go to OnEvent, then the packet's result
//     to OnPacket.
//
// After every batch Reap removes expired entries (bounded work, as the
// kernel's gc worker) and defrag discards timed-out queues; at the end of
// each capture every expired entry is removed, so that the final table is
// what `conntrack -L` would list at the time of the last packet. Each
// capture gets a fresh table and reassembler, as each kernel reference run
// got a fresh network namespace.

// Clock says which time drives the tracker's timeouts during a replay.
type Clock uint8

const (
	// ClockCapture passes each packet's capture time, so entries expire
	// as they would have live. A packet stamped earlier than one before it
	// is taken to arrive at that earlier packet's time: the clock never
	// goes backwards.
	ClockCapture Clock = iota
	// ClockFrozen passes the first packet's time for every packet: nothing
	// expires, as in the kernel reference's top-speed replay.
	ClockFrozen
)

func (c Clock) String() string {
	if c == ClockFrozen {
		return "frozen"
	}
	return "capture"
}

// Outcome is what the replay did with a packet.
type Outcome uint8

const (
	OutcomeTracked     Outcome = iota // conntrack decided: see State, Dir, ID, Reason
	OutcomeNotIP                      // no decodable IP header: conntrack never sees it
	OutcomeExcluded                   // left out by Tracker.Skip
	OutcomeHeld                       // a fragment defrag keeps until its datagram is complete
	OutcomeFragDropped                // a fragment defrag dropped (see DefragReason)
)

var outcomeNames = [...]string{"tracked", "not-ip", "excluded", "held", "frag-dropped"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// PacketResult is what happened to one packet of a replay.
type PacketResult struct {
	Path    string
	N       uint64 // record number in the capture, 1-based (as Wireshark numbers frames)
	Time    int64  // capture time, ns since the Unix epoch
	Outcome Outcome

	// With OutcomeTracked:
	State        conntrack.State
	Dir          conntrack.Dir
	ID           uint32           // the entry's id; 0 for invalid and untracked packets
	Reason       conntrack.Reason // why invalid, or why an accepted packet was ignored
	PacketReason packet.Reason    // the decoder's or checksum's reason behind Reason
	L3Len        int              // the bytes conntrack saw (and counted, if it counted the packet)
	New          bool             // the packet opened its entry
	Drop         bool             // the table was full: the kernel would drop the packet

	// Reassembled: the packet completed a datagram (or was an IPv6 atomic
	// fragment), and conntrack saw that datagram (L3Len is its length).
	Reassembled bool
	// DefragReason says why defrag dropped the fragment
	// (OutcomeFragDropped) or passed it on unreassembled.
	DefragReason defrag.Reason
}

// HasDir reports whether the packet has a direction: it belongs to an
// entry (not invalid, not untracked).
func (r *PacketResult) HasDir() bool {
	return r.Outcome == OutcomeTracked && r.State != conntrack.StateInvalid && r.State != conntrack.StateUntracked
}

// ReasonText returns the explanation for an invalid or ignored packet,
// with the packet-level reason behind it when there is one; "" when there
// is none.
func (r *PacketResult) ReasonText() string {
	s := ""
	if r.Reason != conntrack.ReasonNone {
		s = r.Reason.String()
		if r.PacketReason != packet.ReasonNone {
			s += ": " + r.PacketReason.String()
		}
	}
	if r.DefragReason != defrag.ReasonNone {
		d := r.DefragReason.String()
		if r.Outcome == OutcomeTracked {
			d = "fragment not reassembled: " + d
		}
		if s != "" {
			s += " (" + d + ")"
		} else {
			s = d
		}
	}
	return s
}

// eventQueue is the size of the tracker's event subscription. It is
// drained after every packet (at most a handful of events) and every Reap
// (at most reapBudget), so it never overflows; losses would be counted.
const (
	eventQueue = 1024
	reapBudget = 256
)

// Tracker runs connection tracking over the packets of a replay (see
// Summary.Track) and counts what it concluded. Set its fields before the
// first capture; it is not safe for concurrent use.
type Tracker struct {
	// Settings are the conntrack settings; nil means
	// conntrack.DefaultSettings().
	Settings *conntrack.Settings
	Clock    Clock
	// Profile and Set describe the settings for the summary ("linux",
	// and the name=value changes made on top of the profile).
	Profile string
	Set     []string

	// Skip, when not nil, names packets to leave out of tracking
	// (OutcomeExcluded). Used to replay only the packets a kernel
	// reference run let reach netfilter.
	Skip func(path string, n uint64) bool
	// OnPacket, when not nil, receives every packet's result; r is
	// reused after the call returns.
	OnPacket func(r *PacketResult)
	// OnEvent, when not nil, receives every event: packet is the number
	// of the packet that caused it, 0 for expiry between packets.
	OnEvent func(ev *conntrack.Event, packet uint64)
	// Filter, when not nil, takes the place of conntrack.Table.Process for
	// every datagram: it runs the ruleset's hooks around Track and
	// confirms only the packets it accepts (package engine), leaving
	// conntrack's decision in res.
	Filter func(t *conntrack.Table, p *packet.Parsed, now int64, res *conntrack.Result)
	// OnEnd, when not nil, is called at the end of each capture with its
	// table and the final clock, after expired entries were removed.
	OnEnd func(path string, t *conntrack.Table, now int64)

	// Per capture.
	table   *conntrack.Table
	defrag  *defrag.Reassembler
	whole   packet.Parsed // a reassembled datagram
	sub     *conntrack.Subscription
	bus     *conntrack.Events
	evbuf   []conntrack.Event
	path    string
	now     int64
	started bool // a packet has set the clock
	res     conntrack.Result
	pr      PacketResult

	c trackCounts
}

// trackCounts are the tracker's totals over every capture.
type trackCounts struct {
	captures   int
	tracked    uint64
	states     [5]uint64
	invalid    [conntrack.NumReasons][packet.NumReasons]uint64
	ignored    [conntrack.NumReasons]uint64 // accepted packets with a reason
	notIP      uint64
	excluded   uint64
	tableFull  uint64       // packets refused because the table was full
	defrag     defrag.Stats // summed over the captures
	fragQueues int          // datagrams still incomplete at the end of the captures
	events     [4]uint64
	lost       uint64
	stats      conntrack.Stats
	entries    uint64
	entryRows  map[entryKey]uint64
	finalClock int64
}

type entryKey struct {
	proto packet.IPProto
	state string
}

// begin starts a capture with a fresh table.
func (tr *Tracker) begin(path string) {
	s := tr.Settings
	if s == nil {
		s = conntrack.DefaultSettings()
	}
	tr.bus = conntrack.NewEvents()
	tr.sub = tr.bus.Subscribe(eventQueue)
	tr.table = conntrack.NewTable(s, tr.bus)
	tr.defrag = defrag.New(defrag.ConfigFrom(s))
	if tr.evbuf == nil {
		tr.evbuf = make([]conntrack.Event, 64)
	}
	tr.path, tr.now, tr.started = path, 0, false
	tr.c.captures++
}

// tick advances the clock to a packet's time.
func (tr *Tracker) tick(ts int64) {
	switch {
	case !tr.started:
		tr.now, tr.started = ts, true
	case tr.Clock == ClockCapture && ts > tr.now:
		tr.now = ts
	}
}

// packet tracks packet n of the current capture, decoded in p.
func (tr *Tracker) packet(n uint64, p *packet.Parsed, ts int64) {
	tr.tick(ts)
	pr := &tr.pr
	*pr = PacketResult{Path: tr.path, N: n, Time: ts}
	switch {
	case tr.Skip != nil && tr.Skip(tr.path, n):
		pr.Outcome = OutcomeExcluded
		tr.c.excluded++
	case p.IPVersion == 0:
		pr.Outcome = OutcomeNotIP
		tr.c.notIP++
	default:
		tr.reassemble(p)
	}
	tr.drain(n)
	if tr.OnPacket != nil {
		tr.OnPacket(pr)
	}
}

// skipped records packet n, which the reader could not hand over (a
// link type package packet does not decode).
func (tr *Tracker) skipped(n uint64) {
	tr.pr = PacketResult{Path: tr.path, N: n, Time: tr.now, Outcome: OutcomeNotIP}
	tr.c.notIP++
	if tr.OnPacket != nil {
		tr.OnPacket(&tr.pr)
	}
}

// reassemble runs defrag on an IP packet, then conntrack on what comes out.
func (tr *Tracker) reassemble(p *packet.Parsed) {
	res, out := tr.defrag.Add(p, tr.now, 0)
	switch res {
	case defrag.Held:
		tr.pr.Outcome = OutcomeHeld
	case defrag.Dropped:
		tr.pr.Outcome = OutcomeFragDropped
		tr.pr.DefragReason = tr.defrag.DropReason()
	case defrag.Complete:
		tr.whole.DecodeIP(out)
		tr.track(&tr.whole)
		tr.pr.Reassembled = true
	case defrag.PassedUntracked:
		tr.track(p)
		tr.pr.DefragReason = tr.defrag.DropReason()
	default:
		tr.track(p)
	}
}

// track runs conntrack on one IP datagram.
func (tr *Tracker) track(p *packet.Parsed) {
	res, pr := &tr.res, &tr.pr
	if tr.Filter != nil {
		tr.Filter(tr.table, p, tr.now, res)
	} else {
		tr.table.Process(p, 0, tr.now, res)
	}
	pr.Outcome = OutcomeTracked
	pr.State, pr.Dir, pr.ID = res.State, res.Dir, res.ID
	pr.Reason, pr.PacketReason = res.Reason, res.PacketReason
	pr.L3Len, pr.New, pr.Drop = p.L3Len, res.New, res.Drop
	if !pr.HasDir() {
		pr.Dir, pr.ID = conntrack.DirOriginal, 0
	}
	tr.c.tracked++
	if int(pr.State) < len(tr.c.states) {
		tr.c.states[pr.State]++
	}
	switch {
	case pr.State == conntrack.StateInvalid:
		if int(pr.Reason) < conntrack.NumReasons && int(pr.PacketReason) < packet.NumReasons {
			tr.c.invalid[pr.Reason][pr.PacketReason]++
		}
	case pr.Reason != conntrack.ReasonNone && int(pr.Reason) < conntrack.NumReasons:
		tr.c.ignored[pr.Reason]++
	}
	if pr.Drop {
		tr.c.tableFull++
	}
}

// drain hands the queued events to OnEvent.
func (tr *Tracker) drain(n uint64) {
	for {
		k := tr.sub.Read(tr.evbuf)
		for i := range tr.evbuf[:k] {
			ev := &tr.evbuf[i]
			if int(ev.Type) < len(tr.c.events) {
				tr.c.events[ev.Type]++
			}
			if tr.OnEvent != nil {
				tr.OnEvent(ev, n)
			}
		}
		if k < len(tr.evbuf) {
			return
		}
	}
}

// batch runs after every batch: bounded expiry.
func (tr *Tracker) batch() {
	if !tr.started {
		return
	}
	tr.table.Reap(tr.now, reapBudget)
	tr.defrag.Expire(tr.now)
	tr.drain(0)
}

// end finishes a capture: every expired entry goes (with a subscription
// large enough for all their events), then OnEnd sees the table.
func (tr *Tracker) end() {
	tr.drain(0)
	tr.c.lost += tr.sub.Lost()
	tr.sub.Close()
	tr.sub = tr.bus.Subscribe(tr.table.Len() + eventQueue)
	tr.table.Expire(tr.now)
	tr.drain(0)
	tr.c.lost += tr.sub.Lost()
	tr.sub.Close()

	tr.defrag.Expire(tr.now)
	ds := tr.defrag.Stats()
	d := &tr.c.defrag
	d.Held += ds.Held
	d.Reassembled += ds.Reassembled
	d.Atomic += ds.Atomic
	d.Untracked += ds.Untracked
	for i := range ds.Dropped {
		d.Dropped[i] += ds.Dropped[i]
		d.Killed[i] += ds.Killed[i]
	}
	tr.c.fragQueues += ds.QueuesIPv4 + ds.QueuesIPv6

	st := tr.table.Stats()
	c := &tr.c.stats
	c.Found += st.Found
	c.Invalid += st.Invalid
	c.Ignore += st.Ignore
	c.Insert += st.Insert
	c.InsertFailed += st.InsertFailed
	c.Drop += st.Drop
	c.EarlyDrop += st.EarlyDrop
	c.Error += st.Error
	c.SearchRestart += st.SearchRestart
	c.Expired += st.Expired
	c.Related += st.Related
	c.Untracked += st.Untracked

	if tr.c.entryRows == nil {
		tr.c.entryRows = map[entryKey]uint64{}
	}
	tr.table.Range(func(e *conntrack.Entry) bool {
		tr.c.entries++
		tr.c.entryRows[entryKey{e.Orig.Proto, entryState(e)}]++
		return true
	})
	tr.c.finalClock = tr.now
	if tr.OnEnd != nil {
		tr.OnEnd(tr.path, tr.table, tr.now)
	}
	tr.table, tr.bus, tr.sub, tr.defrag = nil, nil, nil, nil
}

// entryState is the state shown in the summary's entry table: the TCP or
// SCTP state, or the status for protocols without states.
func entryState(e *conntrack.Entry) string {
	switch e.Orig.Proto {
	case packet.ProtoTCP:
		return e.TCPState.String()
	case packet.ProtoSCTP:
		if e.SCTPState != conntrack.SCTPNone {
			return e.SCTPState.String()
		}
	}
	switch {
	case e.Status.Has(conntrack.StatusAssured):
		return "ASSURED"
	case e.Status.Has(conntrack.StatusSeenReply):
		return "SEEN_REPLY"
	}
	return "UNREPLIED"
}
