package engine_test

import (
	"net/netip"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
	"github.com/hare-fw/hare/ruleset"
)

// rig runs hand-built packets through one compiled ruleset, for the set
// and map tests.
type rig struct {
	t   testing.TB
	c   *engine.Compiled
	e   *engine.Engine
	p   packet.Parsed
	m   engine.Meta
	res engine.Result
	rs  *ruleset.Ruleset
}

func newRig(t testing.TB, src string) *rig {
	t.Helper()
	rs := buildRuleset(t, src)
	c, err := engine.Compile(rs)
	if err != nil {
		t.Fatalf("compile: %v\n%s", err, src)
	}
	return &rig{t: t, c: c, rs: rs, e: engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c), m: engine.Meta{Iifname: engine.IfName("eth0")}}
}

// h is the handle of rule i (from 1) of chain name, in the first table
// that has it.
func (r *rig) h(name string, i int) uint64 {
	for _, t := range r.rs.Tables {
		for _, ch := range t.Chains {
			if ch.Name == name && i <= len(ch.Rules) {
				return ch.Rules[i-1].Handle
			}
		}
	}
	r.t.Fatalf("no rule %d in chain %s", i, name)
	return 0
}

// run evaluates frame at time now and returns the verdict and the handle
// of the deciding rule (0 for a policy).
func (r *rig) run(frame []byte, now int64) (engine.Verdict, uint64) {
	r.p.DecodeIP(frame)
	r.e.Packet(&r.p, &r.m, now, &r.res)
	return r.res.Verdict, r.res.Rule
}

// want checks one packet's verdict and deciding rule.
func (r *rig) want(what string, frame []byte, now int64, v engine.Verdict, handle uint64) {
	r.t.Helper()
	gv, gh := r.run(frame, now)
	if gv != v || gh != handle {
		r.t.Errorf("%s: %v by rule %d (%s/%s), want %v by rule %d", what, gv, gh, r.res.Table, r.res.Chain, v, handle)
	}
}

// noAllocs checks that evaluating frames allocates nothing.
func (r *rig) noAllocs(frames ...[]byte) {
	r.t.Helper()
	now := int64(1e9)
	f := func() {
		for _, fr := range frames {
			r.run(fr, now)
		}
	}
	f()
	if n := testing.AllocsPerRun(100, f); n != 0 {
		r.t.Errorf("%v allocations per run of %d packets", n, len(frames))
	}
}

func tcp(src, dst string, sport, dport uint16, fl packet.TCPFlags) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	seg := pt.TCP(s, d, pt.TCPHeader{SrcPort: sport, DstPort: dport, Seq: 1, Flags: fl, Window: 1000}, nil)
	if s.Is4() {
		return pt.IPv4(s, d, pt.ProtoTCP, seg)
	}
	return pt.IPv6(s, d, pt.ProtoTCP, seg)
}

func udp(src, dst string, sport, dport uint16) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	dg := pt.UDP(s, d, sport, dport, []byte("x"))
	if s.Is4() {
		return pt.IPv4(s, d, pt.ProtoUDP, dg)
	}
	return pt.IPv6(s, d, pt.ProtoUDP, dg)
}

func ping(src, dst string) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	if s.Is4() {
		return pt.IPv4(s, d, pt.ProtoICMP, pt.ICMPv4Echo(true, 1, 1, nil))
	}
	return pt.IPv6(s, d, pt.ProtoICMPv6, pt.ICMPv6Echo(s, d, true, 1, 1, nil))
}

const syn, ack = packet.TCPSyn, packet.TCPAck
