package conntrack

import (
	"time"

	"github.com/hare-fw/hare/packet"
)

// The TCP tracker, after Linux nf_conntrack_proto_tcp.c (kernel 6.x):
//
//  1. tcpError (tcp_error) rejects, before any lookup, segments with a
//     truncated header, a bad checksum or an impossible flag combination.
//  2. tcpNew (tcp_new) decides whether a segment without an entry may open
//     one: a SYN, or with tcp_loose any segment the state table lets start
//     a connection (a mid-stream pickup).
//  3. tcpPacket (nf_conntrack_tcp_packet) runs for every segment of an
//     entry, the first one included: the state table (tcpConntracks) gives
//     the next state, special cases follow (reopen, ignored segments and
//     resynchronisation, simultaneous open, RST checks), then the window
//     check (tcpInWindow, in tcp_window.go), and last the timeout.
//
// The functions work on one entry; the caller holds the entry's shard lock.
// None of them allocates.

// tcpIndex is a segment's flag class, the middle index of the state table
// (Linux enum tcp_bit_set).
type tcpIndex uint8

const (
	tcpSynSet    tcpIndex = iota // SYN without ACK
	tcpSynAckSet                 // SYN+ACK
	tcpFinSet                    // FIN (no SYN, no RST)
	tcpAckSet                    // ACK only (no SYN, FIN, RST)
	tcpRstSet                    // RST, whatever else is set
	tcpNoneSet                   // none of SYN, FIN, ACK, RST
)

// tcpIndexOf classifies a segment's flags, RST first, then SYN, FIN, ACK
// (Linux get_conntrack_index).
func tcpIndexOf(f packet.TCPFlags) tcpIndex {
	switch {
	case f&packet.TCPRst != 0:
		return tcpRstSet
	case f&packet.TCPSyn != 0:
		if f&packet.TCPAck != 0 {
			return tcpSynAckSet
		}
		return tcpSynSet
	case f&packet.TCPFin != 0:
		return tcpFinSet
	case f&packet.TCPAck != 0:
		return tcpAckSet
	}
	return tcpNoneSet
}

// Short names for the state table, as Linux spells them.
const (
	sNO = TCPNone
	sSS = TCPSynSent
	sSR = TCPSynRecv
	sES = TCPEstablished
	sFW = TCPFinWait
	sCW = TCPCloseWait
	sLA = TCPLastAck
	sTW = TCPTimeWait
	sCL = TCPClose
	sS2 = TCPSynSent2
	sIV = tcpMax    // invalid: no such transition
	sIG = tcpIgnore // pass the segment, change nothing (it may be ours that is out of sync)
)

// tcpConntracks is the state table, indexed by direction, flag class and
// current state: Linux tcp_conntracks (6.x, with SYN_SENT2 for simultaneous
// open and the reply-direction reopen from TIME_WAIT). The state names the
// sender's view: SYN_SENT a SYN was seen, SYN_RECV a SYN/ACK, ESTABLISHED an
// ACK after it, FIN_WAIT a FIN, CLOSE_WAIT the ACK of that FIN, LAST_ACK FINs
// both ways, TIME_WAIT the last ACK, CLOSE a RST. tcp_test.go checks every
// cell against the kernel's table.
var tcpConntracks = [2][6][tcpMax]TCPState{
	DirOriginal: {
		//               sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
		tcpSynSet:    {sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2},
		tcpSynAckSet: {sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR},
		tcpFinSet:    {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
		tcpAckSet:    {sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV},
		tcpRstSet:    {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
		tcpNoneSet:   {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
	},
	DirReply: {
		//               sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
		tcpSynSet:    {sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2},
		tcpSynAckSet: {sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR},
		tcpFinSet:    {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
		tcpAckSet:    {sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG},
		tcpRstSet:    {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
		tcpNoneSet:   {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
	},
}

// tcpValidFlags lists the flag combinations a segment may carry, once PSH,
// ECE and CWR are masked off (and AE, which is outside the flags byte):
// Linux tcp_valid_flags (TW-06).
var tcpValidFlags = [64]bool{
	uint8(packet.TCPSyn):                                 true,
	uint8(packet.TCPSyn | packet.TCPUrg):                 true,
	uint8(packet.TCPSyn | packet.TCPAck):                 true,
	uint8(packet.TCPRst):                                 true,
	uint8(packet.TCPRst | packet.TCPAck):                 true,
	uint8(packet.TCPFin | packet.TCPAck):                 true,
	uint8(packet.TCPFin | packet.TCPAck | packet.TCPUrg): true,
	uint8(packet.TCPAck):                                 true,
	uint8(packet.TCPAck | packet.TCPUrg):                 true,
}

// tcpIgnoredFlags are the flags tcp_error does not look at.
const tcpIgnoredFlags = packet.TCPPsh | packet.TCPEce | packet.TCPCwr

// tcpSynSent2Timeout is the timeout of SYN_SENT2. Linux has no sysctl for it
// (tcp_timeouts[TCP_CONNTRACK_SYN_SENT2] stays 2 minutes unless a cttimeout
// policy sets it), so it does not follow tcp_timeout_syn_sent.
const tcpSynSent2Timeout = int64(2 * time.Minute)

// tcpInvalidMinExpiry is the time left under which an invalid FIN or RST
// does not shorten the timeout (TW-11): nf_tcp_handle_invalid's 120 s.
const tcpInvalidMinExpiry = int64(120 * time.Second)

// tcpTimeout returns the timeout of state st, or of the pseudo-states
// tcpRetrans and tcpUnack, in ns (Linux tcp_timeouts via the sysctls).
func tcpTimeout(s *Settings, st TCPState) int64 {
	switch {
	case st == TCPSynSent2:
		return tcpSynSent2Timeout
	case st == tcpRetrans:
		return s.timeout(setTCPMaxRetransTimeout)
	case st == tcpUnack:
		return s.timeout(setTCPUnack)
	case st >= TCPSynSent && st <= TCPClose:
		return s.timeout(setTCPSynSent + setting(st-TCPSynSent))
	}
	return 0 // TCPNone: no segment leads there
}

// tcpMaxAck returns td_maxack of direction d: the highest ack that
// direction sent, valid once its tcpFlagMaxAckSet is set.
func (e *entry) tcpMaxAck(d Dir) uint32 { return e.tcp.seen[d&1].maxAck }

// setTCPMaxAck sets td_maxack of direction d.
func (e *entry) setTCPMaxAck(d Dir, v uint32) { e.tcp.seen[d&1].maxAck = v }

// tcpError mirrors Linux tcp_error: the checks made before lookup. It
// returns ReasonNone for a segment the tracker may look at, otherwise
// ReasonTCPTruncated (no whole TCP header, or a data offset below 5 words or
// past the datagram), ReasonBadChecksum (checksumBad, the caller's
// VerifyChecksums result, with checksum=1) or ReasonTCPFlags (TW-06).
func tcpError(p *packet.Parsed, checksumBad bool, s *Settings) Reason {
	if !p.HasTransport() || p.Reason == packet.ReasonTCPTruncated || p.Reason == packet.ReasonTCPBadDataOffset {
		return ReasonTCPTruncated
	}
	tcpLen := p.L3Len - (p.L4Off - p.L3Off)
	if p.TCP.DataOff < 20 || tcpLen < int(p.TCP.DataOff) {
		return ReasonTCPTruncated
	}
	if checksumBad && s.on(setChecksum) {
		return ReasonBadChecksum
	}
	if !tcpValidFlags[uint8(p.TCP.Flags&^tcpIgnoredFlags)] {
		return ReasonTCPFlags
	}
	return ReasonNone
}

// tcpNew mirrors Linux tcp_new: it decides whether a segment without an
// entry may open one and sets up e.tcp. A SYN opens a connection; its
// direction's window starts from it (TW-01: the window scale it offers is
// kept, but counts only once the SYN/ACK offers one too). Any other segment
// the state table lets start a connection (a bare ACK) opens one only with
// tcp_loose (LB-02): the history is lost, so the window starts from this
// segment and both directions are marked SACK_PERM and BE_LIBERAL, as the
// window scale is unknown. It returns ReasonTCPInvalidNew for a segment that
// may not open a connection.
func tcpNew(e *entry, p *packet.Parsed, s *Settings) Reason {
	next := tcpConntracks[DirOriginal][tcpIndexOf(p.TCP.Flags)][TCPNone]
	if next >= tcpMax {
		return ReasonTCPInvalidNew
	}
	if next != TCPSynSent && !s.on(setTCPLoose) {
		return ReasonTCPInvalidNew
	}
	e.tcp = tcpState{}
	d := &e.tcp.seen[DirOriginal]
	d.end = tcpSegEnd(p)
	d.maxWin = max(uint32(p.TCP.Window), 1)
	if next == TCPSynSent {
		d.maxEnd = d.end
		tcpOptions(p, d)
	} else {
		d.maxEnd = d.end + d.maxWin
		e.tcp.seen[DirOriginal].flags = tcpFlagSACKPerm | tcpFlagBeLiberal
		e.tcp.seen[DirReply].flags = tcpFlagSACKPerm | tcpFlagBeLiberal
	}
	e.tcp.lastIndex = uint8(tcpNoneSet) // tcpPacket sets the real one
	return ReasonNone
}

// tcpPacket mirrors Linux nf_conntrack_tcp_packet for a segment of an entry
// in direction dir, the segment that opened it included (called right after
// tcpNew, as Linux does). It updates e.tcp and sets ASSURED in e.status; it
// does not set SEEN_REPLY, which the caller does after an accepted or
// ignored reply (nf_conntrack_in), and which tcpPacket reads as it was
// before this segment.
//
// It returns:
//
//   - v: vAccept: count the segment and set the timeout; vIgnore: pass it
//     with the entry but neither count it nor touch the timeout (Linux
//     returns NF_ACCEPT without nf_ct_refresh_acct); vInvalid; vKill: count
//     it, then destroy the entry (a RST before any reply, nf_ct_kill_acct);
//     vRepeat: destroy the entry and look the segment up again (TW-12).
//   - timeout, in ns: with vAccept the new timeout, or -1 for "keep the
//     deadline and do not count the segment" (a SYN retransmitted in
//     SYN_SENT before any reply: Linux returns before nf_ct_refresh_acct).
//     With vInvalid, a timeout > 0 asks the caller to shorten the deadline
//     with tcpShrinkDeadline (TW-11). Otherwise 0.
//   - ev: EventProtoInfo when the TCP state changed, EventAssured when
//     ASSURED was set.
//   - r: why a segment is invalid or ignored, and ReasonTCPChallengeAck for
//     an accepted RST that left ESTABLISHED as it was.
func tcpPacket(e *entry, p *packet.Parsed, dir Dir, s *Settings) (v verdict, timeout int64, ev EventMask, r Reason) {
	t := &e.tcp
	th := &p.TCP
	idx := tcpIndexOf(th.Flags)
	old := t.state
	next := tcpConntracks[dir][idx][old]
	skipWindow := false

	switch next {
	case TCPSynSent:
		if old < TCPTimeWait {
			break
		}
		// A SYN on a closed tuple (RFC 1122 §4.2.2.13 lets TIME-WAIT be
		// reopened; we are in TIME_WAIT or CLOSE anyway). If we saw the
		// connection close, or the SYN's sender aborted it with a RST,
		// it is a new connection: start afresh (TW-12).
		if (t.seen[dir].flags|t.seen[dir^1].flags)&tcpFlagCloseInit != 0 ||
			(t.lastDir == dir && t.lastIndex == uint8(tcpRstSet)) {
			return vRepeat, 0, 0, ReasonNone
		}
		// Otherwise treat it as a segment of a connection we may be out
		// of sync with, as below (Linux falls through).
		if !tcpIgnoreOrResync(e, p, dir, idx, old) {
			return vIgnore, 0, 0, ReasonTCPIgnored
		}
		old, next = TCPSynSent, TCPSynRecv
	case tcpIgnore:
		if !tcpIgnoreOrResync(e, p, dir, idx, old) {
			return vIgnore, 0, 0, ReasonTCPIgnored
		}
		old, next = TCPSynSent, TCPSynRecv
	case tcpMax:
		return vInvalid, 0, 0, ReasonTCPInvalidState
	case TCPTimeWait:
		// TW-09: after an ignored SYN in LAST_ACK, an RFC 5961
		// challenge ACK from the peer is not the last ACK.
		if old == TCPLastAck && idx == tcpAckSet && t.lastDir != dir &&
			t.lastIndex == uint8(tcpSynSet) && t.lastFlags&tcpFlagExpChallengeAck != 0 {
			t.lastFlags &^= tcpFlagExpChallengeAck
			return vIgnore, 0, 0, ReasonTCPIgnored
		}
	case TCPSynSent2:
		// The table alone cannot follow a simultaneous open.
		t.lastFlags |= tcpFlagSimultaneousOpen
	case TCPSynRecv:
		if dir == DirReply && idx == tcpAckSet && t.lastFlags&tcpFlagSimultaneousOpen != 0 {
			next = TCPEstablished
		}
	case TCPClose:
		if idx != tcpRstSet {
			break
		}
		var rr Reason
		skipWindow, rr, r = tcpCheckRST(e, p, dir, old, s)
		if rr != ReasonNone {
			return vInvalid, 0, 0, rr
		}
		if r == ReasonTCPChallengeAck {
			next = old
		}
	}

	if !skipWindow {
		switch act, wr := tcpInWindow(e, p, dir, idx, s); act {
		case tcpActIgnore:
			return vIgnore, 0, 0, wr
		case tcpActInvalid:
			return vInvalid, tcpHandleInvalid(e, dir, idx, s), 0, wr
		}
	}

	// From here on the segment is in window.
	t.lastIndex, t.lastDir = uint8(idx), dir
	t.state = next
	if old != next && next == TCPFinWait {
		t.seen[dir].flags |= tcpFlagCloseInit
	}
	timeout = tcpSelectTimeout(e, s, idx, next)
	if old != next {
		ev |= EventProtoInfo
	}

	if e.status&StatusSeenReply == 0 {
		if th.Flags&packet.TCPRst != 0 {
			// Only a RST came back: no connection, drop the entry now.
			return vKill, timeout, ev, r
		}
		if idx == tcpSynSet && old == TCPSynSent {
			// A retransmitted SYN does not renew the timeout, or port
			// reuse could keep the entry alive for ever.
			return vAccept, -1, ev, r
		}
		// A mid-stream pickup without a reply yet: no 5-day timeout.
		if next == TCPEstablished {
			timeout = min(timeout, s.timeout(setTCPUnack))
		}
	} else if e.status&StatusAssured == 0 && (old == TCPSynRecv || old == TCPEstablished) && next == TCPEstablished {
		// A valid ACK after SYN_RECV, or an answer in a picked-up
		// connection.
		e.status |= StatusAssured
		ev |= EventAssured
	}
	return vAccept, timeout, ev, r
}

// tcpSelectTimeout picks the timeout for an in-window segment that moved the
// entry to state next (§7.1): RETRANS after tcp_max_retrans retransmissions
// if shorter; CLOSE for a RST; UNACK if data is unacknowledged either way
// and that is shorter; RETRANS if the last ACK segment advertised a zero
// window and that is shorter (not with tcp_no_window_check); else the
// state's own.
func tcpSelectTimeout(e *entry, s *Settings, idx tcpIndex, next TCPState) int64 {
	t := &e.tcp
	to := tcpTimeout(s, next)
	retrans := s.timeout(setTCPMaxRetransTimeout)
	unack := s.timeout(setTCPUnack)
	switch {
	case int64(t.retrans) >= s.get(setTCPMaxRetrans) && to > retrans:
		return retrans
	case idx == tcpRstSet:
		return s.timeout(setTCPClose)
	case (t.seen[0].flags|t.seen[1].flags)&tcpFlagDataUnacked != 0 && to > unack:
		return unack
	case !s.on(setTCPNoWindowCheck) && t.lastWin == 0 && to > retrans:
		return retrans
	}
	return to
}

// tcpIgnoreOrResync handles a segment the state table says to ignore (TW-08,
// Linux's TCP_CONNTRACK_IGNORE case). Our entry may be out of sync with the
// endpoints, so segments that may belong to the real connection pass
// without changing the state: a SYN in the original direction, a SYN/ACK in
// the reply direction, an ACK from the reply side while we are in SYN_SENT.
// They are remembered in the last* fields. If the segment is a SYN/ACK
// acknowledging exactly a SYN we ignored from the other side, the endpoints
// are in sync and we are not: the SYN's direction is set up from what we
// remembered, this direction is cleared for the window check to set it up
// again, and tcpIgnoreOrResync reports true (the caller goes on as SYN_SENT
// → SYN_RECV). Otherwise it reports false: ignore the segment.
func tcpIgnoreOrResync(e *entry, p *packet.Parsed, dir Dir, idx tcpIndex, old TCPState) bool {
	t := &e.tcp
	th := &p.TCP
	if idx == tcpSynAckSet && t.lastIndex == uint8(tcpSynSet) && t.lastDir != dir && th.Ack == t.lastEnd {
		syn := &t.seen[t.lastDir]
		syn.end, syn.maxEnd = t.lastEnd, t.lastEnd
		syn.maxWin = max(uint32(t.lastWin), 1)
		syn.scale = t.lastWScale
		t.lastFlags &^= tcpFlagExpChallengeAck
		syn.flags = t.lastFlags
		// Linux nf_ct_tcp_state_reset.
		d := &t.seen[dir]
		d.end, d.maxEnd, d.maxWin, d.scale = 0, 0, 0, 0
		d.flags &= tcpFlagBeLiberal
		e.setTCPMaxAck(dir, 0)
		return true
	}
	t.lastIndex, t.lastDir = uint8(idx), dir
	t.lastSeq, t.lastEnd, t.lastWin = th.Seq, tcpSegEnd(p), th.Window
	if idx == tcpSynSet && dir == DirOriginal {
		// Note the SYN's options for a resynchronisation.
		var seen tcpDir
		tcpOptions(p, &seen)
		t.lastFlags, t.lastWScale = 0, 0
		if seen.flags&tcpFlagWindowScale != 0 {
			t.lastFlags |= tcpFlagWindowScale
			t.lastWScale = seen.scale
		}
		if seen.flags&tcpFlagSACKPerm != 0 {
			t.lastFlags |= tcpFlagSACKPerm
		}
		// In LAST_ACK the peer may answer the SYN with an RFC 5961
		// challenge ACK, which must not count as the last ACK (TW-09).
		if old == TCPLastAck {
			t.lastFlags |= tcpFlagExpChallengeAck
		}
	}
	if old == TCPSynSent && idx == tcpAckSet && dir == DirReply {
		// Maybe a challenge ACK answering the SYN; a RST may follow.
		t.lastAck = th.Ack
	}
	return false
}

// tcpCanEarlyDrop reports whether st is a closing state, in which a RST is
// taken without checks since the tuple may have been reused (Linux
// tcp_can_early_drop).
func tcpCanEarlyDrop(st TCPState) bool {
	switch st {
	case TCPFinWait, TCPLastAck, TCPTimeWait, TCPClose, TCPCloseWait:
		return true
	}
	return false
}

// tcpCheckRST applies the RST rules of TW-10 (Linux's TCP_CONNTRACK_CLOSE
// case) to a RST in state old. It reports whether the window check is to be
// skipped, an invalid reason (ReasonTCPInvalidRST) if the RST is invalid, and
// ReasonTCPChallengeAck when an in-window RST in an assured ESTABLISHED
// connection does not sit exactly where the peer's acks say the sender's
// data ends: the state stays, so that a challenge ACK (RFC 5961 §3.2) can
// keep the connection.
func tcpCheckRST(e *entry, p *packet.Parsed, dir Dir, old TCPState, s *Settings) (skipWindow bool, invalid, r Reason) {
	t := &e.tcp
	th := &p.TCP
	if tcpCanEarlyDrop(old) {
		return true, ReasonNone, ReasonNone
	}
	// The peer's highest ack is stale if we let a SYN through since.
	if t.seen[dir^1].flags&tcpFlagMaxAckSet != 0 && t.lastIndex != uint8(tcpSynSet) {
		peerAck := e.tcpMaxAck(dir ^ 1)
		established := old == TCPEstablished && e.status&StatusAssured != 0
		if th.Seq == 0 && !established {
			// Most likely the answer to a SYN we let through.
			return false, ReasonNone, ReasonNone
		}
		if seqBefore(th.Seq, peerAck) && !s.on(setTCPIgnoreInvalidRST) {
			return false, ReasonTCPInvalidRST, ReasonNone // LB-04 turns this off
		}
		if !established || th.Seq == peerAck {
			return false, ReasonNone, ReasonNone
		}
		// A RST right after our own data, e.g. "P 100:119 ack 42" then
		// "R 119:119 ack 42", is fine.
		if !(t.lastIndex == uint8(tcpAckSet) && t.lastDir == dir && th.Seq == t.lastEnd) {
			r = ReasonTCPChallengeAck
		}
	}
	if ((e.status&StatusSeenReply != 0 && t.lastIndex == uint8(tcpSynSet)) ||
		(e.status&StatusAssured == 0 && t.lastIndex == uint8(tcpAckSet))) &&
		th.Ack == t.lastEnd {
		// The RST answers a SYN (in window then) or an ACK (we hold a
		// half-open connection) that we let through: it may ack what we
		// ignored, so skip the window check.
		return true, ReasonNone, r
	}
	if old == TCPSynSent && t.lastIndex == uint8(tcpAckSet) && t.lastDir == DirReply && th.Seq == t.lastAck {
		// The RST answers a challenge ACK we let through.
		return true, ReasonNone, r
	}
	return false, ReasonNone, r
}

// tcpHandleInvalid is Linux nf_tcp_handle_invalid (TW-11), for a FIN or RST
// the window check found invalid on an assured entry. Connections whose
// endpoints and tracker disagree would otherwise linger in ESTABLISHED for
// days: when the other side had also sent an out-of-window FIN or RST just
// before, it returns the UNACK timeout for the caller to apply with
// tcpShrinkDeadline; otherwise it remembers this segment and returns 0.
func tcpHandleInvalid(e *entry, dir Dir, idx tcpIndex, s *Settings) int64 {
	if e.status&StatusAssured == 0 || e.status&StatusFixedTimeout != 0 {
		return 0
	}
	if idx != tcpRstSet && idx != tcpFinSet {
		return 0
	}
	t := &e.tcp
	if t.lastDir != dir && (t.lastIndex == uint8(tcpFinSet) || t.lastIndex == uint8(tcpRstSet)) {
		return s.timeout(setTCPUnack)
	}
	t.lastIndex, t.lastDir = uint8(idx), dir
	return 0
}

// tcpShrinkDeadline applies the timeout tcpPacket returned with vInvalid at
// time now (ns): if more than 120 s are left, and more than timeout, the
// entry expires timeout from now (TW-11, nf_tcp_handle_invalid). A timeout
// of 0 changes nothing.
func tcpShrinkDeadline(e *entry, now, timeout int64) {
	if timeout <= 0 || e.status&StatusFixedTimeout != 0 {
		return
	}
	left := e.deadline - now
	if left < tcpInvalidMinExpiry || left <= timeout {
		return
	}
	e.deadline = now + timeout
	e.timeout = timeout
}
