package engine_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

// liveDev is an interface of the differential test's model system.
type liveDev struct {
	name  string
	index int32
	typ   uint16 // ARPHRD_*
}

var liveDevs = []liveDev{
	{"lo", 1, 772}, {"eth0", 2, 1}, {"wlan0", 3, 1}, {"ppp0", 7, 512}, {"wg0", 9, 65534},
}

func liveIfindex(name string) (int32, bool) {
	for _, d := range liveDevs {
		if d.name == name {
			return d.index, true
		}
	}
	return 0, false
}

// genDeviceMatch is a match on the packet's devices, by name or index.
func genDeviceMatch(r *rand.Rand) string {
	devs := []string{`"eth0"`, `"lo"`, `"ppp0"`, `"wg0"`, "2", "7", "4"}
	types := []string{"ether", "loopback", "ppp", "65534", "{ ether, ppp }"}
	switch r.IntN(4) {
	case 0:
		return "meta iif " + genOp(r) + genValues(r, devs)
	case 1:
		return pick(r, []string{"meta oif ", "oif "}) + genOp(r) + genValues(r, devs)
	case 2:
		return pick(r, []string{"meta iiftype ", "iiftype "}) + genOp(r) + genValues(r, types)
	}
	return "meta oiftype " + genOp(r) + genValues(r, types)
}

// TestDifferentialDevices runs random rulesets, with device matches
// (iif, oif, iiftype, oiftype) added to random rules, over packets from
// random live devices (Meta.Iif, Oif and their types, names to match)
// on the input, forward and output paths. The engine compiles with the
// model system's Ifindex (CompileWith); the reference resolves names
// itself.
func TestDifferentialDevices(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 60
	}
	compared, devRules := 0, 0
	for seed := range n {
		r := rand.New(rand.NewPCG(uint64(seed), 0xdef))
		src := genRuleset(r)
		src = strings.ReplaceAll(src, "hook input priority filter - 1", "hook forward priority filter")
		if seed%2 == 0 {
			src = strings.ReplaceAll(src, "hook input priority 10", "hook postrouting priority 10")
		}
		lines := strings.Split(src, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "\t\t") && !strings.HasPrefix(l, "\t\ttype ") && r.IntN(2) == 0 {
				lines[i] = "\t\t" + genDeviceMatch(r) + " " + l[2:]
				devRules++
			}
		}
		src = strings.Join(lines, "\n")
		rs := buildRuleset(t, src)
		c, err := engine.CompileWith(rs, engine.Options{Ifindex: liveIfindex})
		if err != nil {
			t.Fatalf("compile: %v\n%s", err, src)
		}
		eng := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
		slow := newSlowEngine(rs)
		slow.ifx = map[string]int32{}
		for _, d := range liveDevs {
			slow.ifx[d.name] = d.index
		}
		fs := genFlows(r)
		var p1, p2 packet.Parsed
		var res engine.Result
		for i := range 100 {
			fr := genPacket(r, fs)
			in, out := pick(r, liveDevs), pick(r, liveDevs)
			m := engine.Meta{Iifname: engine.IfName(in.name), Iif: in.index, IifType: in.typ,
				Oifname: engine.IfName(out.name), Oif: out.index, OifType: out.typ,
				Forward: r.IntN(3) > 0, Mark: uint32(r.IntN(2))}
			if r.IntN(5) == 0 {
				m.Output, m.Forward, m.Iifname, m.Iif, m.IifType = true, false, [16]byte{}, 0, 0
			} else if !m.Forward {
				m.Oifname, m.Oif, m.OifType = [16]byte{}, 0, 0
			}
			now := int64(i+1) * 1e6
			p1.DecodeIP(fr)
			p2.DecodeIP(fr)
			eng.Packet(&p1, &m, now, &res)
			want := slow.packet(&p2, &m, now)
			got := slowResult{res.Verdict, res.By, res.Hook, res.Table, res.Chain, res.Rule}
			if got != want {
				t.Fatalf("seed %d packet %d (%x, iif %d oif %d forward %v output %v): engine %+v, reference %+v\nruleset:\n%s",
					seed, i, fr, m.Iif, m.Oif, m.Forward, m.Output, got, want, src)
			}
			compared++
		}
	}
	t.Logf("device differential: %d verdicts compared (%d rules with a device match), 0 disagreements", compared, devRules)
}
