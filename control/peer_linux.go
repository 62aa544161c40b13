package control

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// peer is the credentials of the process at the other end of a
// connection, as the kernel recorded them at connect (SO_PEERCRED).
type peer struct {
	ok            bool
	pid, uid, gid uint32
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
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, peer{ok: true, pid: uint32(cred.Pid), uid: cred.Uid, gid: cred.Gid})
}

// inGroup reports whether the peer's primary group is gid or gid is one
// of its supplementary groups (the Groups line of /proc/PID/status, which
// SO_PEERCRED does not carry).
func (p peer) inGroup(gid int) bool {
	if int(p.gid) == gid {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(p.pid)) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Groups:"); ok {
			for _, g := range strings.Fields(rest) {
				if g == strconv.Itoa(gid) {
					return true
				}
			}
		}
	}
	return false
}
