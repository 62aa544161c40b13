package afpacket

import (
	"encoding/binary"

	"github.com/hare-fw/hare/packet"
)

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
	c := ^packet.ChecksumFold(packet.ChecksumAdd(frame[start:], 0))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(frame[start+off:], c)
	return true
}

// partialChecksum turns the completed transport checksum of a GSO frame
// (a virtio_net_hdr with NEEDS_CSUM, then the Ethernet frame) back into
// what the kernel expects of CHECKSUM_PARTIAL: the folded pseudo-header sum
// over the transport length (RFC 793 §3.1, RFC 8200 §8.1), as
// tcp4_gro_complete and __tcp_v4_send_check leave it, from which
// tcp_gso_segment derives each segment's checksum. virtio_net_hdr_to_skb
// takes a GSO frame with an in-band VLAN tag only in this form. It reports
// false when the offsets do not fit the frame.
func partialChecksum(b []byte) bool {
	start := int(binary.NativeEndian.Uint16(b[vnetCsumStart:]))
	off := int(binary.NativeEndian.Uint16(b[vnetCsumOffset:]))
	f := b[vnetLen:]
	l3 := 14
	if et := binary.BigEndian.Uint16(f[12:]); et == 0x8100 || et == 0x88a8 {
		l3 = 18
	}
	if start+off+2 > len(f) || l3+20 > start {
		return false
	}
	proto := uint64(6) // TCP: csum_offset 16 (offsetof(struct tcphdr, check))
	if off == 6 {
		proto = 17 // UDP
	}
	n := uint64(len(f) - start)
	var acc uint64
	switch f[l3] >> 4 {
	case 4:
		acc = packet.ChecksumAdd(f[l3+12:l3+20], proto+n)
	case 6:
		if l3+40 > start {
			return false
		}
		acc = packet.ChecksumAdd(f[l3+8:l3+40], proto+n>>16+n&0xffff)
	default:
		return false
	}
	binary.BigEndian.PutUint16(f[start+off:], packet.ChecksumFold(acc))
	return true
}
