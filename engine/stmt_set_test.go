package engine_test

import (
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

// entryOf returns the conntrack entry of the last packet.
func (r *stmtRig) entryOf() conntrack.Entry {
	r.t.Helper()
	var e conntrack.Entry
	if !r.ct.Get(r.res.CT.Ref, &e) {
		r.t.Fatalf("no entry for the last packet")
	}
	return e
}

func TestMetaMarkSet(t *testing.T) {
	// A mark set in prerouting is what input's matches see
	// (skb->mark, nft_meta_set_eval), and Result.Mark reports it.
	src := `table inet t {
	chain pre {
		type filter hook prerouting priority -150;
		meta mark set 0x10
		meta mark 0x10 meta mark set meta mark & 0xf0 | 0x3
	}
	chain in {
		type filter hook input priority 0; policy drop;
		meta mark 0x13 accept
	}
}
`
	r := newStmtRig(t, src)
	r.meta.Mark = 0x7
	if v := r.run(echo(1, 10), 0); v != engine.Accept || r.res.Mark != 0x13 {
		t.Errorf("verdict %s, mark %#x; want accept, 0x13", v, r.res.Mark)
	}
	if r.meta.Mark != 0x7 {
		t.Errorf("the caller's Meta.Mark changed to %#x", r.meta.Mark)
	}
}

func TestCtMarkSet(t *testing.T) {
	src := `table inet t {
	chain pre {
		type filter hook prerouting priority -150;
		ct state new ct mark set meta mark & 0xff | 0x100
		meta mark set ct mark
	}
	chain in {
		type filter hook input priority 0; policy drop;
		meta mark 0x134 accept
	}
}
`
	r := newStmtRig(t, src)
	r.meta.Mark = 0x1234
	syn := pt.TCP(a1, a2, pt.TCPHeader{SrcPort: 40000, DstPort: 22, Seq: 1, Flags: packet.TCPSyn, Window: 1000}, nil)
	if v := r.run(pt.IPv4(a1, a2, pt.ProtoTCP, syn), 0); v != engine.Accept {
		t.Fatalf("SYN: %s by %s %d, want accept (mark %#x)", v, r.res.By, r.res.Rule, r.res.Mark)
	}
	if e := r.entryOf(); e.Mark != 0x134 {
		t.Errorf("entry mark %#x, want 0x134", e.Mark)
	}
	// The reply has mark 0 on arrival; the entry's mark comes back.
	r.meta.Mark = 0
	synack := pt.TCP(a2, a1, pt.TCPHeader{SrcPort: 22, DstPort: 40000, Seq: 100, Ack: 2, Flags: packet.TCPSyn | packet.TCPAck, Window: 1000}, nil)
	if v := r.run(pt.IPv4(a2, a1, pt.ProtoTCP, synack), sec); v != engine.Accept || r.res.Mark != 0x134 {
		t.Errorf("SYN-ACK: %s, mark %#x; want accept, 0x134", v, r.res.Mark)
	}
}

func TestCtMarkWithoutEntry(t *testing.T) {
	// An untracked packet has no entry: reading ct mark breaks the rule
	// (nft_ct_get_eval), setting it does nothing.
	src := `table inet t {
	chain raw {
		type filter hook prerouting priority raw;
		notrack
		ct mark set 5
		meta mark set ct mark accept
	}
	chain in {
		type filter hook input priority 0; policy drop;
		meta mark 0 accept
	}
}
`
	r := newStmtRig(t, src)
	if v := r.run(echo(1, 10), 0); v != engine.Accept || r.res.Mark != 0 || r.res.By != engine.DecidedRule || r.res.Chain != "in" {
		t.Errorf("verdict %s by %s %s, mark %d; want accept by the input rule, mark 0", v, r.res.By, r.res.Chain, r.res.Mark)
	}
}

func TestCtLabelZonePriority(t *testing.T) {
	src := `table inet t {
	chain raw {
		type filter hook prerouting priority raw;
		ct zone set 3
	}
	chain pre {
		type filter hook prerouting priority 0;
		ct label set 3 ct label set 70 meta priority set 1:2
	}
}
`
	r := newStmtRig(t, src)
	r.run(echo(1, 10), 0)
	e := r.entryOf()
	if e.Zone() != 3 || e.Labels != [2]uint64{1 << 3, 1 << 6} {
		t.Errorf("zone %d labels %x, want zone 3, labels bits 3 and 70", e.Zone(), e.Labels)
	}
	if r.res.Priority != 0x10002 {
		t.Errorf("priority %#x, want 0x10002 (tc handle 1:2)", r.res.Priority)
	}
}

func TestMarkSetFromMap(t *testing.T) {
	// A key the map lacks ends the rule (nft_lookup: NFT_BREAK): the
	// accept after it does not run and the mark stays.
	src := inputChain("\t\tmeta mark set ip saddr map { 10.0.0.1 : 0x5, 10.0.0.9 : 7 } accept\n")
	r := newStmtRig(t, src)
	if v := r.run(echo(1, 10), 0); v != engine.Accept || r.res.Mark != 0x5 {
		t.Errorf("10.0.0.1: %s, mark %#x; want accept, 0x5", v, r.res.Mark)
	}
	other := pt.IPv4(a2, a1, pt.ProtoICMP, pt.ICMPv4Echo(true, 8, 1, nil))
	if v := r.run(other, 0); v != engine.Drop || r.res.Mark != 0 {
		t.Errorf("10.0.0.2: %s, mark %#x; want the policy's drop, mark 0", v, r.res.Mark)
	}
}
