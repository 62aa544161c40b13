package scenario

import (
	"github.com/hare-fw/hare/packet/packettest"
)

func tcpScenarios() []Scenario {
	return []Scenario{
		tcpSimultaneousOpen(),
		tcpOutOfWindow(),
		tcpRST(),
		tcpRetransmissions(),
		tcpWindowScale(),
		tcpMidstreamPickup(),
		tcpReopen(),
		tcpFinClose(),
		tcpRSTBeforeReply(),
		tcpExtHeaders(),
	}
}

// tcpSimultaneousOpen: RFC 9293 §3.5 figure 7 (RFC 793 figure 8), both SYNs
// crossing, over IPv4 and IPv6, then data and a close.
func tcpSimultaneousOpen() Scenario {
	t := newTrace()
	for _, k := range []*conn{
		{c: client4, s: server4, cp: 40010, sp: 40011, cseq: 0x1000_0000, sseq: 0x5000_0000, cwin: 64240, swin: 64240},
		{c: client6, s: server6, cp: 40012, sp: 40013, cseq: 0x1100_0000, sseq: 0x5100_0000, cwin: 64800, swin: 64800},
	} {
		ci, si := k.cseq, k.sseq
		t.add(k.c2s(syn, synOpts(7), nil))                    // SYN_SENT
		t.add(k.s2c(syn, synOpts(7), nil))                    // the peer's SYN crosses it: SYN_SENT2
		t.add(k.raw(true, synAck, ci, si+1, synOpts(7), nil)) // each side answers the other's SYN
		t.add(k.raw(false, synAck, si, ci+1, synOpts(7), nil))
		t.add(k.c2s(ack, nil, nil))
		t.add(k.s2c(ack, nil, nil))
		t.add(k.c2s(pshAck, nil, fill("simultaneous-open client data ", 120)))
		t.add(k.s2c(pshAck, nil, fill("simultaneous-open server data ", 200)))
		t.add(k.c2s(ack, nil, nil))
		t.add(k.c2s(finAck, nil, nil))
		t.add(k.s2c(finAck, nil, nil))
		t.add(k.c2s(ack, nil, nil))
	}
	return sc("tcp_simultaneous-open",
		"TCP simultaneous open (SYNs crossing, then SYN/ACKs crossing) over IPv4 and IPv6, data both ways, FIN close",
		rows("TW-07", "REC-31", "LT-09"), t)
}

// tcpOutOfWindow: an IPv4 connection without window scaling (server window
// 4096, client 8192), then segments against each of van Rooij's four
// inequalities, then ordinary data to show the entry survived.
func tcpOutOfWindow() Scenario {
	t := newTrace()
	k := &conn{c: client4, s: server4, cp: 40020, sp: 80, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 8192, swin: 4096}
	t.addAll(k.handshake(-1, -1)...)
	t.add(k.c2s(pshAck, nil, fill("request ", 100)))
	t.add(k.s2c(ack, nil, nil))
	// TW-III: the server acknowledges 5000 bytes the client never sent.
	t.add(k.raw(false, ack, k.sseq, k.cseq+5000, nil, nil))
	// TW-IV: the server acknowledges data 70000 bytes back (more than
	// MAXACKWINDOW, 66000, below the client's end).
	t.add(k.raw(false, ack, k.sseq, k.cseq-70000, nil, nil))
	// TW-II: data ending more than a window below what was already sent.
	t.add(k.raw(true, pshAck, k.cseq-10000, k.sseq, nil, fill("stale ", 100)))
	// Ordinary traffic goes on.
	t.add(k.c2s(pshAck, nil, fill("request ", 100)))
	t.add(k.s2c(pshAck, nil, fill("response ", 300)))
	t.add(k.c2s(ack, nil, nil))
	// TW-I: the server's window ends at cseq+4096. A segment 100000 bytes
	// past it, one starting 1000 bytes past it, one starting in it and
	// ending 50 bytes past it. Segments the tracker takes move its idea of
	// the client's end, so these come last.
	t.add(k.raw(true, pshAck, k.cseq+100000, k.sseq, nil, fill("far beyond ", 100)))
	t.add(k.raw(true, pshAck, k.cseq+4096+1000, k.sseq, nil, fill("beyond ", 100)))
	t.add(k.raw(true, pshAck, k.cseq+4096-50, k.sseq, nil, fill("overshoot ", 100)))
	return sc("tcp_out-of-window-data",
		"IPv4 TCP without window scaling: ACK of unsent data, ACK far below the window, stale data below the window, ordinary data, then data far beyond, beyond and overshooting the receiver's window",
		rows("TW-I", "TW-II", "TW-III", "TW-IV", "K-18"), t)
}

// tcpRST: RSTs against an established connection: out of the window,
// below the peer's last ACK, in the window but not exact (challenge ACK),
// exact; and a RST right after the sender's own data. No window scaling,
// so "out of the window" means more than 64 KiB away.
func tcpRST() Scenario {
	t := newTrace()
	k := &conn{c: client4, s: server4, cp: 40030, sp: 443, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 64240, swin: 65160}
	t.addAll(k.handshake(-1, -1)...)
	t.add(k.c2s(pshAck, nil, fill("client hello ", 200)))
	t.add(k.s2c(ack, nil, nil))
	t.add(k.s2c(pshAck, nil, fill("server hello ", 300)))
	t.add(k.c2s(ack, nil, nil))
	t.add(k.raw(false, rst, k.sseq+1_000_000_000, 0, nil, nil)) // far out of the window
	t.add(k.raw(false, rst, k.sseq-100, 0, nil, nil))           // below what the client acknowledged
	t.add(k.raw(false, rst, k.sseq+500, 0, nil, nil))           // in the window, not exact
	t.add(k.c2s(ack, nil, nil))                                 // the client's challenge ACK
	t.add(k.raw(false, rst, k.sseq, 0, nil, nil))               // exact: CLOSE
	t.add(k.c2s(pshAck, nil, fill("after close ", 50)))         // the client had not heard of it yet

	// IPv6: the client's RST+ACK out of the window, in it, then exact.
	k6 := &conn{c: client6, s: server6, cp: 40031, sp: 443, cseq: 0x3000_0000, sseq: 0x4000_0000, cwin: 64800, swin: 64800}
	t.addAll(k6.handshake(-1, -1)...)
	t.add(k6.c2s(pshAck, nil, fill("client hello ", 200)))
	t.add(k6.s2c(pshAck, nil, fill("server hello ", 300)))
	t.add(k6.raw(true, rstAck, k6.cseq+2_000_000_000, k6.sseq, nil, nil))
	t.add(k6.raw(true, rstAck, k6.cseq+1000, k6.sseq, nil, nil))
	t.add(k6.raw(true, rstAck, k6.cseq, k6.sseq, nil, nil))

	// IPv4: the server sends data and resets right after it, before the
	// client acknowledged the data (a RST "train": seq = end of the data).
	k3 := &conn{c: client4, s: server4, cp: 40032, sp: 443, cseq: 0x5000_0000, sseq: 0x6000_0000, cwin: 64240, swin: 65160}
	t.addAll(k3.handshake(-1, -1)...)
	t.add(k3.c2s(pshAck, nil, fill("client hello ", 200)))
	t.add(k3.s2c(pshAck, nil, fill("error page ", 300)))
	t.add(k3.raw(false, rst, k3.sseq, 0, nil, nil))
	return sc("tcp_rst_out-of-window_in-window_exact",
		"RSTs on established TCP flows without window scaling: far out of the window, below the peer's ACK (invalid rst), in the window but not exact (challenge ACK; state kept), exact (CLOSE); IPv6 RST+ACK out of the window, in it, exact; a RST right after the sender's data",
		rows("TW-10", "LB-04", "K-18"), t)
}

// tcpRetransmissions: SYN retransmitted in SYN_SENT, SYN/ACK retransmitted,
// a data segment sent five times unacknowledged, data retransmitted after
// its ACK, a FIN retransmitted, the last ACK repeated in TIME_WAIT.
func tcpRetransmissions() Scenario {
	t := newTrace()
	k := &conn{c: client4, s: server4, cp: 40040, sp: 25, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 64240, swin: 65160}
	ci, si := k.cseq, k.sseq
	t.add(k.c2s(syn, synOpts(7), nil))
	t.add(k.raw(true, syn, ci, 0, synOpts(7), nil)) // SYN retransmissions in SYN_SENT
	t.add(k.raw(true, syn, ci, 0, synOpts(7), nil))
	t.add(k.s2c(synAck, synOpts(7), nil))
	t.add(k.raw(false, synAck, si, ci+1, synOpts(7), nil)) // SYN/ACK retransmitted in SYN_RECV
	t.add(k.c2s(ack, nil, nil))
	data := fill("MAIL FROM:<a@example.com> ", 500)
	seq := k.cseq
	t.add(k.c2s(pshAck, nil, data))
	for range 4 { // the same segment four more times: beyond tcp_max_retrans (3)
		t.add(k.raw(true, pshAck, seq, k.sseq, nil, data))
	}
	t.add(k.s2c(ack, nil, nil))
	reply := fill("250 OK ", 1000)
	seq = k.sseq
	t.add(k.s2c(pshAck, nil, reply))
	t.add(k.raw(false, pshAck, seq, k.cseq, nil, reply)) // before the ACK
	t.add(k.c2s(ack, nil, nil))
	t.add(k.raw(false, pshAck, seq, k.cseq, nil, reply)) // after the ACK: already acknowledged
	t.add(k.c2s(ack, nil, nil))                          // duplicate ACK
	fin := k.cseq
	t.add(k.c2s(finAck, nil, nil))
	t.add(k.raw(true, finAck, fin, k.sseq, nil, nil)) // FIN retransmitted
	t.add(k.s2c(finAck, nil, nil))
	t.add(k.c2s(ack, nil, nil))
	t.add(k.raw(true, ack, k.cseq, k.sseq, nil, nil)) // last ACK again, in TIME_WAIT
	return sc("tcp_retransmissions",
		"IPv4 TCP retransmissions: SYN twice more in SYN_SENT, SYN/ACK again in SYN_RECV, one data segment five times unacknowledged (over tcp_max_retrans), data again before and after its ACK, FIN twice, the last ACK again in TIME_WAIT",
		rows("TW-07", "TW-II", "LT-10", "LT-11"), t)
}

// tcpWindowScale: window scaling negotiated (segments of 30000 bytes that
// fit only the scaled window), then scaling offered by the client alone
// (RFC 7323 §1.3: neither side scales), where the unscaled window bites.
func tcpWindowScale() Scenario {
	t := newTrace()
	k := &conn{c: client4, s: server4, cp: 40050, sp: 443, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 64240, swin: 65535}
	t.add(k.c2s(syn, synOpts(7), nil))
	t.add(k.s2c(synAck, synOpts(9), nil))
	k.cwin, k.swin = 502, 256 // 502<<7 = 64256 and 256<<9 = 131072 bytes
	t.add(k.c2s(ack, nil, nil))
	for range 3 { // 72000 bytes in flight: more than 65535, less than 131072
		t.add(k.c2s(ack, nil, fill("upload ", 24000)))
	}
	t.add(k.s2c(ack, nil, nil))
	for range 2 { // 60000 bytes in flight toward the client's 64256
		t.add(k.s2c(ack, nil, fill("download ", 30000)))
	}
	t.add(k.c2s(ack, nil, nil))

	k2 := &conn{c: client4, s: server4, cp: 40051, sp: 443, cseq: 0x3000_0000, sseq: 0x4000_0000, cwin: 64240, swin: 65535}
	t.add(k2.c2s(syn, synOpts(7), nil))
	t.add(k2.s2c(synAck, synOpts(-1), nil)) // no window scale in the SYN/ACK
	k2.cwin = 502                           // now 502 bytes, unscaled
	t.add(k2.c2s(ack, nil, nil))
	for range 3 { // the second and third start past the client's window
		t.add(k2.s2c(ack, nil, fill("download ", 1000)))
	}
	t.add(k2.c2s(ack, nil, nil))
	return sc("tcp_window-scale_negotiated-and-one-sided",
		"IPv4 TCP with window scaling negotiated (shifts 7 and 9: 72000 bytes in flight fit the scaled window only), then scaling offered by the client alone, where 502 means 502 bytes and the server overruns it",
		rows("TW-01", "TW-I"), t)
}

// tcpMidstreamPickup: connections already running when the capture starts,
// with large scaled windows the tracker never saw negotiated.
func tcpMidstreamPickup() Scenario {
	t := newTrace()
	for _, k := range []*conn{
		{c: client4, s: server4, cp: 40060, sp: 443, cseq: 0x1234_5678, sseq: 0x8765_4321, cwin: 300, swin: 200},
		{c: client6, s: server6, cp: 40061, sp: 443, cseq: 0x2234_5678, sseq: 0x9765_4321, cwin: 300, swin: 200},
	} {
		t.add(k.c2s(pshAck, nil, fill("request ", 1000)))
		for range 2 { // 8000 bytes toward a client that advertised "300"
			t.add(k.s2c(ack, nil, fill("response ", 4000)))
		}
		t.add(k.c2s(ack, nil, nil))
		for range 2 { // 6000 bytes toward a server that advertised "200"
			t.add(k.c2s(ack, nil, fill("upload ", 3000)))
		}
		t.add(k.s2c(ack, nil, nil))
		t.add(k.s2c(pshAck, nil, fill("done ", 100)))
		t.add(k.c2s(ack, nil, nil))
	}
	return sc("tcp_window-scale_midstream-pickup",
		"TCP picked up mid-stream (no handshake seen) over IPv4 and IPv6, with window fields of 300 and 200 and 3000- to 4000-byte segments that only scaled windows allow",
		rows("REC-32", "LB-02", "TW-01"), t)
}

// tcpReopen: a SYN on the tuple of a closed connection, from each of the
// cases nf_conntrack_tcp_packet tells apart.
func tcpReopen() Scenario {
	t := newTrace()
	established := func(k *conn) {
		t.addAll(k.handshake(7, 7)...)
		t.add(k.c2s(pshAck, nil, fill("request ", 100)))
		t.add(k.s2c(pshAck, nil, fill("response ", 200)))
		t.add(k.c2s(ack, nil, nil))
	}
	// The server closes first: TIME_WAIT with CLOSE_INIT on the reply
	// side, then the client's new SYN reopens.
	a := &conn{c: client4, s: server4, cp: 40070, sp: 80, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 502, swin: 509}
	established(a)
	t.add(a.s2c(finAck, nil, nil))
	t.add(a.c2s(finAck, nil, nil))
	t.add(a.s2c(ack, nil, nil))
	a.cseq += 100_000
	t.addAll(a.handshake(7, 7)...)
	// The client closes first: CLOSE_INIT is on the original side now, and
	// the client's new SYN reopens as well.
	b := &conn{c: client4, s: server4, cp: 40071, sp: 80, cseq: 0x3000_0000, sseq: 0x4000_0000, cwin: 502, swin: 509}
	established(b)
	t.add(b.c2s(finAck, nil, nil))
	t.add(b.s2c(finAck, nil, nil))
	t.add(b.c2s(ack, nil, nil))
	b.cseq += 100_000
	t.addAll(b.handshake(7, 7)...)
	// IPv6: the client aborts with a RST, then reopens.
	c := &conn{c: client6, s: server6, cp: 40072, sp: 80, cseq: 0x5000_0000, sseq: 0x6000_0000, cwin: 502, swin: 509}
	established(c)
	t.add(c.c2s(rst, nil, nil))
	c.cseq += 100_000
	t.addAll(c.handshake(7, 7)...)
	// IPv6: the server aborts with a RST; the client's SYN comes from the
	// other side of the RST: ignored, and the server's SYN/ACK answering it
	// brings the tracker back in sync (TW-08).
	d := &conn{c: client6, s: server6, cp: 40073, sp: 80, cseq: 0x7000_0000, sseq: 0x0800_0000, cwin: 502, swin: 509}
	established(d)
	t.add(d.raw(false, rst, d.sseq, 0, nil, nil))
	d.cseq += 100_000
	t.addAll(d.handshake(7, 7)...)
	return sc("tcp_time-wait_reopen",
		"SYN on a closed tuple: in TIME_WAIT after a server-first and after a client-first close; in CLOSE after the client's RST (IPv6); in CLOSE after the server's RST (IPv6: the SYN from the other side is ignored, the SYN/ACK answering it resynchronises)",
		rows("TW-12", "TW-07", "TW-08", "LT-07", "LT-08"), t)
}

// tcpFinClose: the orderly close from the client, from the server, and
// simultaneous, with data in the half-closed direction.
func tcpFinClose() Scenario {
	t := newTrace()
	open := func(k *conn) {
		t.addAll(k.handshake(7, 7)...)
		t.add(k.c2s(pshAck, nil, fill("request ", 100)))
		t.add(k.s2c(pshAck, nil, fill("response ", 200)))
		t.add(k.c2s(ack, nil, nil))
	}
	a := &conn{c: client4, s: server4, cp: 40080, sp: 80, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 502, swin: 509}
	open(a)
	t.add(a.c2s(finAck, nil, nil)) // FIN_WAIT
	t.add(a.s2c(ack, nil, nil))    // CLOSE_WAIT
	t.add(a.s2c(pshAck, nil, fill("trailer ", 150)))
	t.add(a.c2s(ack, nil, nil))
	t.add(a.s2c(finAck, nil, nil)) // LAST_ACK
	t.add(a.c2s(ack, nil, nil))    // TIME_WAIT

	b := &conn{c: client6, s: server6, cp: 40081, sp: 80, cseq: 0x3000_0000, sseq: 0x4000_0000, cwin: 502, swin: 509}
	open(b)
	t.add(b.s2c(finAck, nil, nil))
	t.add(b.c2s(ack, nil, nil))
	t.add(b.c2s(pshAck, nil, fill("more ", 150)))
	t.add(b.s2c(ack, nil, nil))
	t.add(b.c2s(finAck, nil, nil))
	t.add(b.s2c(ack, nil, nil))

	c := &conn{c: client4, s: server4, cp: 40082, sp: 80, cseq: 0x5000_0000, sseq: 0x6000_0000, cwin: 502, swin: 509}
	open(c)
	cfin, sfin := c.cseq, c.sseq
	t.add(c.raw(true, finAck, cfin, sfin, nil, nil)) // both FINs cross
	t.add(c.raw(false, finAck, sfin, cfin, nil, nil))
	t.add(c.raw(true, ack, cfin+1, sfin+1, nil, nil))
	t.add(c.raw(false, ack, sfin+1, cfin+1, nil, nil))
	return sc("tcp_fin-close_each-side",
		"TCP FIN close started by the client (IPv4, data from the server while half-closed), by the server (IPv6), and simultaneous (IPv4, FINs crossing)",
		rows("TW-07", "LT-04", "LT-05", "LT-06", "LT-07"), t)
}

// tcpRSTBeforeReply: connections reset before they were established.
func tcpRSTBeforeReply() Scenario {
	t := newTrace()
	// Refused: RST+ACK with seq 0 acknowledging the SYN.
	a := &conn{c: client4, s: server4, cp: 40090, sp: 8080, cseq: 0x1000_0000, cwin: 64240}
	t.add(a.c2s(syn, synOpts(7), nil))
	t.add(a.raw(false, rstAck, 0, a.cseq, nil, nil))
	// IPv6: RST+ACK acknowledging something else than the SYN, then the
	// right one.
	b := &conn{c: client6, s: server6, cp: 40091, sp: 8080, cseq: 0x2000_0000, cwin: 64800}
	t.add(b.c2s(syn, synOpts(7), nil))
	t.add(b.raw(false, rstAck, 0, b.cseq+1000, nil, nil))
	t.add(b.raw(false, rstAck, 0, b.cseq, nil, nil))
	// IPv6: a bare RST (no ACK) with seq 0.
	c := &conn{c: client6, s: server6, cp: 40092, sp: 8080, cseq: 0x3000_0000, cwin: 64800}
	t.add(c.c2s(syn, synOpts(7), nil))
	t.add(c.raw(false, rst, 0, 0, nil, nil))
	// The client gives up in SYN_RECV, before its ACK.
	d := &conn{c: client4, s: server4, cp: 40093, sp: 80, cseq: 0x4000_0000, sseq: 0x5000_0000, cwin: 64240, swin: 65160}
	t.add(d.c2s(syn, synOpts(7), nil))
	t.add(d.s2c(synAck, synOpts(7), nil))
	t.add(d.raw(true, rst, d.cseq, 0, nil, nil))
	return sc("tcp_rst-before-reply",
		"TCP reset before establishment: RST+ACK seq 0 refusing a SYN (IPv4); RST+ACK with a wrong then the right ack (IPv6); bare RST seq 0 (IPv6); the client's RST in SYN_RECV (IPv4)",
		rows("TW-03", "TW-07", "TW-10"), t)
}

// tcpExtHeaders: an IPv6 connection whose client segments carry Hop-by-Hop
// Options, Destination Options, a type 0 Routing header with no segments
// left, and Destination Options again.
func tcpExtHeaders() Scenario {
	t := newTrace()
	k := &conn{c: client6, s: server6, cp: 40100, sp: 22, cseq: 0x1000_0000, sseq: 0x2000_0000, cwin: 64800, swin: 64800,
		ext: func(next uint8) (uint8, []byte) {
			return packettest.ProtoHopByHop, packettest.Cat(
				packettest.HopByHop(packettest.ProtoDestOpts, packettest.PadN(6)),
				packettest.DestOpts(packettest.ProtoRouting, packettest.TunnelEncapLimit(4), packettest.PadN(3)),
				packettest.Routing(packettest.ProtoDestOpts, 0, 0, server6),
				packettest.DestOpts(next, packettest.PadN(6)),
			)
		}}
	t.addAll(k.handshake(7, 7)...)
	t.add(k.c2s(pshAck, nil, fill("SSH-2.0-client ", 40)))
	t.add(k.s2c(pshAck, nil, fill("SSH-2.0-server ", 40)))
	t.add(k.c2s(ack, nil, nil))
	t.add(k.c2s(finAck, nil, nil))
	t.add(k.s2c(finAck, nil, nil))
	t.add(k.c2s(ack, nil, nil))
	return sc("tcp_ipv6_ext-headers_handshake",
		"IPv6 TCP whose client segments carry HBH, DestOpts, a type 0 Routing header with segments left 0 and DestOpts again: the tracker must find TCP behind them and match the plain replies",
		rows("K-01", "K-02"), t)
}
