package afpacket

import (
	"fmt"
	"time"
)

// Config says which two interfaces to bridge and how.
type Config struct {
	// A and B are the two interfaces (names, e.g. "eth0" and "eth1").
	// Frames read on one are transmitted on the other.
	A, B string

	// Workers is the number of Ports, one per worker goroutine; each owns
	// one socket on A and one on B, in one PACKET_FANOUT_HASH group per
	// interface. Default 1.
	Workers int

	// Ring is the kind of receive ring: RingV3 (the default) or RingV2.
	// See Ring for which to choose.
	Ring Ring

	// Frames is the number of frame slots of a RingV2 ring, rounded up
	// to a multiple of 15 (fifteen 68 KiB slots to a 1 MiB block; a slot
	// holds the largest frame, a 64 KiB GRO frame). Default 120: 8 MiB
	// per socket, as the RingV3 default. A slot holds one frame however
	// small, so Frames is how many frames a worker may fall behind by
	// before the kernel drops (tp_drops, KernelDrops).
	Frames int

	// BlockSize and Blocks size each socket's TPACKET_V3 receive ring
	// (tpacket_req3.tp_block_size, tp_block_nr). BlockSize is a multiple of
	// the page size and large enough for a 64 KiB GRO frame. Defaults
	// 128 KiB and 64 (8 MiB per socket, two sockets per worker). At a low
	// rate the kernel hands over a block per BlockTimeout however few
	// frames it holds, so Blocks × BlockTimeout (64 ms) is how long a
	// worker may stall (a reload, the scheduler) before the ring is full
	// and the kernel drops (tp_drops, KernelDrops); at a high rate the
	// blocks fill and it is BlockSize × Blocks bytes of frames.
	BlockSize int
	Blocks    int

	// BlockTimeout is tpacket_req3.tp_retire_blk_tov: how long the kernel
	// waits before handing over a block that is not full
	// (prb_retire_rx_blk_timer_expired), the latency added at low rates.
	// Millisecond granularity; default 1 ms.
	BlockTimeout time.Duration

	// PassARP passes ARP frames (EtherType 0x0806) unseen by the workers
	// (a bridge without ARP is no bridge); PassNonIP passes every other
	// frame that is neither IPv4 nor IPv6 (LLDP, STP, IPX, QinQ ...).
	// Frames not passed are dropped. DefaultConfig: ARP passes, the rest
	// is dropped, which is what a Linux bridge does with the link-local
	// 01:80:C2:00:00:0X group (br_handle_frame) and what a firewall wants
	// for protocols it cannot inspect.
	PassARP   bool
	PassNonIP bool

	// Defrag sets PACKET_FANOUT_FLAG_DEFRAG: the kernel reassembles IPv4
	// fragments before fanout (ip_check_defrag), so workers see whole
	// datagrams as a br_netfilter bridge does, and a datagram larger than
	// the egress MTU is fragmented again on transmission
	// (br_nf_dev_queue_xmit → ip_do_fragment). IPv6 fragments arrive as
	// they are (the kernel has no AF_PACKET IPv6 reassembly); hash fanout
	// puts all fragments of one datagram on one worker anyway, because
	// the flow dissector hashes fragments on their addresses only.
	Defrag bool

	// DisableLRO turns large receive offload off on both interfaces while
	// the bridge runs (as br_add_if does with dev_disable_lro): LRO merges
	// segments in ways that cannot be undone on transmission. GRO is kept:
	// its frames arrive with their GSO description (PACKET_VNET_HDR) and
	// the kernel segments them again on transmission.
	DisableLRO bool
}

// Ring is the TPACKET version of the receive rings (PACKET_VERSION).
//
// RingV3 (TPACKET_V3) hands frames over a block at a time: when a block
// is full or its timer (BlockTimeout, at least 1 ms) expires
// (prb_retire_rx_blk_timer_expired). Blocks pack frames tightly and one
// wakeup brings many frames: the choice for throughput. At a low rate
// every frame waits for the timer, about 1 ms in each direction.
//
// RingV2 (TPACKET_V2) hands over every frame as soon as it is written
// (tpacket_rcv sets its slot's tp_status and wakes the reader): the
// choice for latency. Each frame takes a whole 68 KiB slot and, at a low
// rate, costs a wakeup of its own.
type Ring uint8

const (
	RingV3 Ring = iota
	RingV2
)

func (r Ring) String() string {
	if r == RingV2 {
		return "v2"
	}
	return "v3"
}

// ParseRing reads "v2" or "v3".
func ParseRing(s string) (Ring, error) {
	switch s {
	case "v3":
		return RingV3, nil
	case "v2":
		return RingV2, nil
	}
	return 0, fmt.Errorf("ring %q: not \"v2\" (TPACKET_V2, low latency) or \"v3\" (TPACKET_V3, throughput)", s)
}

// DefaultConfig returns the configuration for bridging a and b with one
// worker.
func DefaultConfig(a, b string) Config {
	return Config{
		A: a, B: b,
		Workers:      1,
		BlockSize:    128 << 10,
		Blocks:       64,
		BlockTimeout: time.Millisecond,
		Frames:       120,
		PassARP:      true,
		Defrag:       true,
		DisableLRO:   true,
	}
}

// minBlock is the smallest block that holds a 64 KiB frame (a GRO frame
// or a reassembled datagram) with its tpacket3_hdr and offsets.
const minBlock = 128 << 10

func (c *Config) check(pageSize int) error {
	if c.A == "" || c.B == "" || c.A == c.B {
		return fmt.Errorf("afpacket: need two different interfaces, have %q and %q", c.A, c.B)
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Workers > 1024 {
		return fmt.Errorf("afpacket: %d workers; a fanout group holds at most 1024 sockets (PACKET_FANOUT_MAX)", c.Workers)
	}
	if c.Ring != RingV3 && c.Ring != RingV2 {
		return fmt.Errorf("afpacket: ring kind %d: not RingV3 or RingV2", c.Ring)
	}
	if c.Frames == 0 {
		c.Frames = 120
	}
	if c.Frames < 2 || c.Frames > MaxFrames {
		return fmt.Errorf("afpacket: %d frames: need 2 to %d", c.Frames, MaxFrames)
	}
	if c.BlockSize == 0 {
		c.BlockSize = 128 << 10
	}
	if c.Blocks == 0 {
		c.Blocks = 64
	}
	if c.BlockTimeout == 0 {
		c.BlockTimeout = time.Millisecond
	}
	if c.BlockSize < minBlock || c.BlockSize%pageSize != 0 {
		return fmt.Errorf("afpacket: block size %d: must be a multiple of the page size (%d) and at least %d", c.BlockSize, pageSize, minBlock)
	}
	if c.Blocks < 2 {
		return fmt.Errorf("afpacket: %d blocks: need at least 2", c.Blocks)
	}
	if c.BlockTimeout < time.Millisecond {
		return fmt.Errorf("afpacket: block timeout %v: the kernel counts it in milliseconds", c.BlockTimeout)
	}
	return nil
}

// A TPACKET_V2 ring is made of slots of one fixed size, one frame each
// (tpacket_rcv clamps a longer frame to the slot: "packet too big"), so a
// slot must hold the largest frame the bridge forwards, a 64 KiB GRO frame
// or reassembled datagram, behind tpacket_rcv's headroom (macoff: the
// aligned TPACKET2_HDRLEN, the virtio_net_hdr). 17 pages do, and fifteen
// of them fill a 1 MiB block (the kernel allocates a block as one
// power-of-two run of pages, alloc_pg_vec, so a block of exactly one
// slot would waste almost half of it).
const (
	frame2Size     = 17 << 12
	block2Size     = 1 << 20
	framesPerBlock = block2Size / frame2Size
)

// MaxFrames is the most slots a TPACKET_V2 ring (Config.Frames) may have:
// packet_set_ring refuses a ring of 4 GiB or more (tp_block_size ×
// tp_block_nr above UINT_MAX), which would otherwise surface only when the
// bridge opens.
const MaxFrames = (1<<32 - 1) / block2Size * framesPerBlock
