package afpacket

import (
	"errors"

	"github.com/hare-fw/hare/datapath"
)

// fwdSize is the room for the frames Forward copies in one batch: the
// held fragments of the datagrams the batch completes. When it is full
// the queues are sent early (their other frames still point into the
// rings, which stay held until Done).
const fwdSize = 256 << 10

var errForward = errors.New("afpacket: cannot forward this frame")

var _ datapath.Forwarder = (*Port)(nil)

// Forward sends pk, a frame of an earlier batch the worker kept (a
// fragment held until its datagram was whole and accepted), out of the
// interface opposite the one it came in on, unchanged. The bridge thus
// sends a datagram's fragments as they came, where Linux's br_netfilter
// reassembles the datagram (nf_ct_frag6_gather, ip_defrag) and fragments
// it again on its way out (br_nf_dev_queue_xmit → br_ip6_fragment,
// ip_do_fragment). (IPv4 is reassembled by the kernel before the ring
// with PACKET_FANOUT_FLAG_DEFRAG, the default: send then fragments the
// accepted datagram again as br_nf_dev_queue_xmit does.) The frame is
// copied, behind a zeroed virtio_net_hdr (its checksum was completed on
// receipt), and queued before the batch's own accepted frames, so that
// the fragments of one datagram leave in the order they arrived.
func (p *Port) Forward(pk *datapath.Packet) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.publish()
	if p.dead {
		return datapath.ErrClosed
	}
	n := vnetLen + len(pk.Data)
	if len(pk.Data) < 14 || n > len(p.fwd) {
		p.c.errors++
		return errForward
	}
	if p.fwdUsed+n > len(p.fwd) {
		for o := range 2 {
			p.c.errors += uint64(p.tx[o].flush(p.s[o]))
		}
		p.fwdUsed = 0
	}
	f := p.fwd[p.fwdUsed : p.fwdUsed+n]
	p.fwdUsed += n
	clear(f[:vnetLen])
	copy(f[vnetLen:], pk.Data)
	p.c.forwarded++
	p.c.accepted++
	p.send(int(pk.Handle>>32&1)^1, f, pk.L3)
	return nil
}

// Forget has nothing to do: the bridge keeps no held frame (the worker
// holds the copy, and the ring's slot was given back with its batch).
func (p *Port) Forget(*datapath.Packet) {}

// HoldMax is -1, no bound: the worker's pool bounds what it holds.
func (p *Port) HoldMax() int { return -1 }
