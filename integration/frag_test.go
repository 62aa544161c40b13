package integration

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// testFrag: a 4000-byte UDP datagram from the client, which the client's
// kernel cuts into fragments for its 1500-byte link (RFC 791 §3.2, RFC
// 8200 §4.5), is echoed whole when the ruleset allows it; when the
// ruleset drops it, not one of its fragments reaches the server. The
// server's IP counters (/proc/net/snmp, snmp6: ReasmReqds counts the
// fragments that reach reassembly, ReasmOKs the datagrams reassembled)
// tell: over the two datagrams they must grow by the allowed datagram's
// fragments and one datagram, nothing more. The dropped datagram is sent
// first, on the same path (one worker), so that any fragment of it would
// be counted before the allowed datagram's echo returns.
//
// Linux's firewalls reassemble (nf_ct_frag6_gather, ip_defrag) and drop
// the whole datagram; hare's workers hold the fragments until the
// datagram is whole and drop them all (daemon/fraghold.go): the bridge
// keeps copies (IPv6; the kernel reassembles IPv4 before its ring),
// NFQUEUE leaves them in the kernel's queue (which hands hare the
// fragments of a forwarded datagram when nothing in the namespace uses
// conntrack: datapath/nfqueue/doc.go).
func (e *env) testFrag(t *testing.T, v int) {
	const size = 4000
	srv := e.tp.serverIP[v]
	reqs0, oks0 := reasm(t, e.tp.server, v)
	if r := roleResult(t, e.tp.client, "client", "udpsend", hostPort(srv, portInbound), fmt.Sprint(size)); !r.OK {
		t.Fatalf("sending the datagram the ruleset drops: %+v", r)
	}
	if r := roleResult(t, e.tp.client, "client", "udpbig", hostPort(srv, portEcho), fmt.Sprint(size)); !r.OK || r.Bytes != size {
		t.Errorf("UDP echo of a %d-byte datagram (fragmented): %+v", size, r)
	}
	reqs, oks := reasm(t, e.tp.server, v)
	// Payload bytes per fragment on a 1500-byte link: IPv4 (1500 - 20)
	// &^ 7 = 1480, IPv6 (1500 - 40 - 8) &^ 7 = 1448; the 8-byte UDP
	// header and the data are cut.
	per := 1480
	if v == 6 {
		per = 1448
	}
	frags := int64((8 + size + per - 1) / per)
	if reqs-reqs0 != frags || oks-oks0 != 1 {
		t.Errorf("the server reassembled %d datagrams from %d fragments, want 1 from %d (the dropped datagram's fragments must not reach it)",
			oks-oks0, reqs-reqs0, frags)
	}
	if h, ok := e.fw.(*hareFW); ok && v == 6 {
		m := h.metrics()
		if m[`hare_datapath_held_packets_total{port="0"}`] < 2*float64(frags-1) || m[`hare_datapath_forwarded_packets_total{port="0"}`] < float64(frags-1) {
			t.Errorf("the bridge held %v fragments and forwarded %v, want at least %d and %d",
				m[`hare_datapath_held_packets_total{port="0"}`], m[`hare_datapath_forwarded_packets_total{port="0"}`], 2*(frags-1), frags-1)
		}
	}
}

// reasm reads ReasmReqds and ReasmOKs of ns's IPv4 (/proc/net/snmp, a
// line of names then one of values) or IPv6 (/proc/net/snmp6, Ip6ReasmReqds
// and Ip6ReasmOKs, one per line) counters.
func reasm(t *testing.T, ns netns, v int) (reqs, oks int64) {
	t.Helper()
	vals := map[string]int64{}
	if v == 6 {
		for _, l := range strings.Split(ns.must(t, "cat", "/proc/net/snmp6"), "\n") {
			if f := strings.Fields(l); len(f) == 2 {
				vals[strings.TrimPrefix(f[0], "Ip6")], _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	} else {
		var names []string
		for _, l := range strings.Split(ns.must(t, "cat", "/proc/net/snmp"), "\n") {
			f := strings.Fields(l)
			if len(f) == 0 || f[0] != "Ip:" {
				continue
			}
			if names == nil {
				names = f[1:]
				continue
			}
			for i, n := range names {
				if i+1 < len(f) {
					vals[n], _ = strconv.ParseInt(f[i+1], 10, 64)
				}
			}
		}
	}
	return vals["ReasmReqds"], vals["ReasmOKs"]
}
