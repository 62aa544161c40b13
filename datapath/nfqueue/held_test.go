package nfqueue

import (
	"strings"
	"sync"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

// TestHeldFragments: packets a worker keeps (Verdict Stolen) wait in the
// kernel's queue across batches, are not released by the batch verdicts
// of the packets decided meanwhile, and leave with Forward or go with
// Forget. The worker keeps every fragment of a forwarded IPv6 datagram
// (the kernel hands NFQUEUE the fragments: TestFragments) until a small
// "go" or "drop" datagram arrives; meanwhile other datagrams pass in runs.
func TestHeldFragments(t *testing.T) {
	tp := newTopo(t)
	d := tp.openIn(t, tp.f, Config{Queues: "0", Hooks: []datapath.Hook{datapath.HookForward},
		InstallRules: true, Notrack: true})
	var mu sync.Mutex
	var kept []datapath.Packet
	var errs []error
	w := runWorker(d.Ports()[0], func(p datapath.Port, pk *datapath.Packet, dp *packet.Parsed) {
		mu.Lock()
		defer mu.Unlock()
		if dp.Frag.IsFragment() {
			kept = append(kept, *pk) // Data is not read by NFQUEUE's Forward
			pk.Verdict = datapath.Stolen
			return
		}
		if dp.Proto != packet.ProtoUDP || dp.L4Off == 0 {
			return
		}
		switch string(pk.Data[dp.L4Off+8:]) {
		case "go":
			for i := range kept {
				if err := p.(datapath.Forwarder).Forward(&kept[i]); err != nil {
					errs = append(errs, err)
				}
			}
			kept = kept[:0]
		case "drop":
			for i := range kept {
				p.(datapath.Forwarder).Forget(&kept[i])
			}
			kept = kept[:0]
		}
	})
	const addr = "[fd77:2::1]:6200"
	srv := tp.udpServer(t, tp.s, addr)
	big := strings.Repeat("h", 3000)
	heldN := func() int { mu.Lock(); defer mu.Unlock(); return len(kept) }

	// Held, then dropped: the datagrams passed meanwhile (in runs, had
	// nothing been kept) do not release it.
	tp.sendUDP(t, tp.c, addr, big)
	if !waitFor(func() bool { return heldN() == 3 }) {
		t.Fatalf("%d fragments kept, want 3", heldN())
	}
	tp.sendUDP(t, tp.c, addr, "a", "b", "c", "d")
	if !waitFor(func() bool { return len(srv.received()) == 4 }) {
		t.Fatalf("server received %d datagrams, want the 4 small ones", len(srv.received()))
	}
	tp.sendUDP(t, tp.c, addr, "drop", "after-drop")
	if !waitFor(func() bool { return len(srv.received()) == 6 }) {
		t.Fatalf("server received %q", srv.received())
	}
	// Held, then sent: the datagram arrives whole, before "go" (the
	// verdicts of Forward go before those of the batch).
	tp.sendUDP(t, tp.c, addr, big)
	if !waitFor(func() bool { return heldN() == 3 }) {
		t.Fatalf("%d fragments kept, want 3", heldN())
	}
	tp.sendUDP(t, tp.c, addr, "go")
	if !waitFor(func() bool { return len(srv.received()) == 8 }) {
		t.Fatalf("server received %d datagrams, want 8", len(srv.received()))
	}
	got := srv.received()
	want := []string{"a", "b", "c", "d", "drop", "after-drop", big, "go"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("datagram %d received: %.20q, want %.20q", i, got[i], want[i])
		}
	}
	s := d.Ports()[0].Stats()
	t.Logf("%+v", s)
	if len(errs) != 0 || s.Stolen != 6 || s.Forwarded != 3 || s.Errors != 0 {
		t.Errorf("errors %v, port stats %+v: want 6 kept, 3 forwarded, no error", errs, s)
	}
	d.Close()
	<-w.done
	if w.err != nil {
		t.Error(w.err)
	}
}
