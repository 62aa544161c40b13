package afpacket

import (
	"encoding/binary"

	"github.com/hare-fw/hare/packet"
)

// IPv4 option types that matter when fragmenting (RFC 791 §3.1).
const (
	ipoptEnd    = 0
	ipoptNoop   = 1
	ipoptCopied = 0x80
)

// fragment4 splits the IPv4 datagram in frame (a link header of l2 bytes,
// then the datagram) into fragments whose IP length is at most mtu, as
// ip_do_fragment (slow path) does for a bridge in br_nf_dev_queue_xmit:
// every fragment but the last carries a multiple of 8 bytes of payload;
// the header is copied, with the options not flagged "copied" replaced by
// NOPs after the first fragment (ip_options_fragment, RFC 791 §3.2); the
// offset continues the datagram's own, MF is set on all fragments but the
// last unless the datagram had it; total length and header checksum are
// recomputed. Fragment i is written to buf, as a zeroed virtio_net_hdr, the
// link header and the IP fragment, and ends at ends[i].
//
// It returns the number of fragments, or 0 when the datagram must not be
// fragmented (DF set: the kernel fails it with EMSGSIZE, FRAGFAILS), is
// malformed, or does not fit buf or ends.
func fragment4(buf []byte, ends []int, frame []byte, l2, mtu int) int {
	if len(frame) < l2+20 {
		return 0
	}
	ip := frame[l2:]
	ihl := int(ip[0]&0x0f) * 4
	tot := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[0]>>4 != 4 || ihl < 20 || tot < ihl || tot > len(ip) {
		return 0
	}
	fo := binary.BigEndian.Uint16(ip[6:])
	if fo&0x4000 != 0 { // IP_DF
		return 0
	}
	chunk := (mtu - ihl) &^ 7
	if chunk <= 0 {
		return 0
	}
	var hdr [60]byte
	copy(hdr[:], ip[:ihl])
	payload := ip[ihl:tot]
	offset := int(fo&0x1fff) * 8
	moreAfter := fo&0x2000 != 0
	n, w := 0, 0
	for left := len(payload); left > 0; {
		size := min(chunk, left)
		need := vnetLen + l2 + ihl + size
		if n == len(ends) || w+need > len(buf) || offset > 0xffff {
			return 0
		}
		f := buf[w : w+need]
		clear(f[:vnetLen])
		copy(f[vnetLen:], frame[:l2])
		h := f[vnetLen+l2:]
		copy(h, hdr[:ihl])
		copy(h[ihl:], payload[len(payload)-left:len(payload)-left+size])
		left -= size
		v := uint16(offset / 8)
		if left > 0 || moreAfter {
			v |= 0x2000 // IP_MF
		}
		binary.BigEndian.PutUint16(h[2:], uint16(ihl+size))
		binary.BigEndian.PutUint16(h[6:], v)
		h[10], h[11] = 0, 0
		binary.BigEndian.PutUint16(h[10:], ^packet.ChecksumFold(packet.ChecksumAdd(h[:ihl], 0)))
		if n == 0 {
			optionsFragment(hdr[20:ihl])
		}
		offset += size
		w += need
		ends[n] = w
		n++
	}
	return n
}

// optionsFragment replaces the options that are not copied into every
// fragment by NOPs (ip_options_fragment).
func optionsFragment(opt []byte) {
	for i := 0; i < len(opt); {
		switch opt[i] {
		case ipoptEnd:
			return
		case ipoptNoop:
			i++
			continue
		}
		if i+1 >= len(opt) {
			return
		}
		l := int(opt[i+1])
		if l < 2 || i+l > len(opt) {
			return
		}
		if opt[i]&ipoptCopied == 0 {
			for j := i; j < i+l; j++ {
				opt[j] = ipoptNoop
			}
		}
		i += l
	}
}
