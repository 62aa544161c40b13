package engine_test

import (
	"strings"
	"testing"

	"github.com/hare-fw/hare/engine"
)

// The expected answers below are worked out by hand from Linux's
// nft_limit (nft_limit_init, nft_limit_eval): a bucket of ns of credit,
// full at load; a packet costs unit/rate ns (packet rates) or
// unit×len/rate ns (byte rates); the bucket holds cost×burst (packet
// rates, burst 5 by default) or unit×(rate+burst)/rate (byte rates);
// elapsed time refills it up to that size.

type limitStep struct {
	at   int64 // ns
	n    int   // packets sent at that instant
	want string
}

// runLimit sends echo requests of 128 bytes (IPv4 length) and compares
// each verdict: 'a' accepted, 'd' dropped.
func runLimit(t *testing.T, rules string, steps []limitStep) {
	t.Helper()
	r := newStmtRig(t, inputChain(rules))
	seq := uint16(0)
	for _, s := range steps {
		got := ""
		for range s.n {
			seq++
			if r.run(echo(seq, 100), s.at) == engine.Accept {
				got += "a"
			} else {
				got += "d"
			}
		}
		if got != s.want {
			t.Errorf("%s: at %d ns: %s, want %s", rules, s.at, got, s.want)
		}
	}
}

func TestLimitPacketRateDefaultBurst(t *testing.T) {
	// 2/second: cost 0.5 s; no burst given → 5 packets, bucket 2.5 s.
	runLimit(t, "limit rate 2/second accept", []limitStep{
		{0, 7, "aaaaadd"},
		{sec / 4, 1, "d"},            // 0.25 s of credit: not enough
		{sec / 2, 2, "ad"},           // 0.25 + 0.25 kept from the failed try
		{10 * sec, 7, "aaaaadd"},     // refilled, but only up to the burst
		{10*sec + sec/2, 2, "ad"},    // one more per 0.5 s
		{10*sec + sec/2, 0, ""},      // (no packets)
		{10*sec + 3*sec/2, 3, "aad"}, // 1 s later: two
	})
}

func TestLimitBurst(t *testing.T) {
	runLimit(t, "limit rate 2/second burst 1 packets accept", []limitStep{
		{0, 2, "ad"},
		{sec / 2, 2, "ad"},
	})
	// A per-minute rate refills one packet a minute.
	runLimit(t, "limit rate 1/minute burst 2 packets accept", []limitStep{
		{0, 3, "aad"},
		{59 * sec, 1, "d"},
		{60 * sec, 2, "ad"},
		{180 * sec, 3, "aad"},
	})
}

func TestLimitOver(t *testing.T) {
	// over inverts: the first 3 (the burst) are within the rate, so the
	// rule does not match them; the policy drops them.
	runLimit(t, "limit rate over 2/second burst 3 packets accept", []limitStep{
		{0, 5, "dddaa"},
		{sec / 2, 2, "da"},
	})
}

func TestLimitByteRate(t *testing.T) {
	// 1 kbytes/second, no burst: the bucket is one second of credit
	// (1e9 ns); a 128-byte packet costs 1e9×128/1024 = 125 ms: 8 pass.
	runLimit(t, "limit rate 1 kbytes/second accept", []limitStep{
		{0, 9, "aaaaaaaad"},
		{sec / 8, 2, "ad"},
	})
	// burst 512 bytes: 1e9×(1024+512)/1024 = 1.5 s of credit: 12 pass.
	runLimit(t, "limit rate 1 kbytes/second burst 512 bytes accept", []limitStep{
		{0, 13, "aaaaaaaaaaaad"},
	})
	// A packet larger than the bucket never passes; with over, always.
	runLimit(t, "limit rate 100 bytes/second accept", []limitStep{{0, 2, "dd"}, {100 * sec, 1, "d"}})
	runLimit(t, "limit rate over 100 bytes/second accept", []limitStep{{0, 2, "aa"}})
}

func TestLimitNamedShared(t *testing.T) {
	// Two rules naming one limit object share its bucket: the second
	// rule sees what the first left (nft_objref_eval).
	src := "table inet t {\n\tlimit l { rate 1/second burst 3 packets }\n\tchain in {\n\t\ttype filter hook input priority 0; policy drop;\n" +
		"\t\ticmp type echo-request icmp sequence 1 limit name \"l\" accept\n\t\tlimit name \"l\" accept\n\t}\n}\n"
	if _, err := compileString(src); err != nil {
		// icmp sequence is another helper's selector; use the mark instead.
		src = "table inet t {\n\tlimit l { rate 1/second burst 3 packets }\n\tchain in {\n\t\ttype filter hook input priority 0; policy drop;\n" +
			"\t\tmeta mark 1 limit name \"l\" accept\n\t\tlimit name \"l\" accept\n\t}\n}\n"
	}
	r := newStmtRig(t, src)
	got := ""
	for i, mark := range []uint32{1, 1, 0, 0, 1} {
		r.meta.Mark = mark
		if r.run(echo(uint16(i+1), 10), 0) == engine.Accept {
			got += "a"
		} else {
			got += "d"
		}
	}
	if got != "aaadd" {
		t.Errorf("shared limit: %s, want aaadd", got)
	}
	objs := r.c.Objects()
	if len(objs) != 1 || objs[0].Kind != "limit" || objs[0].Name != "l" || objs[0].Limit == nil || objs[0].Limit.Rate != 1 {
		t.Errorf("objects: %+v", objs)
	}
}

func TestLimitRefused(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{"limit rate 0/second accept", "rate 0"},
		{"limit rate 10/second burst 5 kbytes accept", "needs a burst in packets"},
		{"limit rate 10 kbytes/second burst 5 packets accept", "needs a burst in bytes"},
		// unit × (rate + burst) overflows 64 bits (EOVERFLOW).
		{"limit rate 4000000 mbytes/week accept", "overflows"},
	} {
		_, err := compileString(inputChain("\t\t" + tc.rule))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.rule, err, tc.want)
		}
	}
}
