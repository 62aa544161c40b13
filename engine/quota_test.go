package engine_test

import (
	"testing"

	"github.com/hare-fw/hare/engine"
)

// Expected answers from Linux's nft_quota by hand: every packet adds its
// length to consumed; a packet is over when consumed exceeds the quota
// (6.18's nft_overquota: consumed > quota).

func quotaRun(t *testing.T, src string, n int) (string, *stmtRig) {
	t.Helper()
	r := newStmtRig(t, src)
	got := ""
	for i := range n {
		if r.run(echo(uint16(i+1), 100), int64(i)*sec) == engine.Accept { // 128 bytes each
			got += "a"
		} else {
			got += "d"
		}
	}
	return got, r
}

func TestQuota(t *testing.T) {
	for _, tc := range []struct {
		rule string
		want string
	}{
		{"quota 300 bytes accept", "aadd"},                // 128, 256, 384 > 300
		{"quota 256 bytes accept", "aadd"},                // 256 reaches the quota exactly: still within
		{"quota 255 bytes accept", "addd"},                // 256 > 255
		{"quota over 256 bytes accept", "ddaa"},           // over: only beyond
		{"quota 300 bytes used 200 bytes accept", "dddd"}, // 328 > 300 at once
		{"quota 1 kbytes used 512 bytes accept", "aaaad"}, // 512+4×128 = 1024
		{"quota until 1 kbytes accept", "aaaaaaaad"},
	} {
		got, _ := quotaRun(t, inputChain("\t\t"+tc.rule), len(tc.want))
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.rule, got, tc.want)
		}
	}
}

func TestNamedQuotaAndCounter(t *testing.T) {
	src := `table inet t {
	counter c { }
	counter c2 { packets 5 bytes 500 }
	quota q { over 300 bytes }
	quota q2 { 1 kbytes used 100 bytes }
	chain in {
		type filter hook input priority 0; policy accept;
		counter name "c" counter name "c2"
		quota name "q2"
		quota name "q" counter name "c" drop
		counter
	}
}
`
	got, r := quotaRun(t, src, 4)
	// q (over 300): packets 1-2 within (rule breaks), 3-4 over: dropped.
	if got != "aadd" {
		t.Errorf("verdicts %s, want aadd", got)
	}
	type ov struct {
		kind, name     string
		packets, bytes uint64
		quota, used    uint64
		over           bool
	}
	want := []ov{
		{"counter", "c", 4 + 2, 4*128 + 2*128, 0, 0, false}, // every packet, plus the two dropped
		{"counter", "c2", 5 + 4, 500 + 4*128, 0, 0, false},
		{"quota", "q", 0, 0, 300, 300, true}, // 4×128 consumed, listed as 300 (nft_quota_do_dump)
		{"quota", "q2", 0, 0, 1024, 100 + 4*128, false},
	}
	objs := r.c.Objects()
	if len(objs) != len(want) {
		t.Fatalf("objects %+v", objs)
	}
	for i, w := range want {
		o := objs[i]
		g := ov{o.Kind, o.Name, o.Packets, o.Bytes, o.Quota, o.Used, o.Over}
		if g != w || o.Table != "t" || o.Family.String() != "inet" {
			t.Errorf("object %d: %+v, want %+v", i, g, w)
		}
	}
	// A named counter is not a rule counter: only the anonymous one is.
	cs := r.c.Counters()
	if len(cs) != 1 || cs[0].Packets != 2 {
		t.Errorf("rule counters %+v, want one with 2 packets", cs)
	}
}
