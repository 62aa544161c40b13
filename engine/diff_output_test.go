package engine_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hare-fw/hare/engine"
)

// outputRuleset turns a generated ruleset into one for locally generated
// packets: its input and prerouting base chains hook output or postrouting
// instead (raw ones, with their notrack rules, stay before conntrack, on
// output), fib matches go, as fib is refused in output chains, and half of
// the iifname matches become oifname matches.
func outputRuleset(r *rand.Rand, src string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(src, "\n") {
		if strings.Contains(l, "fib ") {
			continue
		}
		switch {
		case strings.Contains(l, "hook prerouting priority raw"):
			l = strings.Replace(l, "hook prerouting", "hook output", 1)
		case strings.Contains(l, "hook prerouting"), strings.Contains(l, "hook input"):
			h := pick(r, []string{"hook output", "hook postrouting"})
			l = strings.Replace(strings.Replace(l, "hook prerouting", h, 1), "hook input", h, 1)
		}
		for strings.Contains(l, "iifname ") && r.IntN(2) == 0 {
			l = strings.Replace(l, "iifname ", "oifname ", 1)
		}
		b.WriteString(l)
	}
	return b.String()
}

// TestDifferentialOutput compares the engine with the reference
// interpreter on the output path (Meta.Output): the same random rulesets
// and flows, with their base chains moved to output and postrouting, and
// every packet made locally. The Meta carries an input interface, which
// both must ignore.
func TestDifferentialOutput(t *testing.T) {
	rulesets, perRuleset := 600, 150
	if testing.Short() {
		rulesets = 100
	}
	total, byRule := 0, 0
	for seed := range rulesets {
		r := rand.New(rand.NewPCG(uint64(seed), 0x0a7))
		src := outputRuleset(r, genRuleset(r))
		fs := genFlows(r)
		frames := make([][]byte, perRuleset)
		for i := range frames {
			frames[i] = genPacket(r, fs)
		}
		n, br := diffRunMeta(t, src, frames, func(i int) engine.Meta {
			return engine.Meta{
				Output:  true,
				Iifname: engine.IfName(ifs[(i+1)%len(ifs)]),
				Oifname: engine.IfName(ifs[i%len(ifs)]),
				Mark:    uint32([]int{0, 1, 0x101}[i%3]),
			}
		})
		total += n
		byRule += br
	}
	t.Logf("output differential: %d rulesets × %d packets = %d verdicts compared (%d decided by a rule), 0 disagreements", rulesets, perRuleset, total, byRule)
}
