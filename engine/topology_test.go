package engine_test

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

// The forward path (Meta.Forward: prerouting, forward, postrouting) and
// the topologies that choose it. The kernel oracle cannot check this path
// (its namespace delivers every packet locally: prerouting and input
// only), so the reference here is the slow interpreter (slow_test.go),
// which implements the path independently, and facts stated in the
// topology format's documentation.

const exampleTopology = `# the example of the Topology doc
lan eth1 10.0.0.0/8,fd00::/8
dmz eth2 10.9.0.0/16
wan eth0 default
local 192.0.2.1,2001:db8::1
`

func ifname(b [16]byte) string { return strings.TrimRight(string(b[:]), "\x00") }

func TestTopologyRoute(t *testing.T) {
	topo, err := engine.ParseTopology(strings.NewReader(exampleTopology))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		src, dst      string
		iif, oif      string
		forward, none bool
	}{
		{"10.1.2.3", "198.51.100.7", "eth1", "eth0", true, false}, // inside to outside
		{"198.51.100.7", "10.1.2.3", "eth0", "eth1", true, false}, // the reply
		{"10.9.1.1", "10.1.2.3", "eth2", "eth1", true, false},     // /16 is longer than /8
		{"10.1.2.3", "192.0.2.1", "eth1", "", false, false},       // to the host: input
		{"2001:db8:5::5", "2001:db8::1", "eth0", "", false, false},
		{"fd00::5", "2001:db8:7::7", "eth1", "eth0", true, false},
		{"10.1.2.3", "224.0.0.251", "eth1", "", false, false}, // multicast: local
	}
	for _, c := range cases {
		var p packet.Parsed
		p.DecodeIP(udpTo(c.src, c.dst))
		var m engine.Meta
		topo.Route(&p, &m)
		if ifname(m.Iifname) != c.iif || ifname(m.Oifname) != c.oif || m.Forward != c.forward || m.NoRoute != c.none {
			t.Errorf("%s > %s: iif %q oif %q forward %v noroute %v; want %q %q %v %v", c.src, c.dst,
				ifname(m.Iifname), ifname(m.Oifname), m.Forward, m.NoRoute, c.iif, c.oif, c.forward, c.none)
		}
	}

	// Without a default route, an unknown destination has no route.
	noDef, err := engine.ParseTopology(strings.NewReader("lan eth1 10.0.0.0/8\nlocal 10.0.0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	var p packet.Parsed
	p.DecodeIP(udpTo("10.1.1.1", "198.51.100.1"))
	var m engine.Meta
	noDef.Route(&p, &m)
	if !m.NoRoute || m.Forward {
		t.Errorf("no default route: forward %v noroute %v, want no route", m.Forward, m.NoRoute)
	}

	inside, err := engine.InsideTopology("10.0.0.0/8,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	p.DecodeIP(udpTo("198.51.100.1", "10.1.1.1"))
	inside.Route(&p, &m)
	if ifname(m.Iifname) != "wan" || ifname(m.Oifname) != "lan" || !m.Forward {
		t.Errorf("--inside: iif %q oif %q forward %v, want wan -> lan", ifname(m.Iifname), ifname(m.Oifname), m.Forward)
	}

	for _, bad := range []string{"", "lan eth1\n", "lan eth1 10.0.0.0/33\n", "local\n", "lan averyveryverylongname 10.0.0.0/8\n"} {
		if _, err := engine.ParseTopology(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseTopology(%q) accepted", bad)
		}
	}
}

func udpTo(src, dst string) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	l4 := pt.UDP(s, d, 40000, 53, []byte("q"))
	if s.Is4() {
		return pt.IPv4(s, d, pt.ProtoUDP, l4)
	}
	return pt.IPv6(s, d, pt.ProtoUDP, l4)
}

// TestForwardConfirm checks that a forwarded connection is confirmed only
// after postrouting accepts it (nf_conntrack_confirm at the end of
// postrouting): a SYN dropped in postrouting leaves no entry, one
// accepted leaves one; oifname is the output interface there.
func TestForwardConfirm(t *testing.T) {
	c, err := compileString(`table inet f {
	chain fw {
		type filter hook forward priority filter; policy accept;
		iifname "lan" oifname "wan" counter
	}
	chain post {
		type filter hook postrouting priority filter; policy accept;
		oifname "wan" tcp dport 25 drop
	}
}`)
	if err != nil {
		t.Fatal(err)
	}
	ct := conntrack.NewTable(conntrack.DefaultSettings(), nil)
	eng := engine.New(ct, c)
	topo, _ := engine.InsideTopology("10.0.0.0/8")
	var p packet.Parsed
	var res engine.Result
	var m engine.Meta
	s, d := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("198.51.100.9")
	syn := func(dport uint16) []byte {
		return pt.IPv4(s, d, pt.ProtoTCP, pt.TCP(s, d, pt.TCPHeader{SrcPort: 40000, DstPort: dport, Seq: 1, Flags: packet.TCPSyn, Window: 1000}, nil))
	}
	p.DecodeIP(syn(25))
	topo.Route(&p, &m)
	eng.Packet(&p, &m, 1, &res)
	if res.Verdict != engine.Drop || res.Hook != engine.HookPostrouting || ct.Len() != 0 {
		t.Fatalf("SYN to 25: %s at %s, %d entries; want drop at postrouting and no entry", res.Verdict, res.Hook, ct.Len())
	}
	p.DecodeIP(syn(80))
	topo.Route(&p, &m)
	eng.Packet(&p, &m, 2, &res)
	if res.Verdict != engine.Accept || ct.Len() != 1 {
		t.Fatalf("SYN to 80: %s, %d entries; want accept and one entry", res.Verdict, ct.Len())
	}
	if cs := c.Counters(); len(cs) != 1 || cs[0].Packets != 2 {
		t.Fatalf("forward counter %+v, want 2 packets (iifname lan, oifname wan)", cs)
	}
}

// nullTracer takes the trace events and keeps none.
type nullTracer struct{ n int }

func (n *nullTracer) Trace(engine.TraceEvent) { n.n++ }

// TestDifferentialForward runs random rulesets whose base chains sit on
// forward and postrouting as well, random oifname matches and random
// routing decisions through the engine and the slow interpreter; every
// other packet is traced (the engine then walks every rule instead of the
// chain index), which must not change the verdict either.
func TestDifferentialForward(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 60
	}
	compared, traced, fwdHooks := 0, 0, 0
	for seed := range n {
		r := rand.New(rand.NewPCG(uint64(seed), 0xf0d))
		src := genRuleset(r)
		src = strings.ReplaceAll(src, "hook input priority filter - 1", "hook forward priority filter")
		if seed%2 == 0 {
			src = strings.ReplaceAll(src, "hook input priority 10", "hook postrouting priority 10")
		}
		if seed%3 == 0 {
			src = strings.ReplaceAll(src, "iifname ", "oifname ")
		}
		rs := buildRuleset(t, src)
		c, err := engine.Compile(rs)
		if err != nil {
			t.Fatalf("compile: %v\n%s", err, src)
		}
		eng := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
		slow := newSlowEngine(rs)
		fs := genFlows(r)
		var p1, p2 packet.Parsed
		var res engine.Result
		tr := &nullTracer{}
		for i := range 100 {
			fr := genPacket(r, fs)
			m := engine.Meta{Iifname: engine.IfName(pick(r, ifs)), Oifname: engine.IfName(pick(r, ifs)),
				Forward: r.IntN(3) > 0, NoRoute: r.IntN(10) == 0, Mark: uint32(r.IntN(2))}
			if i%2 == 1 {
				m.Trace = tr
				traced++
			}
			now := int64(i+1) * 1e6
			p1.DecodeIP(fr)
			p2.DecodeIP(fr)
			eng.Packet(&p1, &m, now, &res)
			m.Trace = nil
			want := slow.packet(&p2, &m, now)
			got := slowResult{res.Verdict, res.By, res.Hook, res.Table, res.Chain, res.Rule}
			if got != want {
				t.Fatalf("seed %d packet %d (%x, forward %v noroute %v): engine %+v, reference %+v\nruleset:\n%s",
					seed, i, fr, m.Forward, m.NoRoute, got, want, src)
			}
			compared++
			if got.hook == engine.HookForward || got.hook == engine.HookPostrouting {
				fwdHooks++
			}
		}
		if tr.n == 0 && len(rs.Tables) > 0 {
			t.Fatalf("seed %d: tracer saw no events", seed)
		}
	}
	if fwdHooks == 0 {
		t.Fatal("no verdict came from a forward or postrouting chain")
	}
	t.Logf("forward differential: %d verdicts compared (%d traced, %d decided on forward/postrouting), 0 disagreements", compared, traced, fwdHooks)
}

// TestTraceOffForwardNoAllocs: the forward path and Topology.Route
// allocate nothing.
func TestTraceOffForwardNoAllocs(t *testing.T) {
	c, err := compileString(`table inet f {
	chain fw {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan" oifname "wan" accept
	}
	chain post {
		type filter hook postrouting priority filter; policy accept;
		oifname "wan" tcp dport 25 drop
	}
}`)
	if err != nil {
		t.Fatal(err)
	}
	frames := benchPackets(t)
	eng := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
	topo, _ := engine.InsideTopology("192.0.2.0/24,2001:db8:1::/48,10.0.0.0/8")
	var (
		p   packet.Parsed
		res engine.Result
		m   engine.Meta
	)
	run := func() {
		for _, f := range frames {
			p.DecodeIP(f)
			topo.Route(&p, &m)
			eng.Packet(&p, &m, 1, &res)
		}
	}
	run()
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
}
