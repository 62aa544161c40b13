package ruleset

import (
	"strings"
	"testing"
)

// TestCloneIsolates applies every kind of change Apply makes to a clone
// and checks the original still prints exactly as before.
func TestCloneIsolates(t *testing.T) {
	const src = `table inet f {
	set s { type ipv4_addr; elements = { 10.0.0.1, 10.0.0.2 } }
	chain c { type filter hook input priority 0; policy drop; tcp dport 22 accept; udp dport 53 accept; }
	chain d { ip saddr @s drop; }
}
`
	rs := buildString(t, src)
	before := printed(t, rs)
	for _, cmd := range []string{
		"add rule inet f c tcp dport 80 accept",
		"insert rule inet f c tcp dport 443 accept",
		"delete rule inet f c handle 4",
		"replace rule inet f c handle 5 udp dport 54 accept",
		"add element inet f s { 10.0.0.3 }",
		"delete element inet f s { 10.0.0.1 }",
		"add chain inet f e",
		"delete chain inet f d",
		"flush chain inet f c",
		"add table ip g",
		"delete table inet f",
		"flush ruleset",
	} {
		cl := rs.Clone()
		f, err := Parse("cmd", []byte(cmd+"\n"), Config{})
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		for _, c := range f.Commands {
			if err := cl.Apply(c); err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
		}
		if after := printed(t, cl); after == before {
			t.Errorf("%s: the clone did not change", cmd)
		}
		if got := printed(t, rs); got != before {
			t.Errorf("%s changed the original:\n%s\nwant\n%s", cmd, got, before)
		}
	}
	// Handles continue from the original's counters in the clone.
	cl := rs.Clone()
	f, _ := Parse("cmd", []byte("add rule inet f c accept\n"), Config{})
	if err := cl.Apply(f.Commands[0]); err != nil {
		t.Fatal(err)
	}
	if got := printed(t, cl); !strings.Contains(got, "accept # handle 7") {
		t.Errorf("new rule's handle: got\n%s", got)
	}
}

func buildString(t *testing.T, src string) *Ruleset {
	t.Helper()
	f, err := Parse("test.nft", []byte(src), Config{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Build(f)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func printed(t *testing.T, rs *Ruleset) string {
	t.Helper()
	var b strings.Builder
	if err := Print(&b, rs, PrintOptions{Handles: true}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
