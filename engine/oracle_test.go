package engine_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/internal/report"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// The kernel differential: testdata/rules-oracle/RULESET.nft was loaded
// into the kernel by the kernel oracle (oracle.sh -f) and each capture
// replayed through it; RULESET/CAPTURE/ holds the kernel's per-packet
// verdicts (packets.jsonl) and its rule counters (nft-counters.json).
// hare replays the same capture through the same ruleset and must agree
// on every packet that reached netfilter and on every rule counter.

const oracleDir = "../testdata/rules-oracle"

// captureDirs are where the captures named by the reference runs live.
var captureDirs = []string{"../../shared/testdata/pcaps", "../testdata/scenarios"}

type oraclePacket struct {
	N         uint64 `json:"n"`
	RX        int    `json:"rx"`
	Skipped   string `json:"skipped"`
	Verdict   string `json:"verdict"`
	DroppedAt string `json:"dropped_at"`
}

func TestKernelOracle(t *testing.T) {
	rulesets, _ := filepath.Glob(filepath.Join(oracleDir, "*.nft"))
	if len(rulesets) == 0 {
		t.Fatal("no rulesets in " + oracleDir)
	}
	var packets, agree, counters, countersAgree int
	for _, rsPath := range rulesets {
		name := strings.TrimSuffix(filepath.Base(rsPath), ".nft")
		runs, _ := filepath.Glob(filepath.Join(oracleDir, name, "*", "packets.jsonl"))
		for _, run := range runs {
			dir := filepath.Dir(run)
			capName := filepath.Base(dir)
			t.Run(name+"/"+capName, func(t *testing.T) {
				capPath := findCapture(t, capName)
				n, a, c, ca := compareRun(t, rsPath, dir, capPath)
				packets += n
				agree += a
				counters += c
				countersAgree += ca
			})
		}
	}
	t.Logf("kernel oracle: %d/%d packets agree, %d/%d rule counters agree", agree, packets, countersAgree, counters)
}

func findCapture(t *testing.T, name string) string {
	for _, d := range captureDirs {
		for _, ext := range []string{".pcap", ".pcapng"} {
			p := filepath.Join(d, name+ext)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	// The scenarios are in the repository; only the shared corpus may be
	// absent (it lives in ../shared beside the repository).
	if _, err := os.Stat(captureDirs[0]); err != nil {
		t.Skipf("skipping: capture %s is in the shared corpus, not found at %s", name, captureDirs[0])
	}
	t.Fatalf("capture %s not found in %v", name, captureDirs)
	return ""
}

func loadRuleset(t testing.TB, path string) *engine.Compiled {
	t.Helper()
	f, err := ruleset.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ruleset.Build(f)
	if err != nil {
		t.Fatal(err)
	}
	c, err := engine.Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kernelSettings applies the conntrack settings of the run's sysctl.txt.
func kernelSettings(t *testing.T, path string) *conntrack.Settings {
	s := conntrack.DefaultSettings()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(l, " = ")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		if _, _, known := conntrack.SettingDoc(name); known {
			if err := s.Set(name, value); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	return s
}

func compareRun(t *testing.T, rsPath, dir, capPath string) (packets, agree, counters, countersAgree int) {
	comp := loadRuleset(t, rsPath)
	logs := newOracleLogs(t, filepath.Join(dir, "packets.jsonl"))
	kernel := map[uint64]oraclePacket{}
	f, err := os.Open(filepath.Join(dir, "packets.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var k oraclePacket
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			t.Fatal(err)
		}
		kernel[k.N] = k
	}
	f.Close()

	var (
		eng  *engine.Engine
		tab  *conntrack.Table
		cur  oraclePacket
		meta = engine.Meta{Iifname: engine.IfName("kor0")}
		res  engine.Result
	)
	tr := &report.Tracker{Settings: kernelSettings(t, filepath.Join(dir, "sysctl.txt")), Clock: report.ClockFrozen}
	tr.Skip = func(_ string, n uint64) bool {
		cur = kernel[n]
		return cur.Skipped != "" || cur.RX == 0
	}
	tr.Filter = func(ct *conntrack.Table, p *packet.Parsed, now int64, out *conntrack.Result) {
		if ct != tab {
			tab, eng = ct, engine.New(ct, comp)
			eng.SetLogSink(logs.sink) // oracle_objects_test.go
		}
		meta.NoRoute = cur.DroppedAt == "routing"
		eng.Packet(p, &meta, now, &res)
		*out = res.CT
	}
	tr.OnPacket = func(pr *report.PacketResult) {
		k := kernel[pr.N]
		if k.Skipped != "" || k.RX == 0 {
			return
		}
		logs.check(t, pr.N)
		var got string
		switch pr.Outcome {
		case report.OutcomeHeld:
			got = "held"
		case report.OutcomeFragDropped, report.OutcomeNotIP:
			got = "dropped"
		case report.OutcomeTracked:
			got = map[engine.Verdict]string{engine.Accept: "accepted", engine.Drop: "dropped", engine.Reject: "rejected"}[res.Verdict]
		}
		packets++
		if got == k.Verdict {
			agree++
		} else {
			t.Errorf("packet %d: hare %s (%s %s %s/%s rule %d, ct %s), kernel %s at %s",
				pr.N, got, res.By, res.Hook, res.Table, res.Chain, res.Rule, pr.State, k.Verdict, k.DroppedAt)
		}
	}
	s := &report.Summary{Track: tr}
	r, err := capture.Open(capPath)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := s.Replay(r, capPath, 0, nil); err != nil {
		t.Fatal(err)
	}

	want := kernelCounters(t, filepath.Join(dir, "nft-counters.json"))
	got := comp.Counters()
	if len(got) != len(want) {
		t.Errorf("%d rule counters, kernel has %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		counters++
		g, w := got[i], want[i]
		if g.Family.String() == w.Family && g.Table == w.Table && g.Chain == w.Chain && g.Handle == w.Handle &&
			g.Packets == w.Packets && g.Bytes == w.Bytes {
			countersAgree++
			continue
		}
		t.Errorf("counter %s %s %s handle %d: hare %d packets %d bytes; kernel (%s %s %s handle %d) %d packets %d bytes",
			g.Family, g.Table, g.Chain, g.Handle, g.Packets, g.Bytes, w.Family, w.Table, w.Chain, w.Handle, w.Packets, w.Bytes)
	}
	on, oa := compareObjects(t, comp, filepath.Join(dir, "nft-counters.json")) // named counters and quotas count as counters
	counters, countersAgree = counters+on, countersAgree+oa
	if logs.events > 0 {
		t.Logf("%d nflog messages on %d packets agree", logs.events, logs.n)
	}
	return packets, agree, counters, countersAgree
}

type kernelCounter struct {
	Family, Table, Chain string
	Handle               uint64
	Packets, Bytes       uint64
}

// kernelCounters reads the counters of the ruleset's rules (leaving out the
// oracle's own tables) from `nft -j list ruleset`, in ruleset order.
func kernelCounters(t *testing.T, path string) []kernelCounter {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Nftables []struct {
			Rule *struct {
				Family, Table, Chain string
				Handle               uint64
				Expr                 []map[string]json.RawMessage
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []kernelCounter
	for _, it := range doc.Nftables {
		r := it.Rule
		if r == nil || strings.HasPrefix(r.Table, "oracle") {
			continue
		}
		for _, e := range r.Expr {
			raw, ok := e["counter"]
			if !ok || raw[0] == '"' { // `counter name "c"` (oracle_objects_test.go)
				continue
			}
			var c struct{ Packets, Bytes uint64 }
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			out = append(out, kernelCounter{r.Family, r.Table, r.Chain, r.Handle, c.Packets, c.Bytes})
		}
	}
	return out
}
