package report_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/internal/report"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// writeFrames returns frames as a pcapng capture.
func writeFrames(tb testing.TB, frames []packettest.Frame) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	ifaces := map[packet.LinkType]int{}
	for _, f := range frames {
		id, ok := ifaces[f.Link]
		if !ok {
			if id, err = w.AddInterface(f.Link, 0, ""); err != nil {
				tb.Fatal(err)
			}
			ifaces[f.Link] = id
		}
		if err := w.WritePacket(id, f.Time, f.Data, len(f.Data)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// replayTracked replays b with tr and returns the summary.
func replayTracked(tb testing.TB, b []byte, tr *report.Tracker) *report.Summary {
	tb.Helper()
	r, err := capture.NewReader(bytes.NewReader(b), "mem")
	if err != nil {
		tb.Fatal(err)
	}
	s := &report.Summary{Track: tr}
	if err := s.Replay(r, "mem", 0, nil); err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestTrackerClock replays a UDP flow whose second packet comes 31 s
// after the first, past udp_timeout (30 s): with the capture clock the
// first entry has expired and the packet opens a new one; with the frozen
// clock it is the same entry.
func TestTrackerClock(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	udp := func(src, dst netip.Addr, sp, dp uint16) []byte {
		return packettest.IPv4(src, dst, 17, packettest.UDP(src, dst, sp, dp, []byte("q")))
	}
	t0 := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	sec := int64(time.Second)
	frames := []packettest.Frame{
		{Time: t0, Link: packet.LinkRaw, Data: udp(a, b, 1000, 53)},
		{Time: t0 + 31*sec, Link: packet.LinkRaw, Data: udp(a, b, 1000, 53)},
		{Time: t0 + 32*sec, Link: packet.LinkRaw, Data: udp(b, a, 53, 1000)},
		{Time: t0 + 1*sec, Link: packet.LinkRaw, Data: udp(b, a, 53, 1000)}, // stamped in the past
	}
	capt := writeFrames(t, frames)
	tests := []struct {
		clock   report.Clock
		packets []string // AppendText minus the time
		events  string
		entries uint64
	}{
		{report.ClockCapture, []string{"1 new original 1", "2 new original 2", "3 established reply 2", "4 established reply 2"},
			"NEW 1, DESTROY 1, NEW 2, UPDATE 2", 1},
		{report.ClockFrozen, []string{"1 new original 1", "2 new original 1", "3 established reply 1", "4 established reply 1"},
			"NEW 1, UPDATE 1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.clock.String(), func(t *testing.T) {
			var got, evs []string
			var ends int
			tr := &report.Tracker{Clock: tt.clock}
			tr.OnPacket = func(r *report.PacketResult) {
				f := strings.Fields(string(r.AppendText(nil)))
				got = append(got, strings.Join(append(f[:1:1], f[2:]...), " "))
			}
			tr.OnEvent = func(ev *conntrack.Event, _ uint64) {
				evs = append(evs, fmt.Sprintf("%v %d", ev.Type, ev.Entry.ID))
			}
			tr.OnEnd = func(_ string, tab *conntrack.Table, now int64) {
				ends++
				want := t0 + 32*sec
				if tt.clock == report.ClockFrozen {
					want = t0
				}
				if now != want {
					t.Errorf("final clock %d, want %d", now, want)
				}
			}
			s := replayTracked(t, capt, tr)
			if fmt.Sprint(got) != fmt.Sprint(tt.packets) {
				t.Errorf("packets:\n got %q\nwant %q", got, tt.packets)
			}
			if e := strings.Join(evs, ", "); e != tt.events {
				t.Errorf("events %q, want %q", e, tt.events)
			}
			r := s.Result().Conntrack
			if ends != 1 || r.Entries != tt.entries || r.Tracked != 4 || r.Clock != tt.clock.String() {
				t.Errorf("OnEnd called %d times; entries %d, tracked %d, clock %q", ends, r.Entries, r.Tracked, r.Clock)
			}
		})
	}
}

// TestTrackerSample checks that the tracker accounts for every packet of
// the sample trace, and that its counts agree with each other.
func TestTrackerSample(t *testing.T) {
	frames := packettest.Sample()
	var n uint64
	tr := &report.Tracker{}
	tr.OnPacket = func(r *report.PacketResult) {
		n++
		if r.N != n {
			t.Errorf("packet %d reported as %d", n, r.N)
		}
		if r.HasDir() && r.ID == 0 {
			t.Errorf("packet %d: %s without an entry id", r.N, r.StateText())
		}
	}
	s := replayTracked(t, writeFrames(t, frames), tr)
	r := s.Result()
	c := r.Conntrack
	if n != uint64(len(frames)) || r.Packets != n {
		t.Fatalf("OnPacket saw %d packets, the summary %d, the sample has %d", n, r.Packets, len(frames))
	}
	var states uint64
	for _, st := range c.States {
		states += st.Packets
	}
	var held = c.Defrag.Held
	if states != c.Tracked || c.Tracked+c.NotIP+held+sumRows(c.Defrag.Dropped) != n {
		t.Errorf("states add up to %d, tracked %d, not IP %d, held %d, dropped %d; %d packets", states, c.Tracked, c.NotIP, held, sumRows(c.Defrag.Dropped), n)
	}
	if c.Events.New != c.Table.Inserted || c.Events.Lost != 0 {
		t.Errorf("events %+v, table %+v", c.Events, c.Table)
	}
	var entries uint64
	for _, e := range c.EntriesByState {
		entries += e.Entries
	}
	if entries != c.Entries || c.Entries != c.Table.Inserted-c.Events.Destroy {
		t.Errorf("entries %d, by state %d, inserted %d, destroyed %d", c.Entries, entries, c.Table.Inserted, c.Events.Destroy)
	}
}

func sumRows(rows []report.ReasonRow) (n uint64) {
	for _, r := range rows {
		n += r.Packets
	}
	return n
}

// TestTrackerAllocsPerPacket checks that tracking adds no allocations per
// packet to Replay once the flows are known.
func TestTrackerAllocsPerPacket(t *testing.T) {
	allocs := func(b []byte) float64 {
		return testing.AllocsPerRun(5, func() {
			replayTracked(t, b, &report.Tracker{OnPacket: func(*report.PacketResult) {}})
		})
	}
	small, large := sampleCapture(t, 1), sampleCapture(t, 50)
	a1, a50 := allocs(small), allocs(large)
	perPacket := (a50 - a1) / float64(49*len(packettest.Sample()))
	if perPacket > 0.01 {
		t.Errorf("tracked Replay allocates %.3f times per packet (%v allocations for 1 copy of the sample, %v for 50); want 0", perPacket, a1, a50)
	}
}

// TestPacketLines pins the --packets line formats.
func TestPacketLines(t *testing.T) {
	ts := time.Date(2024, 6, 1, 12, 0, 0, 5, time.UTC).UnixNano()
	tests := []struct {
		r          report.PacketResult
		text, json string
	}{
		{report.PacketResult{N: 1, Time: ts, State: conntrack.StateNew, ID: 3, L3Len: 60, New: true},
			"1 1717243200.000000005 new original 3",
			`{"n":1,"ts":1717243200.000000005,"state":"new","dir":"original","id":3,"l3len":60,"new":true}`},
		{report.PacketResult{N: 2, Time: ts, State: conntrack.StateEstablished, Dir: conntrack.DirReply, ID: 3, L3Len: 52, Reason: conntrack.ReasonTCPIgnored},
			"2 1717243200.000000005 established reply 3 ignored in this state",
			`{"n":2,"ts":1717243200.000000005,"state":"established","dir":"reply","id":3,"reason":"ignored in this state","l3len":52}`},
		{report.PacketResult{N: 3, Time: ts, State: conntrack.StateInvalid, Reason: conntrack.ReasonBadChecksum, PacketReason: packet.ReasonBadTCPChecksum, L3Len: 40},
			"3 1717243200.000000005 invalid - - bad checksum: bad TCP checksum",
			`{"n":3,"ts":1717243200.000000005,"state":"invalid","reason":"bad checksum: bad TCP checksum","l3len":40}`},
		{report.PacketResult{N: 4, Time: ts, Outcome: report.OutcomeHeld},
			"4 1717243200.000000005 held - -",
			`{"n":4,"ts":1717243200.000000005,"state":"held"}`},
		{report.PacketResult{N: 5, Time: ts, Outcome: report.OutcomeNotIP},
			"5 1717243200.000000005 not-ip - -",
			`{"n":5,"ts":1717243200.000000005,"state":"not-ip"}`},
		{report.PacketResult{N: 6, Time: ts, State: conntrack.StateNew, ID: 4, L3Len: 1428, New: true, Reassembled: true},
			"6 1717243200.000000005 new original 4",
			`{"n":6,"ts":1717243200.000000005,"state":"new","dir":"original","id":4,"l3len":1428,"reassembled":true,"new":true}`},
	}
	for _, tt := range tests {
		if got := string(tt.r.AppendText(nil)); got != tt.text {
			t.Errorf("text\n got %s\nwant %s", got, tt.text)
		}
		if got := string(tt.r.AppendJSON(nil)); got != tt.json {
			t.Errorf("json\n got %s\nwant %s", got, tt.json)
		}
	}
}
