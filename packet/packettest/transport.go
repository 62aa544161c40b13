package packettest

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"

	"github.com/hare-fw/hare/packet"
)

// TCPHeader holds the fields of a TCP header (RFC 9293 §3.1) that TCP
// writes. Data Offset and the checksum are computed.
type TCPHeader struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            packet.TCPFlags // FIN…CWR in the flags byte, AE in the reserved bit before them
	Window           uint16
	Urgent           uint16
	// Options are raw options (see MSS, WScale…), padded with zeros (End of
	// Option List) to a multiple of 4 bytes.
	Options []byte
	// BadChecksum stores the complement of the correct checksum.
	BadChecksum bool
}

// TCP returns a TCP segment from src to dst: the header h followed by
// payload, with the checksum computed over the pseudo-header of src's
// family.
func TCP(src, dst netip.Addr, h TCPHeader, payload []byte) []byte {
	optLen := (len(h.Options) + 3) &^ 3
	if optLen > 40 {
		panic("packettest: more than 40 bytes of TCP options")
	}
	hl := 20 + optLen
	b := make([]byte, hl, hl+len(payload))
	put16(b[0:], h.SrcPort)
	put16(b[2:], h.DstPort)
	binary.BigEndian.PutUint32(b[4:], h.Seq)
	binary.BigEndian.PutUint32(b[8:], h.Ack)
	b[12] = byte(hl/4)<<4 | byte(h.Flags>>8&1)
	b[13] = byte(h.Flags)
	put16(b[14:], h.Window)
	put16(b[18:], h.Urgent)
	copy(b[20:], h.Options)
	b = append(b, payload...)
	c := TransportChecksum(src, dst, ProtoTCP, b)
	if h.BadChecksum {
		c = ^c
	}
	put16(b[16:], c)
	return b
}

// TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018), concatenated with Cat
// into TCPHeader.Options.

// NOP is the one-byte No-Operation option.
func NOP() []byte { return []byte{1} }

// MSS returns the Maximum Segment Size option (kind 2).
func MSS(mss uint16) []byte { return []byte{2, 4, byte(mss >> 8), byte(mss)} }

// WScale returns the Window Scale option (kind 3, RFC 7323 §2.2).
func WScale(shift uint8) []byte { return []byte{3, 3, shift} }

// SACKPermitted returns the SACK-Permitted option (kind 4, RFC 2018 §2).
func SACKPermitted() []byte { return []byte{4, 2} }

// SACK returns a SACK option (kind 5, RFC 2018 §3) with the given blocks,
// each [left edge, right edge].
func SACK(blocks ...[2]uint32) []byte {
	b := []byte{5, byte(2 + 8*len(blocks))}
	for _, bl := range blocks {
		b = binary.BigEndian.AppendUint32(b, bl[0])
		b = binary.BigEndian.AppendUint32(b, bl[1])
	}
	return b
}

// Timestamps returns the Timestamps option (kind 8, RFC 7323 §3.2).
func Timestamps(val, ecr uint32) []byte {
	b := []byte{8, 10}
	b = binary.BigEndian.AppendUint32(b, val)
	return binary.BigEndian.AppendUint32(b, ecr)
}

// UDP returns a UDP datagram (RFC 768) with length and checksum computed.
// Over IPv4 a computed checksum of zero is sent as 0xFFFF (RFC 768).
func UDP(src, dst netip.Addr, srcPort, dstPort uint16, payload []byte) []byte {
	b := udpHeader(srcPort, dstPort, mustFit16(8+len(payload), "UDP length"), payload)
	c := TransportChecksum(src, dst, ProtoUDP, b)
	if c == 0 {
		c = 0xffff
	}
	put16(b[6:], c)
	return b
}

// UDPNoChecksum returns a UDP datagram with checksum 0: "no checksum" over
// IPv4, invalid over IPv6 (RFC 8200 §8.1).
func UDPNoChecksum(srcPort, dstPort uint16, payload []byte) []byte {
	return udpHeader(srcPort, dstPort, mustFit16(8+len(payload), "UDP length"), payload)
}

// UDPLite returns a UDP-Lite datagram (RFC 3828 §3): coverage is the
// Checksum Coverage field (0 = the whole datagram) and the checksum covers
// that many bytes, with the pseudo-header stating the full length.
func UDPLite(src, dst netip.Addr, srcPort, dstPort, coverage uint16, payload []byte) []byte {
	b := udpHeader(srcPort, dstPort, coverage, payload)
	n := int(coverage)
	if n == 0 || n > len(b) {
		n = len(b)
	}
	c := checksum(b[:n], pseudoSum(src, dst, ProtoUDPLite, len(b)))
	if c == 0 {
		c = 0xffff
	}
	put16(b[6:], c)
	return b
}

func udpHeader(srcPort, dstPort, length uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	put16(b[0:], srcPort)
	put16(b[2:], dstPort)
	put16(b[4:], length)
	return append(b, payload...)
}

// SCTP returns an SCTP packet (RFC 9260 §3): the common header and chunks
// (see SCTPInit, SCTPData), with the CRC32c checksum (RFC 9260 Appendix A)
// computed.
func SCTP(srcPort, dstPort uint16, vtag uint32, chunks ...[]byte) []byte {
	b := make([]byte, 12)
	put16(b[0:], srcPort)
	put16(b[2:], dstPort)
	binary.BigEndian.PutUint32(b[4:], vtag)
	for _, c := range chunks {
		b = append(b, c...)
	}
	// The CRC is stored least significant byte first (RFC 9260 Appendix A).
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// SCTPChunk returns a chunk of type typ with flags and value, padded to a
// multiple of 4 bytes (the length field excludes the padding, RFC 9260 §3.2).
func SCTPChunk(typ, flags uint8, value []byte) []byte {
	b := []byte{typ, flags}
	b = binary.BigEndian.AppendUint16(b, mustFit16(4+len(value), "SCTP chunk length"))
	b = append(b, value...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// SCTPInit returns an INIT chunk (type 1, RFC 9260 §3.3.2) without optional
// parameters.
func SCTPInit(initTag, arwnd uint32, outStreams, inStreams uint16, initTSN uint32) []byte {
	v := binary.BigEndian.AppendUint32(nil, initTag)
	v = binary.BigEndian.AppendUint32(v, arwnd)
	v = binary.BigEndian.AppendUint16(v, outStreams)
	v = binary.BigEndian.AppendUint16(v, inStreams)
	v = binary.BigEndian.AppendUint32(v, initTSN)
	return SCTPChunk(1, 0, v)
}

// SCTPData returns a DATA chunk (type 0, RFC 9260 §3.3.1) with the B and E
// flags set (an unfragmented user message).
func SCTPData(tsn uint32, stream, streamSeq uint16, ppid uint32, data []byte) []byte {
	v := binary.BigEndian.AppendUint32(nil, tsn)
	v = binary.BigEndian.AppendUint16(v, stream)
	v = binary.BigEndian.AppendUint16(v, streamSeq)
	v = binary.BigEndian.AppendUint32(v, ppid)
	return SCTPChunk(0, 0x03, append(v, data...))
}

// DCCPRequest returns a DCCP-Request packet (RFC 4340 §5.1, §5.2) with
// 48-bit sequence number seq and service code service, checksum over the
// whole packet (CsCov 0).
func DCCPRequest(src, dst netip.Addr, srcPort, dstPort uint16, seq uint64, service uint32) []byte {
	b := make([]byte, 20)
	put16(b[0:], srcPort)
	put16(b[2:], dstPort)
	b[4] = 5                // Data Offset: 20 bytes in 4-byte words
	b[8] = 0<<1 | 1         // Res 0, Type 0 (Request), X=1 (48-bit sequence numbers)
	b[10] = byte(seq >> 40) // byte 9 reserved; the sequence number fills bytes 10-15
	b[11] = byte(seq >> 32)
	binary.BigEndian.PutUint32(b[12:], uint32(seq))
	binary.BigEndian.PutUint32(b[16:], service)
	put16(b[6:], TransportChecksum(src, dst, ProtoDCCP, b))
	return b
}

// GRE returns a GRE version 0 header (RFC 2784 §2.1) for payload of
// EtherType proto, without checksum, key or sequence number.
func GRE(proto uint16, payload []byte) []byte {
	b := []byte{0, 0, byte(proto >> 8), byte(proto)}
	return append(b, payload...)
}

// GREKey returns a GRE version 0 header with the Key field (RFC 2890 §2.1).
func GREKey(proto uint16, key uint32, payload []byte) []byte {
	b := []byte{0x20, 0, byte(proto >> 8), byte(proto)}
	b = binary.BigEndian.AppendUint32(b, key)
	return append(b, payload...)
}

// PPTPGRE returns an enhanced GRE (version 1) header as PPTP uses it (RFC
// 2637 §4.1): K and S set, protocol 0x880B (PPP), Key = payload length and
// call ID, then the sequence number, followed by the PPP frame ppp.
func PPTPGRE(callID uint16, seq uint32, ppp []byte) []byte {
	b := []byte{0x30, 0x01, 0x88, 0x0b}
	b = binary.BigEndian.AppendUint16(b, mustFit16(len(ppp), "PPTP payload length"))
	b = binary.BigEndian.AppendUint16(b, callID)
	b = binary.BigEndian.AppendUint32(b, seq)
	return append(b, ppp...)
}
