package conntrack

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/hare-fw/hare/packet"
)

// Saving and restoring the table, so that a restarted or upgraded daemon
// keeps every connection (issue 5: "entries keep their state, counters and
// remaining timeouts"). Linux has no counterpart inside the kernel; the
// nearest is conntrackd, which copies entries between firewalls and, like
// this, carries each entry's remaining timeout rather than its absolute
// expiry, because the two clocks differ.
//
// The file is, in little-endian byte order:
//
//	magic     8 bytes  "HARE-CT\x00"
//	version   uint32   stateVersion
//	recSize   uint32   bytes per entry record (stateRecSize)
//	savedAt   int64    the table clock when it was saved (ns)
//	nextID    uint32   the id the table would have given next, minus one
//	reserved  uint32   zero
//	count     uint64   entry records that follow
//	records   count × recSize bytes, one per entry (encodeEntry)
//	crc       uint32   CRC-32C (Castagnoli) of everything before it
//
// Restore validates the whole file (version, length, checksum, every field
// of every record) before it inserts anything, so a file is loaded entirely
// or not at all. A record is fixed-size and holds every field of an entry,
// the TCP window tracking and the SCTP verification tags included: a
// restored entry decides its next packet exactly as the saved one would
// have. A change to the entry struct changes the record, and with it
// stateVersion (persist_internal_test.go fails until both are updated).

const (
	stateMagic   = "HARE-CT\x00"
	stateVersion = 1
	stateHdrSize = 8 + 4 + 4 + 8 + 4 + 4 + 8
	tupleRecSize = 16 + 16 + 2 + 2 + 1 + 1 + 2
	tcpDirSize   = 4 + 4 + 4 + 4 + 1 + 1
	stateRecSize = 2*tupleRecSize + 4 + 4 + 4 + 8 + 8 + 8 + 2*16 + 2*8 +
		2*tcpDirSize + 1 + 1 + 1 + 1 + 4 + 4 + 4 + 2 + 1 + 1 +
		1 + 1 + 1 + 2 + 2*4
	// maxStateEntries bounds the count a header may claim (settings' max
	// is at most 1<<31), so the length computation cannot overflow.
	maxStateEntries = 1 << 32
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// RestoreStats says what Restore did with the entries of a state file.
type RestoreStats struct {
	SavedAt int64 // the saving table's clock when it saved (ns)
	Loaded  int   // entries inserted
	Expired int   // entries whose remaining time was zero or less when saved: skipped
	Present int   // entries whose tuple the table already had (a connection that reopened meanwhile): skipped, the table's kept
}

// Save writes every entry of the table to w in the state file format and
// returns how many it wrote. now is the table clock: each entry's deadline
// is stored as the time it had left then. Entries past their deadline but
// not yet reaped are written too (Restore skips and counts them).
//
// Save copies one shard at a time under that shard's lock, as Range does:
// entries that come or go meanwhile may or may not be saved. For a
// consistent file, stop the packet workers first (the daemon drains them).
func (t *Table) Save(w io.Writer, now int64) (int, error) {
	ents := make([]entry, 0, t.Len())
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for j := range s.nslots {
			if s.live(j) {
				ents = append(ents, *s.at(j))
			}
		}
		s.mu.Unlock()
	}
	crc := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 64<<10)
	var hdr [stateHdrSize]byte
	copy(hdr[:8], stateMagic)
	le := binary.LittleEndian
	le.PutUint32(hdr[8:], stateVersion)
	le.PutUint32(hdr[12:], stateRecSize)
	le.PutUint64(hdr[16:], uint64(now))
	le.PutUint32(hdr[24:], t.nextID.Load())
	le.PutUint64(hdr[32:], uint64(len(ents)))
	bw.Write(hdr[:])
	var rec [stateRecSize]byte
	for k := range ents {
		encodeEntry(rec[:], &ents[k], now)
		bw.Write(rec[:])
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	var sum [4]byte
	le.PutUint32(sum[:], crc.Sum32())
	if _, err := w.Write(sum[:]); err != nil {
		return 0, err
	}
	return len(ents), nil
}

// Restore reads a state file that Save wrote and inserts its entries into
// the table. now is the table clock of this process: an entry that had d
// nanoseconds left when saved expires at now+d, so the time the daemon was
// down does not count against it. Start and every other field keep their
// saved values (the daemon's clock is anchored to the wall clock, so Start
// still says when the connection began; the one rule that reads it, UDP's
// 2-second stream delay, therefore counts the downtime as time passed).
// Entry ids are kept, and ids given later follow the saved table's.
//
// The whole file is checked before anything is inserted: a file that is
// truncated, of another version, fails its checksum or holds an impossible
// entry is refused with an error saying what and where, and the table is
// left as it was. So is a file with more live entries than the table's max
// leaves room for. Entries with no time left, and entries whose tuple the
// table already holds, are skipped and counted.
//
// Restore does not publish events. Call it before the packet workers start.
func (t *Table) Restore(r io.Reader, now int64) (RestoreStats, error) {
	var st RestoreStats
	var hdr [stateHdrSize]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return st, fmt.Errorf("truncated: %d bytes, shorter than the %d-byte header", n, stateHdrSize)
		}
		return st, err
	}
	if string(hdr[:8]) != stateMagic {
		return st, fmt.Errorf("not a hare conntrack state file (magic %q)", hdr[:8])
	}
	le := binary.LittleEndian
	if v := le.Uint32(hdr[8:]); v != stateVersion {
		return st, fmt.Errorf("version %d, this hare reads version %d", v, stateVersion)
	}
	if rs := le.Uint32(hdr[12:]); rs != stateRecSize {
		return st, fmt.Errorf("records of %d bytes, version %d has %d", rs, stateVersion, stateRecSize)
	}
	st.SavedAt = int64(le.Uint64(hdr[16:]))
	nextID := le.Uint32(hdr[24:])
	if x := le.Uint32(hdr[28:]); x != 0 {
		return st, fmt.Errorf("reserved header field at offset 28 is %#x, not 0", x)
	}
	count := le.Uint64(hdr[32:])
	if count > maxStateEntries {
		return st, fmt.Errorf("header claims %d entries, more than any table holds", count)
	}
	want := int64(count)*stateRecSize + 4
	body, err := io.ReadAll(io.LimitReader(r, want+1))
	if err != nil {
		return st, err
	}
	switch {
	case int64(len(body)) < want:
		return st, fmt.Errorf("truncated: %d bytes, %d entries need %d", stateHdrSize+len(body), count, stateHdrSize+want)
	case int64(len(body)) > want:
		return st, fmt.Errorf("trailing data after the %d entries and checksum at offset %d", count, stateHdrSize+want)
	}
	crc := crc32.Update(crc32.Checksum(hdr[:], crcTable), crcTable, body[:want-4])
	if stored := le.Uint32(body[want-4:]); stored != crc {
		return st, fmt.Errorf("checksum mismatch at offset %d: stored %08x, content gives %08x", stateHdrSize+want-4, stored, crc)
	}

	ents := make([]entry, 0, count)
	seen := make(map[Tuple]int, 2*count)
	for k := range int(count) {
		off := stateHdrSize + k*stateRecSize
		var e entry
		left, err := decodeEntry(body[k*stateRecSize:(k+1)*stateRecSize], &e)
		if err != nil {
			return RestoreStats{}, fmt.Errorf("entry %d at offset %d: %v", k, off, err)
		}
		for d, tu := range e.tuple {
			if j, dup := seen[tu]; dup {
				return RestoreStats{}, fmt.Errorf("entry %d at offset %d: its %v tuple is also entry %d's", k, off, Dir(d), j)
			}
			seen[tu] = k
		}
		if left <= 0 {
			st.Expired++
			continue
		}
		if now > math.MaxInt64-left {
			return RestoreStats{}, fmt.Errorf("entry %d at offset %d: %d ns left overflows the clock", k, off, left)
		}
		e.deadline = now + left
		ents = append(ents, e)
	}
	if m := t.Settings().get(setMax); m != 0 && t.count.Load()+int64(len(ents)) > m {
		return RestoreStats{}, fmt.Errorf("%d live entries do not fit: the table holds %d of at most %d (max)", len(ents), t.count.Load(), m)
	}

	for k := range ents {
		if t.restoreOne(&ents[k]) {
			st.Loaded++
		} else {
			st.Present++
		}
	}
	for {
		cur := t.nextID.Load()
		if cur >= nextID || t.nextID.CompareAndSwap(cur, nextID) {
			break
		}
	}
	return st, nil
}

// restoreOne inserts e unless the table already has one of its tuples.
func (t *Table) restoreOne(e *entry) bool {
	shardH, ho := t.hashes(&e.tuple[DirOriginal])
	_, hr := t.hashes(&e.tuple[DirReply])
	sh := &t.shards[shardH&t.mask]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, _, ok := sh.find(&e.tuple[DirOriginal], ho); ok {
		return false
	}
	if _, _, ok := sh.find(&e.tuple[DirReply], hr); ok {
		return false
	}
	t.insertHashed(sh, sh.alloc(), e, ho, hr)
	t.count.Add(1)
	return true
}

// encodeEntry writes e into b (stateRecSize bytes), its deadline as the
// time left at now.
func encodeEntry(b []byte, e *entry, now int64) {
	w := recWriter{b: b}
	w.tuple(&e.tuple[0])
	w.tuple(&e.tuple[1])
	w.u32(e.id)
	w.u32(uint32(e.status))
	w.u32(e.mark)
	w.u64(uint64(e.start))
	w.u64(uint64(e.deadline - now))
	w.u64(uint64(e.timeout))
	for d := range e.counters {
		w.u64(e.counters[d].Packets)
		w.u64(e.counters[d].Bytes)
	}
	w.u64(e.labels[0])
	w.u64(e.labels[1])
	tc := &e.tcp
	for d := range tc.seen {
		s := &tc.seen[d]
		w.u32(s.end)
		w.u32(s.maxEnd)
		w.u32(s.maxWin)
		w.u32(s.maxAck)
		w.u8(s.scale)
		w.u8(s.flags)
	}
	w.u8(uint8(tc.state))
	w.u8(uint8(tc.lastDir))
	w.u8(tc.retrans)
	w.u8(tc.lastIndex)
	w.u32(tc.lastSeq)
	w.u32(tc.lastAck)
	w.u32(tc.lastEnd)
	w.u16(tc.lastWin)
	w.u8(tc.lastWScale)
	w.u8(tc.lastFlags)
	sc := &e.proto.sctp
	w.u8(sc.state)
	w.u8(sc.flags)
	w.u8(uint8(sc.lastDir))
	w.bool(sc.init[0])
	w.bool(sc.init[1])
	w.u32(sc.vtag[0])
	w.u32(sc.vtag[1])
}

// decodeEntry reads a record into e, all but its deadline, checks that it
// is an entry the table could hold, and returns the time it had left.
func decodeEntry(b []byte, e *entry) (left int64, err error) {
	r := recReader{b: b}
	r.tuple(&e.tuple[0])
	r.tuple(&e.tuple[1])
	e.id = r.u32()
	e.status = Status(r.u32())
	e.mark = r.u32()
	e.start = int64(r.u64())
	left = int64(r.u64())
	e.timeout = int64(r.u64())
	for d := range e.counters {
		e.counters[d].Packets = r.u64()
		e.counters[d].Bytes = r.u64()
	}
	e.labels[0] = r.u64()
	e.labels[1] = r.u64()
	tc := &e.tcp
	for d := range tc.seen {
		s := &tc.seen[d]
		s.end = r.u32()
		s.maxEnd = r.u32()
		s.maxWin = r.u32()
		s.maxAck = r.u32()
		s.scale = r.u8()
		s.flags = r.u8()
	}
	tc.state = TCPState(r.u8())
	tc.lastDir = Dir(r.u8())
	tc.retrans = r.u8()
	tc.lastIndex = r.u8()
	tc.lastSeq = r.u32()
	tc.lastAck = r.u32()
	tc.lastEnd = r.u32()
	tc.lastWin = r.u16()
	tc.lastWScale = r.u8()
	tc.lastFlags = r.u8()
	sc := &e.proto.sctp
	sc.state = r.u8()
	sc.flags = r.u8()
	sc.lastDir = Dir(r.u8())
	sc.init[0] = r.bool()
	sc.init[1] = r.bool()
	sc.vtag[0] = r.u32()
	sc.vtag[1] = r.u32()
	if r.bad != "" {
		return 0, errors.New(r.bad)
	}
	return left, validEntry(e)
}

// validEntry checks what the table relies on: well-formed tuples whose
// reply is the inverse of the original (so both index keys find the entry),
// a confirmed, not dying entry, and protocol states within their tables.
func validEntry(e *entry) error {
	o, rp := &e.tuple[DirOriginal], &e.tuple[DirReply]
	for d, tu := range []*Tuple{o, rp} {
		switch tu.Family {
		case 4:
			var zero [12]byte
			if [12]byte(tu.Src[4:]) != zero || [12]byte(tu.Dst[4:]) != zero {
				return fmt.Errorf("%v tuple: IPv4 address with bytes beyond the fourth", Dir(d))
			}
		case 6:
		default:
			return fmt.Errorf("%v tuple: family %d", Dir(d), tu.Family)
		}
	}
	inv, ok := o.invert()
	if !ok || inv != *rp {
		return errors.New("the reply tuple is not the inverse of the original")
	}
	switch {
	case e.status&StatusConfirmed == 0:
		return fmt.Errorf("status %#x lacks CONFIRMED", uint32(e.status))
	case e.status&StatusDying != 0:
		return fmt.Errorf("status %#x has DYING", uint32(e.status))
	case e.status>>16 != 0:
		return fmt.Errorf("status %#x has unknown bits", uint32(e.status))
	case e.timeout < 0:
		return fmt.Errorf("negative timeout %d", e.timeout)
	case e.tcp.state >= tcpMax:
		return fmt.Errorf("tcp state %d", e.tcp.state)
	case e.tcp.lastIndex > uint8(tcpNoneSet):
		return fmt.Errorf("tcp flag class %d", e.tcp.lastIndex)
	case e.tcp.lastDir > DirReply || e.proto.sctp.lastDir > DirReply:
		return errors.New("direction other than original or reply")
	case e.tcp.seen[0].scale > tcpMaxWScale || e.tcp.seen[1].scale > tcpMaxWScale || e.tcp.lastWScale > tcpMaxWScale:
		return errors.New("tcp window scale above 14")
	case SCTPState(e.proto.sctp.state) >= sctpMax:
		return fmt.Errorf("sctp state %d", e.proto.sctp.state)
	}
	return nil
}

// recWriter and recReader walk a record, little-endian.
type recWriter struct {
	b []byte
	n int
}

func (w *recWriter) u8(v uint8) { w.b[w.n] = v; w.n++ }
func (w *recWriter) bool(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}
func (w *recWriter) u16(v uint16) { binary.LittleEndian.PutUint16(w.b[w.n:], v); w.n += 2 }
func (w *recWriter) u32(v uint32) { binary.LittleEndian.PutUint32(w.b[w.n:], v); w.n += 4 }
func (w *recWriter) u64(v uint64) { binary.LittleEndian.PutUint64(w.b[w.n:], v); w.n += 8 }
func (w *recWriter) tuple(t *Tuple) {
	w.n += copy(w.b[w.n:], t.Src[:])
	w.n += copy(w.b[w.n:], t.Dst[:])
	w.u16(t.SrcPort)
	w.u16(t.DstPort)
	w.u8(uint8(t.Proto))
	w.u8(t.Family)
	w.u16(t.Zone)
}

type recReader struct {
	b   []byte
	n   int
	bad string // the first malformed field
}

func (r *recReader) u8() uint8 { v := r.b[r.n]; r.n++; return v }
func (r *recReader) bool() bool {
	off := r.n
	switch r.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	if r.bad == "" {
		r.bad = fmt.Sprintf("byte %d of the record is a flag but neither 0 nor 1", off)
	}
	return false
}
func (r *recReader) u16() uint16 { v := binary.LittleEndian.Uint16(r.b[r.n:]); r.n += 2; return v }
func (r *recReader) u32() uint32 { v := binary.LittleEndian.Uint32(r.b[r.n:]); r.n += 4; return v }
func (r *recReader) u64() uint64 { v := binary.LittleEndian.Uint64(r.b[r.n:]); r.n += 8; return v }
func (r *recReader) tuple(t *Tuple) {
	r.n += copy(t.Src[:], r.b[r.n:r.n+16])
	r.n += copy(t.Dst[:], r.b[r.n:r.n+16])
	t.SrcPort = r.u16()
	t.DstPort = r.u16()
	t.Proto = packet.IPProto(r.u8())
	t.Family = r.u8()
	t.Zone = r.u16()
}
