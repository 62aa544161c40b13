package control

import (
	"net/netip"
	"net/url"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
)

// FuzzFilter: any query string parses or is refused without panicking; a
// filter that parses survives the trip through Values unchanged, and
// matching or building a tuple from it never panics.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"", "proto=6&dport=22", "family=ipv6&src=fd00::/8", "mark=0x10/0xf0&zone=3",
		"proto=1&icmp-type=8&icmp-code=0&icmp-id=7&src=10.0.0.1&dst=10.0.0.2",
		"status=ASSURED,SEEN_REPLY&state=ESTABLISHED", "reply-src=1.2.3.4/33", "proto=300",
	} {
		f.Add(s)
	}
	e := conntrack.Entry{
		Orig:  conntrack.TupleFrom(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), packet.ProtoTCP, 1, 2),
		Reply: conntrack.TupleFrom(netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1"), packet.ProtoTCP, 2, 1),
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		flt, err := ParseFilter(q)
		if err != nil {
			return
		}
		again, err := ParseFilter(flt.Values())
		if err != nil {
			t.Fatalf("%q: its own encoding %q does not parse: %v", s, flt.Values().Encode(), err)
		}
		if a, b := flt.Values().Encode(), again.Values().Encode(); a != b {
			t.Fatalf("%q: %q then %q", s, a, b)
		}
		if flt.Match(&e) != again.Match(&e) {
			t.Fatalf("%q: the round trip changed the match", s)
		}
		flt.Tuple()
	})
}
