package nfqueue

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

// TestFragments records whether hare sees fragments or reassembled
// datagrams, with notrack, for IPv4 and IPv6 on input and forward,
// without and with a conntrack user in the namespace (any rule with a ct
// expression makes nf_ct_netns_get register nf_defrag_ipv4/6, whose
// hooks at priority -400 reassemble before the raw notrack chain):
//
//	                     no ct user     a ct user
//	IPv4 input           reassembled    reassembled (ip_local_deliver defragments before NF_INET_LOCAL_IN)
//	IPv4 forward         fragments      reassembled
//	IPv6 input           fragments      reassembled (ipv6_frag_rcv runs after NF_INET_LOCAL_IN)
//	IPv6 forward         fragments      reassembled
//
// A 3000-byte UDP datagram from c (MTU 1500) must arrive whole either
// way (after an accept, a reassembled forwarded datagram is fragmented
// again on output).
func TestFragments(t *testing.T) {
	tp := newTopo(t)
	d := tp.openIn(t, tp.f, Config{Queues: "0", Hooks: []datapath.Hook{datapath.HookInput, datapath.HookForward},
		InstallRules: true, Notrack: true})
	w := runWorker(d.Ports()[0], func(datapath.Port, *datapath.Packet, *packet.Parsed) {})
	payload := strings.Repeat("f", 3000)
	cases := []struct {
		name, ns, addr string
		hook           datapath.Hook
		ct             bool
		want           int // packets hare sees for the datagram
	}{
		{"ipv4 input", tp.f, "10.77.1.2", datapath.HookInput, false, 1},
		{"ipv4 forward", tp.s, "10.77.2.1", datapath.HookForward, false, 3},
		{"ipv6 input", tp.f, "fd77:1::2", datapath.HookInput, false, 3},
		{"ipv6 forward", tp.s, "fd77:2::1", datapath.HookForward, false, 3},
		{"ipv4 input ct", tp.f, "10.77.1.2", datapath.HookInput, true, 1},
		{"ipv4 forward ct", tp.s, "10.77.2.1", datapath.HookForward, true, 1},
		{"ipv6 input ct", tp.f, "fd77:1::2", datapath.HookInput, true, 1},
		{"ipv6 forward ct", tp.s, "fd77:2::1", datapath.HookForward, true, 1},
	}
	for i, c := range cases {
		if c.ct && !cases[i-1].ct {
			sh(t, tp.f, "nft", "add table inet ctuser { chain c { type filter hook prerouting priority 0; ct state invalid counter; }; }")
		}
		port := 6100 + i
		srv := tp.udpServer(t, c.ns, net.JoinHostPort(c.addr, fmt.Sprint(port)))
		start := len(w.snapshot())
		tp.sendUDP(t, tp.c, net.JoinHostPort(c.addr, fmt.Sprint(port)), payload)
		if !waitFor(func() bool { return len(srv.received()) == 1 }) || srv.received()[0] != payload {
			t.Errorf("%s: the datagram did not arrive whole", c.name)
			continue
		}
		var n, frags, biggest int
		for _, s := range w.snapshot()[start:] {
			if s.dst != c.addr || s.hook != c.hook || s.frag.Kind != packet.FragLater && s.dport != uint16(port) {
				continue
			}
			n++
			if s.frag.Kind != packet.NotFragment {
				frags++
			}
			biggest = max(biggest, s.length)
		}
		if n != c.want || (c.want == 1) != (frags == 0) {
			t.Errorf("%s: hare saw %d packets (%d fragments, largest %d bytes), want %d", c.name, n, frags, biggest, c.want)
		} else {
			t.Logf("%s: %d packets, largest %d bytes", c.name, n, biggest)
		}
	}
}
