package control

import (
	"context"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// peer is the credentials of the process at the other end of a
// connection, as the kernel recorded them at connect (SO_PEERCRED, and
// SO_PEERGROUPS for the supplementary groups).
type peer struct {
	ok            bool
	pid, uid, gid uint32
	groups        []uint32
}

type peerKey struct{}

// connContext records the peer's credentials in the connection's context.
func connContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *unix.Ucred
	var groups []uint32
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if cerr == nil {
			groups, cerr = peerGroups(int(fd))
		}
	}); err != nil || cerr != nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, peer{ok: true, pid: uint32(cred.Pid), uid: cred.Uid, gid: cred.Gid, groups: groups})
}

// peerGroups reads SO_PEERGROUPS (Linux 4.13, sock_getsockopt): the
// peer's supplementary groups as they were at connect. Reading them from
// /proc/PID/status instead would race with the PID being reused, and
// fails under systemd's ProtectProc=invisible, which hides other users'
// processes from a service without CAP_SYS_PTRACE. The kernel answers
// ERANGE with the size it needs when the buffer is too small.
func peerGroups(fd int) ([]uint32, error) {
	n := 64
	for {
		buf := make([]uint32, n)
		l := uint32(4 * n)
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
		switch {
		case e == unix.ERANGE && int(l/4) > n:
			n = int(l / 4)
		case e != 0:
			return nil, e
		default:
			return buf[:l/4], nil
		}
	}
}

// inGroup reports whether the peer's primary group or one of its
// supplementary groups is gid.
func (p peer) inGroup(gid int) bool {
	if int(p.gid) == gid {
		return true
	}
	for _, g := range p.groups {
		if int(g) == gid {
			return true
		}
	}
	return false
}
