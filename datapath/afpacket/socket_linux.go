package afpacket

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sock is one AF_PACKET socket bound to one interface: it receives through
// its ring and transmits with sendmmsg.
type sock struct {
	fd      int
	ifindex int
	mtu     int
	ring    rxRing // nil until mapped
}

// vnetLen is sizeof(struct virtio_net_hdr): with PACKET_VNET_HDR every
// frame in the ring is preceded by one (tpacket_rcv →
// virtio_net_hdr_from_skb) and every frame sent starts with one
// (packet_snd → packet_snd_vnet_parse).
const vnetLen = 10

// Offsets and flags of struct virtio_net_hdr (include/uapi/linux/virtio_net.h).
const (
	vnetFlags      = 0
	vnetGSOType    = 1
	vnetHdrLen     = 2
	vnetCsumStart  = 6
	vnetCsumOffset = 8

	vnetNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openSock opens a socket on ifindex with its ring mapped and bound, not
// yet receiving: a filter that accepts nothing stays attached until the
// socket has joined its fanout group (see joinFanout), so that no frame
// reaches a socket outside the group and is forwarded twice.
func openSock(ifindex, mtu int, c *Config) (s *sock, err error) {
	// Protocol 0: no frame is delivered before bind.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("afpacket: socket: %w", err)
	}
	s = &sock{fd: fd, ifindex: ifindex, mtu: mtu}
	defer func() {
		if err != nil {
			s.close()
			s = nil
		}
	}()
	nothing := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
		&unix.SockFprog{Len: 1, Filter: &nothing[0]}); err != nil {
		return nil, fmt.Errorf("afpacket: SO_ATTACH_FILTER: %w", err)
	}
	opts := []struct {
		name string
		opt  int
		val  int
	}{
		{"PACKET_VERSION", unix.PACKET_VERSION, c.Ring.version()},
		// Must come before the ring (packet_setsockopt: -EBUSY after).
		{"PACKET_VNET_HDR", unix.PACKET_VNET_HDR, 1},
		// Frames this socket (or any other) transmits on the interface
		// are not received back (dev_queue_xmit_nit skips the hook);
		// kernel >= 4.20.
		{"PACKET_IGNORE_OUTGOING", unix.PACKET_IGNORE_OUTGOING, 1},
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, o.opt, o.val); err != nil {
			return nil, fmt.Errorf("afpacket: %s: %w", o.name, err)
		}
	}
	if s.ring, err = openRing(fd, c); err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return nil, fmt.Errorf("afpacket: bind to ifindex %d: %w", ifindex, err)
	}
	// Membership is dropped when the socket closes (packet_release →
	// packet_flush_mclist), which restores the interface's promiscuity.
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP,
		&unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}); err != nil {
		return nil, fmt.Errorf("afpacket: promiscuous mode: %w", err)
	}
	return s, nil
}

// joinFanout puts the socket in fanout group id (fanout_add) and removes
// the filter that kept it from receiving. With id 0 the kernel picks an
// unused id (PACKET_FANOUT_FLAG_UNIQUEID), which is returned.
func (s *sock) joinFanout(id uint16, flags int) (uint16, error) {
	arg := (unix.PACKET_FANOUT_HASH|flags)<<16 | int(id)
	if id == 0 {
		arg |= unix.PACKET_FANOUT_FLAG_UNIQUEID << 16
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
		return 0, fmt.Errorf("afpacket: PACKET_FANOUT: %w", err)
	}
	if id == 0 {
		v, err := unix.GetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_FANOUT)
		if err != nil {
			return 0, fmt.Errorf("afpacket: PACKET_FANOUT id: %w", err)
		}
		id = uint16(v)
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0); err != nil {
		return 0, fmt.Errorf("afpacket: SO_DETACH_FILTER: %w", err)
	}
	return id, nil
}

// drops returns tp_drops since the last call (PACKET_STATISTICS resets
// the kernel's counters on read: packet_getsockopt).
func (s *sock) drops() uint64 {
	if s.ring == nil || s.fd < 0 {
		return 0
	}
	return s.ring.drops(s.fd)
}

// sockErr reads and clears a pending socket error (after POLLERR).
func (s *sock) sockErr() {
	_, _ = unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
}

// write transmits one frame (starting with its virtio_net_hdr).
func (s *sock) write(b []byte) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

func (s *sock) close() {
	s.closeFD()
	s.unmap()
}

func (s *sock) unmap() {
	if s.ring != nil {
		s.ring.unmap()
	}
}

func (s *sock) closeFD() {
	if s.fd >= 0 {
		_ = unix.Close(s.fd)
		s.fd = -1
	}
}
