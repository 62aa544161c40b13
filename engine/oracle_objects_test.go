package engine_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/hare-fw/hare/engine"
)

// The kernel differential for the stateful statements, beside
// compareRun's verdicts and rule counters: the named counters and quotas
// after the run (nft -j list ruleset, in nft-counters.json), and, per
// packet, the prefixes of the ruleset's `log group N` messages the oracle
// caught on NFLOG (packets.jsonl ruleset_log).

// oracleLogs collects hare's group log events per packet.
type oracleLogs struct {
	kernel map[uint64][]string
	cur    []string
	n      int // packets compared
	events int // log events compared
}

func newOracleLogs(t *testing.T, path string) *oracleLogs {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l := &oracleLogs{kernel: map[uint64][]string{}}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r struct {
			N          uint64   `json:"n"`
			RulesetLog []string `json:"ruleset_log"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		l.kernel[r.N] = r.RulesetLog
	}
	return l
}

// sink is the engine's log sink: nflog (group) events only, since the
// oracle sees those alone; the prefix as the oracle lists it (trimmed).
func (l *oracleLogs) sink(ev *engine.LogEvent) {
	if ev.Params.HasGroup {
		l.cur = append(l.cur, strings.TrimSpace(ev.Params.Prefix))
	}
}

// check compares packet n's log events with the kernel's.
func (l *oracleLogs) check(t *testing.T, n uint64) {
	want := l.kernel[n]
	if strings.Join(l.cur, "|") != strings.Join(want, "|") {
		t.Errorf("packet %d: hare logged %q, kernel %q", n, l.cur, want)
	}
	l.n++
	l.events += len(want)
	l.cur = l.cur[:0]
}

// compareObjects compares the named counters and quotas with those of
// b, the kernel's `nft -j list ruleset`.
func compareObjects(t *testing.T, comp *engine.Compiled, b []byte) (n, agree int) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	type obj struct {
		Family, Table, Name  string
		Packets, Bytes, Used uint64
		Inv                  bool
	}
	var want []engine.ObjectValue
	for _, it := range doc.Nftables {
		for _, kind := range []string{"counter", "quota"} {
			raw, ok := it[kind]
			if !ok {
				continue
			}
			var o obj
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(o.Table, "oracle") {
				continue
			}
			v := engine.ObjectValue{Table: o.Table, Kind: kind, Name: o.Name, Packets: o.Packets, Bytes: o.Bytes, Over: o.Inv}
			if kind == "quota" {
				// nft -j: "bytes" is the quota, "used" what was consumed.
				v.Packets, v.Bytes, v.Quota, v.Used = 0, 0, o.Bytes, o.Used
			}
			want = append(want, v)
		}
	}
	var got []engine.ObjectValue
	for _, o := range comp.Objects() {
		if o.Kind != "limit" { // a limit object lists no state
			o.Family, o.Limit = 0, nil
			got = append(got, o)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d named counters and quotas, kernel has %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		n++
		if got[i] == want[i] {
			agree++
			continue
		}
		t.Errorf("object %d: hare %+v, kernel %+v", i, got[i], want[i])
	}
	return n, agree
}
