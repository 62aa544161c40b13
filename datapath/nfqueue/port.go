package nfqueue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"

	nfq "github.com/florianl/go-nfqueue/v2"
	"golang.org/x/sys/unix"

	"github.com/hare-fw/hare/datapath"
)

// port is one queue. go-nfqueue delivers packets through a callback from
// its own goroutine, and every packet costs allocations there (the
// []netlink.Message of each Receive, a bytes.Clone of the payload, a
// pointer per attribute), and every verdict more (SetVerdict marshals a
// fresh message and sends it alone). So a port keeps go-nfqueue's socket
// (opened in Open with its Config) but reads packets straight into its own
// buffer with recvmmsg and sends all the verdicts of a batch in one
// write: nothing is allocated per packet or per batch.
type port struct {
	dp    *Datapath
	nfq   *nfq.Nfqueue
	raw   syscall.RawConn
	queue uint16

	rbuf   []byte // packets of the current batch point in here: Batch slots of maxMsg
	iov    []unix.Iovec
	mm     []mmsghdr
	maxMsg int    // the largest message the kernel may send
	wbuf   []byte // verdict messages
	// pend are the verdicts of packets kept from earlier batches (Forward,
	// Forget), written by the next Done before its own; held counts the
	// packets kept and not yet given a verdict (forward.go).
	pend  []byte
	held  int
	ids   []uint32
	batch int // packets read and not yet handed back with Done

	// state of readFn/writeFn, so the closures are made once.
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
	rdVlen  int
	rdN     int
	rdErr   error
	wrErr   error

	received, accepted, dropped, injected, errs, enobufs, kernelDrops atomic.Uint64
	stolen, forwarded                                                 atomic.Uint64

	inj injector
}

var errReadBeforeDone = errors.New("nfqueue: Read before Done of the previous batch")

func newPort(dp *Datapath, q *nfq.Nfqueue, queue uint16, c Config) (*port, error) {
	raw, err := q.Con.SyscallConn()
	if err != nil {
		return nil, err
	}
	// nfqnl_build_packet_message: nlmsghdr, nfgenmsg and the attributes
	// other than the payload take well under 512 bytes.
	maxMsg := int(c.CopyRange) + 512
	p := &port{
		dp:     dp,
		nfq:    q,
		raw:    raw,
		queue:  queue,
		maxMsg: maxMsg,
		rbuf:   make([]byte, c.Batch*maxMsg),
		iov:    make([]unix.Iovec, c.Batch),
		mm:     make([]mmsghdr, c.Batch),
		wbuf:   make([]byte, 0, c.Batch*40),
		ids:    make([]uint32, 0, c.Batch),
	}
	for i := range p.mm {
		// Pages of a slot are touched only as far as messages reach, so
		// the slots cost resident memory only for what packets fill.
		p.iov[i].Base = &p.rbuf[i*maxMsg]
		p.iov[i].SetLen(maxMsg)
		p.mm[i].hdr.Iov = &p.iov[i]
		p.mm[i].hdr.SetIovlen(1)
	}
	p.readFn = p.recv
	p.writeFn = p.send
	p.inj.init(dp.inj4, dp.inj6)
	return p, nil
}

// mmsghdr is struct mmsghdr: a msghdr and the length received.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// recv is one recvmmsg of up to rdVlen datagrams, one per slot of rbuf
// (each slot holds the largest message, so none is cut).
func (p *port) recv(fd uintptr) bool {
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&p.mm[0])), uintptr(p.rdVlen),
		unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		return false // wait in the poller
	}
	p.rdN, p.rdErr = int(n), nil
	if e != 0 {
		p.rdN, p.rdErr = 0, e
	}
	return true
}

func (p *port) send(fd uintptr) bool {
	_, _, e := unix.Syscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p.wbuf[0])), uintptr(len(p.wbuf)))
	if e == unix.EAGAIN {
		return false
	}
	p.wrErr = nil
	if e != 0 {
		p.wrErr = e
	}
	return true
}

// Read waits for packets and takes what is there, up to cap(b.Pkts) and
// Config.Batch, with one recvmmsg.
func (p *port) Read(b *datapath.Batch) error {
	if p.dp.closed.Load() {
		return datapath.ErrClosed
	}
	if p.batch > 0 {
		return errReadBeforeDone
	}
	if cap(b.Pkts) == 0 {
		b.Pkts = make([]datapath.Packet, 0, p.dp.cfg.Batch)
	}
	b.Pkts = b.Pkts[:0]
	p.ids = p.ids[:0]
	p.rdVlen = min(cap(b.Pkts), len(p.mm))
	for len(b.Pkts) == 0 {
		if err := p.raw.Read(p.readFn); err != nil {
			if p.dp.closed.Load() {
				return datapath.ErrClosed
			}
			p.errs.Add(1)
			return err
		}
		if p.rdErr == unix.EINTR {
			continue
		}
		if p.rdErr == unix.ENOBUFS {
			// The socket buffer overflowed (netlink_overrun): the kernel
			// dropped or, failing open, accepted packets that hare never
			// sees; nfnetlink_queue counts them (queue_user_dropped), and
			// reading goes on.
			p.enobufs.Add(1)
			continue
		}
		if p.rdErr != nil {
			if p.dp.closed.Load() {
				return datapath.ErrClosed
			}
			p.errs.Add(1)
			return fmt.Errorf("nfqueue %d: read: %w", p.queue, p.rdErr)
		}
		for i := 0; i < p.rdN; i++ {
			m := &p.mm[i]
			if m.hdr.Flags&unix.MSG_TRUNC != 0 {
				p.errs.Add(1) // cannot happen: a slot holds the largest message
				continue
			}
			p.parse(b, p.rbuf[i*p.maxMsg:i*p.maxMsg+int(m.n)])
		}
	}
	p.batch = len(b.Pkts)
	p.received.Add(uint64(len(b.Pkts)))
	return nil
}

// parse takes the packets of one datagram into b. The kernel sends each
// queued packet in a datagram of its own (nfnetlink_unicast of one
// nfqnl_build_packet_message), and Read asks for no more datagrams than b
// has room for, so no packet is ever left without a place.
func (p *port) parse(b *datapath.Batch, msg []byte) {
	var pi packetInfo
	for len(msg) >= nlmsgHdrLen {
		l := int(binary.NativeEndian.Uint32(msg))
		if l < nlmsgHdrLen || l > len(msg) {
			p.errs.Add(1)
			break
		}
		typ := binary.NativeEndian.Uint16(msg[4:])
		body := msg[nlmsgHdrLen:l]
		switch {
		case typ == msgPacket && len(b.Pkts) < cap(b.Pkts):
			if parsePacket(body, &pi) {
				b.Pkts = b.Pkts[:len(b.Pkts)+1]
				pi.fill(&b.Pkts[len(b.Pkts)-1])
				p.ids = append(p.ids, pi.id)
			} else {
				p.errs.Add(1)
			}
		case typ == nlmsgError:
			// Verdicts go without NLM_F_ACK, so this is a verdict the
			// kernel refused (nfqnl_recv_verdict: -ENOENT for an id
			// not queued).
			if nlError(body) != 0 {
				p.errs.Add(1)
			}
		}
		msg = msg[min(align4(l), len(msg)):]
	}
}

// Done sends the verdicts of b in one write: each run of packets with the
// same verdict and no new mark as one NFQNL_MSG_VERDICT_BATCH (which
// covers every queued packet up to its id, and the queue holds no others
// below it: ids rise, and each was read), every packet with a new mark as
// an NFQNL_MSG_VERDICT with NFQA_MARK.
func (p *port) Done(b *datapath.Batch) error {
	if p.dp.closed.Load() {
		return datapath.ErrClosed
	}
	pk := b.Pkts
	n := p.batch
	p.batch = 0
	if len(pk) != n {
		return p.abandon(fmt.Errorf("nfqueue %d: Done with %d packets, read %d", p.queue, len(pk), n))
	}
	for i := range pk {
		if uint32(pk[i].Handle) != p.ids[i] {
			return p.abandon(fmt.Errorf("nfqueue %d: Done with a batch other than the one read", p.queue))
		}
	}
	if len(pk) == 0 {
		return nil
	}
	var stolen uint64
	for i := range pk {
		if pk[i].Verdict == datapath.Stolen {
			stolen++
		}
	}
	p.held += int(stolen)
	// A batch verdict covers every packet queued up to its id: while the
	// worker keeps packets, each gets its own.
	runs := p.held == 0
	w := append(p.wbuf[:0], p.pend...)
	p.pend = p.pend[:0]
	var acc, drop uint64
	for i := 0; i < len(pk); {
		if pk[i].Verdict == datapath.Stolen {
			i++ // kept: its verdict comes with Forward or Forget
			continue
		}
		v := uint32(nfq.NfDrop)
		if pk[i].Verdict == datapath.Accept {
			v = nfq.NfAccept
		}
		j := i
		if !pk[i].SetMark && runs {
			for j+1 < len(pk) && !pk[j+1].SetMark && pk[j+1].Verdict == pk[i].Verdict &&
				int32(p.ids[j+1]-p.ids[j]) > 0 {
				j++
			}
		}
		w = putVerdict(w, p.queue, p.ids[j], v, j > i, pk[i].NewMark, pk[i].SetMark)
		if v == nfq.NfAccept {
			acc += uint64(j - i + 1)
		} else {
			drop += uint64(j - i + 1)
		}
		i = j + 1
	}
	p.wbuf = w
	if len(w) == 0 {
		p.stolen.Add(stolen) // every packet kept, nothing to say yet
		return nil
	}
	if err := p.raw.Write(p.writeFn); err != nil || p.wrErr != nil {
		p.errs.Add(1)
		if p.dp.closed.Load() {
			return datapath.ErrClosed
		}
		if err == nil {
			err = p.wrErr
		}
		return fmt.Errorf("nfqueue %d: verdicts: %w", p.queue, err)
	}
	p.accepted.Add(acc)
	p.dropped.Add(drop)
	p.stolen.Add(stolen)
	return nil
}

// abandon drops every packet of the batch read, when the worker handed
// back something else: packets left without a verdict would hold their
// queue slots until the socket closes (and a later batch verdict would
// decide them by accident).
func (p *port) abandon(err error) error {
	w := p.wbuf[:0]
	for _, id := range p.ids {
		w = putVerdict(w, p.queue, id, nfq.NfDrop, false, 0, false)
	}
	p.wbuf = w
	p.dropped.Add(uint64(len(p.ids)))
	p.errs.Add(1)
	if len(w) > 0 {
		p.raw.Write(p.writeFn)
	}
	return err
}

func (p *port) Inject(to *datapath.Packet, ip []byte) error {
	if err := p.inj.send(to, ip); err != nil {
		p.errs.Add(1)
		return err
	}
	p.injected.Add(1)
	return nil
}

func (p *port) Stats() datapath.PortStats {
	s := datapath.PortStats{
		Received: p.received.Load(),
		Accepted: p.accepted.Load(),
		Dropped:  p.dropped.Load(),
		Injected: p.injected.Load(),
		Errors:   p.errs.Load(),

		Stolen:    p.stolen.Load(),
		Forwarded: p.forwarded.Load(),
	}
	// The kernel's count when it can be read (not after Close: the last
	// one read then), else the overruns hare noticed.
	if d, ok := p.dp.kernelDrops(p.queue); ok {
		p.kernelDrops.Store(d)
	}
	s.KernelDrops = max(p.kernelDrops.Load(), p.enobufs.Load())
	return s
}
