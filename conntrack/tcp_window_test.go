package conntrack

import (
	"testing"

	"github.com/hare-fw/hare/packet"
)

// Window-tracking rules of the requirements, §7.2 and §7.3, each in a test
// named after its row. The connections come from established(): client ISN
// 1000, server ISN 5000, windows 64000, no window scaling, so after the
// handshake the client may send up to seq 65001 and the server up to 69001.

// bigWindows opens a connection whose windows allow more data than 64000
// bytes in flight: window scale 7 both ways, windows 65535 (8 MB).
func bigWindows(t *testing.T, s *Settings) *tcpConn {
	c := newTCPConn(t, s)
	c.handshake(seg(fSYN, 1000, 0, 65535).ws(7), seg(fSYNACK, 5000, 1001, 65535).ws(7))
	c.must(DirReply, seg(fACK, 5001, 1001, 65535), vAccept, TCPEstablished)
	return c
}

// minus is a - b in sequence space.
func minus(a, b uint32) uint32 { return a - b }

func wantReason(t *testing.T, res tcpRes, v verdict, r Reason) {
	t.Helper()
	if res.v != v || res.r != r {
		t.Fatalf("got %s (%v), want %s (%v)", verdictName(res.v), res.r, verdictName(v), r)
	}
}

// TestTCP_TW_I_SeqUpperBound: seq must not pass sender.maxEnd. A segment that
// overshoots the receiver's window by less than a window, with a good ack,
// is ignored and its data remembered; further out it is invalid
// (tcp_in_window).
func TestTCP_TW_I_SeqUpperBound(t *testing.T) {
	c := established(t, nil)
	if got := c.e.tcp.seen[DirOriginal].maxEnd; got != 65001 {
		t.Fatalf("client maxEnd %d", got)
	}
	c.must(DirOriginal, seg(fPSHACK, 64901, 5001, 64000).payload(100), vAccept, TCPEstablished) // seq ≤ maxEnd
	res := c.send(DirOriginal, seg(fPSHACK, 65002, 5001, 64000).payload(100))
	wantReason(t, res, vIgnore, ReasonTCPOverUpperIgnored)
	if c.e.tcp.seen[DirOriginal].end != 65102 || c.e.tcp.seen[DirOriginal].flags&tcpFlagDataUnacked == 0 {
		t.Fatalf("overshoot not remembered: %+v", c.e.tcp.seen[DirOriginal])
	}
	// The server acks the overshoot: valid now.
	c.must(DirReply, seg(fACK, 5001, 65102, 64000), vAccept, TCPEstablished)

	res = c.send(DirOriginal, seg(fPSHACK, 300000, 5001, 64000).payload(100))
	wantReason(t, res, vInvalid, ReasonTCPSeqOver)
}

// TestTCP_TW_II_SeqLowerBound: data that ends more than a receiver window below
// what the sender has already sent is an old retransmission: ignored
// (tcp_in_window).
func TestTCP_TW_II_SeqLowerBound(t *testing.T) {
	c := established(t, nil)
	c.must(DirOriginal, seg(fPSHACK, 1001, 5001, 64000).payload(64000), vAccept, TCPEstablished)
	c.must(DirReply, seg(fACK, 5001, 65001, 64000), vAccept, TCPEstablished)
	c.must(DirOriginal, seg(fPSHACK, 65001, 5001, 64000).payload(64000), vAccept, TCPEstablished)
	// end 1101 ≤ 129001 - 64000 - 1
	res := c.send(DirOriginal, seg(fPSHACK, 1001, 5001, 64000).payload(100))
	wantReason(t, res, vIgnore, ReasonTCPSeqUnder)
	// Within a window of the end: a normal retransmission.
	c.must(DirOriginal, seg(fPSHACK, 65001, 5001, 64000).payload(100), vAccept, TCPEstablished)
}

// TestTCP_TW_III_AckUpperBound: acking data the peer has not sent is invalid
// (tcp_in_window).
func TestTCP_TW_III_AckUpperBound(t *testing.T) {
	c := established(t, nil)
	res := c.send(DirOriginal, seg(fACK, 1001, 5011, 64000))
	wantReason(t, res, vInvalid, ReasonTCPAckOver)
	c.must(DirOriginal, seg(fACK, 1001, 5001, 64000), vAccept, TCPEstablished)
}

// TestTCP_TW_IV_AckLowerBound: an ack more than max(sender.maxWin, 66000) below
// the peer's end is an overly delayed ACK: ignored (tcp_in_window).
func TestTCP_TW_IV_AckLowerBound(t *testing.T) {
	c := established(t, nil)
	res := c.send(DirOriginal, seg(fACK, 1001, minus(5001, 70000), 64000))
	wantReason(t, res, vIgnore, ReasonTCPAckUnder)
	c.must(DirOriginal, seg(fACK, 1001, minus(5001, 60000), 64000), vAccept, TCPEstablished)
}

// TestTCP_TW_01_WindowScaleBothSides: the window scale counts only when both the
// SYN and the SYN/ACK carry the option; a shift above 14 counts as 14; the
// window of a SYN is never scaled (tcp_init_sender, tcp_options).
func TestTCP_TW_01_WindowScaleBothSides(t *testing.T) {
	tests := []struct {
		name             string
		syn, synack      tseg
		wantOrig, wantRe uint8
	}{
		{"both", seg(fSYN, 1000, 0, 100).ws(7), seg(fSYNACK, 5000, 1001, 100).ws(8), 7, 8},
		{"SYN only", seg(fSYN, 1000, 0, 100).ws(7), seg(fSYNACK, 5000, 1001, 100), 0, 0},
		{"SYN/ACK only", seg(fSYN, 1000, 0, 100), seg(fSYNACK, 5000, 1001, 100).ws(8), 0, 0},
		{"clamped", seg(fSYN, 1000, 0, 100).ws(255), seg(fSYNACK, 5000, 1001, 100).ws(15), 14, 14},
		{"zero shift", seg(fSYN, 1000, 0, 100).ws(0), seg(fSYNACK, 5000, 1001, 100).ws(2), 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTCPConn(t, nil)
			c.handshake(tt.syn, tt.synack)
			o, r := c.e.tcp.seen[DirOriginal], c.e.tcp.seen[DirReply]
			if o.scale != tt.wantOrig || r.scale != tt.wantRe {
				t.Fatalf("scales %d/%d, want %d/%d", o.scale, r.scale, tt.wantOrig, tt.wantRe)
			}
			// The SYN/ACK's own window was not scaled; the client's ACK
			// (window 64000) was, by the client's shift.
			if r.maxWin != 100 {
				t.Fatalf("server maxWin %d, want the SYN/ACK's 100 unscaled", r.maxWin)
			}
			if want := 5001 + uint32(64000)<<tt.wantOrig; r.maxEnd != want {
				t.Fatalf("server maxEnd %d, want %d", r.maxEnd, want)
			}
		})
	}
}

// TestTCP_TW_02_SACKNeedsPermission: SACK right edges count as the ack only if
// the receiver of the segment sent SACK-permitted (tcp_in_window, tcp_sack).
func TestTCP_TW_02_SACKNeedsPermission(t *testing.T) {
	beyond := packet.SACKBlock{Left: 5101, Right: 5201} // past the server's end 5001
	for _, perm := range []bool{false, true} {
		c := newTCPConn(t, nil)
		synack := seg(fSYNACK, 5000, 1001, 64000)
		if perm {
			synack = synack.sackOK()
		}
		c.handshake(seg(fSYN, 1000, 0, 64000).sackOK(), synack)
		res := c.send(DirOriginal, seg(fACK, 1001, 5001, 64000).sack(beyond))
		if perm {
			wantReason(t, res, vInvalid, ReasonTCPAckOver)
		} else {
			wantReason(t, res, vAccept, ReasonNone)
		}
	}

	// A valid SACK edge widens the sender's window by sack - ack.
	c := newTCPConn(t, nil)
	c.handshake(seg(fSYN, 1000, 0, 64000).sackOK(), seg(fSYNACK, 5000, 1001, 64000).sackOK())
	c.must(DirReply, seg(fPSHACK, 5001, 1001, 64000).payload(3000), vAccept, TCPEstablished)
	c.must(DirOriginal, seg(fACK, 1001, 5001, 64000).sack(packet.SACKBlock{Left: 6001, Right: 8001}), vAccept, TCPEstablished)
	if got := c.e.tcp.seen[DirOriginal].maxWin; got != 64000+3000 {
		t.Fatalf("client maxWin %d, want 67000", got)
	}
}

// TestTCP_TW_03_NoAckFlag: without the ACK flag the ack counts as the
// receiver's end; so does the zero ack of a RST+ACK from a broken stack; a
// RST with seq 0 answering a SYN is taken as in window (tcp_in_window).
func TestTCP_TW_03_NoAckFlag(t *testing.T) {
	t.Run("RST without ACK, garbage ack", func(t *testing.T) {
		c := established(t, nil)
		c.must(DirOriginal, seg(fRST, 1001, 999999, 0), vAccept, TCPClose)
	})
	t.Run("RST+ACK with ack 0", func(t *testing.T) {
		c := established(t, nil)
		c.must(DirOriginal, seg(fRSTACK, 1001, 0, 0), vAccept, TCPClose)
	})
	t.Run("RST+ACK with a bad ack", func(t *testing.T) {
		c := established(t, nil)
		wantReason(t, c.send(DirOriginal, seg(fRSTACK, 1001, 999999, 0)), vInvalid, ReasonTCPAckOver)
	})
	t.Run("RST seq 0 answering a SYN", func(t *testing.T) {
		c := newTCPConn(t, nil)
		c.must(DirOriginal, seg(fSYN, 1000, 0, 64000), vAccept, TCPSynSent)
		c.must(DirReply, seg(fRSTACK, 0, 1001, 0), vKill, TCPNone)
	})
}

// TestTCP_TW_05_SYNReinit: a SYN with a higher sequence number in SYN_SENT
// starts the direction over (RFC 9293 §3.4.1); a lower one does not
// (tcp_in_window, tcp_init_sender).
func TestTCP_TW_05_SYNReinit(t *testing.T) {
	c := newTCPConn(t, nil)
	c.must(DirOriginal, seg(fSYN, 1000, 0, 64000), vAccept, TCPSynSent)
	c.must(DirOriginal, seg(fSYN, 50000, 0, 29200).ws(7).sackOK(), vAccept, TCPSynSent)
	want := dirWin{end: 50001, maxEnd: 50001, maxWin: 29200, scale: 7, flags: tcpFlagWindowScale | tcpFlagSACKPerm}
	if got := winOf(c.e.tcp.seen[DirOriginal]); got != want {
		t.Fatalf("after a higher SYN: %+v, want %+v", got, want)
	}
	c.must(DirOriginal, seg(fSYN, 400, 0, 1000), vAccept, TCPSynSent)
	if got := c.e.tcp.seen[DirOriginal].end; got != 50001 {
		t.Fatalf("a lower SYN changed end to %d", got)
	}
	c.must(DirReply, seg(fSYNACK, 9000, 50001, 64000).ws(7), vAccept, TCPSynRecv)
	c.must(DirOriginal, seg(fACK, 50001, 9001, 500), vAccept, TCPEstablished)
}

// TestTCP_TW_10_RST checks the RST rules of nf_conntrack_tcp_packet.
func TestTCP_TW_10_RST(t *testing.T) {
	o, r := DirOriginal, DirReply
	// after: client sent 1001..1101, server acked it (server maxack 1101).
	after := func(t *testing.T, s *Settings) *tcpConn {
		c := established(t, s)
		c.must(o, seg(fPSHACK, 1001, 5001, 64000).payload(100), vAccept, TCPEstablished)
		c.must(r, seg(fACK, 5001, 1101, 64000), vAccept, TCPEstablished)
		return c
	}
	t.Run("below the peer's ack: invalid", func(t *testing.T) {
		c := after(t, nil)
		wantReason(t, c.send(o, seg(fRST, 1050, 0, 0)), vInvalid, ReasonTCPInvalidRST)
		if c.state() != TCPEstablished {
			t.Fatal(c.state())
		}
	})
	t.Run("exactly at the peer's ack: closes", func(t *testing.T) {
		c := after(t, nil)
		res := c.must(o, seg(fRST, 1101, 0, 0), vAccept, TCPClose)
		if res.timeout != 10*tsec || res.r != ReasonNone {
			t.Fatalf("timeout %d reason %v", res.timeout, res.r)
		}
	})
	t.Run("in window, not exact: challenge ACK", func(t *testing.T) {
		c := after(t, nil)
		res := c.must(o, seg(fRST, 1111, 0, 0), vAccept, TCPEstablished)
		if res.r != ReasonTCPChallengeAck || res.timeout != 10*tsec || res.ev != 0 {
			t.Fatalf("reason %v timeout %d events %#x", res.r, res.timeout, res.ev)
		}
		// The peer's challenge ACK keeps the connection. The RST's seq
		// moved the client's end to 1111, which the ACK (1101) does not
		// cover, so, as in Linux, the UNACK timeout applies.
		res = c.must(r, seg(fACK, 5001, 1101, 64000), vAccept, TCPEstablished)
		if res.timeout != 300*tsec {
			t.Fatalf("after the challenge ACK: timeout %d", res.timeout)
		}
	})
	t.Run("right after the sender's data: closes", func(t *testing.T) {
		c := after(t, nil)
		c.must(r, seg(fPSHACK, 5001, 1101, 64000).payload(19), vAccept, TCPEstablished)
		c.must(r, seg(fRST, 5020, 0, 0), vAccept, TCPClose) // client's maxack is 5001
	})
	t.Run("seq 0 before ESTABLISHED: window check", func(t *testing.T) {
		c := newTCPConn(t, nil)
		c.must(o, seg(fSYN, 1000, 0, 64000), vAccept, TCPSynSent)
		c.must(r, seg(fSYNACK, 5000, 1001, 64000), vAccept, TCPSynRecv)
		c.must(o, seg(fRST, 0, 0, 0), vAccept, TCPClose)
	})
	t.Run("seq 0 when ESTABLISHED: invalid", func(t *testing.T) {
		c := after(t, nil)
		wantReason(t, c.send(o, seg(fRST, 0, 0, 0)), vInvalid, ReasonTCPInvalidRST)
	})
	t.Run("answering an ignored SYN: no window check", func(t *testing.T) {
		c := after(t, nil)
		c.must(o, seg(fSYN, 777000, 0, 64000), vIgnore, TCPEstablished)
		c.must(r, seg(fRSTACK, 5001+3000000, 777001, 0), vAccept, TCPClose)
	})
	t.Run("closing states: no checks", func(t *testing.T) {
		c := after(t, nil)
		c.must(o, seg(fFINACK, 1101, 5001, 64000), vAccept, TCPFinWait)
		c.must(r, seg(fRST, 5001+3000000, 0, 0), vAccept, TCPClose)
	})
	t.Run("out of window, not established", func(t *testing.T) {
		c := newTCPConn(t, nil)
		c.must(o, seg(fSYN, 1000, 0, 64000), vAccept, TCPSynSent)
		c.must(r, seg(fSYNACK, 5000, 1001, 64000), vAccept, TCPSynRecv)
		wantReason(t, c.send(o, seg(fRST, 900000, 0, 0)), vInvalid, ReasonTCPSeqOver)
	})
}

// TestTCP_LB_01_BeLiberal: with tcp_be_liberal, window failures are accepted;
// an out-of-window RST is still invalid (nf_tcp_log_invalid).
func TestTCP_LB_01_BeLiberal(t *testing.T) {
	s := DefaultSettings().Clone()
	if err := s.Set("tcp_be_liberal", "1"); err != nil {
		t.Fatal(err)
	}
	c := established(t, s)
	wantReason(t, c.send(DirOriginal, seg(fPSHACK, 300000, 5001, 64000).payload(100)), vAccept, ReasonNone)
	wantReason(t, c.send(DirOriginal, seg(fACK, 1001, 9999, 64000)), vAccept, ReasonNone)
	wantReason(t, c.send(DirOriginal, seg(fACK, 1001, minus(5001, 70000), 64000)), vAccept, ReasonNone)
	c.must(DirOriginal, seg(fPSHACK, 1001, 5001, 64000).payload(100), vAccept, TCPEstablished)
	c.must(DirReply, seg(fACK, 5001, 1101, 64000), vAccept, TCPEstablished)
	wantReason(t, c.send(DirOriginal, seg(fRST, 1050, 0, 0)), vInvalid, ReasonTCPInvalidRST)

	// The per-direction flag of a picked-up connection does the same.
	c = newTCPConn(t, nil)
	c.must(DirOriginal, seg(fACK, 1000, 5000, 100), vAccept, TCPEstablished)
	wantReason(t, c.send(DirOriginal, seg(fPSHACK, 900000, 5000, 100).payload(10)), vAccept, ReasonNone)
}

// TestTCP_LB_03_NoWindowCheck: with tcp_no_window_check the window is not
// looked at (tcp_in_window returns at once), and a zero window does not
// shorten the timeout.
func TestTCP_LB_03_NoWindowCheck(t *testing.T) {
	s := DefaultSettings().Clone()
	s.values[setTCPNoWindowCheck] = 1
	c := established(t, s)
	wantReason(t, c.send(DirOriginal, seg(fPSHACK, 300000, 5001, 64000).payload(100)), vAccept, ReasonNone)
	if res := c.must(DirReply, seg(fACK, 5001, 77, 0), vAccept, TCPEstablished); res.timeout != 432000*tsec {
		t.Fatalf("zero window: timeout %d", res.timeout)
	}
	// Without the switch, the same zero window gives RETRANS.
	c = established(t, nil)
	if res := c.must(DirReply, seg(fACK, 5001, 1001, 0), vAccept, TCPEstablished); res.timeout != 300*tsec {
		t.Fatalf("zero window: timeout %d", res.timeout)
	}
}

// TestTCP_LB_04_IgnoreInvalidRST: with tcp_ignore_invalid_rst a RST below the
// peer's ack is not invalid; in an established connection it keeps the
// state for a challenge ACK.
func TestTCP_LB_04_IgnoreInvalidRST(t *testing.T) {
	s := DefaultSettings().Clone()
	if err := s.Set("tcp_ignore_invalid_rst", "1"); err != nil {
		t.Fatal(err)
	}
	c := established(t, s)
	c.must(DirOriginal, seg(fPSHACK, 1001, 5001, 64000).payload(100), vAccept, TCPEstablished)
	c.must(DirReply, seg(fACK, 5001, 1101, 64000), vAccept, TCPEstablished)
	res := c.must(DirOriginal, seg(fRST, 1050, 0, 0), vAccept, TCPEstablished)
	if res.r != ReasonTCPChallengeAck {
		t.Fatalf("reason %v", res.r)
	}
}

// TestTCPWindowBig exercises scaled windows: the client may send megabytes
// ahead once the server advertised 65535<<7.
func TestTCPWindowBig(t *testing.T) {
	c := bigWindows(t, nil)
	if got := c.e.tcp.seen[DirOriginal].maxEnd; got != 1001+65535<<7 {
		t.Fatalf("client maxEnd %d", got)
	}
	c.must(DirOriginal, seg(fPSHACK, 1001+65535<<7-10, 5001, 65535).payload(10), vAccept, TCPEstablished)
	wantReason(t, c.send(DirOriginal, seg(fPSHACK, 1001+65535<<8, 5001, 65535).payload(10)), vInvalid, ReasonTCPSeqOver)
}
