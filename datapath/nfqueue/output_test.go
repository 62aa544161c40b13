package nfqueue

import (
	"slices"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

// TestOutput queues f's output hook: datagrams f sends to c carry hook
// output, no input interface and the output interface toward c; the
// dropped ones never reach c. IPv4 and IPv6.
func TestOutput(t *testing.T) {
	tp := newTopo(t)
	d := tp.openIn(t, tp.f, Config{Queues: "8", Hooks: []datapath.Hook{datapath.HookOutput}, InstallRules: true, Notrack: true})
	w := runWorker(d.Ports()[0], func(_ datapath.Port, pk *datapath.Packet, p *packet.Parsed) {
		if p.Proto == packet.ProtoUDP && p.DstPort == 5500 && pk.Data[p.L4Off+8] == 'D' {
			pk.Verdict = datapath.Drop
		}
	})
	for _, dst := range []string{"10.77.1.1:5500", "[fd77:1::1]:5500"} {
		srv := tp.udpServer(t, tp.c, dst)
		tp.sendUDP(t, tp.f, dst, "A1", "D1", "A2", "D2")
		if !waitFor(func() bool { return len(srv.received()) >= 2 }) {
			t.Errorf("c received %q from f", srv.received())
		}
		waitFor(func() bool { return len(w.snapshot()) >= 4 })
		if got := srv.received(); !slices.Equal(got, []string{"A1", "A2"}) {
			t.Errorf("c received %q, want A1 A2", got)
		}
	}
	n := 0
	for _, s := range w.snapshot() {
		if s.dport != 5500 {
			continue
		}
		n++
		if s.hook != datapath.HookOutput || s.in != 0 || s.out != tp.fc {
			t.Errorf("%q to %s: hook %d in %d out %d, want output(3) in 0 out %d", s.payload, s.dst, s.hook, s.in, s.out, tp.fc)
		}
	}
	if n != 8 {
		t.Errorf("hare saw %d of the 8 datagrams", n)
	}
}
