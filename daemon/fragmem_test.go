package daemon

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet/packettest"
)

const rulesNoDNS = `table inet fw {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 53 drop
	}
}
`

// TestFragmentsOfRefusedDatagram: on a port that cannot send a packet of
// an earlier batch (no datapath.Forwarder), the fragments of an
// incomplete datagram pass, the one completing it gets the datagram's
// verdict, and once a
// datagram is refused its fragments stay refused: sending the dropped
// fragment again must not start a new, passing, reassembly (the receiver
// would then complete the refused datagram).
func TestFragmentsOfRefusedDatagram(t *testing.T) {
	h := newHarness(t, "", rulesNoDNS)
	h.w = newWorker(plainPort{h.port}, workerConfig{eng: h.d.eng, now: h.d.now, batch: 64, defrag: defrag.DefaultConfig(),
		ifDev: testDev("eth0"), ifGen: &h.d.ifGen, pol: &h.d.pol, log: h.d.log, table: h.d.table})
	if h.w.hold != nil {
		t.Fatal("a worker holds fragments on a port that cannot send them later")
	}
	frags := func(dport uint16, id uint16) []datapath.Packet {
		udp := packettest.UDP(client, server, 40000, dport, bytes.Repeat([]byte{'x'}, 64))
		var out []datapath.Packet
		for _, f := range packettest.IPv4Fragments(client, server, 17, udp, 40, packettest.ID(id)) {
			out = append(out, datapath.Packet{Data: f, Link: datapath.LinkIP, Hook: datapath.HookInput, InIf: 1})
		}
		return out
	}
	dns := frags(53, 7)
	if len(dns) < 2 {
		t.Fatalf("%d fragments", len(dns))
	}
	last := len(dns) - 1
	for _, f := range dns[:last] {
		h.expect("fragment of an incomplete datagram", f, datapath.Accept)
	}
	h.expect("fragment completing a dropped datagram", dns[last], datapath.Drop)
	h.expect("the completing fragment again", dns[last], datapath.Drop)
	h.expect("the first fragment again", dns[0], datapath.Drop)

	// Another datagram, allowed: every fragment passes.
	ok := frags(123, 8)
	for _, f := range ok {
		h.expect("fragment of an allowed datagram", f, datapath.Accept)
	}
	// The same identification between other addresses is another
	// datagram.
	other := netip.MustParseAddr("192.0.2.99")
	udp := packettest.UDP(other, server, 40000, 123, bytes.Repeat([]byte{'y'}, 64))
	for _, f := range packettest.IPv4Fragments(other, server, 17, udp, 40, packettest.ID(7)) {
		h.expect("same id, other source", datapath.Packet{Data: f, Link: datapath.LinkIP, Hook: datapath.HookInput, InIf: 1}, datapath.Accept)
	}
}
