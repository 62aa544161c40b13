package conntrack_test

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// The SCTP tracker's tests drive packets through Table.Process and read the
// entries back, so they see what conntrack -L would. Each names the Linux
// function of nf_conntrack_proto_sctp.c (6.x) whose behaviour it pins.

// The two ends' initiate tags: the client's INIT announces sctpCliTag, which
// the server then puts in every packet it sends (the reply direction's
// tag); the server's INIT_ACK announces sctpSrvTag for the client's packets.
const (
	sctpCliTag = 0x11111111
	sctpSrvTag = 0x22222222
)

// Chunk builders (RFC 9260 §3.3); conntrack reads little past the chunk
// header, so the values are minimal but well formed.

func sctpInit(tag uint32) []byte { return packettest.SCTPInit(tag, 65535, 10, 10, 1) }

func sctpInitAck(tag uint32) []byte {
	c := packettest.SCTPInit(tag, 65535, 10, 10, 1000)
	c[0] = 2 // INIT_ACK has INIT's layout (§3.3.3)
	return c
}

func sctpData(tsn uint32) []byte { return packettest.SCTPData(tsn, 0, 0, 0, []byte("data")) }

func sctpSack(cumTSN uint32) []byte {
	v := binary.BigEndian.AppendUint32(nil, cumTSN)
	v = binary.BigEndian.AppendUint32(v, 65535) // a_rwnd, no gap blocks, no duplicates
	return packettest.SCTPChunk(3, 0, append(v, 0, 0, 0, 0))
}

func sctpHeartbeat(typ uint8) []byte {
	// Heartbeat Info parameter (type 1) holding 4 bytes of sender data.
	return packettest.SCTPChunk(typ, 0, []byte{0, 1, 0, 8, 't', 'i', 'm', 'e'})
}

func sctpCookieEcho() []byte { return packettest.SCTPChunk(10, 0, []byte("a state cookie")) }
func sctpCookieAck() []byte  { return packettest.SCTPChunk(11, 0, nil) }
func sctpShutdown(tsn uint32) []byte {
	return packettest.SCTPChunk(7, 0, binary.BigEndian.AppendUint32(nil, tsn))
}
func sctpShutdownAck() []byte { return packettest.SCTPChunk(8, 0, nil) }
func sctpErrorChunk() []byte  { return packettest.SCTPChunk(9, 0, []byte{0, 6, 0, 4}) } // cause: out of resource
func sctpAbort(t bool) []byte { return packettest.SCTPChunk(6, sctpTBit(t), nil) }
func sctpShutdownComplete(t bool) []byte {
	return packettest.SCTPChunk(14, sctpTBit(t), nil)
}

func sctpTBit(t bool) uint8 {
	if t {
		return 1
	}
	return 0
}

// sctpAssoc drives one association between a client (the original
// direction) and a server through a table.
type sctpAssoc struct {
	tb           testing.TB
	tr           *tracker
	cli, srv     netip.Addr
	cport, sport uint16
	now          int64
}

func newSCTPAssoc(tb testing.TB, s *conntrack.Settings, cli, srv netip.Addr) *sctpAssoc {
	return &sctpAssoc{tb: tb, tr: newTracker(tb, s), cli: cli, srv: srv, cport: 40000, sport: 2905, now: 1000 * sec}
}

// on returns an association on another port pair of the same table.
func (a *sctpAssoc) on(cport uint16) *sctpAssoc {
	b := *a
	b.cport = cport
	return &b
}

// datagram builds an IP datagram carrying chunks with tag vtag from the
// client (DirOriginal) or the server (DirReply).
func (a *sctpAssoc) datagram(dir conntrack.Dir, vtag uint32, chunks ...[]byte) []byte {
	src, dst, sp, dp := a.cli, a.srv, a.cport, a.sport
	if dir == conntrack.DirReply {
		src, dst, sp, dp = dst, src, dp, sp
	}
	return ip(src, dst, 132, packettest.SCTP(sp, dp, vtag, chunks...))
}

// send runs chunks with tag vtag through conntrack in direction dir.
func (a *sctpAssoc) send(dir conntrack.Dir, vtag uint32, chunks ...[]byte) *conntrack.Result {
	return a.raw(a.datagram(dir, vtag, chunks...))
}

// raw runs a datagram through conntrack whatever the decoder thinks of it.
func (a *sctpAssoc) raw(dgram []byte) *conntrack.Result {
	a.tr.p.DecodeIP(dgram)
	a.tr.t.Process(&a.tr.p, 0, a.now, &a.tr.res)
	return &a.tr.res
}

func (a *sctpAssoc) key() conntrack.Tuple {
	return conntrack.TupleFrom(a.cli, a.srv, packet.ProtoSCTP, a.cport, a.sport)
}

func (a *sctpAssoc) lookup() (conntrack.Entry, bool) {
	var e conntrack.Entry
	_, ok := a.tr.t.Lookup(a.key(), &e)
	return e, ok
}

// state returns the entry's SCTP state, or SCTPNone when there is none.
func (a *sctpAssoc) state() conntrack.SCTPState {
	e, _ := a.lookup()
	return conntrack.SCTPState(e.SCTPState)
}

// must sends a packet that conntrack must accept and checks the packet's
// ct state and direction, and the entry's SCTP state and timeout after it.
func (a *sctpAssoc) must(step string, dir conntrack.Dir, vtag uint32, ct conntrack.State, st conntrack.SCTPState, timeout int64, chunks ...[]byte) conntrack.Entry {
	a.tb.Helper()
	r := a.send(dir, vtag, chunks...)
	if r.State != ct || r.Dir != dir {
		a.tb.Fatalf("%s: ct %v/%v (reason %q), want %v/%v", step, r.State, r.Dir, r.Reason, ct, dir)
	}
	e, ok := a.lookup()
	if !ok {
		a.tb.Fatalf("%s: no entry", step)
	}
	if got := conntrack.SCTPState(e.SCTPState); got != st || e.Timeout != timeout || e.Deadline != a.now+timeout {
		a.tb.Fatalf("%s: state %v timeout %ds deadline %+dns, want %v %ds", step, got, e.Timeout/sec, e.Deadline-a.now, st, timeout/sec)
	}
	return e
}

// refuse sends a packet that conntrack must find invalid for reason r, and
// checks that the entry (if any) did not change.
func (a *sctpAssoc) refuse(step string, r conntrack.Reason, dir conntrack.Dir, vtag uint32, chunks ...[]byte) {
	a.tb.Helper()
	before, had := a.lookup()
	res := a.send(dir, vtag, chunks...)
	if res.State != conntrack.StateInvalid || res.Reason != r {
		a.tb.Fatalf("%s: ct %v reason %q, want invalid %q", step, res.State, res.Reason, r)
	}
	after, has := a.lookup()
	if had != has || before != after {
		a.tb.Fatalf("%s: the entry changed:\n before %+v\n after  %+v", step, before, after)
	}
}

// open runs the four-way handshake (RFC 9260 §5.1) to ESTABLISHED.
func (a *sctpAssoc) open() {
	a.tb.Helper()
	a.must("INIT", conntrack.DirOriginal, 0, conntrack.StateNew, conntrack.SCTPClosed, 10*sec, sctpInit(sctpCliTag))
	a.must("INIT_ACK", conntrack.DirReply, sctpCliTag, conntrack.StateEstablished, conntrack.SCTPCookieWait, 3*sec, sctpInitAck(sctpSrvTag))
	a.must("COOKIE_ECHO", conntrack.DirOriginal, sctpSrvTag, conntrack.StateEstablished, conntrack.SCTPCookieEchoed, 3*sec, sctpCookieEcho())
	a.must("COOKIE_ACK", conntrack.DirReply, sctpCliTag, conntrack.StateEstablished, conntrack.SCTPEstablished, 210*sec, sctpCookieAck())
}

// TestSCTPAssociation follows a whole association, both families, through
// nf_conntrack_sctp_packet: the handshake with DATA bundled behind the
// COOKIE_ECHO and a SACK behind the COOKIE_ACK, data both ways, the
// graceful shutdown, and expiry of the CLOSED entry. At every step: the ct
// state, the SCTP state, the timeout of that state (LT-18: 10/3/3/210/3/3/3
// s), ASSURED from the COOKIE_ACK on, and an UPDATE event with PROTOINFO
// exactly when the state changed.
func TestSCTPAssociation(t *testing.T) {
	for _, fam := range []struct {
		name     string
		cli, srv netip.Addr
	}{{"ipv4", cli4, srv4}, {"ipv6", cli6, srv6}} {
		t.Run(fam.name, func(t *testing.T) {
			a := newSCTPAssoc(t, nil, fam.cli, fam.srv)
			O, R := conntrack.DirOriginal, conntrack.DirReply
			steps := []struct {
				name    string
				dir     conntrack.Dir
				vtag    uint32
				chunks  [][]byte
				ct      conntrack.State
				st      conntrack.SCTPState
				timeout int64
				assured bool
			}{
				{"INIT", O, 0, [][]byte{sctpInit(sctpCliTag)}, conntrack.StateNew, conntrack.SCTPClosed, 10 * sec, false},
				{"INIT_ACK", R, sctpCliTag, [][]byte{sctpInitAck(sctpSrvTag)}, conntrack.StateEstablished, conntrack.SCTPCookieWait, 3 * sec, false},
				{"COOKIE_ECHO+DATA", O, sctpSrvTag, [][]byte{sctpCookieEcho(), sctpData(1)}, conntrack.StateEstablished, conntrack.SCTPCookieEchoed, 3 * sec, false},
				{"COOKIE_ACK+SACK", R, sctpCliTag, [][]byte{sctpCookieAck(), sctpSack(1)}, conntrack.StateEstablished, conntrack.SCTPEstablished, 210 * sec, true},
				{"DATA", O, sctpSrvTag, [][]byte{sctpData(2)}, conntrack.StateEstablished, conntrack.SCTPEstablished, 210 * sec, true},
				{"SACK+DATA", R, sctpCliTag, [][]byte{sctpSack(2), sctpData(1000)}, conntrack.StateEstablished, conntrack.SCTPEstablished, 210 * sec, true},
				{"SHUTDOWN", O, sctpSrvTag, [][]byte{sctpShutdown(1000)}, conntrack.StateEstablished, conntrack.SCTPShutdownSent, 3 * sec, true},
				{"SHUTDOWN_ACK", R, sctpCliTag, [][]byte{sctpShutdownAck()}, conntrack.StateEstablished, conntrack.SCTPShutdownAckSent, 3 * sec, true},
				{"SHUTDOWN_COMPLETE", O, sctpSrvTag, [][]byte{sctpShutdownComplete(false)}, conntrack.StateEstablished, conntrack.SCTPClosed, 10 * sec, true},
			}
			prev := conntrack.SCTPNone
			var packets [2]uint64
			for i, s := range steps {
				a.now += sec / 10
				e := a.must(s.name, s.dir, s.vtag, s.ct, s.st, s.timeout, s.chunks...)
				if e.Status.Has(conntrack.StatusAssured) != s.assured {
					t.Fatalf("%s: status %v, want ASSURED %v", s.name, e.Status, s.assured)
				}
				packets[s.dir]++
				if e.Counters[0].Packets != packets[0] || e.Counters[1].Packets != packets[1] {
					t.Fatalf("%s: counters %+v, want %v packets", s.name, e.Counters, packets)
				}
				evs := a.tr.events()
				changed := s.st != prev
				switch {
				case i == 0:
					if len(evs) != 1 || evs[0].Type != conntrack.EventTypeNew || conntrack.SCTPState(evs[0].Entry.SCTPState) != s.st {
						t.Fatalf("%s: events %+v, want NEW(%v)", s.name, evs, s.st)
					}
				case changed:
					if len(evs) != 1 || evs[0].Type != conntrack.EventTypeUpdate || evs[0].Mask&conntrack.EventProtoInfo == 0 ||
						conntrack.SCTPState(evs[0].Entry.SCTPState) != s.st {
						t.Fatalf("%s: events %+v, want UPDATE(%v) with PROTOINFO", s.name, evs, s.st)
					}
					if got := evs[0].Mask&conntrack.EventAssured != 0; got != (s.st == conntrack.SCTPEstablished) {
						t.Fatalf("%s: event mask %#x: ASSURED %v", s.name, evs[0].Mask, got)
					}
				default:
					if len(evs) != 0 {
						t.Fatalf("%s: events %+v, want none", s.name, evs)
					}
				}
				prev = s.st
			}
			if n := a.tr.t.Expire(a.now + 10*sec - 1); n != 0 {
				t.Fatalf("expired %d entries before the CLOSED timeout", n)
			}
			if n := a.tr.t.Expire(a.now + 10*sec); n != 1 || a.tr.t.Len() != 0 {
				t.Fatalf("expired %d, %d left; want the CLOSED entry gone after 10 s", n, a.tr.t.Len())
			}
		})
	}
}

// The state table as Linux 6.x writes it (sctp_conntracks), transcribed
// separately from sctp.go: rows in Linux's order, columns NONE, CLOSED,
// COOKIE_WAIT, COOKIE_ECHOED, ESTABLISHED, SHUTDOWN_SENT, SHUTDOWN_RECD,
// SHUTDOWN_ACK_SENT, HEARTBEAT_SENT; tIV for no transition.
const (
	tNO = conntrack.SCTPNone
	tCL = conntrack.SCTPClosed
	tCW = conntrack.SCTPCookieWait
	tCE = conntrack.SCTPCookieEchoed
	tES = conntrack.SCTPEstablished
	tSS = conntrack.SCTPShutdownSent
	tSR = conntrack.SCTPShutdownRecd
	tSA = conntrack.SCTPShutdownAckSent
	tHS = conntrack.SCTPHeartbeatSent
	tIV = conntrack.SCTPState(0xff)
)

// sctpTableRows are the chunk types of the table's rows, in Linux's order.
var sctpTableRows = []struct {
	name string
	typ  uint8
}{
	{"INIT", 1}, {"INIT_ACK", 2}, {"ABORT", 6}, {"SHUTDOWN", 7}, {"SHUTDOWN_ACK", 8}, {"ERROR", 9},
	{"COOKIE_ECHO", 10}, {"COOKIE_ACK", 11}, {"SHUTDOWN_COMPLETE", 14}, {"HEARTBEAT", 4}, {"HEARTBEAT_ACK", 5},
}

var sctpKernelTable = [2][11][9]conntrack.SCTPState{
	{ // original
		{tCL, tCL, tCW, tCE, tES, tCL, tCL, tSA, tCW},
		{tCL, tCL, tCW, tCE, tES, tSS, tSR, tSA, tCL},
		{tCL, tCL, tCL, tCL, tCL, tCL, tCL, tCL, tCL},
		{tCL, tCL, tCW, tCE, tSS, tSS, tSR, tSA, tCL},
		{tSA, tCL, tCW, tCE, tES, tSA, tSA, tSA, tSA},
		{tCL, tCL, tCW, tCE, tES, tSS, tSR, tSA, tCL},
		{tCL, tCL, tCE, tCE, tES, tSS, tSR, tSA, tCL},
		{tCL, tCL, tCW, tES, tES, tSS, tSR, tSA, tCL},
		{tCL, tCL, tCW, tCE, tES, tSS, tSR, tCL, tCL},
		{tHS, tCL, tCW, tCE, tES, tSS, tSR, tSA, tHS},
		{tCL, tCL, tCW, tCE, tES, tSS, tSR, tSA, tHS},
	},
	{ // reply
		{tIV, tCL, tCW, tCE, tES, tSS, tSR, tSA, tIV},
		{tIV, tCW, tCW, tCE, tES, tSS, tSR, tSA, tIV},
		{tIV, tCL, tCL, tCL, tCL, tCL, tCL, tCL, tIV},
		{tIV, tCL, tCW, tCE, tSR, tSS, tSR, tSA, tIV},
		{tIV, tCL, tCW, tCE, tES, tSA, tSA, tSA, tIV},
		{tIV, tCL, tCW, tCL, tES, tSS, tSR, tSA, tIV},
		{tIV, tCL, tCE, tCE, tES, tSS, tSR, tSA, tIV},
		{tIV, tCL, tCW, tES, tES, tSS, tSR, tSA, tIV},
		{tIV, tCL, tCW, tCE, tES, tSS, tSR, tCL, tIV},
		{tIV, tCL, tCW, tCE, tES, tSS, tSR, tSA, tHS},
		{tIV, tCL, tCW, tCE, tES, tSS, tSR, tSA, tES},
	},
}

// reach brings a fresh association to state st with packets conntrack
// accepts, and returns the tags recorded for each direction.
func (a *sctpAssoc) reach(st conntrack.SCTPState) [2]uint32 {
	a.tb.Helper()
	O, R := conntrack.DirOriginal, conntrack.DirReply
	step := func(dir conntrack.Dir, vtag uint32, c []byte) {
		a.tb.Helper()
		if r := a.send(dir, vtag, c); r.State == conntrack.StateInvalid {
			a.tb.Fatalf("reaching %v: %q", st, r.Reason)
		}
	}
	if st == conntrack.SCTPHeartbeatSent {
		step(O, sctpSrvTag, sctpHeartbeat(4))
		return [2]uint32{sctpSrvTag, 0}
	}
	step(O, 0, sctpInit(sctpCliTag))
	tags := [2]uint32{0, sctpCliTag}
	if st == conntrack.SCTPClosed {
		return tags
	}
	step(R, sctpCliTag, sctpInitAck(sctpSrvTag))
	tags[O] = sctpSrvTag
	if st >= conntrack.SCTPCookieEchoed {
		step(O, sctpSrvTag, sctpCookieEcho())
	}
	if st >= conntrack.SCTPEstablished {
		step(R, sctpCliTag, sctpCookieAck())
	}
	switch st {
	case conntrack.SCTPShutdownSent:
		step(O, sctpSrvTag, sctpShutdown(1))
	case conntrack.SCTPShutdownRecd:
		step(R, sctpCliTag, sctpShutdown(1))
	case conntrack.SCTPShutdownAckSent:
		step(O, sctpSrvTag, sctpShutdown(1))
		step(R, sctpCliTag, sctpShutdownAck())
	}
	if got := a.state(); got != st {
		a.tb.Fatalf("reached %v, want %v", got, st)
	}
	return tags
}

// sctpRowChunk builds the chunk of a table row: an INIT_ACK repeats the tag
// already known for the other side, when there is one, so that only the
// table decides.
func sctpRowChunk(typ uint8, peerTag uint32) []byte {
	switch typ {
	case 1:
		return sctpInit(0x33333333)
	case 2:
		if peerTag == 0 {
			peerTag = 0x44444444
		}
		return sctpInitAck(peerTag)
	case 4, 5:
		return sctpHeartbeat(typ)
	case 6:
		return sctpAbort(false)
	case 7:
		return sctpShutdown(1)
	case 8:
		return sctpShutdownAck()
	case 9:
		return sctpErrorChunk()
	case 10:
		return sctpCookieEcho()
	case 11:
		return sctpCookieAck()
	case 14:
		return sctpShutdownComplete(false)
	}
	panic("no row for this chunk")
}

// TestSCTPStateTable checks every reachable cell of Linux sctp_conntracks
// through Process: an association is brought to the column's state, then a
// packet with the row's chunk (and the tag the §8.5 checks want) is sent in
// the direction, and the state after it must be the kernel's, or the packet
// invalid with the state unchanged. In the NONE column (a packet without an
// entry; only the original direction exists there) ABORT,
// SHUTDOWN_COMPLETE and COOKIE_ACK are refused before the table, as
// nf_conntrack_sctp_packet does for out-of-the-blue packets (RFC 9260 §8.4).
func TestSCTPStateTable(t *testing.T) {
	base := newSCTPAssoc(t, nil, cli4, srv4)
	port := uint16(1000)
	cells := 0
	for d := range 2 {
		dir := conntrack.Dir(d)
		for row, r := range sctpTableRows {
			for col := range 9 {
				cur := conntrack.SCTPState(col)
				if cur == tNO && dir == conntrack.DirReply {
					continue // a packet without an entry is original
				}
				port++
				a := base.on(port)
				want := sctpKernelTable[d][row][col]
				var tags [2]uint32 // NONE: tag 0, which every chunk's checks pass (see TestSCTPNew)
				if cur != tNO {
					tags = a.reach(cur)
				}
				if cur == tNO && (r.typ == 6 || r.typ == 14 || r.typ == 11) {
					want = tIV
				}
				vtag := tags[dir]
				if r.typ == 1 {
					vtag = 0 // an INIT carries 0 (§8.5.1 A)
				}
				res := a.send(dir, vtag, sctpRowChunk(r.typ, tags[dir^1]))
				got := a.state()
				name := fmt.Sprintf("%v %s in %v", dir, r.name, cur)
				switch {
				case want == tIV:
					if res.State != conntrack.StateInvalid || got != cur {
						t.Errorf("%s: ct %v, state %v; want invalid, state kept", name, res.State, got)
					}
				case res.State == conntrack.StateInvalid || got != want:
					t.Errorf("%s: ct %v (%q), state %v; want %v", name, res.State, res.Reason, got, want)
				}
				cells++
			}
		}
	}
	if cells != 2*11*9-11 {
		t.Fatalf("checked %d cells", cells)
	}
}

// TestSCTPStateTimeouts checks the timeout each state sets (Linux
// sctp_timeouts through the nf_conntrack_sctp_timeout_* sysctls): Linux
// 6.18's defaults (requirements LT-18) and the RFC profile (RFC 6092
// REC-40: ESTABLISHED at least 2 h 4 min, the transitory states at least 4
// min).
func TestSCTPStateTimeouts(t *testing.T) {
	states := []conntrack.SCTPState{tCL, tCW, tCE, tES, tSS, tSR, tSA, tHS}
	for _, prof := range []struct {
		name string
		s    *conntrack.Settings
		want []int64
	}{
		{"linux", conntrack.DefaultSettings(), []int64{10, 3, 3, 210, 3, 3, 3, 30}},
		{"rfc", conntrack.RFCSettings(), []int64{240, 240, 240, 7440, 240, 240, 240, 240}},
	} {
		base := newSCTPAssoc(t, prof.s, cli6, srv6)
		for i, st := range states {
			a := base.on(uint16(2000 + i))
			a.reach(st)
			e, _ := a.lookup()
			if e.Timeout != prof.want[i]*sec {
				t.Errorf("%s %v: timeout %v s, want %d", prof.name, st, e.Timeout/sec, prof.want[i])
			}
		}
	}
}

// TestSCTPError covers sctp_error and do_basic_checks, run before any
// lookup: the CRC32c with checksum=1 (and not with 0), and the chunk
// sequences Linux refuses, against the ones it lets through although the
// decoder calls them malformed (Linux walks chunks laxly).
func TestSCTPError(t *testing.T) {
	type tc struct {
		name   string
		sctp   []byte // the SCTP packet; CRC fixed by packettest.SCTP unless noted
		reason conntrack.Reason
	}
	crcBad := packettest.SCTP(1, 2, 0, sctpInit(1))
	crcBad[8] ^= 0xff
	zeroLen := []byte{0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0} // a DATA chunk header with length 0
	tests := []tc{
		{"bad CRC32c", crcBad, conntrack.ReasonBadChecksum},
		{"no chunk", packettest.SCTP(1, 2, 0), conntrack.ReasonSCTPMalformed},
		{"zero chunk length", packettest.SCTP(1, 2, 0, zeroLen[:4]), conntrack.ReasonSCTPMalformed},
		{"zero length after INIT", packettest.SCTP(1, 2, 0, sctpInit(1), zeroLen[:4]), conntrack.ReasonSCTPMalformed},
		{"INIT then DATA", packettest.SCTP(1, 2, 0, sctpInit(1), sctpData(1)), conntrack.ReasonSCTPMalformed},
		{"DATA then INIT", packettest.SCTP(1, 2, 0, sctpData(1), sctpInit(1)), conntrack.ReasonSCTPMalformed},
		{"INIT_ACK then SACK", packettest.SCTP(1, 2, 7, sctpInitAck(1), sctpSack(1)), conntrack.ReasonSCTPMalformed},
		{"SHUTDOWN_COMPLETE then ABORT", packettest.SCTP(1, 2, 7, sctpShutdownComplete(false), sctpAbort(false)), conntrack.ReasonSCTPMalformed},
		{"SACK then SHUTDOWN_COMPLETE", packettest.SCTP(1, 2, 7, sctpSack(1), sctpShutdownComplete(false)), conntrack.ReasonSCTPMalformed},
		{"DATA then COOKIE_ECHO", packettest.SCTP(1, 2, 7, sctpData(1), sctpCookieEcho()), conntrack.ReasonSCTPMalformed},
		{"SACK then COOKIE_ACK", packettest.SCTP(1, 2, 7, sctpSack(1), sctpCookieAck()), conntrack.ReasonSCTPMalformed},
		// Accepted by do_basic_checks. A HEARTBEAT then opens an entry;
		// sctp_new refuses the DATA behind the COOKIE_ECHO, which shows that
		// the packet got that far.
		{"two HEARTBEATs", packettest.SCTP(1, 2, 7, sctpHeartbeat(4), sctpHeartbeat(4)), conntrack.ReasonNone},
		{"COOKIE_ECHO first", packettest.SCTP(1, 2, 0, sctpCookieEcho(), sctpData(1)), conntrack.ReasonSCTPInvalid},
		{"chunk length 2 walks on by 4", packettest.SCTP(1, 2, 7, sctpHeartbeat(4), []byte{4, 0, 0, 2}), conntrack.ReasonNone},
		{"2 trailing bytes", packettest.SCTP(1, 2, 7, sctpHeartbeat(4), []byte{0, 0}), conntrack.ReasonNone},
		{"last chunk past the end", packettest.SCTP(1, 2, 7, sctpHeartbeat(4), []byte{4, 0, 0, 40}), conntrack.ReasonNone},
	}
	for _, csum := range []string{"1", "0"} {
		for _, tt := range tests {
			t.Run(tt.name+"/checksum="+csum, func(t *testing.T) {
				s := conntrack.DefaultSettings().Clone()
				if err := s.Set("checksum", csum); err != nil {
					t.Fatal(err)
				}
				a := newSCTPAssoc(t, s, cli4, srv4)
				res := a.raw(ip(cli4, srv4, 132, tt.sctp))
				want := tt.reason
				if csum == "0" && want == conntrack.ReasonBadChecksum {
					want = conntrack.ReasonNone // no CRC check: the INIT opens an entry
				}
				if want == conntrack.ReasonNone {
					if res.State != conntrack.StateNew {
						t.Fatalf("ct %v (%q), want new", res.State, res.Reason)
					}
					return
				}
				if res.State != conntrack.StateInvalid || res.Reason != want || a.tr.t.Len() != 0 {
					t.Fatalf("ct %v reason %q (%d entries), want invalid %q", res.State, res.Reason, a.tr.t.Len(), want)
				}
			})
		}
	}

	// A datagram too short for the common header ("short packet").
	a := newSCTPAssoc(t, nil, cli4, srv4)
	if res := a.raw(ip(cli4, srv4, 132, []byte{0, 1, 0, 2, 0, 0, 0, 0})); res.State != conntrack.StateInvalid {
		t.Fatalf("8-byte SCTP header: ct %v", res.State)
	}
}

// TestSCTPNew covers sctp_new and the out-of-the-blue rule before it in
// nf_conntrack_sctp_packet: which packets may open an entry, in which state,
// and the tags they teach.
func TestSCTPNew(t *testing.T) {
	O, R := conntrack.DirOriginal, conntrack.DirReply
	truncInit := sctpInit(1)[:12] // INIT chunk cut inside its fixed part
	binary.BigEndian.PutUint16(truncInit[2:], 12)
	tests := []struct {
		name   string
		vtag   uint32
		chunks [][]byte
		st     conntrack.SCTPState // SCTPNone: refused
		reason conntrack.Reason
	}{
		{"INIT", 0, [][]byte{sctpInit(sctpCliTag)}, tCL, 0},
		{"INIT with a tag (§8.5.1 A)", 9, [][]byte{sctpInit(sctpCliTag)}, tNO, conntrack.ReasonSCTPMalformed},
		{"INIT cut short", 0, [][]byte{truncInit}, tNO, conntrack.ReasonSCTPMalformed},
		{"DATA", 9, [][]byte{sctpData(1)}, tNO, conntrack.ReasonSCTPInvalid},
		{"SACK", 0, [][]byte{sctpSack(1)}, tNO, conntrack.ReasonSCTPInvalid},
		{"HEARTBEAT then DATA", 9, [][]byte{sctpHeartbeat(4), sctpData(1)}, tNO, conntrack.ReasonSCTPInvalid},
		{"ABORT", 9, [][]byte{sctpAbort(false)}, tNO, conntrack.ReasonSCTPInvalid},
		{"ABORT with T", 0, [][]byte{sctpAbort(true)}, tNO, conntrack.ReasonSCTPInvalid},
		{"SHUTDOWN_COMPLETE", 9, [][]byte{sctpShutdownComplete(true)}, tNO, conntrack.ReasonSCTPInvalid},
		{"COOKIE_ACK", 0, [][]byte{sctpCookieAck()}, tNO, conntrack.ReasonSCTPInvalid},
		// sctp_new takes any other chunk's tag for the reply direction's
		// and leaves the original direction's 0, so the tag checks after
		// it pass only a tag of 0, except for the exempt chunks.
		{"COOKIE_ECHO", 0, [][]byte{sctpCookieEcho()}, tCL, 0},
		{"COOKIE_ECHO with a tag (§8.5.1 D)", 9, [][]byte{sctpCookieEcho()}, tNO, conntrack.ReasonSCTPMalformed},
		{"INIT_ACK", 0, [][]byte{sctpInitAck(5)}, tCL, 0},
		{"INIT_ACK with a tag", 9, [][]byte{sctpInitAck(5)}, tNO, conntrack.ReasonSCTPMalformed},
		{"SHUTDOWN", 0, [][]byte{sctpShutdown(1)}, tCL, 0},
		{"SHUTDOWN with a tag", 9, [][]byte{sctpShutdown(1)}, tNO, conntrack.ReasonSCTPMalformed},
		{"ERROR", 0, [][]byte{sctpErrorChunk()}, tCL, 0},
		{"ERROR with a tag", 9, [][]byte{sctpErrorChunk()}, tNO, conntrack.ReasonSCTPMalformed},
		{"HEARTBEAT_ACK", 9, [][]byte{sctpHeartbeat(5)}, tCL, 0},
		{"SHUTDOWN_ACK (§8.4 5)", 9, [][]byte{sctpShutdownAck()}, tSA, 0},
		{"HEARTBEAT", 9, [][]byte{sctpHeartbeat(4)}, tHS, 0},
		{"HEARTBEAT twice", 9, [][]byte{sctpHeartbeat(4), sctpHeartbeat(4)}, tHS, 0},
		// Each chunk is checked from NONE in sctp_new, then the states
		// chain in nf_conntrack_sctp_packet: HEARTBEAT keeps SHUTDOWN_ACK_SENT.
		{"SHUTDOWN_ACK then HEARTBEAT", 9, [][]byte{sctpShutdownAck(), sctpHeartbeat(4)}, tSA, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newSCTPAssoc(t, nil, cli4, srv4)
			res := a.send(O, tt.vtag, tt.chunks...)
			if tt.st == tNO {
				if res.State != conntrack.StateInvalid || res.Reason != tt.reason || a.tr.t.Len() != 0 {
					t.Fatalf("ct %v reason %q, want invalid %q and no entry", res.State, res.Reason, tt.reason)
				}
				return
			}
			if res.State != conntrack.StateNew || a.state() != tt.st {
				t.Fatalf("ct %v (%q) state %v, want new %v", res.State, res.Reason, a.state(), tt.st)
			}
		})
	}

	// The tag learnt from an out-of-the-blue SHUTDOWN_ACK is the one its
	// SHUTDOWN_COMPLETE answer must reflect (§8.4 5): that closes the
	// entry, another tag is refused.
	a := newSCTPAssoc(t, nil, cli4, srv4)
	a.must("SHUTDOWN_ACK", O, 0x77, conntrack.StateNew, tSA, 3*sec, sctpShutdownAck())
	a.refuse("SHUTDOWN_COMPLETE, other tag", conntrack.ReasonSCTPMalformed, R, 0x78, sctpShutdownComplete(false))
	a.must("SHUTDOWN_COMPLETE", R, 0x77, conntrack.StateEstablished, tCL, 10*sec, sctpShutdownComplete(false))
}

// TestSCTPVerificationTag covers the tag checks of nf_conntrack_sctp_packet
// (RFC 9260 §8.5, §8.5.1): a packet of ordinary chunks must carry its
// direction's tag; COOKIE_ECHO must carry its own direction's; an INIT must
// carry 0.
func TestSCTPVerificationTag(t *testing.T) {
	O, R := conntrack.DirOriginal, conntrack.DirReply
	a := newSCTPAssoc(t, nil, cli4, srv4)
	a.must("INIT", O, 0, conntrack.StateNew, tCL, 10*sec, sctpInit(sctpCliTag))
	a.refuse("INIT_ACK with the wrong tag", conntrack.ReasonSCTPMalformed, R, sctpSrvTag, sctpInitAck(sctpSrvTag))
	a.must("INIT_ACK", R, sctpCliTag, conntrack.StateEstablished, tCW, 3*sec, sctpInitAck(sctpSrvTag))
	a.refuse("COOKIE_ECHO with the peer's tag", conntrack.ReasonSCTPMalformed, O, sctpCliTag, sctpCookieEcho())
	a.must("COOKIE_ECHO", O, sctpSrvTag, conntrack.StateEstablished, tCE, 3*sec, sctpCookieEcho())
	a.must("COOKIE_ACK", R, sctpCliTag, conntrack.StateEstablished, tES, 210*sec, sctpCookieAck())
	a.now += sec
	a.refuse("DATA with the reply tag", conntrack.ReasonSCTPMalformed, O, sctpCliTag, sctpData(1))
	a.refuse("SACK with tag 0", conntrack.ReasonSCTPMalformed, R, 0, sctpSack(1))
	a.refuse("SHUTDOWN with a stranger's tag", conntrack.ReasonSCTPMalformed, O, 0xdead, sctpShutdown(1))
	a.refuse("INIT with a tag", conntrack.ReasonSCTPMalformed, O, sctpSrvTag, sctpInit(sctpCliTag))
	// A late INIT_ACK must repeat the tag the client uses: the other side
	// sent no INIT since (its COOKIE_ACK forgot the INIT seen).
	a.refuse("INIT_ACK announcing another tag", conntrack.ReasonSCTPMalformed, R, sctpCliTag, sctpInitAck(0x12345678))
	a.must("INIT_ACK repeated", R, sctpCliTag, conntrack.StateEstablished, tES, 210*sec, sctpInitAck(sctpSrvTag))
	a.must("DATA", O, sctpSrvTag, conntrack.StateEstablished, tES, 210*sec, sctpData(1))
}

// TestSCTPAbort covers ABORT (§8.5.1 B) in nf_conntrack_sctp_packet: with
// the T bit clear it must carry its direction's tag, with T set the other
// direction's (the sender had no TCB and reflected the tag it received);
// either way it closes the association. SHUTDOWN_COMPLETE follows the same
// rule (C).
func TestSCTPAbort(t *testing.T) {
	O, R := conntrack.DirOriginal, conntrack.DirReply
	tests := []struct {
		name  string
		dir   conntrack.Dir
		vtag  uint32
		chunk []byte
		want  conntrack.SCTPState // tIV: invalid
	}{
		{"ABORT from the client", O, sctpSrvTag, sctpAbort(false), tCL},
		{"ABORT from the server", R, sctpCliTag, sctpAbort(false), tCL},
		{"ABORT with T, reflected tag", O, sctpCliTag, sctpAbort(true), tCL},
		{"ABORT with T, own tag", O, sctpSrvTag, sctpAbort(true), tIV},
		{"ABORT without T, peer's tag", R, sctpSrvTag, sctpAbort(false), tIV},
		{"ABORT, stranger's tag", R, 0xbad, sctpAbort(false), tIV},
		// In ESTABLISHED the table keeps the state for SHUTDOWN_COMPLETE.
		{"SHUTDOWN_COMPLETE with T, reflected tag", R, sctpSrvTag, sctpShutdownComplete(true), tES},
		{"SHUTDOWN_COMPLETE with T, own tag", R, sctpCliTag, sctpShutdownComplete(true), tIV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newSCTPAssoc(t, nil, cli6, srv6)
			a.open()
			a.now += sec
			if tt.want == tIV {
				a.refuse(tt.name, conntrack.ReasonSCTPMalformed, tt.dir, tt.vtag, tt.chunk)
				return
			}
			to := int64(210 * sec)
			if tt.want == tCL {
				to = 10 * sec
			}
			a.must(tt.name, tt.dir, tt.vtag, conntrack.StateEstablished, tt.want, to, tt.chunk)
		})
	}

	// SHUTDOWN_COMPLETE with T answering a SHUTDOWN_ACK closes.
	a := newSCTPAssoc(t, nil, cli4, srv4)
	a.reach(tSA)
	a.must("SHUTDOWN_COMPLETE with T", O, sctpCliTag, conntrack.StateEstablished, tCL, 10*sec, sctpShutdownComplete(true))
}

// TestSCTPInitCollision follows an INIT collision (RFC 9260 §5.2.1, both
// ends open at once) through nf_conntrack_sctp_packet's init[] bookkeeping:
// the server's INIT in the reply direction finds CLOSED and is passed
// without refreshing the timeout or counting; each INIT_ACK must repeat the
// tag of its sender's INIT, and one that does not is refused.
func TestSCTPInitCollision(t *testing.T) {
	O, R := conntrack.DirOriginal, conntrack.DirReply
	a := newSCTPAssoc(t, nil, cli4, srv4)
	a.must("client INIT", O, 0, conntrack.StateNew, tCL, 10*sec, sctpInit(sctpCliTag))
	a.now += 2 * sec
	res := a.send(R, 0, sctpInit(sctpSrvTag))
	e, _ := a.lookup()
	if res.State != conntrack.StateEstablished || res.Dir != R || conntrack.SCTPState(e.SCTPState) != tCL ||
		e.Deadline != a.now-2*sec+10*sec || e.Counters[R].Packets != 0 || !e.Status.Has(conntrack.StatusSeenReply) {
		t.Fatalf("server INIT: ct %v/%v (%q), entry %+v; want passed, CLOSED, timeout and counters untouched, SEEN_REPLY (nf_conntrack_in)",
			res.State, res.Dir, res.Reason, e)
	}
	a.refuse("client INIT_ACK with a new tag", conntrack.ReasonSCTPMalformed, O, sctpSrvTag, sctpInitAck(0x99))
	a.must("client INIT_ACK", O, sctpSrvTag, conntrack.StateEstablished, tCL, 10*sec, sctpInitAck(sctpCliTag))
	a.refuse("server INIT_ACK with a new tag", conntrack.ReasonSCTPMalformed, R, sctpCliTag, sctpInitAck(0x98))
	a.must("server INIT_ACK", R, sctpCliTag, conntrack.StateEstablished, tCW, 3*sec, sctpInitAck(sctpSrvTag))
	a.must("COOKIE_ECHO", O, sctpSrvTag, conntrack.StateEstablished, tCE, 3*sec, sctpCookieEcho())
	e = a.must("COOKIE_ACK", R, sctpCliTag, conntrack.StateEstablished, tES, 210*sec, sctpCookieAck())
	if !e.Status.Has(conntrack.StatusAssured) {
		t.Fatalf("status %v, want ASSURED", e.Status)
	}
	a.must("DATA", O, sctpSrvTag, conntrack.StateEstablished, tES, 210*sec, sctpData(1))
	a.must("SACK", R, sctpCliTag, conntrack.StateEstablished, tES, 210*sec, sctpSack(1))

	// The client repeating its INIT after the collision forgets the
	// server's INIT: the server's INIT_ACK may then bring a tag of its own.
	a = a.on(a.cport + 1)
	a.must("client INIT", O, 0, conntrack.StateNew, tCL, 10*sec, sctpInit(sctpCliTag))
	a.send(R, 0, sctpInit(sctpSrvTag))
	a.send(O, 0, sctpInit(sctpCliTag))
	a.must("server INIT_ACK, new tag", R, sctpCliTag, conntrack.StateEstablished, tCW, 3*sec, sctpInitAck(0x77777777))
	a.must("COOKIE_ECHO with it", O, 0x77777777, conntrack.StateEstablished, tCE, 3*sec, sctpCookieEcho())
}

// TestSCTPRetransmittedInit: an INIT repeated while the entry is CLOSED
// passes but does not refresh the timeout (nf_conntrack_sctp_packet: a
// client or a NAT reusing the port must not keep the entry alive forever),
// so the entry still expires 10 s after the first INIT.
func TestSCTPRetransmittedInit(t *testing.T) {
	a := newSCTPAssoc(t, nil, cli4, srv4)
	t0 := a.now
	a.must("INIT", conntrack.DirOriginal, 0, conntrack.StateNew, tCL, 10*sec, sctpInit(sctpCliTag))
	for i := 1; i <= 3; i++ {
		a.now = t0 + int64(i)*3*sec
		if res := a.send(conntrack.DirOriginal, 0, sctpInit(sctpCliTag)); res.State != conntrack.StateNew {
			t.Fatalf("INIT #%d: ct %v (%q)", i+1, res.State, res.Reason)
		}
	}
	e, _ := a.lookup()
	if e.Deadline != t0+10*sec || e.Counters[0].Packets != 1 {
		t.Fatalf("deadline %+ds, %d packets counted; want the first INIT's deadline and count", (e.Deadline-t0)/sec, e.Counters[0].Packets)
	}
	a.now = t0 + 10*sec
	if res := a.send(conntrack.DirOriginal, 0, sctpInit(sctpCliTag)); !res.New {
		t.Fatalf("INIT after 10 s: want a new entry, got %+v", res.State)
	}
}

// TestSCTPRestart: a peer that restarts sends a fresh INIT inside an
// ESTABLISHED association (RFC 9260 §5.2.2); nf_conntrack_sctp_packet keeps
// ESTABLISHED and learns the new tags from the INIT and INIT_ACK, after
// which only they are accepted. Either end may restart.
func TestSCTPRestart(t *testing.T) {
	O, R := conntrack.DirOriginal, conntrack.DirReply
	a := newSCTPAssoc(t, nil, cli4, srv4)
	a.open()
	const cli2, srv2 = 0x31313131, 0x42424242
	a.must("new INIT", O, 0, conntrack.StateEstablished, tES, 210*sec, sctpInit(cli2))
	a.must("new INIT_ACK", R, cli2, conntrack.StateEstablished, tES, 210*sec, sctpInitAck(srv2))
	a.must("COOKIE_ECHO", O, srv2, conntrack.StateEstablished, tES, 210*sec, sctpCookieEcho())
	a.must("COOKIE_ACK", R, cli2, conntrack.StateEstablished, tES, 210*sec, sctpCookieAck())
	a.refuse("DATA with the old tag", conntrack.ReasonSCTPMalformed, O, sctpSrvTag, sctpData(1))
	a.must("DATA with the new tag", O, srv2, conntrack.StateEstablished, tES, 210*sec, sctpData(1))

	// The server restarts: its INIT goes the reply direction and the
	// client's INIT_ACK answers with a fresh tag (§5.2.2). Only because the
	// COOKIE_ACKs forgot the INITs seen is that not taken for a collision
	// whose INIT_ACK contradicts the client's INIT.
	const cli3, srv3 = 0x53535353, 0x64646464
	a.must("server INIT", R, 0, conntrack.StateEstablished, tES, 210*sec, sctpInit(srv3))
	a.must("client INIT_ACK", O, srv3, conntrack.StateEstablished, tES, 210*sec, sctpInitAck(cli3))
	a.must("server COOKIE_ECHO", R, cli3, conntrack.StateEstablished, tES, 210*sec, sctpCookieEcho())
	a.must("client COOKIE_ACK", O, srv3, conntrack.StateEstablished, tES, 210*sec, sctpCookieAck())
	a.must("SACK with the newest tag", R, cli3, conntrack.StateEstablished, tES, 210*sec, sctpSack(1))
}

// TestSCTPHeartbeat covers the HEARTBEAT rules of nf_conntrack_sctp_packet
// and sctp_new: a HEARTBEAT of an association conntrack never saw opens an
// entry in HEARTBEAT_SENT (30 s; a secondary path of a multihomed
// association) whose tags it learns from the heartbeats, and the
// HEARTBEAT_ACK makes it ESTABLISHED and ASSURED.
func TestSCTPHeartbeat(t *testing.T) {
	O, R := conntrack.DirOriginal, conntrack.DirReply
	a := newSCTPAssoc(t, nil, cli6, srv6)
	a.refuse("DATA of an unknown association", conntrack.ReasonSCTPInvalid, O, sctpSrvTag, sctpData(1))
	a.must("HEARTBEAT", O, sctpSrvTag, conntrack.StateNew, tHS, 30*sec, sctpHeartbeat(4))
	a.must("HEARTBEAT again", O, sctpSrvTag, conntrack.StateNew, tHS, 30*sec, sctpHeartbeat(4))
	a.refuse("DATA with a tag not learnt yet", conntrack.ReasonSCTPMalformed, R, sctpCliTag, sctpData(1))
	e := a.must("HEARTBEAT_ACK", R, sctpCliTag, conntrack.StateEstablished, tES, 210*sec, sctpHeartbeat(5))
	if !e.Status.Has(conntrack.StatusAssured) {
		t.Fatalf("status %v, want ASSURED", e.Status)
	}
	a.must("DATA", O, sctpSrvTag, conntrack.StateEstablished, tES, 210*sec, sctpData(1))
	a.must("SACK", R, sctpCliTag, conntrack.StateEstablished, tES, 210*sec, sctpSack(1))
	a.refuse("SACK with another tag", conntrack.ReasonSCTPMalformed, R, sctpSrvTag, sctpSack(1))
}

// TestSCTPHeartbeatNewTags: inside an association, a HEARTBEAT with an
// unknown tag (the peer restarted unseen) is passed without refreshing the
// timeout and marks the tag failed; the HEARTBEAT_ACK from the other side
// with its own new tag then replaces the tags (SCTP_FLAG_HEARTBEAT_VTAG_FAILED
// in nf_conntrack_sctp_packet), and the next HEARTBEAT teaches the other.
// Without that failed HEARTBEAT, a HEARTBEAT_ACK with a new tag is refused;
// so is a HEARTBEAT with an unknown tag bundled with DATA.
func TestSCTPHeartbeatNewTags(t *testing.T) {
	O, R := conntrack.DirOriginal, conntrack.DirReply
	const newCli, newSrv = 0x0c0c0c0c, 0x05050505
	a := newSCTPAssoc(t, nil, cli4, srv4)
	a.open()
	a.now += 5 * sec
	a.refuse("HEARTBEAT_ACK with a new tag, unannounced", conntrack.ReasonSCTPMalformed, R, newCli, sctpHeartbeat(5))
	a.refuse("HEARTBEAT with a new tag and DATA", conntrack.ReasonSCTPMalformed, O, newSrv, sctpHeartbeat(4), sctpData(9))
	deadline := a.now - 5*sec + 210*sec
	res := a.send(O, newSrv, sctpHeartbeat(4))
	if e, _ := a.lookup(); res.State != conntrack.StateEstablished || e.Deadline != deadline || e.Counters[O].Packets != 2 {
		t.Fatalf("HEARTBEAT with a new tag: ct %v (%q), deadline %+d s, %d packets; want passed, nothing refreshed or counted",
			res.State, res.Reason, (e.Deadline-a.now)/sec, e.Counters[O].Packets)
	}
	a.refuse("HEARTBEAT_ACK with a new tag, same direction", conntrack.ReasonSCTPMalformed, O, newSrv, sctpHeartbeat(5))
	a.refuse("HEARTBEAT_ACK with a new tag and DATA", conntrack.ReasonSCTPMalformed, R, newCli, sctpHeartbeat(5), sctpData(7))
	a.must("HEARTBEAT_ACK with the new tag", R, newCli, conntrack.StateEstablished, tES, 210*sec, sctpHeartbeat(5))
	a.refuse("SACK with the old tag", conntrack.ReasonSCTPMalformed, R, sctpCliTag, sctpSack(1))
	a.must("SACK with the new tag", R, newCli, conntrack.StateEstablished, tES, 210*sec, sctpSack(1))
	a.must("HEARTBEAT teaching the other tag", O, newSrv, conntrack.StateEstablished, tES, 210*sec, sctpHeartbeat(4))
	a.must("DATA with it", O, newSrv, conntrack.StateEstablished, tES, 210*sec, sctpData(2))
	a.refuse("DATA with the old one", conntrack.ReasonSCTPMalformed, O, sctpSrvTag, sctpData(3))

	// The same from the server's side: the answer must come from the other
	// direction than the failed HEARTBEAT.
	a = a.on(a.cport + 1)
	a.open()
	a.send(R, newCli, sctpHeartbeat(4))
	a.refuse("server HEARTBEAT_ACK with a new tag", conntrack.ReasonSCTPMalformed, R, newCli, sctpHeartbeat(5))
	a.must("client HEARTBEAT_ACK with a new tag", O, newSrv, conntrack.StateEstablished, tES, 210*sec, sctpHeartbeat(5))
	a.must("DATA with it", O, newSrv, conntrack.StateEstablished, tES, 210*sec, sctpData(1))

	// A HEARTBEAT with the known tag after the failed one withdraws it.
	a = a.on(a.cport + 1)
	a.open()
	a.send(O, newSrv, sctpHeartbeat(4))
	a.must("HEARTBEAT with the known tag", O, sctpSrvTag, conntrack.StateEstablished, tES, 210*sec, sctpHeartbeat(4))
	a.refuse("HEARTBEAT_ACK with a new tag", conntrack.ReasonSCTPMalformed, R, newCli, sctpHeartbeat(5))
}

// TestSCTPBundling covers packets of several chunks in
// nf_conntrack_sctp_packet: each chunk moves the state in turn, the timeout
// is the last state's, and a chunk that fails leaves the packet invalid but
// keeps what the chunks before it changed (Linux updates the entry chunk by
// chunk).
func TestSCTPBundling(t *testing.T) {
	O, R := conntrack.DirOriginal, conntrack.DirReply

	a := newSCTPAssoc(t, nil, cli4, srv4)
	a.reach(tHS)
	e := a.must("HEARTBEAT_ACK+SHUTDOWN", R, 0, conntrack.StateEstablished, tSR, 3*sec, sctpHeartbeat(5), sctpShutdown(1))
	if !e.Status.Has(conntrack.StatusAssured) {
		t.Fatalf("status %v: passing through ESTABLISHED must assure", e.Status)
	}
	if evs := a.tr.events(); len(evs) == 0 || evs[len(evs)-1].Mask&(conntrack.EventProtoInfo|conntrack.EventAssured) != conntrack.EventProtoInfo|conntrack.EventAssured {
		t.Fatalf("events %+v, want PROTOINFO and ASSURED", evs)
	}

	a = newSCTPAssoc(t, nil, cli4, srv4)
	a.open()
	a.must("DATA+SACK+SHUTDOWN", O, sctpSrvTag, conntrack.StateEstablished, tSS, 3*sec, sctpData(5), sctpSack(1), sctpShutdown(1))

	a = newSCTPAssoc(t, nil, cli4, srv4)
	a.open()
	res := a.send(O, sctpSrvTag, sctpShutdown(1), sctpAbort(true))
	if res.State != conntrack.StateInvalid || res.Reason != conntrack.ReasonSCTPMalformed {
		t.Fatalf("SHUTDOWN+ABORT(T, own tag): ct %v (%q), want invalid", res.State, res.Reason)
	}
	if e, _ := a.lookup(); conntrack.SCTPState(e.SCTPState) != tSS || e.Timeout != 210*sec {
		t.Fatalf("after SHUTDOWN+bad ABORT: state %v timeout %v; want SHUTDOWN_SENT kept, timeout not refreshed", conntrack.SCTPState(e.SCTPState), e.Timeout/sec)
	}
	a.must("SHUTDOWN_ACK", R, sctpCliTag, conntrack.StateEstablished, tSA, 3*sec, sctpShutdownAck())
}

// TestSCTPICMPv6ErrorKeepsState: an ICMPv6 error quoting a packet of an
// association is RELATED and leaves the SCTP state alone (RFC 6092 REC-41,
// REC-42).
func TestSCTPICMPv6ErrorKeepsState(t *testing.T) {
	a := newSCTPAssoc(t, nil, cli6, srv6)
	a.open()
	quoted := a.datagram(conntrack.DirOriginal, sctpSrvTag, sctpData(1))
	for _, msg := range [][]byte{
		packettest.ICMPv6DestUnreach(rtr6, cli6, 1, quoted),
		packettest.ICMPv6PacketTooBig(rtr6, cli6, 1280, quoted),
	} {
		res := a.raw(packettest.IPv6(rtr6, cli6, 58, msg))
		if res.State != conntrack.StateRelated {
			t.Fatalf("ICMPv6 error: ct %v (%q), want related", res.State, res.Reason)
		}
		if e, _ := a.lookup(); conntrack.SCTPState(e.SCTPState) != tES {
			t.Fatalf("state %v after an ICMPv6 error", conntrack.SCTPState(e.SCTPState))
		}
	}
}

// TestSCTPStateString: the names conntrack -L prints (Linux
// sctp_conntrack_names).
func TestSCTPStateString(t *testing.T) {
	want := []string{"NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "SHUTDOWN_SENT",
		"SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT", "UNKNOWN"}
	for i, w := range want {
		if got := conntrack.SCTPState(i).String(); got != w {
			t.Errorf("SCTPState(%d) = %q, want %q", i, got, w)
		}
	}
}

// TestSCTPNoAllocs: tracking an SCTP packet of an existing association
// does not allocate (STYLE B2.1).
func TestSCTPNoAllocs(t *testing.T) {
	a := newSCTPAssoc(t, nil, cli4, srv4)
	a.open()
	a.tr.p.DecodeIP(a.datagram(conntrack.DirOriginal, sctpSrvTag, sctpData(1), sctpSack(1)))
	if n := testing.AllocsPerRun(100, func() { a.tr.t.Process(&a.tr.p, 0, a.now, &a.tr.res) }); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
	if a.tr.res.State != conntrack.StateEstablished {
		t.Fatalf("ct %v (%q)", a.tr.res.State, a.tr.res.Reason)
	}
}

// ---------------------------------------------------------------------------
// The kernel's answers on the shared SCTP captures.

// Kernel recordings: the shared capture corpus (beside the repository) and
// the repository's own scenarios, each a capture NAME.pcap(ng) and the
// oracle's NAME/packets.jsonl.
const (
	sctpSharedRefDir   = "../../shared/testdata/kernel-reference"
	sctpSharedPcapDir  = "../../shared/testdata/pcaps"
	sctpScenarioDir    = "../testdata/scenarios"
	sctpMinRefPackets  = 74 + 19 // the two shared captures
	sctpMinScenPackets = 31
)

type sctpRefPacket struct {
	N       int    `json:"n"`
	Skipped string `json:"skipped"`
	Rx      int    `json:"rx"`
	Pkt     string `json:"pkt"`
	CT      []struct {
		State string `json:"state"`
		Dir   string `json:"dir"`
	} `json:"ct"`
	Events []struct {
		Event string `json:"event"`
		State string `json:"state"`
	} `json:"events"`
	KernelLog []string      `json:"kernel_log"`
	After     *sctpRefEntry `json:"ct_after"`
}

// sctpRefReasons maps what nf_conntrack_proto_sctp.c logs for an invalid
// packet to hare's reason. (Linux logs nothing when sctp_new refuses a
// packet, nor for the §8.5.1 tag rules.)
var sctpRefReasons = []struct {
	text string
	r    conntrack.Reason
}{
	{"verification tag check failed", conntrack.ReasonSCTPMalformed},
	{"do_basic_checks failed", conntrack.ReasonSCTPMalformed},
	{"short packet", conntrack.ReasonSCTPMalformed},
	{"bad CRC", conntrack.ReasonBadChecksum},
	{"Invalid, old_state", conntrack.ReasonSCTPInvalid},
}

type sctpRefEntry struct {
	State         string          `json:"state"`
	Status        []string        `json:"status"`
	Timeout       int64           `json:"timeout"`
	CountersOrig  sctpRefCounters `json:"counters_orig"`
	CountersReply sctpRefCounters `json:"counters_reply"`
}

type sctpRefCounters struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// TestSCTPKernelReference replays SCTP captures through Process with a
// frozen clock (the oracle replayed them at top speed) and compares every
// packet with what Linux 6.18 concluded (packets.jsonl): the ct state and
// direction, the events and the states they carried, and the entry after
// the packet: SCTP state, ASSURED and SEEN_REPLY, timeout (the kernel
// reports seconds left, so the configured value or one less) and counters.
// The shared corpus has sctp_association_init-cookie-data-sack and
// sctp_m3ua_association (handshake, DATA/SACK, and packets of an unseen
// association); the repository's sctp_association_setup-shutdown adds a
// refused tag, the shutdown, an ABORT, an INIT repeated in CLOSED and a
// second handshake on the same ports, over IPv4 and IPv6.
func TestSCTPKernelReference(t *testing.T) {
	for _, src := range []struct {
		name, refDir, pcapDir string
		min                   int
	}{
		{"shared", sctpSharedRefDir, sctpSharedPcapDir, sctpMinRefPackets},
		{"scenarios", sctpScenarioDir, sctpScenarioDir, sctpMinScenPackets},
	} {
		t.Run(src.name, func(t *testing.T) {
			refs, _ := filepath.Glob(filepath.Join(src.refDir, "sctp_*", "packets.jsonl"))
			if len(refs) == 0 {
				t.Skipf("skipping: no SCTP kernel reference under %s (the shared tree lives in ../shared beside the repository)", src.refDir)
			}
			total := 0
			for _, ref := range refs {
				name := filepath.Base(filepath.Dir(ref))
				pcap := filepath.Join(src.pcapDir, name+".pcap")
				if _, err := os.Stat(pcap); err != nil {
					pcap += "ng"
				}
				t.Run(name, func(t *testing.T) {
					n, agree := sctpReplay(t, ref, pcap)
					t.Logf("%d packets compared, %d agree", n, agree)
					if n == 0 || agree != n {
						t.Errorf("%d of %d packets agree", agree, n)
					}
					total += n
				})
			}
			if total < src.min {
				t.Errorf("only %d packets compared, want at least %d", total, src.min)
			}
		})
	}
}

func sctpReadRef(t *testing.T, path string) map[int]*sctpRefPacket {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	refs := map[int]*sctpRefPacket{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rp := new(sctpRefPacket)
		if err := json.Unmarshal(sc.Bytes(), rp); err != nil {
			t.Fatal(err)
		}
		refs[rp.N] = rp
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return refs
}

func sctpReplay(t *testing.T, refPath, pcap string) (compared, agree int) {
	refs := sctpReadRef(t, refPath)
	r, err := capture.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tr := newTracker(t, nil)
	const now = 1000 * sec // frozen: nothing expires, as in the oracle's replay
	pkts := make([]capture.Packet, 16)
	n := 0
	for {
		m, err := r.ReadBatch(pkts)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range pkts[:m] {
			n++
			ref := refs[n]
			if ref == nil || ref.Skipped != "" || ref.Rx == 0 || len(ref.CT) != 1 {
				t.Errorf("#%d: no usable reference", n)
				continue
			}
			tr.p.Decode(cp.Data, cp.Link)
			tr.t.Process(&tr.p, 0, now, &tr.res)
			compared++
			if msg := sctpCompare(tr, ref); msg != "" {
				t.Errorf("#%d %s: %s", n, ref.Pkt, msg)
				continue
			}
			agree++
		}
	}
	return compared, agree
}

// sctpCompare returns what differs between hare's view of the packet just
// processed and the kernel's.
func sctpCompare(tr *tracker, ref *sctpRefPacket) string {
	res := &tr.res
	if got, want := res.State.String(), ref.CT[0].State; got != want {
		return fmt.Sprintf("ct state %s (%q), kernel %s", got, res.Reason, want)
	}
	if res.State != conntrack.StateInvalid && res.Dir.String() != ref.CT[0].Dir {
		return fmt.Sprintf("direction %v, kernel %s", res.Dir, ref.CT[0].Dir)
	}
	for _, l := range ref.KernelLog {
		for _, m := range sctpRefReasons {
			if strings.Contains(l, m.text) && res.Reason != m.r {
				return fmt.Sprintf("reason %q, kernel %q", res.Reason, l)
			}
		}
	}
	var got []string
	for _, ev := range tr.events() {
		got = append(got, fmt.Sprintf("%v(%v)", ev.Type, conntrack.SCTPState(ev.Entry.SCTPState)))
	}
	var want []string
	for _, ev := range ref.Events {
		want = append(want, fmt.Sprintf("%s(%s)", ev.Event, ev.State))
	}
	if !slices.Equal(got, want) {
		return fmt.Sprintf("events %v, kernel %v", got, want)
	}
	var e conntrack.Entry
	ok := res.State != conntrack.StateInvalid && tr.t.Get(res.Ref, &e)
	if ref.After == nil || !ok {
		if ok != (ref.After != nil) {
			return fmt.Sprintf("entry after: hare %v, kernel %v", ok, ref.After != nil)
		}
		return ""
	}
	k := ref.After
	if st := conntrack.SCTPState(e.SCTPState).String(); st != k.State {
		return fmt.Sprintf("state %s, kernel %s", st, k.State)
	}
	for _, b := range []struct {
		name string
		bit  conntrack.Status
	}{{"ASSURED", conntrack.StatusAssured}, {"SEEN_REPLY", conntrack.StatusSeenReply}} {
		if e.Status.Has(b.bit) != slices.Contains(k.Status, b.name) {
			return fmt.Sprintf("status %v, kernel %v", e.Status, k.Status)
		}
	}
	if to := e.Timeout / sec; to != k.Timeout && to != k.Timeout+1 {
		return fmt.Sprintf("timeout %d s, kernel %d s left", to, k.Timeout)
	}
	c := e.Counters
	if c[0].Packets != k.CountersOrig.Packets || c[0].Bytes != k.CountersOrig.Bytes ||
		c[1].Packets != k.CountersReply.Packets || c[1].Bytes != k.CountersReply.Bytes {
		return fmt.Sprintf("counters %+v, kernel orig %+v reply %+v", c, k.CountersOrig, k.CountersReply)
	}
	return ""
}

// FuzzSCTP feeds arbitrary chunk bytes, in either direction, to an
// association at each step of the handshake and asserts that conntrack
// neither panics, nor leaves an entry in a state Linux does not have, nor
// gives a reason that is not the SCTP tracker's. (An invalid packet may
// change the entry: the chunks before the failing one keep their effect,
// as in Linux.)
func FuzzSCTP(f *testing.F) {
	// Seeds: each a chunk sequence that exercises one rule.
	for _, seed := range [][]byte{
		packettest.Cat(sctpInit(1)),                       // INIT alone
		packettest.Cat(sctpCookieEcho(), sctpData(1)),     // COOKIE_ECHO first, bundled DATA
		packettest.Cat(sctpHeartbeat(4), sctpData(1)),     // HEARTBEAT with DATA
		packettest.Cat(sctpShutdown(1), sctpAbort(true)),  // state change, then a failing chunk
		packettest.Cat(sctpHeartbeat(5), sctpShutdown(1)), // two transitions
		{0, 3, 0, 0},    // zero chunk length
		{4, 0, 0, 2, 0}, // short length, trailing byte
		packettest.Cat(sctpInitAck(7), sctpSack(1)),                 // INIT_ACK not alone
		packettest.Cat(sctpShutdownComplete(true), sctpCookieAck()), // SHUTDOWN_COMPLETE not alone
	} {
		f.Add(seed, uint32(0), false, uint8(3))
		f.Add(seed, uint32(sctpSrvTag), true, uint8(4))
	}
	f.Fuzz(func(t *testing.T, chunks []byte, vtag uint32, reply bool, steps uint8) {
		a := newSCTPAssoc(t, nil, cli4, srv4)
		O, R := conntrack.DirOriginal, conntrack.DirReply
		handshake := []struct {
			dir   conntrack.Dir
			vtag  uint32
			chunk []byte
		}{
			{O, 0, sctpInit(sctpCliTag)}, {R, sctpCliTag, sctpInitAck(sctpSrvTag)},
			{O, sctpSrvTag, sctpCookieEcho()}, {R, sctpCliTag, sctpCookieAck()},
		}
		for _, h := range handshake[:int(steps)%(len(handshake)+1)] {
			a.send(h.dir, h.vtag, h.chunk)
		}
		dir := O
		if reply {
			dir = R
		}
		res := a.raw(a.datagram(dir, vtag, chunks))
		after, ok := a.lookup()
		if ok && conntrack.SCTPState(after.SCTPState) > conntrack.SCTPHeartbeatSent {
			t.Fatalf("state %d", after.SCTPState)
		}
		if res.State == conntrack.StateInvalid && res.Reason != conntrack.ReasonSCTPInvalid &&
			res.Reason != conntrack.ReasonSCTPMalformed && res.Reason != conntrack.ReasonBadChecksum {
			t.Fatalf("invalid for %q", res.Reason)
		}
	})
}

// BenchmarkSCTP measures Process for a DATA+SACK packet of an established
// association, both families.
func BenchmarkSCTP(b *testing.B) {
	for _, fam := range []struct {
		name     string
		cli, srv netip.Addr
	}{{"sctp4", cli4, srv4}, {"sctp6", cli6, srv6}} {
		b.Run(fam.name, func(b *testing.B) {
			a := newSCTPAssoc(b, conntrack.DefaultSettings(), fam.cli, fam.srv)
			a.open()
			a.tr.p.DecodeIP(a.datagram(conntrack.DirOriginal, sctpSrvTag, sctpData(1), sctpSack(1)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				a.tr.t.Process(&a.tr.p, 0, a.now, &a.tr.res)
			}
		})
	}
}
