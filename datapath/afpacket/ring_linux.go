package afpacket

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

var ne = binary.NativeEndian

// Offsets in struct tpacket_block_desc (include/uapi/linux/if_packet.h):
// version, offset_to_priv, then tpacket_hdr_v1.
const (
	blkStatus   = 8  // hdr.bh1.block_status
	blkNumPkts  = 12 // hdr.bh1.num_pkts
	blkFirstPkt = 16 // hdr.bh1.offset_to_first_pkt
)

// Offsets in struct tpacket3_hdr.
const (
	tpNextOffset = 0
	tpSnaplen    = 12
	tpLen        = 16
	tpStatus     = 20
	tpMac        = 24
	tpVlanTCI    = 32 // hv1.tp_vlan_tci
	tpVlanTPID   = 36 // hv1.tp_vlan_tpid
	// tpacket_rcv writes a struct sockaddr_ll after the header, at
	// TPACKET_ALIGN(sizeof(struct tpacket3_hdr)); the frame's own bytes
	// (and the virtio_net_hdr before them) start after that.
	tpHdrEnd = 48 + unix.SizeofSockaddrLinklayer
)

// ring is one socket's TPACKET_V3 receive ring (packet_set_ring with
// tpacket_req3): Blocks blocks of BlockSize bytes. The kernel fills the
// current block frame by frame (prb_fill_curr_block) and hands it over
// whole by setting TP_STATUS_USER in its descriptor when it is full or
// its timer expires (prb_close_block); user space gives it back by
// writing TP_STATUS_KERNEL. Blocks go round in order, so the blocks
// user space holds are always a contiguous run starting at first.
//
// Frames of a block stay valid until the block is given back, which a
// Port does only after transmitting what it accepted (Done): frames are
// decided and transmitted straight from the ring, without a copy.
type ring struct {
	mem   []byte
	bsize int
	n     int

	cur   int  // the block being read, or the one waited for
	open  bool // cur is handed over and has frames left
	left  int  // frames left in cur
	next  int  // offset in mem of cur's next frame
	first int  // the oldest block held
	held  int  // blocks read to the end and not yet given back
}

func (r *ring) status(blk int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[blk*r.bsize+blkStatus]))
}

// nextFrame returns the offset in mem of the next frame the kernel has
// handed over, or -1. A block read to its end counts as held until
// release.
func (r *ring) nextFrame() int {
	for !r.open {
		if atomic.LoadUint32(r.status(r.cur))&unix.TP_STATUS_USER == 0 {
			return -1
		}
		base := r.cur * r.bsize
		r.left = int(ne.Uint32(r.mem[base+blkNumPkts:]))
		r.next = base + int(ne.Uint32(r.mem[base+blkFirstPkt:]))
		if r.left > 0 {
			r.open = true
			break
		}
		r.advance()
	}
	off := r.next
	r.next = off + int(ne.Uint32(r.mem[off+tpNextOffset:]))
	r.left--
	if r.left == 0 {
		r.advance()
	}
	return off
}

func (r *ring) advance() {
	r.open = false
	r.cur++
	if r.cur == r.n {
		r.cur = 0
	}
	r.held++
}

// release gives every block read to its end back to the kernel.
func (r *ring) release() {
	for ; r.held > 0; r.held-- {
		atomic.StoreUint32(r.status(r.first), unix.TP_STATUS_KERNEL)
		r.first++
		if r.first == r.n {
			r.first = 0
		}
	}
}
