package afpacket

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Offsets in struct tpacket2_hdr (include/uapi/linux/if_packet.h).
const (
	tp2Status   = 0
	tp2Len      = 4
	tp2Snaplen  = 8
	tp2Mac      = 12
	tp2VlanTCI  = 24
	tp2VlanTPID = 26
	// TPACKET2_HDRLEN: the header aligned (TPACKET_ALIGN), then the
	// struct sockaddr_ll tpacket_rcv writes after it.
	tp2HdrEnd = 32 + unix.SizeofSockaddrLinklayer
)

// ring2 is one socket's TPACKET_V2 receive ring (packet_set_ring with
// tpacket_req): Frames slots, each handed over on its own. The kernel
// writes a frame in the slot at its head (packet_current_rx_frame, which
// drops the frame when that slot is not TP_STATUS_KERNEL), sets the
// slot's tp_status to TP_STATUS_USER (__packet_set_status) and wakes the
// socket's poller (sk_data_ready) for every frame: unlike a TPACKET_V3
// block, nothing waits for a timer. User space gives a slot back by
// writing TP_STATUS_KERNEL. Slots go round in order, so the ones user
// space holds are a contiguous run starting at first.
type ring2 struct {
	mem []byte
	n   int // slots

	cur   int // the slot read next
	first int // the oldest slot held
	held  int // slots read and not yet given back
}

var _ rxRing = (*ring2)(nil)

// v2Slots returns the slots a ring of at least frames slots has: whole
// blocks of framesPerBlock.
func v2Slots(frames int) int {
	return (frames + framesPerBlock - 1) / framesPerBlock * framesPerBlock
}

func openRing2(fd int, c *Config) (rxRing, error) {
	n := v2Slots(c.Frames)
	req := unix.TpacketReq{
		Block_size: block2Size,
		Block_nr:   uint32(n / framesPerBlock),
		Frame_size: frame2Size,
		Frame_nr:   uint32(n),
	}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("afpacket: PACKET_RX_RING (TPACKET_V2, %d frames of %d bytes): %w", n, frame2Size, err)
	}
	mem, err := mapRing(fd, block2Size*(n/framesPerBlock))
	if err != nil {
		return nil, err
	}
	return &ring2{mem: mem, n: n}, nil
}

func (r *ring2) bytes() []byte { return r.mem }

// slot returns the offset of slot i in the ring, as packet_lookup_frame
// finds it: its block, then its place in the block.
func (r *ring2) slot(i int) int {
	return i/framesPerBlock*block2Size + i%framesPerBlock*frame2Size
}

func (r *ring2) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[r.slot(i)+tp2Status]))
}

// next returns the frame in the next slot if the kernel has handed it over
// (__packet_get_status says TP_STATUS_USER).
func (r *ring2) next() (frame, bool) {
	// With every slot held, cur is the oldest of them, still
	// TP_STATUS_USER: it is not handed over again.
	if r.held == r.n || atomic.LoadUint32(r.status(r.cur))&unix.TP_STATUS_USER == 0 {
		return frame{}, false
	}
	off, m := r.slot(r.cur), r.mem
	r.cur++
	if r.cur == r.n {
		r.cur = 0
	}
	r.held++
	return frame{
		hdrEnd: off + tp2HdrEnd,
		mac:    off + int(ne.Uint16(m[off+tp2Mac:])),
		snap:   int(ne.Uint32(m[off+tp2Snaplen:])),
		wire:   int(ne.Uint32(m[off+tp2Len:])),
		status: ne.Uint32(m[off+tp2Status:]),
		tci:    ne.Uint16(m[off+tp2VlanTCI:]),
		tpid:   ne.Uint16(m[off+tp2VlanTPID:]),
	}, true
}

// release gives every slot read back to the kernel, oldest first, so that
// the kernel's head (packet_increment_head) finds them free in order.
func (r *ring2) release() {
	for ; r.held > 0; r.held-- {
		atomic.StoreUint32(r.status(r.first), unix.TP_STATUS_KERNEL)
		r.first++
		if r.first == r.n {
			r.first = 0
		}
	}
}

// drops returns tp_drops of struct tpacket_stats, the form
// packet_getsockopt copies for a TPACKET_V2 socket (no tp_freeze_q_cnt:
// a V2 ring has no blocks to freeze).
func (r *ring2) drops(fd int) uint64 {
	st, err := unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0
	}
	return uint64(st.Drops)
}

func (r *ring2) unmap() {
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem = nil
	}
}
