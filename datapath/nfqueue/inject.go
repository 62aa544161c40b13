package nfqueue

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hare-fw/hare/datapath"
)

// Injected packets (a reject's TCP RST or ICMP error) go out of a raw
// socket with the header included (IPPROTO_RAW implies IP_HDRINCL and, for
// IPv6, inet6_create sets hdrincl too), so the kernel routes them like the
// kernel's own reject does (nf_send_reset, nf_send_unreach: ip_route_me_
// harder then ip_local_out): they leave through output and postrouting.
// They carry SO_MARK InjectMark, which the queue rules let pass, or hare
// would be asked about its own replies.

// openRaw opens one raw socket of family with mark.
func openRaw(family int, mark uint32) (syscall.RawConn, *os.File, error) {
	fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return nil, nil, fmt.Errorf("nfqueue: raw socket for injected packets: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(mark)); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("nfqueue: SO_MARK on the raw socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "hare-inject")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return rc, f, nil
}

// injector is one port's sender; the raw sockets are the datapath's.
type injector struct {
	rc4, rc6 syscall.RawConn
	sa4      unix.SockaddrInet4
	sa6      unix.SockaddrInet6
	pkt      []byte
	sa       unix.Sockaddr
	err      error
	fn       func(fd uintptr) bool
}

func (in *injector) init(rc4, rc6 syscall.RawConn) {
	in.rc4, in.rc6 = rc4, rc6
	in.fn = in.sendto
}

func (in *injector) sendto(fd uintptr) bool {
	in.err = unix.Sendto(int(fd), in.pkt, 0, in.sa)
	return true // EAGAIN (a full socket buffer) loses the packet, as the kernel's own would be
}

var errInjectShort = errors.New("nfqueue: inject: not an IP packet")

// send routes ip to its destination. A link-local destination is reached
// through the interface `to` came in on.
func (in *injector) send(to *datapath.Packet, ip []byte) error {
	var rc syscall.RawConn
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4:
		copy(in.sa4.Addr[:], ip[16:20])
		in.sa, rc = &in.sa4, in.rc4
	case len(ip) >= 40 && ip[0]>>4 == 6:
		copy(in.sa6.Addr[:], ip[24:40])
		in.sa6.ZoneId = 0
		if to != nil && (ip[24] == 0xfe && ip[25]&0xc0 == 0x80 || ip[24] == 0xff && ip[25]&0x0f <= 2) {
			in.sa6.ZoneId = uint32(to.InIf)
		}
		in.sa, rc = &in.sa6, in.rc6
	default:
		return errInjectShort
	}
	if rc == nil {
		return errors.New("nfqueue: inject: no raw socket for the family")
	}
	in.pkt = ip
	if err := rc.Write(in.fn); err != nil {
		return err
	}
	if in.err != nil {
		return fmt.Errorf("nfqueue: inject: %w", in.err)
	}
	return nil
}
