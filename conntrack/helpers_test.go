package conntrack_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// Addresses of the test hosts: a client, a server, and a router that sends
// ICMP errors.
var (
	cli4 = netip.MustParseAddr("192.0.2.10")
	srv4 = netip.MustParseAddr("198.51.100.20")
	rtr4 = netip.MustParseAddr("203.0.113.1")
	cli6 = netip.MustParseAddr("2001:db8:1::10")
	srv6 = netip.MustParseAddr("2001:db8:2::20")
	rtr6 = netip.MustParseAddr("2001:db8:ff::1")
)

const sec = int64(time.Second)

// tracker bundles a table, a subscription to its events and a decoder, for
// driving packets through conntrack in tests.
type tracker struct {
	tb  testing.TB
	t   *conntrack.Table
	sub *conntrack.Subscription
	p   packet.Parsed
	res conntrack.Result
}

func newTracker(tb testing.TB, s *conntrack.Settings) *tracker {
	ev := conntrack.NewEvents()
	tr := &tracker{tb: tb, t: conntrack.NewTable(s, ev)}
	tr.sub = ev.Subscribe(1024)
	return tr
}

// ip wraps a transport payload in an IP header of the addresses' family.
func ip(src, dst netip.Addr, proto uint8, l4 []byte) []byte {
	if src.Is4() {
		return packettest.IPv4(src, dst, proto, l4)
	}
	return packettest.IPv6(src, dst, proto, l4)
}

// send runs one raw IP datagram through conntrack at time now.
func (tr *tracker) send(dgram []byte, now int64) *conntrack.Result {
	tr.tb.Helper()
	tr.p.DecodeIP(dgram)
	if tr.p.Reason != packet.ReasonNone {
		tr.tb.Fatalf("test packet does not decode cleanly: %v", tr.p.Reason)
	}
	tr.t.Process(&tr.p, 0, now, &tr.res)
	return &tr.res
}

func (tr *tracker) udp(src, dst netip.Addr, sport, dport uint16, now int64) *conntrack.Result {
	return tr.send(ip(src, dst, 17, packettest.UDP(src, dst, sport, dport, []byte("payload"))), now)
}

// events drains the subscription.
func (tr *tracker) events() []conntrack.Event {
	buf := make([]conntrack.Event, 64)
	n := tr.sub.Read(buf)
	return buf[:n]
}

// entry returns the entry with the given original tuple, failing the test
// when there is none.
func (tr *tracker) entry(k conntrack.Tuple) conntrack.Entry {
	tr.tb.Helper()
	var e conntrack.Entry
	if _, ok := tr.t.Lookup(k, &e); !ok {
		tr.tb.Fatalf("no entry for %v", k)
	}
	return e
}

func wantState(tb testing.TB, what string, r *conntrack.Result, st conntrack.State, dir conntrack.Dir) {
	tb.Helper()
	if r.State != st || (st != conntrack.StateInvalid && st != conntrack.StateUntracked && r.Dir != dir) {
		tb.Fatalf("%s: got %v/%v (reason %q), want %v/%v", what, r.State, r.Dir, r.Reason, st, dir)
	}
}
