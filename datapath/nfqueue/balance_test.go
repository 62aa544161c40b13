package nfqueue

import (
	"fmt"
	"net"
	"os/exec"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

// TestBalance queues forwarded traffic to queues 0-3 (--queue-balance):
// flows from 16 client addresses to an echo server in s spread over more
// than one port, and both directions of each flow meet the same port
// (xt_NFQUEUE's nfqueue_hash is symmetric in the addresses).
func TestBalance(t *testing.T) {
	tp := newTopo(t)
	for i := 10; i < 26; i++ {
		sh(t, tp.c, "ip", "addr", "add", fmt.Sprintf("10.77.1.%d/24", i), "dev", "eth0")
	}
	d := tp.openIn(t, tp.f, Config{Queues: "0-3", Hooks: []datapath.Hook{datapath.HookForward}, InstallRules: true, Notrack: true})
	var ws []*worker
	for _, p := range d.Ports() {
		ws = append(ws, runWorker(p, func(datapath.Port, *datapath.Packet, *packet.Parsed) {}))
	}
	var echo *net.UDPConn
	tp.inNS(t, tp.s, func() {
		var err error
		if echo, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(10, 77, 2, 1), Port: 8000}); err != nil {
			t.Error(err)
		}
	})
	if echo == nil {
		t.FailNow()
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 100)
		for {
			n, a, err := echo.ReadFromUDP(buf)
			if err != nil {
				return
			}
			echo.WriteToUDP(buf[:n], a)
		}
	}()
	replies := 0
	tp.inNS(t, tp.c, func() {
		for i := 10; i < 26; i++ {
			c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(10, 77, 1, byte(i))}, &net.UDPAddr{IP: net.IPv4(10, 77, 2, 1), Port: 8000})
			if err != nil {
				t.Error(err)
				continue
			}
			c.Write([]byte("ping"))
			buf := make([]byte, 10)
			c.SetReadDeadline(deadline())
			if _, err := c.Read(buf); err == nil {
				replies++
			}
			c.Close()
		}
	})
	if replies != 16 {
		t.Errorf("%d of 16 echoes came back", replies)
	}
	type pair struct{ a, b string }
	where := map[pair]map[int]bool{}
	used := 0
	for i, w := range ws {
		n := 0
		for _, s := range w.snapshot() {
			if s.proto != packet.ProtoUDP || (s.dport != 8000 && s.sport != 8000) {
				continue
			}
			k := pair{s.src, s.dst}
			if s.src > s.dst {
				k = pair{s.dst, s.src}
			}
			if where[k] == nil {
				where[k] = map[int]bool{}
			}
			where[k][i] = true
			n++
		}
		if n > 0 {
			used++
		}
		t.Logf("queue %d: %d packets", i, n)
	}
	if used < 2 {
		t.Errorf("16 flows all went to one queue")
	}
	if len(where) != 16 {
		t.Errorf("hare saw %d flows, want 16", len(where))
	}
	for k, qs := range where {
		if len(qs) != 1 {
			t.Errorf("flow %s <-> %s seen on queues %v", k.a, k.b, qs)
		}
	}
	var both int
	for _, w := range ws {
		for _, s := range w.snapshot() {
			if s.sport == 8000 {
				both++
			}
		}
	}
	if both != 16 {
		t.Errorf("hare saw %d replies, want 16", both)
	}
}

// TestPing: ping and ping6 from c to s through f's forward hook pass;
// echo requests of 100 data bytes are dropped, so ping -s 100 fails.
func TestPing(t *testing.T) {
	tp := newTopo(t)
	d := tp.openIn(t, tp.f, Config{Queues: "1", Hooks: []datapath.Hook{datapath.HookForward}, InstallRules: true, Notrack: true})
	w := runWorker(d.Ports()[0], func(_ datapath.Port, pk *datapath.Packet, p *packet.Parsed) {
		if (p.Proto == packet.ProtoICMP || p.Proto == packet.ProtoICMPv6) && p.L4Len == 8+100 {
			pk.Verdict = datapath.Drop
		}
	})
	for _, dst := range []string{"10.77.2.1", "fd77:2::1"} {
		if out, err := exec.Command("ip", "netns", "exec", tp.c, "ping", "-c2", "-i0.2", "-W2", dst).CombinedOutput(); err != nil {
			t.Errorf("ping %s through hare: %v\n%s", dst, err, out)
		}
		if err := exec.Command("ip", "netns", "exec", tp.c, "ping", "-c1", "-W1", "-s100", dst).Run(); err == nil {
			t.Errorf("ping -s 100 %s passed a drop verdict", dst)
		}
	}
	n := 0
	for _, s := range w.snapshot() {
		if s.proto == packet.ProtoICMP || s.proto == packet.ProtoICMPv6 {
			n++
		}
	}
	if n < 10 { // 2 requests + 2 replies each, and the dropped request
		t.Errorf("hare saw %d ICMP packets, want at least 10", n)
	}
}
