package afpacket

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

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

// ring3 is one socket's TPACKET_V3 receive ring (packet_set_ring with
// tpacket_req3): Blocks blocks of BlockSize bytes. The kernel fills the
// current block frame by frame (prb_fill_curr_block) and hands it over
// whole by setting TP_STATUS_USER in its descriptor when it is full or
// its timer expires (prb_close_block); user space gives it back by
// writing TP_STATUS_KERNEL. Blocks go round in order, so the blocks
// user space holds are always a contiguous run starting at first.
type ring3 struct {
	mem   []byte
	bsize int
	n     int

	cur   int  // the block being read, or the one waited for
	open  bool // cur is handed over and has frames left
	left  int  // frames left in cur
	at    int  // offset in mem of cur's next frame
	first int  // the oldest block held
	held  int  // blocks read to the end and not yet given back
}

var _ rxRing = (*ring3)(nil)

func openRing3(fd int, c *Config) (rxRing, error) {
	req := unix.TpacketReq3{
		Block_size:     uint32(c.BlockSize),
		Block_nr:       uint32(c.Blocks),
		Frame_size:     2048, // only checked for alignment in TPACKET_V3
		Frame_nr:       uint32(c.BlockSize / 2048 * c.Blocks),
		Retire_blk_tov: uint32(c.BlockTimeout.Milliseconds()),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("afpacket: PACKET_RX_RING (%d blocks of %d bytes): %w", c.Blocks, c.BlockSize, err)
	}
	mem, err := mapRing(fd, c.BlockSize*c.Blocks)
	if err != nil {
		return nil, err
	}
	return &ring3{mem: mem, bsize: c.BlockSize, n: c.Blocks}, nil
}

func (r *ring3) bytes() []byte { return r.mem }

func (r *ring3) status(blk int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[blk*r.bsize+blkStatus]))
}

// next returns the next frame the kernel has handed over. A block read
// to its end counts as held until release.
func (r *ring3) next() (frame, bool) {
	for !r.open {
		// Every block is held: cur is the oldest of them, whose status
		// still says TP_STATUS_USER; it is not handed over again.
		if r.held == r.n {
			return frame{}, false
		}
		if atomic.LoadUint32(r.status(r.cur))&unix.TP_STATUS_USER == 0 {
			return frame{}, false
		}
		base := r.cur * r.bsize
		r.left = int(ne.Uint32(r.mem[base+blkNumPkts:]))
		r.at = base + int(ne.Uint32(r.mem[base+blkFirstPkt:]))
		if r.left > 0 {
			r.open = true
			break
		}
		r.advance()
	}
	off := r.at
	m := r.mem
	r.at = off + int(ne.Uint32(m[off+tpNextOffset:]))
	r.left--
	if r.left == 0 {
		r.advance()
	}
	return frame{
		hdrEnd: off + tpHdrEnd,
		mac:    off + int(ne.Uint16(m[off+tpMac:])),
		snap:   int(ne.Uint32(m[off+tpSnaplen:])),
		wire:   int(ne.Uint32(m[off+tpLen:])),
		status: ne.Uint32(m[off+tpStatus:]),
		tci:    uint16(ne.Uint32(m[off+tpVlanTCI:])),
		tpid:   ne.Uint16(m[off+tpVlanTPID:]),
	}, true
}

func (r *ring3) advance() {
	r.open = false
	r.cur++
	if r.cur == r.n {
		r.cur = 0
	}
	r.held++
}

// release gives every block read to its end back to the kernel. A block
// still being read stays: its frames returned so far are only given back
// with it, after the Port's next Done.
func (r *ring3) release() {
	for ; r.held > 0; r.held-- {
		atomic.StoreUint32(r.status(r.first), unix.TP_STATUS_KERNEL)
		r.first++
		if r.first == r.n {
			r.first = 0
		}
	}
}

// drops returns tp_drops of struct tpacket_stats_v3 (packet_getsockopt
// copies the V3 form, with tp_freeze_q_cnt, for a V3 socket).
func (r *ring3) drops(fd int) uint64 {
	st, err := unix.GetsockoptTpacketStatsV3(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0
	}
	return uint64(st.Drops)
}

func (r *ring3) unmap() {
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem = nil
	}
}
