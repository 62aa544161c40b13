package integration

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// testFrag6: a 4000-byte UDP datagram from the client, which the client's
// kernel cuts into fragments for its 1500-byte link (RFC 8200 §4.5), is
// echoed whole when the ruleset allows it; when the ruleset drops it, not
// one of its fragments reaches the server. The server's IPv6 counters
// (/proc/net/snmp6: Ip6ReasmReqds counts the fragments that reach
// reassembly, Ip6ReasmOKs the datagrams reassembled) tell: over the two
// datagrams they must grow by the allowed datagram's fragments and one
// datagram, nothing more. The dropped datagram is sent first, on the same
// path (one worker), so that any fragment of it would be counted before
// the allowed datagram's echo returns.
//
// Linux's firewalls reassemble (nf_ct_frag6_gather) and drop the whole
// datagram; hare's workers hold the fragments until the datagram is whole
// and drop them all (daemon/fraghold.go): the bridge keeps copies, NFQUEUE
// leaves them in the kernel's queue (which hands hare the fragments of a
// forwarded datagram when nothing in the namespace uses conntrack:
// datapath/nfqueue/doc.go).
func (e *env) testFrag6(t *testing.T) {
	const size = 4000
	srv := e.tp.serverIP[6]
	reqs0, oks0 := reasm6(t, e.tp.server)
	if r := roleResult(t, e.tp.client, "client", "udpsend", hostPort(srv, portInbound), fmt.Sprint(size)); !r.OK {
		t.Fatalf("sending the datagram the ruleset drops: %+v", r)
	}
	if r := roleResult(t, e.tp.client, "client", "udpbig", hostPort(srv, portEcho), fmt.Sprint(size)); !r.OK || r.Bytes != size {
		t.Errorf("UDP echo of a %d-byte datagram (fragmented): %+v", size, r)
	}
	reqs, oks := reasm6(t, e.tp.server)
	// Fragments of a 1500-byte link: (1500 - 40 - 8) &^ 7 = 1448 bytes of
	// the 8-byte UDP header and the data each.
	frags := int64((8 + size + 1447) / 1448)
	if reqs-reqs0 != frags || oks-oks0 != 1 {
		t.Errorf("the server reassembled %d datagrams from %d fragments, want 1 from %d (the dropped datagram's fragments must not reach it)",
			oks-oks0, reqs-reqs0, frags)
	}
	if h, ok := e.fw.(*hareFW); ok {
		m := h.metrics()
		if m[`hare_datapath_held_packets_total{port="0"}`] < 2*float64(frags-1) || m[`hare_datapath_forwarded_packets_total{port="0"}`] < float64(frags-1) {
			t.Errorf("the bridge held %v fragments and forwarded %v, want at least %d and %d",
				m[`hare_datapath_held_packets_total{port="0"}`], m[`hare_datapath_forwarded_packets_total{port="0"}`], 2*(frags-1), frags-1)
		}
	}
}

// reasm6 reads Ip6ReasmReqds and Ip6ReasmOKs of ns's /proc/net/snmp6.
func reasm6(t *testing.T, ns netns) (reqs, oks int64) {
	t.Helper()
	for _, l := range strings.Split(ns.must(t, "cat", "/proc/net/snmp6"), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "Ip6ReasmReqds":
			reqs = n
		case "Ip6ReasmOKs":
			oks = n
		}
	}
	return reqs, oks
}
