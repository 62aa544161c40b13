package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/internal/ctfmt"
	"github.com/hare-fw/hare/packet"
)

// ConntrackResult is the connection-tracking part of a Result (key
// "conntrack"), present when the replay tracked connections.
type ConntrackResult struct {
	Clock   string   `json:"clock"`   // "capture" or "frozen"
	Profile string   `json:"profile"` // "linux" or "rfc"
	Set     []string `json:"set"`     // name=value settings given on top of the profile

	Tracked   uint64     `json:"tracked"`   // packets conntrack judged
	NotIP     uint64     `json:"not_ip"`    // frames without an IP header: never tracked
	Excluded  uint64     `json:"excluded"`  // packets left out on purpose (tests)
	States    []NamedRow `json:"states"`    // tracked packets by ct state (new, established, related, invalid, untracked)
	Related   uint64     `json:"related"`   // ICMP errors about a tracked connection
	Untracked uint64     `json:"untracked"` // ND, MLD: exempt from tracking
	// Invalid counts invalid packets by reason ("bad checksum: bad TCP
	// checksum", "SEQ is over upper bound (over the window of the
	// receiver)"...). Ignored counts packets that passed with their
	// entry but without changing it (TCP's ignored segments) by reason.
	Invalid []ReasonRow `json:"invalid"`
	Ignored []ReasonRow `json:"ignored"`

	Defrag DefragStats `json:"defrag"`

	Entries        uint64     `json:"entries"` // entries left at the end of the captures (summed)
	EntriesByState []EntryRow `json:"entries_by_state"`
	Table          TableStats `json:"table"`
	Events         EventStats `json:"events"`
}

// DefragStats count what reassembly did, summed over the captures.
type DefragStats struct {
	Held        uint64      `json:"held"`                 // fragments queued
	Reassembled uint64      `json:"reassembled"`          // datagrams completed from fragments and tracked
	Atomic      uint64      `json:"atomic"`               // IPv6 atomic fragments tracked without their Fragment header
	Unassembled uint64      `json:"passed_unreassembled"` // fragments passed on as they were (IPv6 first fragment without the whole header chain, bad length)
	Dropped     []ReasonRow `json:"dropped"`              // fragments dropped, by reason
	Discarded   []ReasonRow `json:"discarded"`            // datagrams given up with the fragments held, by reason (overlap, timeout...)
	Incomplete  int         `json:"incomplete"`           // datagrams still incomplete at the end of their capture
}

// EntryRow counts the final entries of one protocol in one state: the TCP
// or SCTP state, or for other protocols ASSURED, SEEN_REPLY or UNREPLIED.
type EntryRow struct {
	Proto   string `json:"proto"`
	State   string `json:"state"`
	Entries uint64 `json:"entries"`
}

// TableStats are the table's counters (conntrack -S), summed over the
// captures.
type TableStats struct {
	Inserted       uint64 `json:"inserted"`        // entries confirmed
	TableFull      uint64 `json:"table_full"`      // new connections refused: the table was full and nothing could be evicted
	EarlyDrops     uint64 `json:"early_drops"`     // unassured entries evicted to make room
	Expired        uint64 `json:"expired"`         // entries removed by timeout
	InsertFailed   uint64 `json:"insert_failed"`   // confirmations that lost to an equal entry
	SearchRestarts uint64 `json:"search_restarts"` // lookups redone after a TCP reopen
}

// EventStats count the events delivered, and those lost by a subscriber
// that could not keep up (never, in a replay: hare drains after every
// packet).
type EventStats struct {
	New     uint64 `json:"new"`
	Update  uint64 `json:"update"`
	Destroy uint64 `json:"destroy"`
	Lost    uint64 `json:"lost"`
}

// result renders the tracker's counts.
func (tr *Tracker) result() *ConntrackResult {
	c := &tr.c
	r := &ConntrackResult{
		Clock:          tr.Clock.String(),
		Profile:        cmp.Or(tr.Profile, "linux"),
		Set:            append([]string{}, tr.Set...),
		Tracked:        c.tracked,
		NotIP:          c.notIP,
		Excluded:       c.excluded,
		States:         []NamedRow{},
		Related:        c.states[conntrack.StateRelated],
		Untracked:      c.states[conntrack.StateUntracked],
		Invalid:        []ReasonRow{},
		Ignored:        []ReasonRow{},
		Entries:        c.entries,
		EntriesByState: []EntryRow{},
		Table: TableStats{
			Inserted:       c.stats.Insert,
			TableFull:      c.stats.Drop,
			EarlyDrops:     c.stats.EarlyDrop,
			Expired:        c.stats.Expired,
			InsertFailed:   c.stats.InsertFailed,
			SearchRestarts: c.stats.SearchRestart,
		},
		Events: EventStats{
			New:     c.events[conntrack.EventTypeNew],
			Update:  c.events[conntrack.EventTypeUpdate],
			Destroy: c.events[conntrack.EventTypeDestroy],
			Lost:    c.lost,
		},
	}
	for _, st := range []conntrack.State{conntrack.StateNew, conntrack.StateEstablished, conntrack.StateRelated, conntrack.StateUntracked, conntrack.StateInvalid} {
		r.States = appendNamed(r.States, st.String(), c.states[st])
	}
	d := &c.defrag
	r.Defrag = DefragStats{Held: d.Held, Reassembled: d.Reassembled, Atomic: d.Atomic, Unassembled: d.Untracked,
		Dropped: []ReasonRow{}, Discarded: []ReasonRow{}, Incomplete: c.fragQueues}
	for i := range d.Dropped {
		if n := d.Dropped[i]; n > 0 {
			r.Defrag.Dropped = append(r.Defrag.Dropped, ReasonRow{Reason: defrag.Reason(i).String(), Packets: n})
		}
		if n := d.Killed[i]; n > 0 {
			r.Defrag.Discarded = append(r.Defrag.Discarded, ReasonRow{Reason: defrag.Reason(i).String(), Packets: n})
		}
	}
	for reason := range c.invalid {
		for pr, n := range c.invalid[reason] {
			if n == 0 {
				continue
			}
			row := ReasonRow{Reason: conntrack.Reason(reason).String(), Packets: n}
			if pr != 0 {
				row.Reason += ": " + packet.Reason(pr).String()
			}
			r.Invalid = append(r.Invalid, row)
		}
	}
	for reason, n := range c.ignored {
		if n > 0 {
			r.Ignored = append(r.Ignored, ReasonRow{Reason: conntrack.Reason(reason).String(), Packets: n})
		}
	}
	for _, l := range [][]ReasonRow{r.Invalid, r.Ignored} {
		slices.SortStableFunc(l, func(a, b ReasonRow) int {
			return cmp.Or(cmp.Compare(b.Packets, a.Packets), cmp.Compare(a.Reason, b.Reason))
		})
	}
	for k, n := range c.entryRows {
		r.EntriesByState = append(r.EntriesByState, EntryRow{Proto: protoName(k.proto), State: k.state, Entries: n})
	}
	slices.SortFunc(r.EntriesByState, func(a, b EntryRow) int {
		return cmp.Or(cmp.Compare(b.Entries, a.Entries), cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.State, b.State))
	})
	return r
}

// protoName names a protocol as conntrack does, or by /etc/protocols.
func protoName(p packet.IPProto) string {
	if n := ctfmt.ProtoName(p); n != "unknown" {
		return n
	}
	return p.String()
}

// writeConntrackText adds the tracking section to a text summary.
func writeConntrackText(b *strings.Builder, r *ConntrackResult) {
	fmt.Fprintf(b, "\nconnection tracking: clock %s, profile %s", r.Clock, r.Profile)
	if len(r.Set) > 0 {
		fmt.Fprintf(b, ", set %s", strings.Join(r.Set, " "))
	}
	fmt.Fprintf(b, "\n%s tracked", plural(int(r.Tracked), "packet"))
	if r.NotIP > 0 {
		fmt.Fprintf(b, ", %d not IP (never tracked)", r.NotIP)
	}
	if r.Excluded > 0 {
		fmt.Fprintf(b, ", %d excluded", r.Excluded)
	}
	b.WriteString("\n")

	t := table{head: []string{"CT STATE", "PACKETS", "%"}}
	for _, s := range r.States {
		t.add(s.Name, u(s.Packets), percent(s.Packets, r.Tracked))
	}
	t.write(b, "ct states")

	t = table{head: []string{"INVALID BECAUSE", "PACKETS"}}
	for _, x := range r.Invalid {
		t.add(x.Reason, u(x.Packets))
	}
	t.write(b, "invalid packets")

	t = table{head: []string{"IGNORED BECAUSE", "PACKETS"}}
	for _, x := range r.Ignored {
		t.add(x.Reason, u(x.Packets))
	}
	t.write(b, "ignored packets")

	df := r.Defrag
	fmt.Fprintf(b, "\nreassembly: %d fragments held, %d datagrams reassembled, %d atomic fragments, %d passed unreassembled, %d incomplete at the end\n",
		df.Held, df.Reassembled, df.Atomic, df.Unassembled, df.Incomplete)
	if len(df.Dropped) > 0 {
		t = table{head: []string{"FRAGMENT DROPPED BECAUSE", "PACKETS"}}
		for _, x := range df.Dropped {
			t.add(x.Reason, u(x.Packets))
		}
		t.write(b, "dropped fragments")
	}
	if len(df.Discarded) > 0 {
		t = table{head: []string{"DATAGRAM GIVEN UP BECAUSE", "DATAGRAMS"}}
		for _, x := range df.Discarded {
			t.add(x.Reason, u(x.Packets))
		}
		t.write(b, "datagrams given up")
	}

	t = table{head: []string{"PROTO", "STATE", "ENTRIES"}}
	for _, e := range r.EntriesByState {
		t.add(e.Proto, e.State, u(e.Entries))
	}
	if len(t.rows) > 0 {
		t.foot = fmt.Sprintf("%s at the end", plural(int(r.Entries), "entry"))
		t.foot = strings.Replace(t.foot, "entrys", "entries", 1)
	}
	t.write(b, "entries")

	ts := r.Table
	fmt.Fprintf(b, "\ntable: %d inserted, %d expired, %d table-full refusals, %d early drops, %d insert failures, %d search restarts\n",
		ts.Inserted, ts.Expired, ts.TableFull, ts.EarlyDrops, ts.InsertFailed, ts.SearchRestarts)
	ev := r.Events
	fmt.Fprintf(b, "events: %d new, %d update, %d destroy, %d lost\n", ev.New, ev.Update, ev.Destroy, ev.Lost)
}
