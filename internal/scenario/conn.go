package scenario

import (
	"net/netip"

	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// TCP flag sets the scenarios use.
const (
	syn    = packet.TCPSyn
	synAck = packet.TCPSyn | packet.TCPAck
	ack    = packet.TCPAck
	pshAck = packet.TCPPsh | packet.TCPAck
	finAck = packet.TCPFin | packet.TCPAck
	rst    = packet.TCPRst
	rstAck = packet.TCPRst | packet.TCPAck
)

// conn is one TCP connection between a client c and a server s. It keeps
// the next sequence number each side sends, so that segments built with
// c2s and s2c follow each other; raw builds any other segment.
type conn struct {
	c, s       netip.Addr
	cp, sp     uint16
	cseq, sseq uint32 // next sequence number each side sends
	cwin, swin uint16 // the window field each side sends
	// ext, if set, puts IPv6 extension headers before the client's
	// segments: it returns the first header's protocol number and the
	// headers, the last of which names next.
	ext func(next uint8) (first uint8, hdrs []byte)
	ids uint16 // IPv4 identification counter
}

// synOpts are the options of a modern SYN: MSS, SACK permitted, window
// scale shift ws (none if ws < 0).
func synOpts(ws int) []byte {
	o := packettest.Cat(packettest.MSS(1460), packettest.SACKPermitted())
	if ws >= 0 {
		o = packettest.Cat(o, packettest.NOP(), packettest.WScale(uint8(ws)))
	}
	return o
}

// c2s returns the client's next segment as an IP packet and advances the
// client's sequence number (payload length, plus one for SYN or FIN). Its
// ack, when flags has ACK, is the server's next sequence number.
func (k *conn) c2s(flags packet.TCPFlags, opts, payload []byte) []byte {
	p := k.raw(true, flags, k.cseq, k.sseq, opts, payload)
	k.cseq += seqLen(flags, payload)
	return p
}

// s2c is c2s for the server.
func (k *conn) s2c(flags packet.TCPFlags, opts, payload []byte) []byte {
	p := k.raw(false, flags, k.sseq, k.cseq, opts, payload)
	k.sseq += seqLen(flags, payload)
	return p
}

func seqLen(flags packet.TCPFlags, payload []byte) uint32 {
	n := uint32(len(payload))
	if flags&(packet.TCPSyn|packet.TCPFin) != 0 {
		n++
	}
	return n
}

// raw returns a segment from the client (fromClient) or the server with
// the given seq and ack (ack is sent only with the ACK flag; the field is
// zero otherwise) and advances nothing: retransmissions, segments out of
// the window, RSTs at chosen sequence numbers.
func (k *conn) raw(fromClient bool, flags packet.TCPFlags, seq, ackNum uint32, opts, payload []byte) []byte {
	h := packettest.TCPHeader{Seq: seq, Flags: flags, Options: opts}
	if flags&packet.TCPAck != 0 {
		h.Ack = ackNum
	}
	src, dst := k.s, k.c
	if fromClient {
		src, dst = k.c, k.s
		h.SrcPort, h.DstPort, h.Window = k.cp, k.sp, k.cwin
	} else {
		h.SrcPort, h.DstPort, h.Window = k.sp, k.cp, k.swin
	}
	seg := packettest.TCP(src, dst, h, payload)
	if src.Is4() {
		k.ids++
		return packettest.IPv4(src, dst, packettest.ProtoTCP, seg, packettest.ID(k.ids), packettest.DF())
	}
	if fromClient && k.ext != nil {
		first, hdrs := k.ext(packettest.ProtoTCP)
		return packettest.IPv6(src, dst, first, packettest.Cat(hdrs, seg))
	}
	return packettest.IPv6(src, dst, packettest.ProtoTCP, seg)
}

// handshake returns the three segments of an ordinary opening with window
// scale shifts wsc and wss (negative: option absent).
func (k *conn) handshake(wsc, wss int) [][]byte {
	return [][]byte{
		k.c2s(syn, synOpts(wsc), nil),
		k.s2c(synAck, synOpts(wss), nil),
		k.c2s(ack, nil, nil),
	}
}
