package afpacket

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/hare-fw/hare/datapath"
	"golang.org/x/sys/unix"
)

// EtherTypes (include/uapi/linux/if_ether.h).
const (
	etherIPv4  = 0x0800
	etherARP   = 0x0806
	etherIPv6  = 0x86dd
	ether8021Q = 0x8100
	ether8021A = 0x88a8
)

// defaultBatch is the batch size when the worker's Batch has no capacity.
const defaultBatch = 128

// Port is one worker's share of the bridge: its socket in A's fanout group
// and its socket in B's. A frame read on one is transmitted, if accepted,
// on the other, by the same Port.
type Port struct {
	br *Bridge

	// mu is held by Read, Done and Inject, and by Bridge.Close while it
	// takes the Port down: the sockets and rings are never freed under a
	// worker. Only the Port's own worker and Close take it.
	mu   sync.Mutex
	dead bool // the sockets are closed; written under mu and statsMu
	// out says a batch Read returned is not handed back yet: the worker
	// may be reading its Data, in the rings, without mu. Close then
	// leaves the rings mapped (closing a socket does not free a ring
	// that is still mapped: the mapping holds the socket's file, and
	// packet_release runs only when it goes), and the batch's Done or the
	// next Read unmaps them.
	out bool

	s    [2]*sock // s[0] on A, s[1] on B
	tx   [2]txq   // frames to transmit on A, on B
	pfd  [3]unix.PollFd
	turn int // which socket Read takes first, alternately

	frag     []byte // fragments of one datagram (fragment4)
	fragEnds []int
	inj      []byte // Inject's frame
	fwd      []byte // copies of the frames Forward queued, until flush
	fwdUsed  int

	c counts // written by the worker only
	// pub is c as of the end of the last Read, Done or Inject, for
	// Stats from any goroutine.
	pub struct {
		received, accepted, dropped, injected, passed, errors, forwarded, stolen atomic.Uint64
	}
	statsMu     sync.Mutex
	kernelDrops atomic.Uint64
}

type counts struct {
	received, accepted, dropped, injected, passed, errors, forwarded, stolen uint64
}

var _ datapath.Port = (*Port)(nil)

func newPort(br *Bridge, a, b *sock, efd int) *Port {
	p := &Port{br: br, s: [2]*sock{a, b}}
	p.tx[0], p.tx[1] = newTxq(256), newTxq(256)
	p.pfd = [3]unix.PollFd{
		{Fd: int32(a.fd), Events: unix.POLLIN},
		{Fd: int32(b.fd), Events: unix.POLLIN},
		{Fd: int32(efd), Events: unix.POLLIN},
	}
	p.frag = make([]byte, 128<<10)
	p.fragEnds = make([]int, 128)
	p.inj = make([]byte, vnetLen+18+65535)
	p.fwd = make([]byte, fwdSize)
	return p
}

// Read waits for frames on either interface and puts the IP ones in b.
// Frames that are not IP are passed or dropped here, as configured, and
// never reach the worker.
func (p *Port) Read(b *datapath.Batch) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.publish()
	if cap(b.Pkts) == 0 {
		b.Pkts = make([]datapath.Packet, 0, defaultBatch)
	}
	b.Pkts = b.Pkts[:0]
	p.out = false
	for {
		if p.dead {
			p.unmap()
			return datapath.ErrClosed
		}
		if p.br.closing.Load() {
			return datapath.ErrClosed
		}
		p.turn ^= 1
		p.fill(p.turn, b)
		p.fill(p.turn^1, b)
		if len(b.Pkts) > 0 {
			p.out = true
			return nil
		}
		// Nothing for the worker: send the frames passed unseen and
		// give their blocks back before sleeping.
		p.flush()
		p.wait()
	}
}

// wait sleeps in poll until a socket has a block or the bridge closes
// (its eventfd becomes readable).
func (p *Port) wait() {
	for i := range p.pfd {
		p.pfd[i].Revents = 0
	}
	if _, err := unix.Poll(p.pfd[:], -1); err != nil {
		return // EINTR: look again
	}
	for i := range 2 {
		if p.pfd[i].Revents&unix.POLLERR != 0 {
			p.s[i].sockErr()
			p.c.errors++
		}
	}
}

// fill takes frames from socket i's ring until b is full.
func (p *Port) fill(i int, b *datapath.Batch) {
	r := p.s[i].ring
	for len(b.Pkts) < cap(b.Pkts) {
		f, ok := r.next()
		if !ok {
			return
		}
		p.take(i, r.bytes(), &f, b)
	}
}

// take handles frame fr of socket i's ring m (as tpacket_rcv laid it
// out): IP frames join b, other frames are passed or dropped.
func (p *Port) take(i int, m []byte, fr *frame, b *datapath.Batch) {
	p.c.received++
	snap, wire, st, start := fr.snap, fr.wire, fr.status, fr.mac
	// A frame clamped to the block or slot (tpacket_rcv: "packet too
	// big") cannot be forwarded; nor can one without room to put its VLAN
	// tag back.
	if snap < wire || snap < 14 || start-vnetLen-4 < fr.hdrEnd || start+snap > len(m) {
		p.c.errors++
		return
	}
	end := start + snap
	v := start - vnetLen
	if m[v+vnetFlags]&vnetNeedsCsum != 0 {
		// The sender left the checksum to the hardware (a local sender
		// on a veth, a GRO frame): complete it, so that workers see
		// what goes on the wire and conntrack's checksum check holds.
		// A GSO frame keeps VIRTIO_NET_HDR_F_NEEDS_CSUM: send turns the
		// field back into the pseudo-header sum the kernel segments with.
		cs := int(ne.Uint16(m[v+vnetCsumStart:]))
		co := int(ne.Uint16(m[v+vnetCsumOffset:]))
		if !completeChecksum(m[start:end], cs, co) {
			p.c.errors++
			return
		}
		if m[v+vnetGSOType] == 0 {
			m[v+vnetFlags] &^= vnetNeedsCsum
		}
	}
	if st&unix.TP_STATUS_VLAN_VALID != 0 {
		// The receive path took the tag out of the frame
		// (skb_vlan_untag); put it back where it was, so the frame is
		// decided and sent as it came: the virtio_net_hdr and the MAC
		// addresses move 4 bytes down into the gap before the frame.
		tpid := uint16(ether8021Q)
		if st&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
			if fr.tpid != 0 {
				tpid = fr.tpid
			}
		}
		tci := fr.tci
		copy(m[v-4:], m[v:start+12])
		start, v = start-4, v-4
		binary.BigEndian.PutUint16(m[start+12:], tpid)
		binary.BigEndian.PutUint16(m[start+14:], tci)
		if m[v+vnetGSOType] != 0 {
			// hdr_len (virtio_net_hdr_from_skb: skb_headlen) and
			// csum_start count from the frame's start: the tag moves
			// what they point at 4 bytes further.
			ne.PutUint16(m[v+vnetHdrLen:], ne.Uint16(m[v+vnetHdrLen:])+4)
			ne.PutUint16(m[v+vnetCsumStart:], ne.Uint16(m[v+vnetCsumStart:])+4)
		}
	}
	f := m[start:end]
	et, l3 := binary.BigEndian.Uint16(f[12:]), 14
	if (et == ether8021Q || et == ether8021A) && len(f) >= 18 {
		et, l3 = binary.BigEndian.Uint16(f[16:]), 18
	}
	if et != etherIPv4 && et != etherIPv6 || len(f) < l3+1 {
		if et == etherARP && p.br.passARP.Load() || p.br.passNonIP.Load() {
			p.c.passed++
			p.send(i^1, m[v:end], -1)
		} else {
			p.c.dropped++
		}
		return
	}
	b.Pkts = append(b.Pkts, datapath.Packet{
		Data:      f,
		L3:        l3,
		Link:      datapath.LinkEthernet,
		EtherType: et,
		Hook:      datapath.HookForward,
		InIf:      p.s[i].ifindex,
		OutIf:     p.s[i^1].ifindex,
		Verdict:   datapath.Drop,
		Handle:    uint64(i)<<32 | uint64(v),
	})
}

// Done transmits the accepted frames of b on the other interface, then
// gives their ring blocks back to the kernel.
func (p *Port) Done(b *datapath.Batch) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.publish()
	p.out = false
	if p.dead {
		p.unmap()
		return datapath.ErrClosed
	}
	for k := range b.Pkts {
		pk := &b.Pkts[k]
		if pk.Verdict == datapath.Stolen {
			p.c.stolen++ // the worker holds a copy (Forward)
			continue
		}
		if pk.Verdict != datapath.Accept {
			p.c.dropped++
			continue
		}
		i, v := int(pk.Handle>>32&1), int(uint32(pk.Handle))
		m := p.s[i].ring.bytes()
		if v+vnetLen+len(pk.Data) > len(m) {
			p.c.errors++
			continue
		}
		p.c.accepted++
		p.send(i^1, m[v:v+vnetLen+len(pk.Data)], pk.L3)
	}
	p.flush()
	return nil
}

// send queues frame (its virtio_net_hdr, then the Ethernet frame) for
// transmission on socket o. An IP datagram (l3 >= 0) longer than o's MTU
// and not a GSO frame is an IPv4 datagram the kernel reassembled
// (PACKET_FANOUT_FLAG_DEFRAG) or one from a link with a larger MTU: it is
// fragmented again, as br_nf_dev_queue_xmit does. Other frames that are
// too long are left to fail in the kernel (packet_snd: EMSGSIZE).
func (p *Port) send(o int, frame []byte, l3 int) {
	q, s := &p.tx[o], p.s[o]
	if frame[vnetFlags]&vnetNeedsCsum != 0 && !partialChecksum(frame) {
		p.c.errors++
		return
	}
	if l3 >= 0 && frame[vnetGSOType] == 0 && len(frame)-vnetLen-l3 > s.mtu {
		n := 0
		if frame[vnetLen+l3]>>4 == 4 {
			n = fragment4(p.frag, p.fragEnds, frame[vnetLen:], l3, s.mtu)
		}
		if n == 0 {
			p.c.errors++ // DF set, IPv6, or malformed: ip_do_fragment's FRAGFAILS
			return
		}
		// The fragments live in p.frag until sent: send them now.
		w := 0
		for k := range n {
			if q.full() {
				p.c.errors += uint64(q.flush(s))
			}
			q.add(p.frag[w:p.fragEnds[k]])
			w = p.fragEnds[k]
		}
		p.c.errors += uint64(q.flush(s))
		return
	}
	if q.full() {
		p.c.errors += uint64(q.flush(s))
	}
	q.add(frame)
}

// flush sends everything queued and gives the blocks read to the end back.
func (p *Port) flush() {
	for o := range 2 {
		if p.tx[o].n > 0 {
			p.c.errors += uint64(p.tx[o].flush(p.s[o]))
		}
	}
	p.s[0].ring.release()
	p.s[1].ring.release()
	p.fwdUsed = 0
}

// Inject sends ip out of the interface `to` arrived on, in an Ethernet
// frame from `to`'s destination to its source (and in its VLAN), as
// br_nf's reject does through nf_reject's nf_reject_ip*_hdr_put and the
// bridge's own transmit.
func (p *Port) Inject(to *datapath.Packet, ip []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.publish()
	if p.dead {
		return datapath.ErrClosed
	}
	if len(to.Data) < to.L3 || to.L3 < 14 || len(ip) == 0 || vnetLen+to.L3+len(ip) > len(p.inj) {
		p.c.errors++
		return errInject
	}
	f := p.inj[:vnetLen+to.L3+len(ip)]
	clear(f[:vnetLen])
	e := f[vnetLen:]
	copy(e[0:6], to.Data[6:12])
	copy(e[6:12], to.Data[0:6])
	copy(e[12:to.L3], to.Data[12:to.L3])
	et := uint16(etherIPv4)
	if ip[0]>>4 == 6 {
		et = etherIPv6
	}
	binary.BigEndian.PutUint16(e[to.L3-2:], et)
	copy(e[to.L3:], ip)
	s := p.s[to.Handle>>32&1]
	if err := s.write(f); err != nil {
		p.c.errors++
		return err
	}
	p.c.injected++
	return nil
}

// Stats returns the port's counters; KernelDrops adds up tp_drops of both
// sockets (PACKET_STATISTICS).
func (p *Port) Stats() datapath.PortStats {
	p.statsMu.Lock()
	if !p.dead { // written under both mu and statsMu
		p.kernelDrops.Add(p.s[0].drops() + p.s[1].drops())
	}
	p.statsMu.Unlock()
	return datapath.PortStats{
		Received:    p.pub.received.Load(),
		Accepted:    p.pub.accepted.Load(),
		Dropped:     p.pub.dropped.Load(),
		Injected:    p.pub.injected.Load(),
		Passed:      p.pub.passed.Load(),
		Forwarded:   p.pub.forwarded.Load(),
		Stolen:      p.pub.stolen.Load(),
		KernelDrops: p.kernelDrops.Load(),
		Errors:      p.pub.errors.Load(),
	}
}

func (p *Port) publish() {
	p.pub.received.Store(p.c.received)
	p.pub.accepted.Store(p.c.accepted)
	p.pub.dropped.Store(p.c.dropped)
	p.pub.injected.Store(p.c.injected)
	p.pub.passed.Store(p.c.passed)
	p.pub.errors.Store(p.c.errors)
	p.pub.forwarded.Store(p.c.forwarded)
	p.pub.stolen.Store(p.c.stolen)
}

// teardown closes the Port's sockets, and unmaps their rings unless the
// worker holds a batch (out); under mu and statsMu.
func (p *Port) teardown() {
	p.kernelDrops.Add(p.s[0].drops() + p.s[1].drops())
	p.s[0].closeFD()
	p.s[1].closeFD()
	if !p.out {
		p.unmap()
	}
	p.dead = true
}

// unmap unmaps both rings once the sockets are closed; under mu.
func (p *Port) unmap() {
	p.s[0].unmap()
	p.s[1].unmap()
}
