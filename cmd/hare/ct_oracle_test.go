package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/ruleset"
)

// ctOracleRules is loaded in namespace a (it turns conntrack on there) and
// in hare's engine: it marks the UDP flow to port 5353 and puts the UDP
// flow of port 7000 in zone 3. hare's engine runs every packet through
// prerouting and input (its replay topology), so the reply direction's
// zone comes from the second prerouting rule; the kernel takes it from
// the output chain, which hare compiles but never runs.
const ctOracleRules = `table inet t {
	chain raw_pre {
		type filter hook prerouting priority raw; policy accept;
		udp dport 7000 ct zone set 3
		udp sport 7000 ct zone set 3
	}
	chain raw_out {
		type filter hook output priority raw; policy accept;
		udp sport 7000 ct zone set 3
	}
	chain in {
		type filter hook input priority filter; policy accept;
		ip daddr 10.77.0.1 udp dport 5353 ct mark set 5
		ct state established,related accept
	}
}
`

// ctTraffic makes real flows from namespace b to a: pings (IPv4, IPv6), TCP
// connections left established (IPv4 from port 40010, IPv6 from 40011),
// one closed by both sides (TIME_WAIT, from 40012), one refused (from
// 40013: destroyed at the RST), an answered UDP exchange on 5353 (from 40001), an
// unanswered datagram to a closed port (6000, answered by an ICMP port
// unreachable) and an answered IPv6 UDP exchange in zone 3 (7000).
func ctTraffic(t *testing.T, n *netnsPair) (cleanup func()) {
	var closers []func()
	var lnTCP4, lnTCP6 net.Listener
	var u5353, u7000 net.PacketConn
	n.in(n.a, func() {
		var err error
		if lnTCP4, err = net.Listen("tcp4", "10.77.0.1:8080"); err != nil {
			t.Fatal(err)
		}
		if lnTCP6, err = net.Listen("tcp6", "[fd77::1]:8080"); err != nil {
			t.Fatal(err)
		}
		if u5353, err = net.ListenPacket("udp4", "10.77.0.1:5353"); err != nil {
			t.Fatal(err)
		}
		if u7000, err = net.ListenPacket("udp6", "[fd77::1]:7000"); err != nil {
			t.Fatal(err)
		}
	})
	closers = append(closers, func() { lnTCP4.Close(); lnTCP6.Close(); u5353.Close(); u7000.Close() })
	// servers: echo what they read
	for _, ln := range []net.Listener{lnTCP4, lnTCP6} {
		go func(ln net.Listener) {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					buf := make([]byte, 100)
					for {
						k, err := c.Read(buf)
						if err != nil {
							c.Close()
							return
						}
						c.Write(buf[:k])
					}
				}()
			}
		}(ln)
	}
	for _, pc := range []net.PacketConn{u5353, u7000} {
		go func(pc net.PacketConn) {
			buf := make([]byte, 100)
			for {
				k, a, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:k], a)
			}
		}(pc)
	}

	n.must(n.b, "ping", "-c", "1", "-W", "2", "10.77.0.1")
	n.must(n.b, "ping", "-6", "-c", "1", "-W", "2", "fd77::1")
	echo := func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5)
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	dial := func(network, local, remote string) (net.Conn, error) {
		var c net.Conn
		var err error
		n.in(n.b, func() {
			la, _ := net.ResolveTCPAddr(network, local)
			if strings.HasPrefix(network, "udp") {
				ua, _ := net.ResolveUDPAddr(network, local)
				ra, _ := net.ResolveUDPAddr(network, remote)
				c, err = net.DialUDP(network, ua, ra)
				return
			}
			d := net.Dialer{LocalAddr: la, Timeout: 5 * time.Second}
			c, err = d.Dial(network, remote)
		})
		return c, err
	}
	for _, x := range []struct{ net, local, remote string }{
		{"tcp4", "10.77.0.2:40010", "10.77.0.1:8080"},
		{"tcp6", "[fd77::2]:40011", "[fd77::1]:8080"},
	} {
		c, err := dial(x.net, x.local, x.remote)
		if err != nil {
			t.Fatal(err)
		}
		echo(c)
		closers = append(closers, func() { c.Close() })
	}
	// closed by both: the client closes, the server's echo loop follows
	c, err := dial("tcp4", "10.77.0.2:40012", "10.77.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	echo(c)
	c.Close()
	// Wait for the last ACK (conntrack's TIME_WAIT), not a fixed time: the
	// comparison needs every packet of the close in the capture.
	n.waitKernelState(t, "40012", "TIME_WAIT")
	if _, err := dial("tcp4", "10.77.0.2:40013", "10.77.0.1:9"); err == nil {
		t.Fatal("connected to a closed port")
	}
	for _, x := range []struct{ net, local, remote string }{
		{"udp4", "10.77.0.2:40001", "10.77.0.1:5353"},
		{"udp6", "[fd77::2]:40002", "[fd77::1]:7000"},
	} {
		c, err := dial(x.net, x.local, x.remote)
		if err != nil {
			t.Fatal(err)
		}
		echo(c)
		c.Close()
	}
	c, err = dial("udp4", "10.77.0.2:40003", "10.77.0.1:6000")
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("nobody"))
	// The port unreachable has passed conntrack and the capture once the
	// connected socket reports it.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 8)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("datagram to a closed port: %v, want ECONNREFUSED", err)
	}
	c.Close()
	return func() {
		for _, f := range closers {
			f()
		}
	}
}

// ctMask blanks what legitimately differs between two listings of the same
// flows: the timeout (seconds left, which depend on when each was
// listed), the event timestamp (-o timestamp: when each saw the event),
// the conntrack id (-o id; the kernel's is a hash of the entry's address),
// and with use the reference count (-G: the kernel's lookup holds one).
var (
	ctTimeout = regexp.MustCompile(`^((?:\[\d+\.\d+\]\t)?(?:\s*\[[A-Z]+\]\s+)?(?:ipv[46]\s+\d+\s+)?\S+\s+\d+ )\d+ `)
	ctStamp   = regexp.MustCompile(`^\[\d+\.\d+\]\t`)
	ctID      = regexp.MustCompile(` id=\d+$`)
	ctUse     = regexp.MustCompile(` use=\d+`)
)

func ctMask(lines string, id, use bool) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(lines, "\n"), "\n") {
		if l == "" {
			continue
		}
		l = ctTimeout.ReplaceAllString(l, "${1}T ")
		l = ctStamp.ReplaceAllString(l, "[TIME]\t")
		if id {
			l = ctID.ReplaceAllString(l, " id=N")
		}
		if use {
			l = ctUse.ReplaceAllString(l, " use=N")
		}
		out = append(out, l)
	}
	slices.Sort(out) // the kernel lists in hash order, hare by shard
	return out
}

// TestCtKernelOracle makes real flows through the kernel in a namespace,
// captures them, replays the capture through a hare table behind a control
// server, and runs the same conntrack command lines through the real
// conntrack 1.4.7 and through hare ct: exit statuses, summary lines and the
// entries (sorted; timeout and id blanked) must be equal. The events of
// `conntrack -E` recorded during the traffic are compared with those hare
// ct -E prints during the replay.
func TestCtKernelOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespaces and real traffic")
	}
	for _, p := range []string{"conntrack", "nft", "ping"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s", p)
		}
	}
	n := newNetnsPair(t)
	n.must(n.a, "sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1", "net.netfilter.nf_conntrack_timestamp=0")
	rulesFile := writeTemp(t, "ct-oracle.nft", []byte(ctOracleRules))
	n.must(n.a, "nft", "-f", rulesFile)
	n.must(n.a, "conntrack", "-F")

	// conntrack -E with these options follows the traffic in the kernel,
	// hare ct -E with the same during the replay.
	evArgs := [][]string{
		{"-E", "-o", "extended"},
		{"-E", "-e", "UPDATE,DESTROY", "-p", "tcp"},
		{"-E", "-o", "timestamp", "-f", "ipv6"},
		{"-E", "-e", "NEW", "-s", "10.77.0.0/24", "-p", "udp"},
	}
	capt := n.startCapture(n.a, "va")
	kev := make([]*exec.Cmd, len(evArgs))
	kevOut := make([]*lockedBuffer, len(evArgs))
	for i, a := range evArgs {
		kev[i] = exec.Command("ip", append([]string{"netns", "exec", n.a, "conntrack"}, a...)...)
		kevOut[i] = &lockedBuffer{}
		kev[i].Stdout, kev[i].Stderr = kevOut[i], io.Discard
		if err := kev[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	n.waitEventListeners(len(evArgs))
	cleanup := ctTraffic(t, n)
	waitQuiet(kevOut)
	for _, c := range kev {
		c.Process.Signal(syscall.SIGINT)
		c.Wait()
	}
	frames := capt.stop()
	defer cleanup()

	// hare: the same ruleset and settings, the captured packets replayed
	// at their capture times, hare ct -E following.
	st := conntrack.DefaultSettings()
	for k, v := range map[string]string{"timestamp": "0", "checksum": "0"} {
		if err := st.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	f, err := ruleset.Parse("ct-oracle.nft", []byte(ctOracleRules), ruleset.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ruleset.Build(f)
	if err != nil {
		t.Fatal(err)
	}
	r := newCtlRig(t, st, rs)
	ctx, cancel := context.WithCancel(context.Background())
	hevOut := make([]*lockedBuffer, len(evArgs))
	done := make(chan int, len(evArgs))
	for i, a := range evArgs {
		ea, err := parseCt(append([]string{"--socket", r.sock}, a...))
		if err != nil {
			t.Fatal(err)
		}
		hevOut[i] = &lockedBuffer{}
		ready := make(chan struct{})
		go func() {
			done <- ea.runEvents(ctx, control.NewClient(r.sock), hevOut[i], io.Discard, func() { close(ready) })
		}()
		<-ready
	}
	for _, fr := range frames {
		r.now = fr.ts.UnixNano()
		r.ip(fr.data)
	}
	r.now = time.Now().UnixNano()
	kEvents := ctMask(kevOut[0].String(), false, false)
	for i, a := range evArgs {
		k := ctMask(kevOut[i].String(), false, false)
		deadline := time.Now().Add(10 * time.Second)
		for len(ctMask(hevOut[i].String(), false, false)) < len(k) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if h := ctMask(hevOut[i].String(), false, false); !slices.Equal(h, k) || len(k) == 0 {
			t.Errorf("conntrack %s: events differ:\nkernel:\n%s\nhare:\n%s", strings.Join(a, " "), strings.Join(k, "\n"), strings.Join(h, "\n"))
		}
	}
	cancel()
	for range evArgs {
		<-done
	}
	t.Logf("%d frames captured; kernel: %d events", len(frames), len(kEvents))

	compare := func(args ...string) []string {
		t.Helper()
		id := false
		for i := 1; i < len(args); i++ {
			id = id || args[i-1] == "-o" && strings.Contains(args[i], "id")
		}
		use := slices.Contains(args, "-G")
		kc, kout, kerr := n.exec(n.a, append([]string{"conntrack"}, args...)...)
		hc, hout, herr := r.ct(args...)
		k, h := ctMask(kout, id, use), ctMask(hout, id, use)
		if kc != hc || kerr != herr || !slices.Equal(k, h) {
			t.Errorf("conntrack %s\nkernel: exit %d, stderr %q\n%s\nhare: exit %d, stderr %q\n%s",
				strings.Join(args, " "), kc, kerr, strings.Join(k, "\n"), hc, herr, strings.Join(h, "\n"))
		}
		return k
	}
	// The traffic made the flows ctTraffic describes, in the kernel as in
	// hare: nine, of which the refused one was destroyed at its RST (its
	// DESTROY is among the events).
	if k := compare("-L"); len(k) != 8 || len(kEvents) < 20 {
		t.Fatalf("the kernel saw %d flows and %d events, want 8 and at least 20:\n%s\n%s", len(k), len(kEvents), strings.Join(k, "\n"), strings.Join(kEvents, "\n"))
	}
	for _, args := range [][]string{
		{"-L", "-o", "extended"},
		{"-L", "-o", "extended,id"},
		{"-L", "conntrack", "-f", "ipv4"},
		{"-L", "-f", "ipv6"},
		{"-L", "-p", "tcp"},
		{"-L", "-p", "udp"},
		{"-L", "-p", "icmp"},
		{"-L", "-p", "icmpv6"},
		{"-L", "-p", "tcp", "--dport", "8080"},
		{"-L", "-p", "tcp", "--sport", "40012"},
		{"-L", "-p", "tcp", "--orig-port-dst", "9"},
		{"-L", "-p", "tcp", "--state", "ESTABLISHED"},
		{"-L", "-p", "tcp", "--state", "TIME_WAIT"},
		{"-L", "-p", "tcp", "--state", "CLOSE"},
		{"-L", "-p", "udp", "--reply-port-src", "5353"},
		{"-L", "-p", "udp", "--reply-port-dst", "40003"},
		{"-L", "-s", "10.77.0.2"},
		{"-L", "--orig-src", "10.77.0.0/24"},
		{"-L", "-d", "fd77::1"},
		{"-L", "-d", "fd77::/64"},
		{"-L", "-r", "10.77.0.1"},
		{"-L", "-q", "fd77::2"},
		{"-L", "-m", "5"},
		{"-L", "-m", "4/0xfc"},
		{"-L", "-m", "0"},
		{"-L", "-w", "3"},
		{"-L", "-u", "ASSURED"},
		{"-L", "-u", "SEEN_REPLY"},
		{"-L", "-p", "tcp", "--state", "FOO"},
		{"-L", "-f", "inet"},
		{"-C"},
		{"-G", "-p", "tcp", "-s", "10.77.0.2", "-d", "10.77.0.1", "--sport", "40010", "--dport", "8080"},
		{"-G", "-p", "tcp", "-s", "10.77.0.1", "-d", "10.77.0.2", "--sport", "8080", "--dport", "40010"},
		{"-G", "-p", "tcp", "-s", "10.77.0.2", "-d", "10.77.0.1", "--sport", "40099", "--dport", "8080"},
		{"-G", "-p", "udp", "-s", "fd77::2", "-d", "fd77::1", "--sport", "40002", "--dport", "7000", "-w", "3"},
		{"-D", "-p", "udp", "--dport", "5353"},
		{"-D", "-p", "udp", "--dport", "5353"},
		{"-L"},
		{"-D", "-f", "ipv6"},
		{"-L", "-o", "extended"},
		{"-F"},
		{"-L"},
		{"-C"},
	} {
		compare(args...)
	}
}

// waitEventListeners waits until k sockets in namespace a listen to
// conntrack events: NETLINK_NETFILTER (12) sockets subscribed to a group
// in /proc/net/netlink (conntrack -E has no other sign of being ready).
// waitKernelState waits until namespace a's conntrack shows the TCP
// connection from sport in state (5 s at most, then the test fails).
func (n *netnsPair) waitKernelState(t *testing.T, sport, state string) {
	t.Helper()
	var out string
	for range 100 {
		_, out, _ = n.exec(n.a, "conntrack", "-L", "-p", "tcp", "--sport", sport)
		if strings.Contains(out, " "+state+" ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the kernel's entry from port %s never reached %s: %q", sport, state, out)
}

func (n *netnsPair) waitEventListeners(k int) {
	n.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, out, _ := n.exec(n.a, "cat", "/proc/net/netlink")
		got := 0
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) > 3 && f[1] == "12" && strings.Trim(f[3], "0") != "" {
				got++
			}
		}
		if got >= k {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%d of %d conntrack -E subscribed", got, k)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitQuiet waits until the outputs have not grown for 300 ms (the last
// events have been printed), at most 10 s.
func waitQuiet(bufs []*lockedBuffer) {
	size := func() int {
		t := 0
		for _, b := range bufs {
			t += len(b.String())
		}
		return t
	}
	last, since := size(), time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if s := size(); s != last {
			last, since = s, time.Now()
		} else if time.Since(since) > 300*time.Millisecond {
			return
		}
	}
}
