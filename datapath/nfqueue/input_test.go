package nfqueue

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

// TestInputVerdicts queues f's input hook, sends datagrams from c that
// the worker accepts (A), accepts with a new mark (M) or drops (D), and
// checks what reaches f's socket, the metadata hare saw, and that the
// kernel applied the new marks (a counter behind the filter hook).
func TestInputVerdicts(t *testing.T) {
	tp := newTopo(t)
	before := ruleset(t, tp.f)
	sh(t, tp.f, "nft", "add table ip t { "+
		"chain pre { type filter hook prerouting priority mangle; meta mark set 0x42; }; "+
		"chain in { type filter hook input priority 10; meta mark 0x99 counter; }; }")
	withTable := ruleset(t, tp.f)
	d := tp.openIn(t, tp.f, Config{Queues: "3", Hooks: []datapath.Hook{datapath.HookInput}, InstallRules: true, Notrack: true})
	if got := d.Name(); got != "nfqueue 3" {
		t.Errorf("Name() = %q", got)
	}
	srv := tp.udpServer(t, tp.f, "10.77.1.2:5000")
	w := runWorker(d.Ports()[0], func(_ datapath.Port, pk *datapath.Packet, p *packet.Parsed) {
		if p.Proto != packet.ProtoUDP || p.DstPort != 5000 {
			return
		}
		switch pk.Data[p.L4Off+8] {
		case 'D':
			pk.Verdict = datapath.Drop
		case 'M':
			pk.SetMark, pk.NewMark = true, 0x99
		}
	})
	var sent, want []string
	for i := 0; i < 5; i++ {
		for _, k := range "ADM" {
			s := string(k) + string(rune('0'+i))
			sent = append(sent, s)
			if k != 'D' {
				want = append(want, s)
			}
		}
	}
	tp.sendUDP(t, tp.c, "10.77.1.2:5000", sent...)
	if !waitFor(func() bool { return len(srv.received()) >= len(want) }) {
		t.Fatalf("f received %q, want %q", srv.received(), want)
	}
	// Every datagram was decided before its successor was (one worker,
	// in order); the drops among them had their verdict already.
	if !waitFor(func() bool { return len(w.snapshot()) >= len(sent) }) {
		t.Fatalf("worker saw %d packets, want %d", len(w.snapshot()), len(sent))
	}
	got := srv.received()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("f received %q, want %q", got, want)
	}
	n := 0
	for _, s := range w.snapshot() {
		if s.payload == "" {
			continue
		}
		n++
		if s.hook != datapath.HookInput || s.in != tp.fc || s.out != 0 || s.mark != 0x42 || s.src != "10.77.1.1" {
			t.Errorf("packet %q: hook %d in %d out %d mark %#x src %s; want hook input(1) in %d out 0 mark 0x42 src 10.77.1.1",
				s.payload, s.hook, s.in, s.out, s.mark, s.src, tp.fc)
		}
	}
	if n != len(sent) {
		t.Errorf("worker saw %d of the %d datagrams", n, len(sent))
	}
	if c := nftCounter(t, tp.f, "ip", "t", "in"); c != 5 {
		t.Errorf("packets with mark 0x99 after the verdict: %d, want 5", c)
	}
	// Accepted and Dropped count once a verdict's write returns, which
	// can be after the datagram arrived.
	st := d.Ports()[0].Stats()
	waitFor(func() bool { st = d.Ports()[0].Stats(); return st.Accepted+st.Dropped >= uint64(len(sent)) })
	if st.Received < uint64(len(sent)) || st.Dropped < 5 || st.Accepted < 10 || st.Errors != 0 || st.KernelDrops != 0 {
		t.Errorf("stats %+v", st)
	}
	var cerr error
	tp.inNS(t, tp.f, func() { cerr = d.Close() })
	if cerr != nil {
		t.Errorf("Close: %v", cerr)
	}
	<-w.done
	if w.err != nil {
		t.Errorf("worker: %v", w.err)
	}
	if after := ruleset(t, tp.f); after != withTable {
		t.Errorf("ruleset after Close differs from before Open:\n--- before\n%s\n--- after\n%s", withTable, after)
	}
	sh(t, tp.f, "nft", "delete", "table", "ip", "t")
	if after := ruleset(t, tp.f); after != before || strings.TrimSpace(after) != "" {
		t.Errorf("ruleset not empty at the end:\n%s", after)
	}
}

// TestDoneMisuse: a worker that hands back a batch other than the one it
// read gets an error, and the packets read are dropped rather than left
// queued (the kernel's queue_total goes back to 0).
func TestDoneMisuse(t *testing.T) {
	tp := newTopo(t)
	d := tp.openIn(t, tp.f, Config{Queues: "4", Hooks: []datapath.Hook{datapath.HookInput}, InstallRules: true, Notrack: true})
	srv := tp.udpServer(t, tp.f, "10.77.1.2:5000")
	p := d.Ports()[0]
	var b datapath.Batch
	tp.sendUDP(t, tp.c, "10.77.1.2:5000", "x1")
	if err := p.Read(&b); err != nil || len(b.Pkts) != 1 {
		t.Fatalf("Read: %d packets, %v", len(b.Pkts), err)
	}
	if n := queueTotal(t, tp.f, 4); n != 1 {
		t.Errorf("queue_total %d with one packet read, want 1", n)
	}
	if err := p.Read(&b); err == nil {
		t.Errorf("a second Read before Done succeeded")
	}
	b.Pkts = b.Pkts[:0]
	if err := p.Done(&b); err == nil {
		t.Errorf("Done with an emptied batch succeeded")
	}
	if !waitFor(func() bool { return queueTotal(t, tp.f, 4) == 0 }) {
		t.Errorf("the packet of the misused batch is still queued")
	}
	w := runWorker(p, func(datapath.Port, *datapath.Packet, *packet.Parsed) {})
	tp.sendUDP(t, tp.c, "10.77.1.2:5000", "y1")
	if !waitFor(func() bool { return len(srv.received()) == 1 }) || srv.received()[0] != "y1" {
		t.Errorf("after the misuse f received %q, want y1", srv.received())
	}
	if st := p.Stats(); st.Dropped != 1 || st.Errors != 1 {
		t.Errorf("stats %+v: want the abandoned packet dropped, one error", st)
	}
	tp.inNS(t, tp.f, func() { d.Close() })
	<-w.done
}

// queueTotal is queue q's queue_total in ns's /proc/net/netfilter/
// nfnetlink_queue: packets waiting for a verdict.
func queueTotal(t testing.TB, ns string, q int) int {
	for _, line := range strings.Split(sh(t, ns, "cat", "/proc/net/netfilter/nfnetlink_queue"), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[0] == strconv.Itoa(q) {
			n, _ := strconv.Atoi(f[2])
			return n
		}
	}
	t.Fatalf("queue %d not in nfnetlink_queue", q)
	return 0
}
