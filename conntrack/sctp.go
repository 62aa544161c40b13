package conntrack

import (
	"encoding/binary"

	"github.com/hare-fw/hare/packet"
)

// The SCTP tracker, after Linux nf_conntrack_proto_sctp.c (kernel 6.x, the
// state set without HEARTBEAT_ACKED):
//
//  1. sctpError (sctp_error, then do_basic_checks) rejects, before any
//     lookup, a packet shorter than the common header, a bad CRC32c, and a
//     chunk sequence Linux refuses: no chunk at all, a zero chunk length,
//     COOKIE_ECHO or COOKIE_ACK not first, INIT, INIT_ACK or
//     SHUTDOWN_COMPLETE not alone.
//  2. sctpNew (the unconfirmed branch of nf_conntrack_sctp_packet, then
//     sctp_new) decides whether a packet without an entry may open one: not
//     with ABORT, SHUTDOWN_COMPLETE or COOKIE_ACK (RFC 9260 §8.4), and only
//     with chunks the state table lets leave NONE. It records the
//     verification tags the packet reveals.
//  3. sctpPacket (nf_conntrack_sctp_packet) runs for every packet of an
//     entry, the first one included: the verification tag check (RFC 9260
//     §8.5), then chunk by chunk the special tag rules of §8.5.1, the state
//     table (sctpConntracks), the tags INIT and INIT_ACK announce, and last
//     the timeout of the state reached.
//
// The chunks are walked as Linux walks them (for_each_sctp_chunk), which is
// laxer than the decoder: a chunk header is read while 4 bytes remain, a
// length of 1 to 3 moves on by 4, a length past the end ends the walk, and
// 1 to 3 trailing bytes are not looked at. The decoder's
// packet.ReasonSCTPBadChunk therefore decides nothing here.
//
// The functions work on one entry; the caller holds the entry's shard lock.
// None of them allocates.

// SCTPState is the state of an SCTP association as conntrack sees it:
// Linux enum sctp_conntrack (6.x), in the same order. The zero value,
// SCTPNone, is the state of an entry no chunk has moved yet.
type SCTPState uint8

const (
	SCTPNone            SCTPState = iota // nothing seen yet
	SCTPClosed                           // INIT, ABORT or SHUTDOWN_COMPLETE seen (or an out-of-the-blue chunk)
	SCTPCookieWait                       // INIT_ACK seen in reply to the INIT
	SCTPCookieEchoed                     // COOKIE_ECHO seen
	SCTPEstablished                      // COOKIE_ACK seen (or a HEARTBEAT answered)
	SCTPShutdownSent                     // SHUTDOWN seen in the original direction
	SCTPShutdownRecd                     // SHUTDOWN seen in the reply direction
	SCTPShutdownAckSent                  // SHUTDOWN_ACK seen
	SCTPHeartbeatSent                    // a HEARTBEAT opened the entry (a secondary path of an unseen association)
	sctpMax                              // the table's "no such transition" (Linux sIV, SCTP_CONNTRACK_MAX)
)

var sctpStateNames = [...]string{
	"NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "SHUTDOWN_SENT",
	"SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT",
}

// String returns the name conntrack -L prints (Linux sctp_conntrack_names).
func (s SCTPState) String() string {
	if int(s) < len(sctpStateNames) {
		return sctpStateNames[s]
	}
	return "UNKNOWN"
}

// sctpState is the SCTP tracker's state of one entry: struct ip_ct_sctp.
type sctpState struct {
	state   uint8     // an SCTPState; Entry.SCTPState copies it
	flags   uint8     // sctpFlagHeartbeatVtagFailed
	lastDir Dir       // direction of the HEARTBEAT whose tag failed
	init    [2]bool   // by Dir: an INIT was seen from that side (collision detection)
	vtag    [2]uint32 // by Dir: the verification tag packets in that direction must carry
}

// sctpFlagHeartbeatVtagFailed: a HEARTBEAT arrived with a tag other than
// the one recorded; a HEARTBEAT_ACK from the other side may then replace
// the tags (Linux SCTP_FLAG_HEARTBEAT_VTAG_FAILED; a peer that restarted or
// a path conntrack learnt from a heartbeat).
const sctpFlagHeartbeatVtagFailed = 1

// Chunk types (RFC 9260 §3.2) and flags.
const (
	sctpChunkData             = 0
	sctpChunkInit             = 1
	sctpChunkInitAck          = 2
	sctpChunkHeartbeat        = 4
	sctpChunkHeartbeatAck     = 5
	sctpChunkAbort            = 6
	sctpChunkShutdown         = 7
	sctpChunkShutdownAck      = 8
	sctpChunkError            = 9
	sctpChunkCookieEcho       = 10
	sctpChunkCookieAck        = 11
	sctpChunkShutdownComplete = 14

	// sctpFlagT is the T bit of ABORT (RFC 9260 §3.3.7) and
	// SHUTDOWN_COMPLETE (§3.3.13): the sender had no TCB and reflected
	// the tag it received.
	sctpFlagT = 0x01

	sctpCommonLen   = 12 // source and destination port, verification tag, checksum
	sctpChunkHdrLen = 4  // type, flags, length
	// sctpInitLen is the fixed part of INIT and INIT_ACK after the chunk
	// header (Linux struct sctp_inithdr): initiate tag, a_rwnd, streams,
	// initial TSN. Linux insists on all of it, not just the tag.
	sctpInitLen = 16
)

// Rows of the state table: the chunk types that move the state (Linux
// sctp_new_state's indexes).
const (
	sctpRowInit = iota
	sctpRowInitAck
	sctpRowAbort
	sctpRowShutdown
	sctpRowShutdownAck
	sctpRowError
	sctpRowCookieEcho
	sctpRowCookieAck
	sctpRowShutdownComplete
	sctpRowHeartbeat
	sctpRowHeartbeatAck
	sctpRows
)

// sctpRowOf returns the state table row of chunk type t, or false for a
// chunk that leaves the state alone (DATA, SACK and every type Linux
// sctp_new_state does not list).
func sctpRowOf(t uint8) (int, bool) {
	switch t {
	case sctpChunkInit:
		return sctpRowInit, true
	case sctpChunkInitAck:
		return sctpRowInitAck, true
	case sctpChunkAbort:
		return sctpRowAbort, true
	case sctpChunkShutdown:
		return sctpRowShutdown, true
	case sctpChunkShutdownAck:
		return sctpRowShutdownAck, true
	case sctpChunkError:
		return sctpRowError, true
	case sctpChunkCookieEcho:
		return sctpRowCookieEcho, true
	case sctpChunkCookieAck:
		return sctpRowCookieAck, true
	case sctpChunkShutdownComplete:
		return sctpRowShutdownComplete, true
	case sctpChunkHeartbeat:
		return sctpRowHeartbeat, true
	case sctpChunkHeartbeatAck:
		return sctpRowHeartbeatAck, true
	}
	return 0, false
}

// Short names for the state table; Linux spells them sNO, sCL… but those
// belong to TCP's table in this package.
const (
	aNO = SCTPNone
	aCL = SCTPClosed
	aCW = SCTPCookieWait
	aCE = SCTPCookieEchoed
	aES = SCTPEstablished
	aSS = SCTPShutdownSent
	aSR = SCTPShutdownRecd
	aSA = SCTPShutdownAckSent
	aHS = SCTPHeartbeatSent
	aIV = sctpMax
)

// sctpConntracks is the state table, indexed by direction, chunk row and
// current state: Linux sctp_conntracks (6.x). A state names what has been
// seen, not an endpoint's state (see SCTPState); the reply direction cannot
// open an entry, hence its NONE column of aIV. sctp_test.go checks every
// cell.
var sctpConntracks = [2][sctpRows][sctpMax]SCTPState{
	DirOriginal: {
		//                        aNO  aCL  aCW  aCE  aES  aSS  aSR  aSA  aHS
		sctpRowInit:             {aCL, aCL, aCW, aCE, aES, aCL, aCL, aSA, aCW},
		sctpRowInitAck:          {aCL, aCL, aCW, aCE, aES, aSS, aSR, aSA, aCL},
		sctpRowAbort:            {aCL, aCL, aCL, aCL, aCL, aCL, aCL, aCL, aCL},
		sctpRowShutdown:         {aCL, aCL, aCW, aCE, aSS, aSS, aSR, aSA, aCL},
		sctpRowShutdownAck:      {aSA, aCL, aCW, aCE, aES, aSA, aSA, aSA, aSA},
		sctpRowError:            {aCL, aCL, aCW, aCE, aES, aSS, aSR, aSA, aCL},
		sctpRowCookieEcho:       {aCL, aCL, aCE, aCE, aES, aSS, aSR, aSA, aCL},
		sctpRowCookieAck:        {aCL, aCL, aCW, aES, aES, aSS, aSR, aSA, aCL},
		sctpRowShutdownComplete: {aCL, aCL, aCW, aCE, aES, aSS, aSR, aCL, aCL},
		sctpRowHeartbeat:        {aHS, aCL, aCW, aCE, aES, aSS, aSR, aSA, aHS},
		sctpRowHeartbeatAck:     {aCL, aCL, aCW, aCE, aES, aSS, aSR, aSA, aHS},
	},
	DirReply: {
		//                        aNO  aCL  aCW  aCE  aES  aSS  aSR  aSA  aHS
		sctpRowInit:             {aIV, aCL, aCW, aCE, aES, aSS, aSR, aSA, aIV},
		sctpRowInitAck:          {aIV, aCW, aCW, aCE, aES, aSS, aSR, aSA, aIV},
		sctpRowAbort:            {aIV, aCL, aCL, aCL, aCL, aCL, aCL, aCL, aIV},
		sctpRowShutdown:         {aIV, aCL, aCW, aCE, aSR, aSS, aSR, aSA, aIV},
		sctpRowShutdownAck:      {aIV, aCL, aCW, aCE, aES, aSA, aSA, aSA, aIV},
		sctpRowError:            {aIV, aCL, aCW, aCL, aES, aSS, aSR, aSA, aIV},
		sctpRowCookieEcho:       {aIV, aCL, aCE, aCE, aES, aSS, aSR, aSA, aIV},
		sctpRowCookieAck:        {aIV, aCL, aCW, aES, aES, aSS, aSR, aSA, aIV},
		sctpRowShutdownComplete: {aIV, aCL, aCW, aCE, aES, aSS, aSR, aCL, aIV},
		sctpRowHeartbeat:        {aIV, aCL, aCW, aCE, aES, aSS, aSR, aSA, aHS},
		sctpRowHeartbeatAck:     {aIV, aCL, aCW, aCE, aES, aSS, aSR, aSA, aES},
	},
}

// sctpNextState returns the state a chunk of type t moves an entry in state
// cur to in direction dir: sctpMax for no transition, cur for a chunk
// without a row (Linux sctp_new_state).
func sctpNextState(dir Dir, cur SCTPState, t uint8) SCTPState {
	row, ok := sctpRowOf(t)
	if !ok {
		return cur
	}
	return sctpConntracks[dir][row][cur]
}

// sctpTimeout returns the timeout of state st in ns (Linux sctp_timeouts
// via the sysctls; NONE has the CLOSED timeout, as Linux's timeouts[0]).
func sctpTimeout(s *Settings, st SCTPState) int64 {
	if st == SCTPNone || st >= sctpMax {
		st = SCTPClosed
	}
	return s.timeout(setSCTPClosed + setting(st-SCTPClosed))
}

// sctpNextChunk returns the offset of the chunk after the one at off: its
// length rounded up to 4 bytes (RFC 9260 §3.2). A zero length, which
// sctpBasicChecks refuses, moves on by 4 too, so that no walk can stall.
func sctpNextChunk(b []byte, off int) int {
	n := int(binary.BigEndian.Uint16(b[off+2:]))
	return off + max((n+3)&^3, sctpChunkHdrLen)
}

// sctpChunkSet returns the set of chunk types below 16 present in b (bit t
// for type t): the part of Linux's chunk bitmap the tracker tests.
func sctpChunkSet(b []byte) uint16 {
	var set uint16
	for off := sctpCommonLen; off+sctpChunkHdrLen <= len(b); off = sctpNextChunk(b, off) {
		if t := b[off]; t < 16 {
			set |= 1 << t
		}
	}
	return set
}

// sctpBasicChecks reports whether the chunks of b pass Linux
// do_basic_checks: at least one chunk, no zero length, COOKIE_ECHO and
// COOKIE_ACK only first (RFC 9260 §5.1, §6.10: other chunks may follow
// them, never precede them), and once an INIT, INIT_ACK or
// SHUTDOWN_COMPLETE is seen no chunk but the first (§6.10: those are never
// bundled).
func sctpBasicChecks(b []byte) bool {
	alone := false
	i := 0
	for off := sctpCommonLen; off+sctpChunkHdrLen <= len(b); off = sctpNextChunk(b, off) {
		t := b[off]
		if t == sctpChunkInit || t == sctpChunkInitAck || t == sctpChunkShutdownComplete {
			alone = true
		}
		if (alone || t == sctpChunkCookieEcho || t == sctpChunkCookieAck) && i != 0 {
			return false
		}
		if binary.BigEndian.Uint16(b[off+2:]) == 0 {
			return false
		}
		i++
	}
	return i != 0
}

// sctpInitTag returns the initiate tag of the INIT or INIT_ACK chunk at off,
// or false when the packet ends before the chunk's fixed part (Linux reads
// sizeof(struct sctp_inithdr) there and gives up without it).
func sctpInitTag(b []byte, off int) (uint32, bool) {
	if off+sctpChunkHdrLen+sctpInitLen > len(b) {
		return 0, false
	}
	return binary.BigEndian.Uint32(b[off+sctpChunkHdrLen:]), true
}

// sctpError mirrors Linux sctp_error and do_basic_checks: the checks that
// need no entry. It returns ReasonSCTPMalformed for a packet shorter than
// the common header ("short packet") or whose chunks fail
// sctpBasicChecks, and ReasonBadChecksum for a bad CRC32c (csumBad, the
// caller's VerifyChecksums result, with checksum=1: Linux "bad CRC").
//
// Linux runs these inside nf_conntrack_sctp_packet, after the lookup; a
// packet failing them gets no entry and changes none either way, so
// checking them first gives the same result.
func sctpError(p *packet.Parsed, csumBad bool, s *Settings) Reason {
	b := p.Transport()
	if len(b) < sctpCommonLen {
		return ReasonSCTPMalformed
	}
	if csumBad && s.on(setChecksum) {
		return ReasonBadChecksum
	}
	if !sctpBasicChecks(b) {
		return ReasonSCTPMalformed
	}
	return ReasonNone
}

// sctpNew mirrors Linux sctp_new and the unconfirmed-entry branch of
// nf_conntrack_sctp_packet before it. A packet may open an entry when it
// has no ABORT, SHUTDOWN_COMPLETE or COOKIE_ACK (RFC 9260 §8.4: such
// out-of-the-blue packets are discarded) and every chunk moves the original
// direction out of NONE in the state table, which rules out DATA, SACK and
// every chunk without a row. An INIT must carry tag 0 (§8.5.1 A) and its
// fixed part (else ReasonSCTPMalformed), and names the tag the reply
// direction will use; a
// HEARTBEAT's tag is the original direction's; any other chunk's is taken
// for the reply direction's (§8.4 5 and 8: the answer to an
// out-of-the-blue SHUTDOWN_ACK reflects it). It returns ReasonSCTPInvalid
// for a packet that may not open an entry. The state stays NONE:
// sctpPacket moves it.
func sctpNew(e *entry, p *packet.Parsed, s *Settings) Reason {
	b := p.Transport()
	if len(b) < sctpCommonLen {
		return ReasonSCTPMalformed
	}
	vtag := binary.BigEndian.Uint32(b[4:])
	ct := &e.proto.sctp
	*ct = sctpState{}
	for off := sctpCommonLen; off+sctpChunkHdrLen <= len(b); off = sctpNextChunk(b, off) {
		t := b[off]
		switch t {
		case sctpChunkAbort, sctpChunkShutdownComplete, sctpChunkCookieAck:
			return ReasonSCTPInvalid
		}
		if next := sctpNextState(DirOriginal, SCTPNone, t); next == SCTPNone || next == sctpMax {
			return ReasonSCTPInvalid
		}
		switch t {
		case sctpChunkInit:
			if vtag != 0 {
				return ReasonSCTPMalformed
			}
			tag, ok := sctpInitTag(b, off)
			if !ok {
				return ReasonSCTPMalformed
			}
			ct.vtag[DirReply] = tag
		case sctpChunkHeartbeat:
			ct.vtag[DirOriginal] = vtag
		default:
			ct.vtag[DirReply] = vtag
		}
	}
	return ReasonNone
}

// sctpTagExempt are the chunks whose packets escape the plain verification
// tag check of RFC 9260 §8.5: those with rules of their own (§8.5.1) and
// the heartbeats, which teach conntrack tags it could not see.
const sctpTagExempt = 1<<sctpChunkInit | 1<<sctpChunkShutdownComplete | 1<<sctpChunkCookieEcho | 1<<sctpChunkAbort |
	1<<sctpChunkShutdownAck | 1<<sctpChunkHeartbeat | 1<<sctpChunkHeartbeatAck

// sctpPacket mirrors Linux nf_conntrack_sctp_packet for a packet that
// passed sctpError (and, for a new entry, sctpNew). It returns:
//
//   - vInvalid with ReasonSCTPMalformed when a verification tag is wrong:
//     a packet without a chunk exempt from §8.5 whose tag is not the one
//     recorded for its direction; an INIT with a tag other than 0 (§8.5.1
//     A); an ABORT or SHUTDOWN_COMPLETE whose tag is not its direction's,
//     or with the T bit the other direction's (B, C); a COOKIE_ECHO whose
//     tag is not its direction's (D); a HEARTBEAT or HEARTBEAT_ACK with a
//     tag other than the recorded one in a packet with DATA, or after
//     another such chunk; a HEARTBEAT_ACK with a new tag that no failed
//     HEARTBEAT from the other side announced; an INIT_ACK whose tag
//     contradicts one already recorded; an INIT or INIT_ACK cut before its
//     fixed part.
//   - vInvalid with ReasonSCTPInvalid when the state table has no
//     transition for a chunk in this direction and state.
//   - vIgnore when the packet passes but must not refresh the timeout (nor
//     be counted): an INIT retransmitted to a confirmed entry in CLOSED
//     (Linux keeps a client or NAT reusing the port from holding the entry
//     forever), or a HEARTBEAT with an unknown tag (perhaps a restarted
//     peer: its tag is noted so that the answer can teach the new ones).
//   - vAccept with the timeout of the state reached otherwise.
//
// The chunks are taken in order; the changes made by those before a chunk
// that fails stay, as in Linux, which updates the entry chunk by chunk. ev
// has EventProtoInfo for each state change and EventAssured when the entry
// reaches ESTABLISHED for the first time, whatever the direction (Linux
// sets IPS_ASSURED on any transition into ESTABLISHED).
func sctpPacket(e *entry, p *packet.Parsed, dir Dir, s *Settings) (verdict, int64, EventMask, Reason) {
	b := p.Transport()
	if len(b) < sctpCommonLen {
		return vInvalid, 0, 0, ReasonSCTPMalformed
	}
	vtag := binary.BigEndian.Uint32(b[4:])
	ct := &e.proto.sctp
	set := sctpChunkSet(b)
	if set&sctpTagExempt == 0 && vtag != ct.vtag[dir] {
		return vInvalid, 0, 0, ReasonSCTPMalformed
	}

	peer := dir ^ 1
	next := SCTPNone
	ignore := false
	var ev EventMask
	for off := sctpCommonLen; off+sctpChunkHdrLen <= len(b); off = sctpNextChunk(b, off) {
		t, flags := b[off], b[off+1]
		switch t {
		case sctpChunkInit:
			if vtag != 0 {
				return vInvalid, 0, ev, ReasonSCTPMalformed
			}
		case sctpChunkAbort, sctpChunkShutdownComplete:
			want := ct.vtag[dir]
			if flags&sctpFlagT != 0 {
				want = ct.vtag[peer]
			}
			if vtag != want {
				return vInvalid, 0, ev, ReasonSCTPMalformed
			}
		case sctpChunkCookieEcho:
			if vtag != ct.vtag[dir] {
				return vInvalid, 0, ev, ReasonSCTPMalformed
			}
		case sctpChunkCookieAck:
			ct.init = [2]bool{}
		case sctpChunkHeartbeat:
			switch {
			case ct.vtag[dir] == 0:
				ct.vtag[dir] = vtag
			case vtag != ct.vtag[dir]:
				if set&(1<<sctpChunkData) != 0 || ignore {
					return vInvalid, 0, ev, ReasonSCTPMalformed
				}
				ct.flags |= sctpFlagHeartbeatVtagFailed
				ct.lastDir = dir
				ignore = true
				continue // the state stays
			default:
				ct.flags &^= sctpFlagHeartbeatVtagFailed
			}
		case sctpChunkHeartbeatAck:
			switch {
			case ct.vtag[dir] == 0:
				ct.vtag[dir] = vtag
			case vtag != ct.vtag[dir]:
				if set&(1<<sctpChunkData) != 0 || ignore ||
					ct.flags&sctpFlagHeartbeatVtagFailed == 0 || ct.lastDir == dir {
					return vInvalid, 0, ev, ReasonSCTPMalformed
				}
				// The answer to the HEARTBEAT whose tag failed: both
				// sides' tags changed; learn this one, and the other
				// from the next HEARTBEAT in that direction.
				ct.flags &^= sctpFlagHeartbeatVtagFailed
				ct.vtag[dir] = vtag
				ct.vtag[peer] = 0
			default:
				ct.flags &^= sctpFlagHeartbeatVtagFailed
			}
		}

		old := SCTPState(ct.state)
		next = sctpNextState(dir, old, t)
		if next == sctpMax {
			return vInvalid, 0, ev, ReasonSCTPInvalid
		}

		switch t {
		case sctpChunkInit:
			tag, ok := sctpInitTag(b, off)
			if !ok {
				return vInvalid, 0, ev, ReasonSCTPMalformed
			}
			// A second INIT from one side after INITs from both (a
			// restart after a collision) forgets the other side's.
			if ct.init[dir] && ct.init[peer] {
				ct.init[peer] = false
			}
			ct.init[dir] = true
			ct.vtag[peer] = tag
			if next == SCTPClosed && old == SCTPClosed && e.status&StatusConfirmed != 0 {
				ignore = true
			}
		case sctpChunkInitAck:
			tag, ok := sctpInitTag(b, off)
			if !ok {
				return vInvalid, 0, ev, ReasonSCTPMalformed
			}
			known := ct.vtag[peer]
			// The tag the other side must use is known (from a
			// HEARTBEAT, say) and the other side sent no INIT: the
			// INIT_ACK must agree with it.
			if !ct.init[peer] && known != 0 && known != tag {
				return vInvalid, 0, ev, ReasonSCTPMalformed
			}
			// INIT collision (RFC 9260 §5.2.1): after INITs from both
			// sides, the INIT_ACK must repeat the tag of this side's
			// INIT, which the other side now uses.
			if ct.init[dir] && ct.init[peer] && known != tag {
				return vInvalid, 0, ev, ReasonSCTPMalformed
			}
			ct.vtag[peer] = tag
		}

		ct.state = uint8(next)
		if old != next {
			ev |= EventProtoInfo
			if next == SCTPEstablished && e.status&StatusAssured == 0 {
				e.status |= StatusAssured
				ev |= EventAssured
			}
		}
	}
	if ignore {
		return vIgnore, -1, ev, ReasonSCTPIgnored
	}
	return vAccept, sctpTimeout(s, next), ev, ReasonNone
}
