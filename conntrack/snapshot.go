package conntrack

// Entry is a copy of one connection, as conntrack -L shows it. Getting one
// copies the entry under its shard's lock; the copy does not change
// afterwards.
type Entry struct {
	ID       uint32
	Orig     Tuple // the original direction's tuple
	Reply    Tuple // the reply direction's tuple
	Status   Status
	Mark     uint32
	Labels   [2]uint64
	Counters [2]Counters // indexed by Dir
	Start    int64       // ns, table clock
	Stop     int64       // ns, table clock: when it was destroyed (DESTROY events); 0 while alive
	Deadline int64       // ns, table clock: when the entry expires
	Timeout  int64       // ns: the timeout last set (the time left is Deadline - now)

	// Protocol state.
	TCPState  TCPState
	TCPFlags  [2]uint8 // per direction, Linux IP_CT_TCP_FLAG_* (WINDOW_SCALE 0x01, SACK_PERM 0x02, CLOSE_INIT 0x04, BE_LIBERAL 0x08…)
	TCPWScale [2]uint8 // per direction
	SCTPState SCTPState
}

// Zone returns the entry's conntrack zone.
func (e *Entry) Zone() uint16 { return e.Orig.Zone }

// Proto returns the layer-4 protocol.
func (e *Entry) Proto() uint8 { return uint8(e.Orig.Proto) }

func (e *entry) snapshot(out *Entry) {
	*out = Entry{
		ID:        e.id,
		Orig:      e.tuple[DirOriginal],
		Reply:     e.tuple[DirReply],
		Status:    e.status,
		Mark:      e.mark,
		Labels:    e.labels,
		Counters:  e.counters,
		Start:     e.start,
		Deadline:  e.deadline,
		Timeout:   e.timeout,
		TCPState:  e.tcp.state,
		TCPFlags:  [2]uint8{e.tcp.seen[0].flags, e.tcp.seen[1].flags},
		TCPWScale: [2]uint8{e.tcp.seen[0].scale, e.tcp.seen[1].scale},
		SCTPState: SCTPState(e.proto.sctp.state),
	}
}

// Stats are the table's statistics, the counters conntrack -S prints
// (Linux struct ip_conntrack_stat), plus hare's own.
type Stats struct {
	Found         uint64 // lookups that found an entry
	Invalid       uint64 // packets found invalid
	Ignore        uint64 // packets passed without state change (TCP ignore) or untracked
	Insert        uint64 // entries confirmed
	InsertFailed  uint64 // confirmations refused: the reply tuple belongs to another entry
	ClashResolve  uint64 // confirmations that lost a race to an equal entry and joined it
	Drop          uint64 // packets dropped because the table was full and nothing could be evicted
	EarlyDrop     uint64 // entries evicted to make room (Linux early_drop)
	Error         uint64 // ICMP errors matching nothing, and other errors
	SearchRestart uint64 // lookups redone after a TCP reopen (NF_REPEAT)
	Expired       uint64 // entries removed by timeout
	Related       uint64 // ICMP errors matched to an entry
	Untracked     uint64 // packets exempt from tracking (ND, MLD, notrack)
	New           uint64 // packets in state new
	Established   uint64 // packets in state established
}

func (s *Stats) add(o *Stats) {
	s.Found += o.Found
	s.Invalid += o.Invalid
	s.Ignore += o.Ignore
	s.Insert += o.Insert
	s.InsertFailed += o.InsertFailed
	s.ClashResolve += o.ClashResolve
	s.Drop += o.Drop
	s.EarlyDrop += o.EarlyDrop
	s.Error += o.Error
	s.SearchRestart += o.SearchRestart
	s.Expired += o.Expired
	s.Related += o.Related
	s.Untracked += o.Untracked
	s.New += o.New
	s.Established += o.Established
}

// Stats returns the table's counters, summed over its shards.
func (t *Table) Stats() Stats {
	var st Stats
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		st.add(&s.stats)
		s.mu.Unlock()
	}
	st.Invalid += t.invalidN.Load()
	st.Untracked += t.untrackedN.Load()
	return st
}

// Get copies the entry r refers to into out and reports whether it is
// still there.
func (t *Table) Get(r Ref, out *Entry) bool {
	if !r.valid || int(r.shard) >= len(t.shards) {
		return false
	}
	s := &t.shards[r.shard]
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.slot >= s.nslots || !s.live(r.slot) || s.at(r.slot).gen != r.gen {
		return false
	}
	s.at(r.slot).snapshot(out)
	return true
}

// Lookup copies the entry with tuple k (either direction) into out.
func (t *Table) Lookup(k Tuple, out *Entry) (Dir, bool) {
	s := t.shardOf(&k)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, dir, ok := t.lookup(s, &k)
	if !ok {
		return 0, false
	}
	e := s.at(i)
	e.snapshot(out)
	if e.tuple[DirOriginal] == k {
		dir = DirOriginal
	}
	return dir, true
}

// Range calls f with a copy of every entry until f returns false. Entries
// added or removed meanwhile may or may not be seen. It holds one shard's
// lock at a time, while it copies that shard's entries.
func (t *Table) Range(f func(*Entry) bool) {
	var buf []Entry
	for i := range t.shards {
		s := &t.shards[i]
		buf = buf[:0]
		s.mu.Lock()
		for j := range s.nslots {
			if s.live(j) {
				var e Entry
				s.at(j).snapshot(&e)
				buf = append(buf, e)
			}
		}
		s.mu.Unlock()
		for k := range buf {
			if !f(&buf[k]) {
				return
			}
		}
	}
}
