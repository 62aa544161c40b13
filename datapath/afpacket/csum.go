package afpacket

import "encoding/binary"

// sum adds b to the 32-bit one's-complement accumulator acc (RFC 1071 §4.1).
func sum(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		acc += v >> 32
		acc += v & 0xffffffff
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// completeChecksum fills in a checksum the sender left to the hardware
// (CHECKSUM_PARTIAL, seen as VIRTIO_NET_HDR_F_NEEDS_CSUM): the field at
// start+off holds the pseudo-header sum, and the checksum covers frame
// from start to its end. As skb_checksum_help, a result of zero is sent
// as 0xffff (CSUM_MANGLED_0), which UDP requires (RFC 768) and TCP and
// ICMPv6 accept. It reports false when the offsets lie outside frame.
func completeChecksum(frame []byte, start, off int) bool {
	if start < 0 || off < 0 || start+off+2 > len(frame) {
		return false
	}
	c := ^fold(sum(frame[start:], 0))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(frame[start+off:], c)
	return true
}
