package conntrack_test

import (
	"net/netip"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// TestUDPLifecycle follows one UDP flow through Linux's UDP rules
// (nf_conntrack_udp_packet, requirements LT-12, LT-13): unreplied 30 s,
// replied but young still 30 s and not ASSURED, replied and older than 2 s
// ASSURED with 120 s, then expiry by the clock.
func TestUDPLifecycle(t *testing.T) {
	tr := newTracker(t, nil)
	t0 := 1000 * sec
	k := conntrack.TupleFrom(cli4, srv4, packet.ProtoUDP, 40000, 53)

	wantState(t, "first packet", tr.udp(cli4, srv4, 40000, 53, t0), conntrack.StateNew, conntrack.DirOriginal)
	e := tr.entry(k)
	if e.Timeout != 30*sec || e.Status.Has(conntrack.StatusSeenReply) || !e.Status.Has(conntrack.StatusConfirmed) {
		t.Fatalf("after first packet: timeout %v status %v", e.Timeout, e.Status)
	}
	wantState(t, "repeat before reply", tr.udp(cli4, srv4, 40000, 53, t0+sec/2), conntrack.StateNew, conntrack.DirOriginal)
	wantState(t, "reply", tr.udp(srv4, cli4, 53, 40000, t0+sec), conntrack.StateEstablished, conntrack.DirReply)
	e = tr.entry(k)
	if !e.Status.Has(conntrack.StatusSeenReply) || e.Status.Has(conntrack.StatusAssured) || e.Timeout != 30*sec {
		t.Fatalf("after reply: timeout %v status %v", e.Timeout, e.Status)
	}
	wantState(t, "at 2 s", tr.udp(cli4, srv4, 40000, 53, t0+2*sec), conntrack.StateEstablished, conntrack.DirOriginal)
	if e = tr.entry(k); e.Status.Has(conntrack.StatusAssured) {
		t.Fatalf("assured at exactly 2 s; Linux needs time_after(jiffies, stream_ts)")
	}
	last := t0 + 2*sec + 1
	tr.udp(cli4, srv4, 40000, 53, last)
	e = tr.entry(k)
	if !e.Status.Has(conntrack.StatusAssured) || e.Timeout != 120*sec || e.Deadline != last+120*sec {
		t.Fatalf("after 2 s: timeout %v deadline %v status %v", e.Timeout, e.Deadline, e.Status)
	}
	if c := e.Counters; c[0].Packets != 4 || c[1].Packets != 1 || c[0].Bytes != 4*35 || c[1].Bytes != 35 {
		t.Fatalf("counters %+v, want 4/140 original, 1/35 reply (IPv4 20 + UDP 8 + 7 bytes)", c)
	}

	tr.events()
	if n := tr.t.Reap(last+120*sec-1, 1<<20); n != 0 {
		t.Fatalf("reaped %d entries 1 ns before the deadline", n)
	}
	if n := tr.t.Expire(last + 120*sec); n != 1 || tr.t.Len() != 0 {
		t.Fatalf("expired %d, %d left; want 1, 0", n, tr.t.Len())
	}
	evs := tr.events()
	if len(evs) != 1 || evs[0].Type != conntrack.EventTypeDestroy || evs[0].Entry.Stop != last+120*sec {
		t.Fatalf("events after expiry: %+v", evs)
	}
	wantState(t, "after expiry", tr.udp(srv4, cli4, 53, 40000, last+121*sec), conntrack.StateNew, conntrack.DirOriginal)
}

// TestExpiredOnLookup: an entry past its deadline is gone for the next
// packet even when no Reap ran (Linux nf_ct_is_expired in the lookup).
func TestExpiredOnLookup(t *testing.T) {
	tr := newTracker(t, nil)
	tr.udp(cli6, srv6, 1, 2, 0)
	tr.udp(srv6, cli6, 2, 1, sec)
	wantState(t, "after timeout", tr.udp(srv6, cli6, 2, 1, 31*sec), conntrack.StateNew, conntrack.DirOriginal)
	evs := tr.events()
	if len(evs) < 3 || evs[len(evs)-2].Type != conntrack.EventTypeDestroy || evs[len(evs)-1].Type != conntrack.EventTypeNew {
		t.Fatalf("want ... DESTROY NEW, got %+v", evs)
	}
}

// TestUDPLiteNeverMatchesUDP: RFC 6092 REC-20.
func TestUDPLiteNeverMatchesUDP(t *testing.T) {
	s := conntrack.DefaultSettings()
	if err := s.Set("udplite_checksum_rfc", "1"); err != nil { // packettest writes RFC 3828 checksums
		t.Fatal(err)
	}
	tr := newTracker(t, s)
	tr.send(ip(cli6, srv6, 136, packettest.UDPLite(cli6, srv6, 5000, 6000, 0, []byte("lite"))), 0)
	wantState(t, "UDP reply to a UDP-Lite flow", tr.udp(srv6, cli6, 6000, 5000, sec), conntrack.StateNew, conntrack.DirOriginal)
	if tr.t.Len() != 2 {
		t.Fatalf("%d entries, want 2", tr.t.Len())
	}
}

// TestICMPErrorRelated covers K-12 and RFC 6092 REC-10, REC-18, REC-19: an
// error quoting a flow is RELATED in the flow's direction, is not counted,
// and does not end the flow; one with a spoofed outer destination, or about
// no flow, is invalid.
func TestICMPErrorRelated(t *testing.T) {
	for _, fam := range []struct {
		name          string
		cli, srv, rtr netip.Addr
		errPkt        func(src, dst netip.Addr, quoted []byte) []byte
	}{
		{"ipv4", cli4, srv4, rtr4, func(src, dst netip.Addr, q []byte) []byte {
			return packettest.IPv4(src, dst, 1, packettest.ICMPv4Error(3, 3, 0, q))
		}},
		{"ipv6", cli6, srv6, rtr6, func(src, dst netip.Addr, q []byte) []byte {
			return packettest.IPv6(src, dst, 58, packettest.ICMPv6DestUnreach(src, dst, 4, q))
		}},
	} {
		t.Run(fam.name, func(t *testing.T) {
			tr := newTracker(t, nil)
			query := ip(fam.cli, fam.srv, 17, packettest.UDP(fam.cli, fam.srv, 40000, 53, []byte("q")))
			tr.send(query, 0)
			k := conntrack.TupleFrom(fam.cli, fam.srv, packet.ProtoUDP, 40000, 53)
			before := tr.entry(k)

			// The server says port unreachable to the client: reply direction.
			wantState(t, "error from server", tr.send(fam.errPkt(fam.srv, fam.cli, query), sec), conntrack.StateRelated, conntrack.DirReply)
			if tr.res.ID != before.ID {
				t.Fatalf("related to id %d, want %d", tr.res.ID, before.ID)
			}
			// A router on the path says the same: outer source differs, destination is right.
			wantState(t, "error from router", tr.send(fam.errPkt(fam.rtr, fam.cli, query), sec), conntrack.StateRelated, conntrack.DirReply)
			// Spoofed: sent to the server instead of the client.
			r := tr.send(fam.errPkt(fam.rtr, fam.srv, query), sec)
			if r.State != conntrack.StateInvalid || r.Reason != conntrack.ReasonICMPOuterDst {
				t.Fatalf("spoofed error: %v %v, want invalid %v", r.State, r.Reason, conntrack.ReasonICMPOuterDst)
			}
			// About a flow that does not exist.
			other := ip(fam.cli, fam.srv, 17, packettest.UDP(fam.cli, fam.srv, 40001, 53, []byte("q")))
			r = tr.send(fam.errPkt(fam.srv, fam.cli, other), sec)
			if r.State != conntrack.StateInvalid || r.Reason != conntrack.ReasonICMPNoMatch {
				t.Fatalf("error about no flow: %v %v", r.State, r.Reason)
			}
			after := tr.entry(k)
			if after.Counters != before.Counters || after.Deadline != before.Deadline {
				t.Fatalf("errors changed the flow: %+v -> %+v", before, after)
			}
			// REC-19: the flow goes on.
			wantState(t, "reply after errors", tr.udp(fam.srv, fam.cli, 53, 40000, 2*sec), conntrack.StateEstablished, conntrack.DirReply)
		})
	}
}

// TestPTBQuotingExtensionHeaders: a Packet Too Big quoting a TCP segment
// sent behind Hop-by-Hop and Destination Options headers is RELATED (K-12
// with the quoted chain walked, gVisor #6789 is the bug this avoids).
func TestPTBQuotingExtensionHeaders(t *testing.T) {
	tr := newTracker(t, nil)
	seg := packettest.TCP(cli6, srv6, packettest.TCPHeader{SrcPort: 40000, DstPort: 443, Seq: 1, Flags: packet.TCPSyn, Window: 65535}, nil)
	chain := packettest.Cat(packettest.HopByHop(60, packettest.PadN(4)), packettest.DestOpts(6, packettest.PadN(4)), seg)
	syn := packettest.IPv6(cli6, srv6, 0, chain)
	wantState(t, "SYN behind HBH+DO (K-01)", tr.send(syn, 0), conntrack.StateNew, conntrack.DirOriginal)
	ptb := packettest.IPv6(rtr6, cli6, 58, packettest.ICMPv6PacketTooBig(rtr6, cli6, 1280, syn))
	wantState(t, "PTB", tr.send(ptb, sec), conntrack.StateRelated, conntrack.DirReply)
}

// TestICMPQueries covers K-13 and K-16: echo requests open entries keyed by
// identifier, replies match them, an unsolicited reply or a type without a
// reply is invalid.
func TestICMPQueries(t *testing.T) {
	tr := newTracker(t, nil)
	req := packettest.IPv6(cli6, srv6, 58, packettest.ICMPv6Echo(cli6, srv6, true, 7, 1, nil))
	rep := packettest.IPv6(srv6, cli6, 58, packettest.ICMPv6Echo(srv6, cli6, false, 7, 1, nil))
	wrongID := packettest.IPv6(srv6, cli6, 58, packettest.ICMPv6Echo(srv6, cli6, false, 8, 1, nil))
	if r := tr.send(wrongID, 0); r.State != conntrack.StateInvalid || r.Reason != conntrack.ReasonICMPInvalidNew {
		t.Fatalf("unsolicited echo reply: %v %v", r.State, r.Reason)
	}
	wantState(t, "echo request", tr.send(req, 0), conntrack.StateNew, conntrack.DirOriginal)
	wantState(t, "echo reply", tr.send(rep, sec), conntrack.StateEstablished, conntrack.DirReply)
	wantState(t, "duplicate reply (entry kept)", tr.send(rep, sec), conntrack.StateEstablished, conntrack.DirReply)
	if r := tr.send(wrongID, sec); r.State != conntrack.StateInvalid {
		t.Fatalf("reply with another id: %v", r.State)
	}
	mip := packettest.IPv6(cli6, srv6, 58, packettest.ICMPv6(cli6, srv6, 144, 0, make([]byte, 4)))
	if r := tr.send(mip, sec); r.State != conntrack.StateInvalid || r.Reason != conntrack.ReasonNoInvert {
		t.Fatalf("type 144: %v %v, want invalid %v (K-16)", r.State, r.Reason, conntrack.ReasonNoInvert)
	}
	v4 := packettest.IPv4(cli4, srv4, 1, packettest.ICMPv4Echo(true, 9, 1, nil))
	wantState(t, "ICMPv4 echo", tr.send(v4, 0), conntrack.StateNew, conntrack.DirOriginal)
	if e := tr.entry(conntrack.TupleFrom(cli4, srv4, packet.ProtoICMP, 9, 8<<8)); e.Timeout != 30*sec {
		t.Fatalf("icmp timeout %v", e.Timeout)
	}
}

// TestNDUntracked: K-14, IV-04.
func TestNDUntracked(t *testing.T) {
	tr := newTracker(t, nil)
	ns := packettest.IPv6(cli6, packettest.SolicitedNode(srv6), 58,
		packettest.NeighborSolicitation(cli6, packettest.SolicitedNode(srv6), srv6, nil), packettest.HopLimit(255))
	if r := tr.send(ns, 0); r.State != conntrack.StateUntracked {
		t.Fatalf("NS: %v", r.State)
	}
	if tr.t.Len() != 0 || tr.t.Stats().Untracked != 1 {
		t.Fatalf("entries %d, untracked %d", tr.t.Len(), tr.t.Stats().Untracked)
	}
}

// TestNoNextHeader: K-03, a chain ending in No Next Header has no tuple.
func TestNoNextHeader(t *testing.T) {
	tr := newTracker(t, nil)
	r := tr.send(packettest.IPv6(cli6, srv6, 60, packettest.DestOpts(59, packettest.PadN(4))), 0)
	if r.State != conntrack.StateInvalid || r.Reason != conntrack.ReasonNoTuple || tr.t.Len() != 0 {
		t.Fatalf("%v %v, %d entries", r.State, r.Reason, tr.t.Len())
	}
}

// TestBadChecksum: LB-05, a bad UDP checksum is invalid with checksum=1 and
// tracked with checksum=0.
func TestBadChecksum(t *testing.T) {
	seg := packettest.UDP(cli4, srv4, 1, 2, []byte("x"))
	seg[6] ^= 0xff
	bad := packettest.IPv4(cli4, srv4, 17, seg)
	tr := newTracker(t, nil)
	if r := tr.send(bad, 0); r.State != conntrack.StateInvalid || r.Reason != conntrack.ReasonBadChecksum || r.PacketReason != packet.ReasonBadUDPChecksum {
		t.Fatalf("checksum=1: %v %v %v", r.State, r.Reason, r.PacketReason)
	}
	s := conntrack.DefaultSettings()
	if err := s.Set("checksum", "0"); err != nil {
		t.Fatal(err)
	}
	tr = newTracker(t, s)
	wantState(t, "checksum=0", tr.send(bad, 0), conntrack.StateNew, conntrack.DirOriginal)
}

// TestTableFull: the max setting, early drop of unassured entries, then a
// counted refusal when every entry is assured (pain point 1: never silent).
func TestTableFull(t *testing.T) {
	s := conntrack.DefaultSettings()
	if err := s.Set("max", "4"); err != nil {
		t.Fatal(err)
	}
	tr := newTracker(t, s)
	for i := range 4 {
		tr.udp(cli4, srv4, uint16(1000+i), 53, 0)
	}
	wantState(t, "fifth flow (early drop)", tr.udp(cli4, srv4, 2000, 53, 0), conntrack.StateNew, conntrack.DirOriginal)
	if st := tr.t.Stats(); st.EarlyDrop != 1 || tr.t.Len() != 4 {
		t.Fatalf("early drops %d, entries %d", st.EarlyDrop, tr.t.Len())
	}
	// GRE entries become ASSURED with the first packet after a reply
	// (gre_packet sees SEEN_REPLY only then); fill the table with them.
	tr.t.Flush(0)
	for i := range 4 {
		src := cli4.Next()
		for range i {
			src = src.Next()
		}
		gre := func(a, b netip.Addr) []byte { return packettest.IPv4(a, b, 47, []byte{0, 0, 0x08, 0x00}) }
		tr.send(gre(src, srv4), 0)
		tr.send(gre(srv4, src), 0)
		tr.send(gre(src, srv4), 0)
	}
	r := tr.udp(cli4, srv4, 3000, 53, 0)
	if r.State != conntrack.StateInvalid || r.Reason != conntrack.ReasonTableFull || !r.Drop {
		t.Fatalf("full of assured entries: %v %v drop=%v", r.State, r.Reason, r.Drop)
	}
	if st := tr.t.Stats(); st.Drop != 1 {
		t.Fatalf("drops %d", st.Drop)
	}
}

// TestEventsLost: a slow subscriber loses events and the loss is counted.
func TestEventsLost(t *testing.T) {
	ev := conntrack.NewEvents()
	tab := conntrack.NewTable(nil, ev)
	slow := ev.Subscribe(2)
	fast := ev.Subscribe(100)
	var p packet.Parsed
	var res conntrack.Result
	for i := range 5 {
		p.DecodeIP(packettest.IPv4(cli4, srv4, 17, packettest.UDP(cli4, srv4, uint16(i+1), 53, nil)))
		tab.Process(&p, 0, 0, &res)
	}
	buf := make([]conntrack.Event, 10)
	if n := slow.Read(buf); n != 2 || slow.Lost() != 3 {
		t.Fatalf("slow: read %d lost %d, want 2 and 3", n, slow.Lost())
	}
	if n := fast.Read(buf); n != 5 || fast.Lost() != 0 {
		t.Fatalf("fast: read %d lost %d", n, fast.Lost())
	}
	// The bus's total survives the subscriber that lost them.
	slow.Close()
	if l := ev.Lost(); l != 3 {
		t.Errorf("bus lost %d, want 3 (the slow subscriber's)", l)
	}
	for _, e := range buf[:5] {
		if e.Type != conntrack.EventTypeNew || e.Entry.ID == 0 || !e.Entry.Status.Has(conntrack.StatusConfirmed) {
			t.Fatalf("event %+v", e)
		}
	}
}

// TestUnconfirmed: an entry is in the table only once its packet is
// confirmed (Linux __nf_conntrack_confirm).
func TestUnconfirmed(t *testing.T) {
	tab := conntrack.NewTable(nil, nil)
	var p packet.Parsed
	var res conntrack.Result
	p.DecodeIP(packettest.IPv4(cli4, srv4, 17, packettest.UDP(cli4, srv4, 1, 2, nil)))
	tab.Track(&p, 0, 0, &res)
	if !res.New || res.State != conntrack.StateNew || tab.Len() != 0 {
		t.Fatalf("after Track: new=%v state=%v len=%d", res.New, res.State, tab.Len())
	}
	// The packet was dropped by the rules: no Confirm. The next one is new again.
	tab.Track(&p, 0, 0, &res)
	tab.Confirm(&res, 0)
	if tab.Len() != 1 || !res.Ref.IsValid() || res.ID == 0 {
		t.Fatalf("after Confirm: len=%d ref=%v id=%d", tab.Len(), res.Ref, res.ID)
	}
}

// TestReplyTupleInvolution: inverting a tuple twice gives it back.
func TestReplyTupleInvolution(t *testing.T) {
	for _, k := range []conntrack.Tuple{
		conntrack.TupleFrom(cli4, srv4, packet.ProtoTCP, 1, 2),
		conntrack.TupleFrom(cli6, srv6, packet.ProtoUDP, 65535, 0),
		conntrack.TupleFrom(cli6, srv6, packet.ProtoICMPv6, 7, 128<<8),
		conntrack.TupleFrom(cli4, srv4, packet.ProtoICMP, 7, 13<<8),
		conntrack.TupleFrom(cli4, srv4, packet.ProtoGRE, 0, 0),
	} {
		r, ok := k.Reply()
		rr, ok2 := r.Reply()
		if !ok || !ok2 || rr != k || r == k {
			t.Errorf("%+v: reply %+v, reply of reply %+v", k, r, rr)
		}
	}
	if _, ok := conntrack.TupleFrom(cli4, srv4, packet.ProtoICMP, 1, 3<<8).Reply(); ok {
		t.Errorf("destination unreachable has a reply tuple")
	}
}

// TestUDPLiteChecksumLinux: Linux udplite_error verifies UDP-Lite checksums
// with IPPROTO_UDP in the pseudo-header, so an RFC 3828 checksum (136) is
// "bad checksum" by default; udplite_checksum_rfc=1 checks as the RFC says.
func TestUDPLiteChecksumLinux(t *testing.T) {
	rfc := ip(cli4, srv4, 136, packettest.UDPLite(cli4, srv4, 5000, 6000, 8, []byte("lite")))
	tr := newTracker(t, nil)
	if r := tr.send(rfc, 0); r.State != conntrack.StateInvalid || r.Reason != conntrack.ReasonBadChecksum {
		t.Fatalf("linux mode: %v %v, want invalid bad checksum", r.State, r.Reason)
	}
	s := conntrack.DefaultSettings()
	s.Set("udplite_checksum_rfc", "1")
	tr = newTracker(t, s)
	wantState(t, "rfc mode", tr.send(rfc, 0), conntrack.StateNew, conntrack.DirOriginal)
}

// TestUntrack: a notrack'ed packet is untracked, counted, and makes no entry.
func TestUntrack(t *testing.T) {
	tab := conntrack.NewTable(nil, nil)
	var res conntrack.Result
	tab.Untrack(&res)
	if res.State != conntrack.StateUntracked || tab.Len() != 0 || tab.Stats().Untracked != 1 {
		t.Fatalf("state %v, %d entries, untracked %d", res.State, tab.Len(), tab.Stats().Untracked)
	}
}

// TestClashResolve: two packets of a new connection tracked before either
// is confirmed (two workers) make two pending entries; the second Confirm
// finds the first's entry and joins it (Linux __nf_ct_resolve_clash):
// counted as clash_resolve, not insert_failed, and the entry counts both
// packets (nf_ct_acct_merge).
func TestClashResolve(t *testing.T) {
	tab := conntrack.NewTable(nil, nil)
	dgram := ip(cli4, srv4, 17, packettest.UDP(cli4, srv4, 5000, 53, []byte("q")))
	var p1, p2 packet.Parsed
	var r1, r2 conntrack.Result
	p1.DecodeIP(dgram)
	p2.DecodeIP(dgram)
	tab.Track(&p1, 0, sec, &r1)
	tab.Track(&p2, 0, sec, &r2)
	if !r1.New || !r2.New {
		t.Fatalf("both packets should open an entry: %v %v", r1.New, r2.New)
	}
	tab.Confirm(&r1, sec)
	tab.Confirm(&r2, sec)
	st := tab.Stats()
	if tab.Len() != 1 || st.Insert != 1 || st.ClashResolve != 1 || st.InsertFailed != 0 {
		t.Fatalf("%d entries, stats %+v", tab.Len(), st)
	}
	if r2.ID != r1.ID || r2.Drop {
		t.Fatalf("the second packet got id %d (first %d), drop %v", r2.ID, r1.ID, r2.Drop)
	}
	var e conntrack.Entry
	if !tab.Get(r2.Ref, &e) || e.Counters[0].Packets != 2 || e.Counters[0].Bytes != 2*uint64(len(dgram)) {
		t.Fatalf("entry counters %+v, want both packets", e.Counters)
	}
}
