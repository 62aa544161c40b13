package engine_test

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

// TestAHStopsTransport: behind an IPv6 Authentication Header nf_tables sees
// no transport header (nft_set_pktinfo_ipv6 walks with IP6_FH_F_AUTH, so
// meta l4proto is ah and an icmpv6 type match does not apply), while
// conntrack tracks the ICMPv6 echo behind it. The kernel oracle showed it
// on ah_ipv6_zero-length_icmpv6 (record 5, dropped by a default-drop
// policy that accepts echo requests).
func TestAHStopsTransport(t *testing.T) {
	const src = `table ip6 t {
	chain input {
		type filter hook input priority filter; policy accept;
		meta l4proto ah counter
		icmpv6 type echo-request counter drop
	}
}`
	ipl := ip6(c6, s6, layers.IPProtocolICMPv6)
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
	_ = icmp.SetNetworkLayerForChecksum(ipl)
	plain := build(t, ipl, icmp, &layers.ICMPv6Echo{Identifier: 7, SeqNumber: 1})

	// The same datagram with a 12-byte AH (RFC 4302 §2.2: Payload Len 1)
	// between the IPv6 header and the ICMPv6 message; the ICMPv6 checksum
	// does not cover the AH, so it stays right.
	ah := []byte{58, 1, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 1}
	withAH := append(append(append([]byte(nil), plain[:40]...), ah...), plain[40:]...)
	withAH[6] = 51
	binary.BigEndian.PutUint16(withAH[4:], uint16(len(withAH)-40))

	for _, tc := range []struct {
		name     string
		frame    []byte
		verdict  engine.Verdict
		counters [2]uint64
	}{
		{"plain", plain, engine.Drop, [2]uint64{0, 1}},
		{"behind AH", withAH, engine.Accept, [2]uint64{1, 0}},
	} {
		c, err := compileString(src)
		if err != nil {
			t.Fatal(err)
		}
		eng := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
		var (
			p   packet.Parsed
			res engine.Result
			m   = engine.Meta{Iifname: engine.IfName("kor0")}
		)
		p.DecodeIP(tc.frame)
		eng.Packet(&p, &m, 1, &res)
		if res.Verdict != tc.verdict || res.CT.State != conntrack.StateNew {
			t.Errorf("%s: verdict %v, ct %v; want %v, new (conntrack walks past the AH)", tc.name, res.Verdict, res.CT.State, tc.verdict)
		}
		cs := c.Counters()
		if cs[0].Packets != tc.counters[0] || cs[1].Packets != tc.counters[1] {
			t.Errorf("%s: counters %d %d, want %d %d", tc.name, cs[0].Packets, cs[1].Packets, tc.counters[0], tc.counters[1])
		}
	}
}
