package engine_test

import (
	"net/netip"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

// stmtRig runs hand-made packets through one compiled ruleset at times
// the test chooses (a manual clock in ns).
type stmtRig struct {
	t    testing.TB
	c    *engine.Compiled
	eng  *engine.Engine
	ct   *conntrack.Table
	meta engine.Meta
	res  engine.Result
	p    packet.Parsed
}

func newStmtRig(t testing.TB, src string) *stmtRig {
	t.Helper()
	c, err := compileString(src)
	if err != nil {
		t.Fatal(err)
	}
	ct := conntrack.NewTable(conntrack.DefaultSettings(), nil)
	return &stmtRig{t: t, c: c, eng: engine.New(ct, c), ct: ct, meta: engine.Meta{Iifname: engine.IfName("kor0")}}
}

// run evaluates frame at now and returns the verdict.
func (r *stmtRig) run(frame []byte, now int64) engine.Verdict {
	r.p.DecodeIP(frame)
	r.eng.Packet(&r.p, &r.meta, now, &r.res)
	return r.res.Verdict
}

// inputChain wraps rules in an inet table with one input chain (policy
// drop, so an accept shows the rule matched).
func inputChain(rules string) string {
	return "table inet t {\n\tchain in {\n\t\ttype filter hook input priority 0; policy drop;\n" + rules + "\n\t}\n}\n"
}

var (
	a1 = netip.MustParseAddr("10.0.0.1")
	a2 = netip.MustParseAddr("10.0.0.2")
)

// echo is an ICMP echo request of l4 payload bytes (IPv4 length 28+n).
func echo(seq uint16, n int) []byte {
	return pt.IPv4(a1, a2, pt.ProtoICMP, pt.ICMPv4Echo(true, 7, seq, make([]byte, n)))
}

// sec (1e9 ns) is dynset_test.go's.
