package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hare-fw/hare/engine"
)

// Random stateful statements for the differential (genRuleset): limits,
// quotas, named counters/quotas/limits and mark sets. The packets of
// diffRun come 1 ms apart, so the rates below (100/second: a packet per
// 10 ms; 20 kbytes/second) both run dry and refill within a run.

// genObjects declares the named objects genStmt refers to.
func genObjects(r *rand.Rand, b *strings.Builder) {
	b.WriteString("\tcounter cn { }\n")
	fmt.Fprintf(b, "\tquota qn { %s%d bytes }\n", pick(r, []string{"", "over "}), 200+r.IntN(3000))
	fmt.Fprintf(b, "\tlimit ln { rate %s%d/second burst %d packets }\n", pick(r, []string{"", "over "}), 50+r.IntN(200), 1+r.IntN(4))
}

// genStmt is one stateful statement.
func genStmt(r *rand.Rand) string {
	switch r.IntN(9) {
	case 0:
		s := fmt.Sprintf("limit rate %s%d/second", pick(r, []string{"", "over "}), 20+r.IntN(300))
		if r.IntN(2) == 0 {
			s += fmt.Sprintf(" burst %d packets", 1+r.IntN(6))
		}
		return s
	case 1:
		s := fmt.Sprintf("limit rate %s%d kbytes/second", pick(r, []string{"", "over "}), 1+r.IntN(40))
		if r.IntN(2) == 0 {
			s += fmt.Sprintf(" burst %d bytes", r.IntN(3000))
		}
		return s
	case 2:
		s := fmt.Sprintf("quota %s%d bytes", pick(r, []string{"", "over "}), r.IntN(4000))
		if r.IntN(3) == 0 {
			s += fmt.Sprintf(" used %d bytes", r.IntN(2000))
		}
		return s
	case 3:
		return pick(r, []string{`counter name "cn"`, `quota name "qn"`, `limit name "ln"`})
	case 4:
		return "meta mark set " + genMarkValue(r)
	case 5:
		return "ct mark set " + genMarkValue(r)
	case 6:
		return fmt.Sprintf("ct label set %d", r.IntN(128))
	case 7:
		return `log prefix "x " ` + pick(r, []string{"", "level info", "group 3", "flags all"})
	default:
		return "meta priority set " + pick(r, []string{"1:2", "none", "0x10"})
	}
}

func genMarkValue(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return pick(r, []string{"0x1", "0", "0x101", "5"})
	case 1:
		return "meta mark"
	case 2:
		return "ct mark"
	case 3:
		return pick(r, []string{"meta mark", "ct mark"}) + " & 0xff | " + pick(r, []string{"0x100", "0x1"})
	default:
		return pick(r, []string{"meta mark", "ct mark"}) + " ^ 0x3"
	}
}

// compareSlowObjects compares the named counters and quotas.
func compareSlowObjects(t testing.TB, c *engine.Compiled, slow *slowEngine, src string) {
	t.Helper()
	var got []engine.ObjectValue
	for _, o := range c.Objects() {
		if o.Kind != "limit" {
			got = append(got, o)
		}
	}
	var want []engine.ObjectValue
	for _, o := range slow.objects() {
		if o.Kind != "limit" {
			want = append(want, o)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d named counters and quotas, reference %d\n%s", len(got), len(want), src)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("object %d: engine %+v, reference %+v\n%s", i, got[i], want[i], src)
		}
	}
}
