package conntrack

import "github.com/hare-fw/hare/packet"

// The per-packet path, in the order of Linux nf_conntrack_in:
//
//  1. Protocol error checks that need no entry (tcp_error, udp_error,
//     icmp_error…): malformed headers, checksums, flags. ICMP errors are
//     resolved here, by looking up the connection they quote (RELATED), and
//     ND/MLD are marked untracked.
//  2. The packet's tuple; a packet without one is invalid.
//  3. Lookup of the tuple in its shard (one lock); an expired entry found on
//     the way is destroyed first (Linux nf_ct_is_expired + gc).
//  4. No entry: the protocol's new() decides whether the packet may open a
//     connection; the new entry is pending, not in the table, until Confirm.
//  5. The protocol's packet() handler updates the protocol state and picks
//     the timeout; the packet is counted (acct) unless the handler ignored it.
//  6. Events (NEW at confirm, UPDATE on changes, DESTROY) are published after
//     the shard lock is released.
//
// Nothing here allocates.

// Result is conntrack's decision about one packet. Reuse one per worker;
// Track overwrites it.
type Result struct {
	State  State
	Dir    Dir
	Reason Reason // why invalid, or why an accepted packet was ignored
	// PacketReason is the decoder's or checksum's reason behind
	// ReasonMalformed, ReasonNoTuple or ReasonBadChecksum.
	PacketReason packet.Reason
	Ref          Ref    // the entry (for a new entry, valid after Confirm)
	ID           uint32 // the entry's id (for a new entry, set by Confirm)
	New          bool   // this packet opened the entry; Confirm inserts it
	Drop         bool   // the packet must be dropped: the table is full (Linux NF_DROP)

	pending     entry
	pendingMask EventMask
	hasPending  bool
	// cached are the changes a ruleset made to an entry in the table
	// (SetMark, AddLabels), published by Confirm (setters.go).
	cached EventMask
	// missShard and missInserts record the shard whose index Track found
	// without the pending entry's tuple, and its insert count then:
	// Confirm need not look again if nothing was inserted since.
	missShard   uint32
	missInserts uint64
	events      [maxEvents]Event
	nev         int
}

// maxEvents bounds the events one packet can cause: the DESTROY of an expired
// or reopened entry, then a NEW or UPDATE, and a DESTROY of an early-dropped
// one.
const maxEvents = 4

func (r *Result) reset() {
	r.State, r.Dir, r.Reason, r.PacketReason = StateInvalid, DirOriginal, ReasonNone, packet.ReasonNone
	r.Ref, r.ID, r.New, r.Drop, r.hasPending, r.nev, r.cached = Ref{}, 0, false, false, false, 0, 0
	r.missShard, r.missInserts = ^uint32(0), 0
}

// Track runs conntrack on a decoded packet at time now (ns, the caller's
// clock, read once per batch) in conntrack zone zone, and puts the decision
// in res. A packet that opens a connection leaves it pending: call Confirm
// once the packet is accepted (Linux inserts entries at nf_conntrack_confirm,
// after the filter hooks), or Process to do both.
//
// With checksum=1, Track calls p.VerifyChecksums, which may set p.Reason.
func (t *Table) Track(p *packet.Parsed, zone uint16, now int64, res *Result) {
	res.reset()
	t.track(p, zone, now, res)
	if res.nev > 0 {
		t.flush(res)
	}
}

func (t *Table) track(p *packet.Parsed, zone uint16, now int64, res *Result) {
	s := t.settings.Load()

	if p.IPVersion == 0 {
		res.Reason = ReasonNoTuple
		return
	}
	csumBad := false
	if s.on(setChecksum) {
		r := p.VerifyChecksums()
		switch {
		case r == packet.ReasonBadIPv4Checksum:
			// Linux ip_rcv drops these before netfilter.
			res.PacketReason = r
			t.invalid(res, ReasonBadChecksum)
			return
		case r == packet.ReasonUDPZeroChecksum6:
			// Linux udp_error: a datagram without a checksum is fine,
			// over IPv6 too (RFC 6935 allows it for tunnels).
		case p.Proto == packet.ProtoUDPLite && !s.on(setUDPLiteChecksumRFC):
			// Linux udplite_error verifies with IPPROTO_UDP in the
			// pseudo-header; RFC 3828 §3.2 with 136 (udplite_checksum_rfc).
			if !p.VerifyUDPLiteAs(packet.ProtoUDP) {
				csumBad, res.PacketReason = true, packet.ReasonBadUDPLiteChecksum
			}
		case r != packet.ReasonNone:
			csumBad, res.PacketReason = true, r
		}
	}
	switch p.Proto {
	case packet.ProtoICMP, packet.ProtoICMPv6:
		if t.icmpError(p, s, csumBad, zone, now, res) {
			return
		}
	case packet.ProtoTCP:
		if r := tcpError(p, csumBad, s); r != ReasonNone {
			t.invalid(res, r)
			return
		}
	case packet.ProtoUDP, packet.ProtoUDPLite:
		if r := udpError(p, csumBad); r != ReasonNone {
			t.invalid(res, r)
			return
		}
	case packet.ProtoSCTP:
		if r := sctpError(p, csumBad, s); r != ReasonNone {
			t.invalid(res, r)
			return
		}
	}
	var k Tuple
	if !k.fromPacket(p, zone) {
		res.PacketReason = p.Reason
		t.invalid(res, ReasonNoTuple)
		return
	}
	t.resolve(p, &k, s, now, res, false)
}

// Process is Track followed, for a packet that opened an entry, by Confirm:
// what conntrack does when every packet is accepted (a replay without a
// ruleset).
func (t *Table) Process(p *packet.Parsed, zone uint16, now int64, res *Result) {
	t.Track(p, zone, now, res)
	t.Confirm(res, now)
}

// invalid records an invalid verdict and counts it.
//
// Packets found invalid before any lookup are counted with an atomic, not
// under a shard lock: a flood of them must not serialise the workers.
func (t *Table) invalid(res *Result, r Reason) {
	res.State, res.Reason = StateInvalid, r
	t.invalidN.Add(1)
}

// resolve looks the tuple up and runs the protocol handler
// (resolve_normal_ct, then nf_conntrack_handle_packet).
func (t *Table) resolve(p *packet.Parsed, k *Tuple, s *Settings, now int64, res *Result, restarted bool) {
	shardH, tupleH := t.hashes(k)
	sh := &t.shards[shardH&t.mask]
	sh.mu.Lock()
	i, dir, found := sh.find(k, tupleH)
	if found && sh.at(i).deadline <= now {
		t.destroy(sh, i, sh.at(i).deadline, res)
		sh.stats.Expired++
		found = false
	}
	if !found {
		res.missShard, res.missInserts = sh.num, sh.inserts
		sh.mu.Unlock()
		t.newEntry(p, k, s, now, res)
		return
	}
	e := sh.at(i)
	if e.tuple[DirOriginal] == *k {
		dir = DirOriginal // a tuple equal to its own inverse is original, as in Linux
	}
	sh.stats.Found++
	res.Dir, res.Ref, res.ID = dir, ref(sh, i), e.id
	switch {
	case dir == DirReply || e.status&StatusSeenReply != 0:
		res.State = StateEstablished
	case e.status&StatusExpected != 0:
		res.State = StateRelated
	default:
		res.State = StateNew
	}

	v, timeout, ev, r := t.handle(e, p, dir, s, now)
	res.Reason = r
	switch v {
	case vAccept:
		ev |= t.account(e, p, dir, s, now, timeout)
	case vIgnore:
		// Passed with the entry but neither counted nor refreshed; a
		// reply still marks the entry SEEN_REPLY, since nf_conntrack_in
		// does that for every accepted packet.
		ev |= seenReply(e, dir)
		sh.stats.Ignore++
	case vInvalid:
		if e.tuple[DirOriginal].Proto == packet.ProtoTCP {
			tcpShrinkDeadline(e, now, timeout) // TW-11
		}
		res.State = StateInvalid
		res.Ref, res.ID = Ref{}, 0
		sh.stats.Invalid++
	case vKill:
		// nf_ct_kill_acct counts the packet but leaves the timeout: the
		// DESTROY event shows what was left.
		t.acct(e, p, dir, s)
		t.destroy(sh, i, now, res)
		sh.mu.Unlock()
		return
	case vRepeat:
		// TW-12: a SYN reopening a closed connection kills the old entry
		// and is looked up again, to open a new one.
		t.destroy(sh, i, now, res)
		sh.stats.SearchRestart++
		sh.mu.Unlock()
		if !restarted {
			t.resolve(p, k, s, now, res, true)
		}
		return
	}
	if ev != 0 && v != vInvalid {
		t.event(res, EventTypeUpdate, ev, e, now)
	}
	sh.mu.Unlock()
}

// newEntry handles a packet with no entry: the protocol decides whether it
// may open one (Linux init_conntrack and the protocols' new()), and the
// packet handler runs on the pending entry.
func (t *Table) newEntry(p *packet.Parsed, k *Tuple, s *Settings, now int64, res *Result) {
	reply, ok := k.invert()
	if !ok {
		t.invalid(res, ReasonNoInvert)
		return
	}
	if !t.makeRoom(k, s, now, res) {
		return
	}
	e := &res.pending
	*e = entry{tuple: [2]Tuple{*k, reply}, start: now}
	var r Reason
	switch k.Proto {
	case packet.ProtoTCP:
		r = tcpNew(e, p, s)
	case packet.ProtoICMP, packet.ProtoICMPv6:
		r = icmpNew(k)
	case packet.ProtoSCTP:
		r = sctpNew(e, p, s)
	}
	if r != ReasonNone {
		t.invalid(res, r)
		return
	}
	v, timeout, ev, r := t.handle(e, p, DirOriginal, s, now)
	res.Reason = r
	if v == vInvalid || v == vRepeat {
		res.Reason = r
		t.invalid(res, r)
		return
	}
	ev |= t.account(e, p, DirOriginal, s, now, timeout)
	if v == vKill {
		// Counted and gone at once: it never reaches the table.
		res.State, res.New = StateNew, true
		return
	}
	res.State, res.Dir, res.New, res.hasPending = StateNew, DirOriginal, true, true
	res.pendingMask = ev
}

// Confirm inserts the entry a packet opened (Linux __nf_conntrack_confirm)
// and publishes its NEW event. For a packet of an entry in the table it
// publishes the UPDATE of what the ruleset changed in it (SetMark,
// AddLabels), if anything.
func (t *Table) Confirm(res *Result, now int64) {
	if !res.hasPending {
		if res.cached != 0 {
			t.deliverCached(res, now)
		}
		return
	}
	res.hasPending = false
	e := &res.pending
	shardH, ho := t.hashes(&e.tuple[DirOriginal])
	_, hr := t.hashes(&e.tuple[DirReply])
	sh := &t.shards[shardH&t.mask]
	sh.mu.Lock()
	var j uint32
	var ok bool
	if res.missShard != sh.num || res.missInserts != sh.inserts {
		j, _, ok = sh.find(&e.tuple[DirOriginal], ho)
	}
	switch {
	case ok:
		// Another worker confirmed the same connection first (Linux
		// __nf_ct_resolve_clash): this packet joins that entry, which
		// takes its counts (nf_ct_acct_merge, in the direction of the
		// packet, original for a packet that opened an entry).
		sh.stats.ClashResolve++
		w := sh.at(j)
		c := &w.counters[DirOriginal]
		c.Packets += e.counters[DirOriginal].Packets
		c.Bytes += e.counters[DirOriginal].Bytes
		res.Ref, res.ID = ref(sh, j), w.id
	default:
		if _, _, ok := sh.find(&e.tuple[DirReply], hr); ok {
			sh.stats.InsertFailed++
			res.State, res.Reason, res.Drop = StateInvalid, ReasonTableFull, true
			break
		}
		i := sh.alloc()
		e.id = t.nextID.Add(1)
		e.status |= StatusConfirmed
		t.insertHashed(sh, i, e, ho, hr)
		t.count.Add(1)
		sh.stats.Insert++
		res.Ref, res.ID = ref(sh, i), e.id
		t.event(res, EventTypeNew, EventNew|res.pendingMask, sh.at(i), now)
	}
	sh.mu.Unlock()
	if res.nev > 0 {
		t.flush(res)
	}
}

// account counts the packet and sets the timeout after an accepted packet
// (nf_ct_refresh_acct), and sets SEEN_REPLY on the first reply (as
// nf_conntrack_in does after the protocol handler).
//
// A timeout of -1 means the tracker returned before nf_ct_refresh_acct (a
// retransmitted SYN in SYN_SENT): neither counted nor refreshed.
func (t *Table) account(e *entry, p *packet.Parsed, dir Dir, s *Settings, now, timeout int64) EventMask {
	if timeout >= 0 {
		t.acct(e, p, dir, s)
		if e.status&StatusFixedTimeout == 0 {
			e.deadline = now + timeout
			e.timeout = timeout
		}
	}
	return seenReply(e, dir)
}

// acct adds the packet to the direction's counters (nf_ct_acct_update).
func (t *Table) acct(e *entry, p *packet.Parsed, dir Dir, s *Settings) {
	if s.on(setAcct) {
		c := &e.counters[dir]
		c.Packets++
		c.Bytes += uint64(p.L3Len)
	}
}

// seenReply sets SEEN_REPLY on the first packet in the reply direction.
func seenReply(e *entry, dir Dir) EventMask {
	if dir == DirReply && e.status&StatusSeenReply == 0 {
		e.status |= StatusSeenReply
		return EventReply
	}
	return 0
}

// handle dispatches to the protocol's packet handler.
func (t *Table) handle(e *entry, p *packet.Parsed, dir Dir, s *Settings, now int64) (verdict, int64, EventMask, Reason) {
	switch e.tuple[DirOriginal].Proto {
	case packet.ProtoTCP:
		return tcpPacket(e, p, dir, s)
	case packet.ProtoUDP:
		v, to, ev := udpPacket(e, s, now)
		return v, to, ev, ReasonNone
	case packet.ProtoUDPLite:
		v, to, ev := udplitePacket(e, s)
		return v, to, ev, ReasonNone
	case packet.ProtoICMP:
		return vAccept, s.timeout(setICMP), 0, ReasonNone
	case packet.ProtoICMPv6:
		return vAccept, s.timeout(setICMPv6), 0, ReasonNone
	case packet.ProtoGRE:
		v, to, ev := grePacket(e, s)
		return v, to, ev, ReasonNone
	case packet.ProtoSCTP:
		return sctpPacket(e, p, dir, s)
	}
	return vAccept, s.timeout(setGeneric), 0, ReasonNone
}

// destroy removes entry i of sh, which must be locked, and queues its
// DESTROY event; stop is the time it ended.
func (t *Table) destroy(sh *shard, i uint32, stop int64, res *Result) {
	e := sh.at(i)
	e.status |= StatusDying
	t.event(res, EventTypeDestroy, EventDestroy, e, stop)
	t.release(sh, i)
	t.count.Add(-1)
}

// event queues an event for publication after the shard lock is released.
func (t *Table) event(res *Result, typ EventType, mask EventMask, e *entry, now int64) {
	if t.events == nil || !t.settings.Load().on(setEvents) || res.nev == len(res.events) {
		return
	}
	ev := &res.events[res.nev]
	ev.Type, ev.Mask, ev.Time = typ, mask, now
	e.snapshot(&ev.Entry)
	if typ == EventTypeDestroy {
		ev.Entry.Stop = now
	}
	res.nev++
}

// flush publishes the queued events.
func (t *Table) flush(res *Result) {
	for i := 0; i < res.nev; i++ {
		t.events.publish(&res.events[i])
	}
	res.nev = 0
}

// Untrack records that a packet is exempt from tracking, as an nft notrack
// statement makes it (Linux IP_CT_UNTRACKED: ct state untracked), and counts
// it in Stats.Untracked. Call it instead of Track.
func (t *Table) Untrack(res *Result) {
	res.reset()
	res.State = StateUntracked
	t.countUntracked()
}
