package nfqueue

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The live tests build network namespaces: c (client) -- f (firewall,
// where hare runs) -- s (server), IPv4 10.77.1.0/24 and 10.77.2.0/24,
// IPv6 fd77:1::/64 and fd77:2::/64, f routing between them.

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("nfqueue live tests need root (network namespaces, netlink, iptables)")
	}
	for _, tool := range []string{"ip", "iptables", "ip6tables", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("nfqueue live tests need %s (apt-get install iproute2 iptables nftables): %v", tool, err)
		}
	}
}

type topo struct {
	c, f, s string // namespace names
	fc, fs  int    // f's interface indexes toward c and toward s
}

func sh(t testing.TB, ns string, args ...string) string {
	t.Helper()
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var topoSeq int

func newTopo(t testing.TB) *topo {
	t.Helper()
	needRoot(t)
	topoSeq++
	p := fmt.Sprintf("hnfq%d-%d", os.Getpid(), topoSeq)
	tp := &topo{c: p + "c", f: p + "f", s: p + "s"}
	for _, ns := range []string{tp.c, tp.f, tp.s} {
		sh(t, "", "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		sh(t, ns, "ip", "link", "set", "lo", "up")
		sh(t, ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	}
	sh(t, "", "ip", "link", "add", "hc"+p[4:], "netns", tp.c, "type", "veth", "peer", "name", "hf"+p[4:], "netns", tp.f)
	sh(t, tp.c, "ip", "link", "set", "hc"+p[4:], "name", "eth0")
	sh(t, tp.f, "ip", "link", "set", "hf"+p[4:], "name", "c0")
	sh(t, "", "ip", "link", "add", "hs"+p[4:], "netns", tp.s, "type", "veth", "peer", "name", "hg"+p[4:], "netns", tp.f)
	sh(t, tp.s, "ip", "link", "set", "hs"+p[4:], "name", "eth0")
	sh(t, tp.f, "ip", "link", "set", "hg"+p[4:], "name", "s0")
	for _, c := range [][]string{
		{tp.c, "ip", "addr", "add", "10.77.1.1/24", "dev", "eth0"},
		{tp.c, "ip", "addr", "add", "fd77:1::1/64", "dev", "eth0", "nodad"},
		{tp.c, "ip", "link", "set", "eth0", "up"},
		{tp.c, "ip", "route", "add", "default", "via", "10.77.1.2"},
		{tp.c, "ip", "-6", "route", "add", "default", "via", "fd77:1::2"},
		{tp.s, "ip", "addr", "add", "10.77.2.1/24", "dev", "eth0"},
		{tp.s, "ip", "addr", "add", "fd77:2::1/64", "dev", "eth0", "nodad"},
		{tp.s, "ip", "link", "set", "eth0", "up"},
		{tp.s, "ip", "route", "add", "default", "via", "10.77.2.2"},
		{tp.s, "ip", "-6", "route", "add", "default", "via", "fd77:2::2"},
		{tp.f, "ip", "addr", "add", "10.77.1.2/24", "dev", "c0"},
		{tp.f, "ip", "addr", "add", "fd77:1::2/64", "dev", "c0", "nodad"},
		{tp.f, "ip", "addr", "add", "10.77.2.2/24", "dev", "s0"},
		{tp.f, "ip", "addr", "add", "fd77:2::2/64", "dev", "s0", "nodad"},
		{tp.f, "ip", "link", "set", "c0", "up"},
		{tp.f, "ip", "link", "set", "s0", "up"},
		{tp.f, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{tp.f, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"},
	} {
		sh(t, c[0], c[1:]...)
	}
	tp.inNS(t, tp.f, func() {
		c0, err1 := net.InterfaceByName("c0")
		s0, err2 := net.InterfaceByName("s0")
		if err1 != nil || err2 != nil {
			t.Errorf("interfaces of f: %v %v", err1, err2)
			return
		}
		tp.fc, tp.fs = c0.Index, s0.Index
	})
	// Neighbours resolved before the tests count packets.
	sh(t, tp.c, "ping", "-c2", "-i0.2", "-w5", "10.77.2.1")
	sh(t, tp.c, "ping", "-6", "-c2", "-i0.2", "-w5", "fd77:2::1")
	return tp
}

// inNS runs fn on an OS thread that has joined namespace ns, and waits
// for it. The thread is never given back to the scheduler (the goroutine
// ends locked, so the runtime ends the thread): sockets fn opens stay in
// ns, and no other goroutine ever runs in ns by accident.
func (tp *topo) inNS(t testing.TB, ns string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			t.Errorf("netns %s: %v", ns, err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			t.Errorf("setns %s: %v", ns, err)
			return
		}
		fn()
	}()
	<-done
}
