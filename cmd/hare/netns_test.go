package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsPair is two network namespaces joined by a veth pair: "a" (the
// host whose conntrack is watched: 10.77.0.1, fd77::1 on va) and "b" (its
// peer: 10.77.0.2, fd77::2 on vb). Test helpers for the kernel oracles;
// they need root, ip and a kernel with veth.
type netnsPair struct {
	t    *testing.T
	a, b string
}

func newNetnsPair(t *testing.T) *netnsPair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	id := os.Getpid()
	n := &netnsPair{t: t, a: fmt.Sprintf("hare-cta-%d", id), b: fmt.Sprintf("hare-ctb-%d", id)}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", n.a).Run()
		exec.Command("ip", "netns", "del", n.b).Run()
	})
	for _, c := range [][]string{
		{"ip", "netns", "add", n.a},
		{"ip", "netns", "add", n.b},
		{"ip", "link", "add", "va", "netns", n.a, "type", "veth", "peer", "name", "vb", "netns", n.b},
		{"ip", "-n", n.a, "addr", "add", "10.77.0.1/24", "dev", "va"},
		{"ip", "-n", n.b, "addr", "add", "10.77.0.2/24", "dev", "vb"},
		{"ip", "-n", n.a, "addr", "add", "fd77::1/64", "dev", "va", "nodad"},
		{"ip", "-n", n.b, "addr", "add", "fd77::2/64", "dev", "vb", "nodad"},
		{"ip", "-n", n.a, "link", "set", "lo", "up"},
		{"ip", "-n", n.b, "link", "set", "lo", "up"},
		{"ip", "-n", n.a, "link", "set", "va", "up"},
		{"ip", "-n", n.b, "link", "set", "vb", "up"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, out) // as root this works; failing to is a failure
		}
	}
	return n
}

// exec runs a command in namespace ns and returns its exit status, stdout
// and stderr.
func (n *netnsPair) exec(ns string, args ...string) (int, string, string) {
	n.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errOut.String()
	} else if err != nil {
		n.t.Fatal(err)
	}
	return 0, out.String(), errOut.String()
}

// must runs a command in ns and fails the test if it fails.
func (n *netnsPair) must(ns string, args ...string) string {
	n.t.Helper()
	code, out, errOut := n.exec(ns, args...)
	if code != 0 {
		n.t.Fatalf("%s: %v: exit %d: %s%s", ns, args, code, out, errOut)
	}
	return out
}

// in runs f on an OS thread switched into namespace ns; sockets f opens
// stay in ns and may be used from any goroutine afterwards.
func (n *netnsPair) in(ns string, f func()) {
	n.t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		n.t.Fatal(err)
	}
	defer self.Close()
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		n.t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		n.t.Fatal(err)
	}
	defer func() {
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			panic(err) // this thread would stay in ns
		}
	}()
	f()
}

// frame is one captured frame, Ethernet header removed: an IP packet.
type frame struct {
	ts   time.Time
	data []byte
}

// capture reads every IPv4 and IPv6 frame sent or received on an
// interface (AF_PACKET, ETH_P_ALL), until stop.
type afCapture struct {
	fd     int
	mu     sync.Mutex
	frames []frame
	quit   atomic.Bool
	done   chan struct{}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// startCapture opens the capture socket on dev inside ns.
func (n *netnsPair) startCapture(ns, dev string) *afCapture {
	n.t.Helper()
	c := &afCapture{done: make(chan struct{})}
	n.in(ns, func() {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			n.t.Fatal(err)
		}
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			n.t.Fatal(err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			n.t.Fatal(err)
		}
		tv := unix.Timeval{Usec: 100_000}
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		c.fd = fd
	})
	go c.run()
	return c
}

// run reads frames until stop closes done; the owner is startCapture.
func (c *afCapture) run() {
	defer close(c.done)
	buf := make([]byte, 65536+14)
	for {
		m, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err == unix.EAGAIN || err == unix.EINTR {
			if c.quit.Load() {
				return
			}
			continue
		}
		if err != nil {
			return
		}
		if m < 14 {
			continue
		}
		et := binary.BigEndian.Uint16(buf[12:14])
		if et != 0x0800 && et != 0x86dd {
			continue // ARP and the like: conntrack never sees them
		}
		c.mu.Lock()
		c.frames = append(c.frames, frame{time.Now(), append([]byte(nil), buf[14:m]...)})
		c.mu.Unlock()
		if c.quit.Load() {
			return
		}
	}
}

// stop ends the capture and returns its frames.
func (c *afCapture) stop() []frame {
	c.quit.Store(true)
	<-c.done
	unix.Close(c.fd)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames
}
