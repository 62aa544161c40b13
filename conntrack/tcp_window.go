package conntrack

import "github.com/hare-fw/hare/packet"

// TCP window tracking, after Guido van Rooij's "Real Stateful TCP Packet
// Filtering in IP Filter" as Linux restates and loosens it in
// nf_conntrack_proto_tcp.c (requirements §7.2). For each direction the
// tracker keeps (tcpDir):
//
//	end     highest seq+len the direction has sent (td_end)
//	maxEnd  highest sack+window the peer has advertised to it (td_maxend)
//	maxWin  largest window it has advertised, scaled (td_maxwin)
//	maxAck  highest ack it has sent (td_maxack, valid with tcpFlagMaxAckSet)
//
// and a segment of the sender is in window when (sack is the highest SACK
// right edge, or the ack):
//
//	TW-I    seq       <= sender.maxEnd
//	TW-II   seq + len >= sender.end - receiver.maxWin
//	TW-III  sack      <= receiver.end
//	TW-IV   sack      >= receiver.end - max(sender.maxWin, 66000)
//
// All comparisons are in sequence space (RFC 9293 §3.4), modulo 2^32.

// tcpAction is what the window check decides (Linux enum nf_ct_tcp_action).
type tcpAction uint8

const (
	tcpActIgnore  tcpAction = iota // NFCT_TCP_IGNORE: pass, change nothing
	tcpActInvalid                  // NFCT_TCP_INVALID
	tcpActAccept                   // NFCT_TCP_ACCEPT
)

// tcpMaxAckWinConst is the floor of the lower bound for acks (TW-IV): Linux
// MAXACKWINCONST.
const tcpMaxAckWinConst = 66000

// tcpMaxWScale is the largest window-scale shift RFC 7323 §2.3 allows; larger
// ones are taken as 14 (Linux TCP_MAX_WSCALE).
const tcpMaxWScale = 14

// seqBefore reports whether sequence number a comes before b (Linux before()).
func seqBefore(a, b uint32) bool { return int32(a-b) < 0 }

// seqAfter reports whether sequence number a comes after b (Linux after()).
func seqAfter(a, b uint32) bool { return int32(b-a) < 0 }

// tcpPayloadLen returns the segment's data length: the IP datagram length
// the header states, less the IP and extension headers and the TCP header,
// which is what Linux takes from skb->len. tcpError has checked that it is
// not negative.
func tcpPayloadLen(p *packet.Parsed) int {
	return p.L3Len - (p.L4Off - p.L3Off) - int(p.TCP.DataOff)
}

// tcpSegEnd returns seq + len, counting SYN and FIN as one octet each (RFC
// 9293 §3.4). Linux segment_seq_plus_len.
func tcpSegEnd(p *packet.Parsed) uint32 {
	end := p.TCP.Seq + uint32(tcpPayloadLen(p))
	if p.TCP.Flags&packet.TCPSyn != 0 {
		end++
	}
	if p.TCP.Flags&packet.TCPFin != 0 {
		end++
	}
	return end
}

// tcpOptions records the options of a SYN or SYN/ACK that matter to window
// tracking in d: SACK-permitted (RFC 2018 §2) and the window-scale shift
// (RFC 7323 §2.2), clamped to 14 (§2.3). As Linux tcp_options does, a
// segment with options clears the scale and every flag but BE_LIBERAL first;
// one without options leaves d alone.
func tcpOptions(p *packet.Parsed, d *tcpDir) {
	if p.TCP.DataOff <= 20 {
		return
	}
	d.scale = 0
	d.flags &= tcpFlagBeLiberal
	if p.TCP.Opts&packet.OptSACKPerm != 0 {
		d.flags |= tcpFlagSACKPerm
	}
	if p.TCP.Opts&packet.OptWScale != 0 {
		d.scale = min(p.TCP.WScale, tcpMaxWScale)
		d.flags |= tcpFlagWindowScale
	}
}

// tcpSACK raises *sack to the highest right edge of the segment's SACK blocks
// (RFC 2018 §3), Linux tcp_sack. The caller does this only when the
// receiver of the segment sent SACK-permitted (TW-02).
func tcpSACK(p *packet.Parsed, sack *uint32) {
	if p.TCP.Opts&packet.OptSACK == 0 {
		return
	}
	n := min(int(p.TCP.NumSACK), len(p.TCP.SACK))
	for _, b := range p.TCP.SACK[:n] {
		if seqAfter(b.Right, *sack) {
			*sack = b.Right
		}
	}
}

// tcpInitSender sets up the sender's side from a SYN/ACK answering a SYN, a
// SYN from the reply direction (simultaneous open), or a SYN that reopens a
// half-open direction (TW-05). Window scaling counts only when both sides
// sent the option (RFC 7323 §2.2, TW-01): once the reply direction has spoken
// without it, neither side's shift is used. Linux tcp_init_sender.
func tcpInitSender(sender, receiver *tcpDir, p *packet.Parsed, end, win uint32, dir Dir) {
	sender.end, sender.maxEnd = end, end
	sender.maxWin = max(win, 1)
	tcpOptions(p, sender)
	if dir == DirReply && (sender.flags&tcpFlagWindowScale == 0 || receiver.flags&tcpFlagWindowScale == 0) {
		sender.scale = 0
		receiver.scale = 0
	}
}

// tcpMaxAckWindow is how far below receiver.end an ack may lie (TW-IV):
// Linux MAXACKWINDOW.
func tcpMaxAckWindow(sender *tcpDir) uint32 {
	return max(sender.maxWin, tcpMaxAckWinConst)
}

// tcpLogInvalid turns a window failure into ACCEPT when the sender's
// direction is marked BE_LIBERAL (a mid-stream pickup) or tcp_be_liberal is
// set (LB-01); otherwise it returns act with its reason. Linux
// nf_tcp_log_invalid. Like Linux, it returns before the window data is
// updated, so a liberal accept leaves them as they were.
func tcpLogInvalid(sender *tcpDir, s *Settings, act tcpAction, r Reason) (tcpAction, Reason) {
	if sender.flags&tcpFlagBeLiberal != 0 || s.on(setTCPBeLiberal) {
		return tcpActAccept, ReasonNone
	}
	return act, r
}

// tcpInWindow checks a segment against the window of its connection and, if
// it fits, moves the window on (Linux tcp_in_window). idx is the segment's
// flag class. It reads e.tcp.state, which the caller has not yet changed.
//
// NAT sequence adjustment (TW-04, nf_ct_seq_offset) does not apply: hare
// does not rewrite sequence numbers.
func tcpInWindow(e *entry, p *packet.Parsed, dir Dir, idx tcpIndex, s *Settings) (tcpAction, Reason) {
	if s.on(setTCPNoWindowCheck) {
		return tcpActAccept, ReasonNone // LB-03
	}
	t := &e.tcp
	sender, receiver := &t.seen[dir], &t.seen[dir^1]
	th := &p.TCP
	syn := th.Flags&packet.TCPSyn != 0
	hasAck := th.Flags&packet.TCPAck != 0

	seq, ack := th.Seq, th.Ack
	sack := ack
	winRaw := th.Window
	win := uint32(winRaw)
	end := tcpSegEnd(p)

	if receiver.flags&tcpFlagSACKPerm != 0 {
		tcpSACK(p, &sack) // TW-02
	}

	switch {
	case sender.maxWin == 0:
		// First segment of this direction.
		if syn {
			tcpInitSender(sender, receiver, p, end, win, dir)
			if !hasAck {
				return tcpActAccept, ReasonNone // simultaneous open: SYN from the reply side
			}
			break
		}
		// A picked-up connection: use what this segment says.
		sender.end = end
		sender.maxWin = max(win<<sender.scale, 1)
		sender.maxEnd = end + sender.maxWin
		if receiver.maxWin == 0 {
			// Nothing seen the other way yet: make III and IV pass
			// until the peer speaks.
			receiver.end, receiver.maxEnd = sack, sack
		} else if sack == receiver.end+1 {
			// Probably the answer to a keepalive, which acks one
			// octet more than was sent (needed for III).
			receiver.end++
		}
	case syn && seqAfter(end, sender.end) && (t.state == TCPSynSent || t.state == TCPSynRecv):
		// TW-05: a new SYN (or SYN/ACK) with a higher sequence number
		// restarts this direction (RFC 9293 §3.4.3: a reinitialised TCP
		// need only use larger sequence numbers).
		tcpInitSender(sender, receiver, p, end, win, dir)
		if dir == DirReply && !hasAck {
			return tcpActAccept, ReasonNone
		}
	}

	if !hasAck {
		// TW-03: no ACK, take it as acking all the receiver sent.
		ack = receiver.end
		sack = ack
	} else if th.Flags&packet.TCPRst != 0 && ack == 0 {
		// TW-03: stacks that send RST+ACK with a zero ack.
		ack = receiver.end
		sack = ack
	}

	if th.Flags&packet.TCPRst != 0 && seq == 0 && t.state == TCPSynSent {
		// TW-03: a RST with seq 0 answering a SYN.
		seq = sender.end
		end = sender.end
	}

	if !seqBefore(seq, sender.maxEnd+1) {
		// TW-I failed. If everything else is right, this is a peer
		// sending more than the receiver's window allowed: remember the
		// data so that its ack passes TW-III later, and ignore the
		// segment rather than call it invalid.
		overshot := end - sender.maxEnd + 1
		ackOK := seqAfter(sack, receiver.end-tcpMaxAckWindow(sender)-1)
		inRecvWin := receiver.maxWin != 0 && seqAfter(end, sender.end-receiver.maxWin-1)
		if inRecvWin && ackOK && overshot <= receiver.maxWin && seqBefore(sack, receiver.end+1) {
			sender.end = end
			sender.flags |= tcpFlagDataUnacked
			return tcpLogInvalid(sender, s, tcpActIgnore, ReasonTCPOverUpperIgnored)
		}
		return tcpLogInvalid(sender, s, tcpActInvalid, ReasonTCPSeqOver)
	}
	if !seqBefore(sack, receiver.end+1) {
		return tcpLogInvalid(sender, s, tcpActInvalid, ReasonTCPAckOver) // TW-III
	}
	if receiver.maxWin != 0 && !seqAfter(end, sender.end-receiver.maxWin-1) {
		return tcpLogInvalid(sender, s, tcpActIgnore, ReasonTCPSeqUnder) // TW-II
	}
	if !seqAfter(sack, receiver.end-tcpMaxAckWindow(sender)-1) {
		return tcpLogInvalid(sender, s, tcpActIgnore, ReasonTCPAckUnder) // TW-IV
	}

	// In window: move it on. The window of a SYN is never scaled (RFC
	// 7323 §2.2).
	if !syn {
		win <<= sender.scale
	}
	if swin := win + (sack - ack); sender.maxWin < swin {
		sender.maxWin = swin
	}
	if seqAfter(end, sender.end) {
		sender.end = end
		sender.flags |= tcpFlagDataUnacked
	}
	if hasAck {
		if sender.flags&tcpFlagMaxAckSet == 0 {
			e.setTCPMaxAck(dir, ack)
			sender.flags |= tcpFlagMaxAckSet
		} else if seqAfter(ack, e.tcpMaxAck(dir)) {
			e.setTCPMaxAck(dir, ack)
		}
	}

	if receiver.maxWin != 0 && seqAfter(end, sender.maxEnd) {
		receiver.maxWin += end - sender.maxEnd
	}
	if seqAfter(sack+win, receiver.maxEnd-1) {
		receiver.maxEnd = sack + win
		if win == 0 {
			receiver.maxEnd++
		}
	}
	if ack == receiver.end {
		receiver.flags &^= tcpFlagDataUnacked
	}

	// Count retransmissions of the same ACK segment, for the shorter
	// timeout after tcp_max_retrans of them (§7.1 rule a).
	if idx == tcpAckSet {
		if t.lastDir == dir && t.lastSeq == seq && t.lastAck == ack && t.lastEnd == end && t.lastWin == winRaw {
			t.retrans++
		} else {
			t.lastDir, t.lastSeq, t.lastAck, t.lastEnd, t.lastWin = dir, seq, ack, end, winRaw
			t.retrans = 0
		}
	}
	return tcpActAccept, ReasonNone
}
