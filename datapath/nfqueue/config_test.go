package nfqueue

import (
	"slices"
	"testing"

	"github.com/hare-fw/hare/datapath"
)

func TestParseQueues(t *testing.T) {
	for _, c := range []struct {
		in    string
		first uint16
		n     int
		ok    bool
	}{
		{"0", 0, 1, true}, {"0-3", 0, 4, true}, {" 7 - 7 ", 7, 1, true}, {"65535", 65535, 1, true},
		{"65534-65535", 65534, 2, true}, {"3-1", 0, 0, false}, {"", 0, 0, false}, {"65536", 0, 0, false},
		{"1-", 0, 0, false}, {"a", 0, 0, false}, {"-1", 0, 0, false}, {"0:3", 0, 0, false},
	} {
		first, n, err := ParseQueues(c.in)
		if (err == nil) != c.ok || first != c.first || n != c.n {
			t.Errorf("ParseQueues(%q) = %d, %d, %v", c.in, first, n, err)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	for _, c := range []Config{
		{Queues: "x"},
		{Queues: "0", Hooks: []datapath.Hook{datapath.HookPrerouting}},
		{Queues: "0", Chain: "has space"},
		{Queues: "0", Chain: "a_name_that_is_far_too_long_for_xt"},
	} {
		if _, err := Rules(c); err == nil {
			t.Errorf("Rules(%+v) accepted", c)
		}
	}
	if _, err := ParseHook("prerouting"); err == nil {
		t.Error("ParseHook(prerouting) accepted")
	}
	for _, s := range []string{"input", "forward", "output"} {
		h, err := ParseHook(s)
		if err != nil || hookChain(h) != map[string]string{"input": "INPUT", "forward": "FORWARD", "output": "OUTPUT"}[s] {
			t.Errorf("ParseHook(%q) = %v, %v", s, h, err)
		}
	}
}

// TestRulesDoc checks that the package documentation shows what Rules
// says for its example (queues 0-3, the default hooks, fail-closed).
func TestRulesDoc(t *testing.T) {
	got, err := Rules(Config{Queues: "0-3"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`nft 'add table inet hare_raw { chain prerouting { type filter hook prerouting priority raw; policy accept; notrack; }; chain output { type filter hook output priority raw; policy accept; notrack; }; }'`,
		"iptables -w -N HARE",
		"iptables -w -A HARE -m mark --mark 0x68617265 -j RETURN",
		"iptables -w -A HARE -j NFQUEUE --queue-balance 0:3",
		"iptables -w -I INPUT 1 -j HARE",
		"iptables -w -I FORWARD 1 -j HARE",
	}
	if !slices.Equal(got[:len(want)], want) || len(got) != len(want)+5 {
		t.Errorf("Rules:\n%q", got)
	}
}
