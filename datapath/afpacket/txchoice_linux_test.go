package afpacket

import (
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkTransmit compares the three ways a Port could transmit frames
// on an AF_PACKET socket, 64-byte frames, to back the
// choice of sendmmsg in txq. The frames go out of a veth whose peer is
// down, which drops them at once, so that what is measured is the
// transmit path and not the receiver:
//
//   - sendto: one system call per frame;
//   - sendmmsg: 64 frames per call, each iovec pointing where the frame
//     lies (what txq does, from the receive ring);
//   - txring: a TPACKET_V2 PACKET_TX_RING: copy each frame into a ring
//     slot, mark it TP_STATUS_SEND_REQUEST, one send() per 64 frames
//     (tpacket_snd), then wait for the slots to come back.
func BenchmarkTransmit(b *testing.B) {
	tp := needTopology(b)
	frame := taggedFrame(nil, "0123456789abcdefghij") // 62 bytes
	open := func() int {
		var fd int
		var err error
		inNetns(b, tp.client, func() {
			if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
				return
			}
			var ifr *unix.Ifreq
			if ifr, err = unix.NewIfreq("t0"); err != nil {
				return
			}
			if err = unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
				return
			}
			err = unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: int(ifr.Uint32())})
		})
		if err != nil {
			b.Fatal(err)
		}
		return fd
	}
	b.Run("sendto", func(b *testing.B) {
		fd := open()
		defer unix.Close(fd)
		s := &sock{fd: fd}
		b.ReportAllocs()
		for range b.N {
			_ = s.write(frame)
		}
	})
	b.Run("sendmmsg", func(b *testing.B) {
		fd := open()
		defer unix.Close(fd)
		s := &sock{fd: fd}
		q := newTxq(64)
		b.ReportAllocs()
		for i := range b.N {
			q.add(frame)
			if q.full() || i == b.N-1 {
				q.flush(s)
			}
		}
	})
	b.Run("txring", func(b *testing.B) {
		fd := open()
		defer unix.Close(fd)
		const slot, slots = 2048, 256
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
			b.Fatal(err)
		}
		req := unix.TpacketReq{Block_size: 1 << 16, Block_nr: slot * slots >> 16, Frame_size: slot, Frame_nr: slots}
		if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &req); err != nil {
			b.Fatal(err)
		}
		mem, err := unix.Mmap(fd, 0, slot*slots, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Munmap(mem)
		status := func(i int) *uint32 { return (*uint32)(unsafe.Pointer(&mem[i*slot])) }
		// tpacket_snd takes the frame at TPACKET2_HDRLEN - sizeof(sockaddr_ll).
		const data = 32
		b.ReportAllocs()
		next := 0
		for i := range b.N {
			for atomic.LoadUint32(status(next))&(unix.TP_STATUS_SEND_REQUEST|unix.TP_STATUS_SENDING) != 0 {
				// The slot has not come back yet: kick the kernel.
				_, _, _ = unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), 0, 0, 0, 0, 0)
			}
			copy(mem[next*slot+data:], frame)
			ne.PutUint32(mem[next*slot+4:], uint32(len(frame))) // tp_len
			atomic.StoreUint32(status(next), unix.TP_STATUS_SEND_REQUEST)
			next = (next + 1) % slots
			if next%64 == 0 || i == b.N-1 {
				_, _, _ = unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), 0, 0, 0, 0, 0)
			}
		}
	})
}
