package afpacket

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// txq gathers the frames a Port transmits on one interface and sends them
// with one sendmmsg (packet_sendmsg → packet_snd for each) per batch.
//
// sendmmsg rather than a PACKET_TX_RING: the accepted frames are already
// in memory the kernel can read (the receive ring), so each message's iovec
// points at the frame where it lies and the only copy is the kernel's own
// into the new skb; a TX ring would add a copy from the RX ring into the TX
// ring in user space, for the same one system call per batch.
type txq struct {
	msgs []mmsghdr
	iovs []unix.Iovec
	n    int
}

func newTxq(n int) txq {
	q := txq{msgs: make([]mmsghdr, n), iovs: make([]unix.Iovec, n)}
	for i := range q.msgs {
		q.msgs[i].hdr.Iov = &q.iovs[i]
		q.msgs[i].hdr.Iovlen = 1
	}
	return q
}

func (q *txq) full() bool { return q.n == len(q.msgs) }

// add queues b, a frame preceded by its virtio_net_hdr. The caller
// flushes first when the queue is full.
func (q *txq) add(b []byte) {
	q.iovs[q.n].Base = &b[0]
	q.iovs[q.n].SetLen(len(b))
	q.n++
}

// flush sends what is queued on s and returns how many frames the kernel
// refused (an interface down, a frame too long): sendmmsg stops at the
// first failing message and reports it only when it is the first, so a
// failed message is skipped and the rest sent again.
func (q *txq) flush(s *sock) (failed int) {
	for i := 0; i < q.n; {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd),
			uintptr(unsafe.Pointer(&q.msgs[i])), uintptr(q.n-i), 0, 0, 0)
		switch {
		case e == unix.EINTR:
		case e != 0 || r == 0:
			failed++
			i++
		default:
			i += int(r)
		}
	}
	q.n = 0
	return failed
}
