package engine_test

import (
	"strings"
	"testing"

	"github.com/hare-fw/hare/engine"
)

// TestIfindexUnknown: with a live Ifindex, a name no interface has is
// refused at load with nft's message at the value's position (nft 1.0.6
// on this machine: `meta iif "eth0"` in a namespace without eth0 gives
// "4:11-16: Error: Interface does not exist", and so does a wildcard and
// an unknown member of a set); numbers pass, and the replay (no Ifindex)
// keeps compiling names to the name comparison.
func TestIfindexUnknown(t *testing.T) {
	for _, c := range []struct{ rule, err string }{
		{`meta iif "nope" accept`, `rand.nft:4:10: Interface does not exist`},
		{`iif { "lo", "nope" } accept`, `rand.nft:4:13: Interface does not exist`},
		{`iif "lo*" accept`, `rand.nft:4:5: Interface does not exist`},
		{`oif != "eth9" accept`, `rand.nft:4:8: Interface does not exist`},
		{`iif { "lo", 5 } oif "eth0" accept`, ``},
		{`meta iif 77 accept`, ``},
	} {
		src := "table inet t {\n chain c {\n  type filter hook forward priority 0\n" + c.rule + "\n }\n}\n"
		rs := buildRuleset(t, src)
		_, err := engine.CompileWith(rs, engine.Options{Ifindex: liveIfindex})
		got := ""
		if err != nil {
			got = err.Error()
			if _, ok := err.(*engine.Error); !ok {
				t.Errorf("%s: %T, want *engine.Error", c.rule, err)
			}
		}
		if got != c.err {
			t.Errorf("%s: error %q, want %q", c.rule, got, c.err)
		}
		if _, err := engine.Compile(rs); err != nil {
			t.Errorf("%s: replay compile: %v", c.rule, err)
		}
	}
}

// TestIfindexUpdate: Update compiles added rules with the Ifindex its
// previous ruleset was compiled with, both when it reuses the previous
// ruleset and when it recompiles it whole.
func TestIfindexUpdate(t *testing.T) {
	base := "table inet t {\n chain c {\n  type filter hook forward priority 0\n  iif \"lo\" accept\n"
	rs := buildRuleset(t, base+" }\n}\n")
	c, err := engine.CompileWith(rs, engine.Options{Ifindex: liveIfindex})
	if err != nil {
		t.Fatal(err)
	}
	for _, next := range []string{
		base + "  oif \"nope\" accept\n }\n}\n",
		base + " }\n chain d {\n  oif \"nope\" accept\n }\n}\n",
	} {
		if _, err := engine.Update(c, buildRuleset(t, next)); err == nil || !strings.Contains(err.Error(), "Interface does not exist") {
			t.Errorf("Update with an unknown interface: %v\n%s", err, next)
		}
	}
}
