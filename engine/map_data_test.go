package engine

import (
	"net/netip"
	"testing"

	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
	"github.com/hare-fw/hare/ruleset"
)

// TestMapLookup checks the data map lookup statements use
// (compileMapLookup, evalCtx.mapLookup): named and anonymous maps, exact,
// interval and concatenated keys, a miss and a missing key component.
func TestMapLookup(t *testing.T) {
	f, err := ruleset.Parse("m.nft", []byte(`table ip t {
	map marks { type ipv4_addr : mark; flags interval; elements = { 10.0.0.0/24 : 0x10, 10.0.1.1 : 0x11 } }
	map pm { type ipv4_addr . inet_service : mark; elements = { 10.0.0.5 . 22 : 0x22 } }
	chain c {
		meta mark set ip saddr map @marks
		meta mark set ip saddr . tcp dport map @pm
		meta mark set tcp dport map { 22 : 1, 80-90 : 2 }
	}
}`), ruleset.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ruleset.Build(f)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := compileSets(rs.Tables[0])
	if err != nil {
		t.Fatal(err)
	}
	var ls []*setLookup
	for _, r := range rs.Tables[0].Chains[0].Rules {
		ml := r.Stmts[0].(*ruleset.SetStmt).Val.(*ruleset.MapLookup)
		l, err := compileMapLookup(ml, sets, tU32)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	if _, err := compileMapLookup(rs.Tables[0].Chains[0].Rules[0].Stmts[0].(*ruleset.SetStmt).Val.(*ruleset.MapLookup), sets, tPort); err == nil {
		t.Error("a mark map compiled for an inet_service destination")
	}
	for _, tc := range []struct {
		src      string
		dport    uint16
		want     [3]uint64
		wantOK   [3]bool
		noTCPHdr bool
	}{
		{"10.0.0.7", 22, [3]uint64{0x10, 0, 1}, [3]bool{true, false, true}, false},
		{"10.0.1.1", 85, [3]uint64{0x11, 0, 2}, [3]bool{true, false, true}, false},
		{"10.0.0.5", 22, [3]uint64{0x10, 0x22, 1}, [3]bool{true, true, true}, false},
		{"10.0.2.1", 91, [3]uint64{}, [3]bool{}, false},
		{"10.0.0.5", 0, [3]uint64{0x10}, [3]bool{true, false, false}, true},
	} {
		s, d := netip.MustParseAddr(tc.src), netip.MustParseAddr("10.9.9.9")
		var fr []byte
		if tc.noTCPHdr {
			fr = pt.IPv4(s, d, pt.ProtoUDP, pt.UDP(s, d, 1, 22, nil))
		} else {
			fr = pt.IPv4(s, d, pt.ProtoTCP, pt.TCP(s, d, pt.TCPHeader{SrcPort: 1, DstPort: tc.dport, Flags: packet.TCPSyn}, nil))
		}
		var p packet.Parsed
		p.DecodeIP(fr)
		cx := evalCtx{p: &p, m: &Meta{}}
		for i, l := range ls {
			v, ok := cx.mapLookup(l)
			if ok != tc.wantOK[i] || v.lo != tc.want[i] {
				t.Errorf("%s:%d map %d: %#x %v, want %#x %v", tc.src, tc.dport, i, v.lo, ok, tc.want[i], tc.wantOK[i])
			}
		}
		if n := testing.AllocsPerRun(100, func() {
			for _, l := range ls {
				cx.mapLookup(l)
			}
		}); n != 0 {
			t.Errorf("mapLookup: %v allocations", n)
		}
	}
}
