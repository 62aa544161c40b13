package nfqueue

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

// TestFailOpenClosed binds a queue of length 4 and never reads it: the
// kernel holds 4 datagrams and then, failing open, lets the other 16
// through unseen, or, failing closed, drops them (queue_dropped).
func TestFailOpenClosed(t *testing.T) {
	for _, open := range []bool{true, false} {
		t.Run(fmt.Sprintf("failopen=%v", open), func(t *testing.T) {
			tp := newTopo(t)
			d := tp.openIn(t, tp.f, Config{Queues: "5", MaxQueueLen: 4, FailOpen: open,
				Hooks: []datapath.Hook{datapath.HookInput}, InstallRules: true, Notrack: true})
			srv := tp.udpServer(t, tp.f, "10.77.1.2:6000")
			var sent []string
			for i := 0; i < 20; i++ {
				sent = append(sent, fmt.Sprint("d", i))
			}
			tp.sendUDP(t, tp.c, "10.77.1.2:6000", sent...)
			p := d.Ports()[0]
			if open {
				if !waitFor(func() bool { return len(srv.received()) == 16 }) {
					t.Errorf("failing open, f received %d datagrams, want 16", len(srv.received()))
				}
				// NFQA_CFG_F_FAIL_OPEN accepts without counting.
				if st := p.Stats(); st.KernelDrops != 0 {
					t.Errorf("KernelDrops = %d, want 0", st.KernelDrops)
				}
			} else {
				if !waitFor(func() bool { return p.Stats().KernelDrops == 16 }) {
					t.Errorf("failing closed, KernelDrops = %d, want 16", p.Stats().KernelDrops)
				}
				if got := srv.received(); len(got) != 0 {
					t.Errorf("failing closed, f received %q", got)
				}
				tp.inNS(t, tp.f, func() { d.Close() })
				if st := p.Stats(); st.KernelDrops != 16 {
					t.Errorf("after Close, KernelDrops = %d, want the 16 counted before", st.KernelDrops)
				}
			}
		})
	}
}

// TestBypass installs the queue rules with no program bound to the
// queue: with --queue-bypass (FailOpen) the hooks let packets pass, else
// they drop them.
func TestBypass(t *testing.T) {
	tp := newTopo(t)
	before := ruleset(t, tp.f)
	for _, open := range []bool{true, false} {
		c, first, n, err := Config{Queues: "9", FailOpen: open, Hooks: []datapath.Hook{datapath.HookInput},
			InstallRules: true, Notrack: true}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		var in *installed
		tp.inNS(t, tp.f, func() { in, err = install(c, first, n) })
		if err != nil {
			t.Fatal(err)
		}
		perr := exec.Command("ip", "netns", "exec", tp.c, "ping", "-c1", "-W1", "10.77.1.2").Run()
		if open && perr != nil {
			t.Errorf("with --queue-bypass and no hare, ping failed: %v", perr)
		}
		if !open && perr == nil {
			t.Errorf("without --queue-bypass and no hare, ping passed")
		}
		tp.inNS(t, tp.f, func() { err = in.remove() })
		if err != nil {
			t.Errorf("remove: %v", err)
		}
		if after := ruleset(t, tp.f); after != before {
			t.Errorf("ruleset after remove:\n%s\nwant\n%s", after, before)
		}
	}
}

// TestENOBUFS overflows a tiny socket receive buffer before reading:
// the kernel drops what does not fit (queue_user_dropped, fail-closed),
// the next read reports ENOBUFS, and the port goes on reading the rest.
func TestENOBUFS(t *testing.T) {
	tp := newTopo(t)
	d := tp.openIn(t, tp.f, Config{Queues: "6", ReadBuffer: 4096, MaxQueueLen: 1000,
		Hooks: []datapath.Hook{datapath.HookInput}, InstallRules: true, Notrack: true})
	srv := tp.udpServer(t, tp.f, "10.77.1.2:6000")
	var sent []string
	for i := 0; i < 100; i++ {
		sent = append(sent, fmt.Sprintf("%01000d", i))
	}
	tp.sendUDP(t, tp.c, "10.77.1.2:6000", sent...)
	p := d.Ports()[0]
	if !waitFor(func() bool { return p.Stats().KernelDrops > 0 }) {
		t.Fatalf("no kernel drops with a 4 KiB socket buffer and 100 datagrams")
	}
	w := runWorker(p, func(datapath.Port, *datapath.Packet, *packet.Parsed) {})
	st := p.Stats()
	if !waitFor(func() bool { st = p.Stats(); return st.Received+st.KernelDrops == 100 }) {
		t.Errorf("stats %+v: received + kernel drops should be the 100 sent", st)
	}
	// The accepted datagrams reach f's socket after their verdicts: wait
	// for them rather than read the count at once.
	waitFor(func() bool { return uint64(len(srv.received())) >= st.Received })
	if got := len(srv.received()); uint64(got) != st.Received || st.Received == 0 {
		t.Errorf("f received %d, hare accepted %d", got, st.Received)
	}
	if p.(*port).enobufs.Load() == 0 {
		t.Errorf("no ENOBUFS seen")
	}
	tp.inNS(t, tp.f, func() { d.Close() })
	<-w.done
	if w.err != nil {
		t.Errorf("worker stopped: %v", w.err)
	}
	t.Logf("of 100 datagrams: %d read, %d dropped by the kernel, %d ENOBUFS reports", st.Received, st.KernelDrops, p.(*port).enobufs.Load())
}

// TestKeepRules: a fail-closed hare that closes with KeepRules leaves its
// queue rules, so nothing passes until the next hare binds the queue;
// that one replaces the rules and passes traffic again.
func TestKeepRules(t *testing.T) {
	tp := newTopo(t)
	c := Config{Queues: "7", Hooks: []datapath.Hook{datapath.HookInput}, InstallRules: true, Notrack: true, KeepRules: true}
	d := tp.openIn(t, tp.f, c)
	// Order aside (nft lists tables and chains in creation order): what
	// iptables and nft say is there.
	rules := func() string {
		return sh(t, tp.f, "iptables", "-w", "-S") + sh(t, tp.f, "ip6tables", "-w", "-S") +
			sh(t, tp.f, "nft", "-s", "list", "table", "inet", "hare_raw")
	}
	installed := rules()
	tp.inNS(t, tp.f, func() { d.Close() })
	if after := rules(); after != installed {
		t.Errorf("KeepRules: Close changed the ruleset:\n%s\nwant\n%s", after, installed)
	}
	ping := func() error {
		return exec.Command("ip", "netns", "exec", tp.c, "ping", "-c1", "-W1", "10.77.1.2").Run()
	}
	if ping() == nil {
		t.Errorf("fail-closed, between two hares, a ping passed")
	}
	c.KeepRules = false
	d = tp.openIn(t, tp.f, c)
	if after := rules(); after != installed {
		t.Errorf("the second Open installed:\n%s\nwant what the first did:\n%s", after, installed)
	}
	w := runWorker(d.Ports()[0], func(datapath.Port, *datapath.Packet, *packet.Parsed) {})
	if err := ping(); err != nil {
		t.Errorf("ping through the second hare: %v", err)
	}
	tp.inNS(t, tp.f, func() { d.Close() })
	<-w.done
	if out := sh(t, tp.f, "iptables", "-w", "-S"); strings.Contains(out, "HARE") {
		t.Errorf("rules left after the second Close:\n%s", out)
	}
}
