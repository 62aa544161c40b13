package engine_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
)

// kernelRun is what the kernel made of one capture under one ruleset: a
// .ref file written by scripts/rules-oracle.sh (its header describes the
// format), or a directory of the oracle's own files (packets.jsonl,
// nft-counters.json, sysctl.txt) in the form these references had before
// the script existed, which other work may still add.
type kernelRun struct {
	settings *conntrack.Settings
	packets  map[uint64]kernelPacket
	emitted  map[uint64][]string // what a reject sent, the oracle's summaries; nil: not recorded
	counters []kernelCounter
	// logs are the prefixes of the ruleset's `log group N` messages per
	// packet (oracleLogs); objects the named counters and quotas, as
	// `nft -j list ruleset` lists them (compareObjects).
	logs    *oracleLogs
	objects []byte
}

type kernelPacket struct {
	Verdict   string // accepted, dropped, rejected, held; skipped, unseen: not compared
	DroppedAt string // for dropped and rejected: prerouting, routing, input
}

// compared reports whether the packet took part: the oracle replayed it
// and it reached netfilter (a packet the IP layer drops before PREROUTING
// never meets a ruleset).
func (k kernelPacket) compared() bool { return k.Verdict != "skipped" && k.Verdict != "unseen" }

type kernelCounter struct {
	Family, Table, Chain string
	Handle               uint64
	Packets, Bytes       uint64
}

// applySettings sets every conntrack setting of a KEY = VALUE text that
// hare knows (sysctl.txt).
func applySettings(t *testing.T, s *conntrack.Settings, text string) {
	for _, l := range strings.Split(text, "\n") {
		name, value, ok := strings.Cut(strings.TrimPrefix(l, "sysctl "), " = ")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		if _, _, known := conntrack.SettingDoc(name); known {
			if err := s.Set(name, value); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
}

func readText(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readRef reads a .ref: the settings are baseline (testdata/rules-oracle/
// sysctl.txt) with the file's sysctl lines applied over it.
func readRef(t *testing.T, path, baseline string) *kernelRun {
	run := &kernelRun{settings: conntrack.DefaultSettings(), packets: map[uint64]kernelPacket{}, emitted: map[uint64][]string{},
		logs: &oracleLogs{kernel: map[uint64][]string{}}, objects: []byte(`{"nftables":[]}`)}
	applySettings(t, run.settings, baseline)
	for i, l := range strings.Split(strings.TrimRight(readText(t, path), "\n"), "\n") {
		if err := run.refLine(t, l); err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		}
	}
	return run
}

func (run *kernelRun) refLine(t *testing.T, l string) error {
	f := strings.Fields(l)
	switch {
	case len(f) == 0 || strings.HasPrefix(l, "#"):
	case f[0] == "sysctl":
		applySettings(t, run.settings, l)
	case f[0] == "log" && len(f) > 2:
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return err
		}
		_, prefix, _ := strings.Cut(strings.TrimPrefix(l, "log "), " ")
		run.logs.kernel[n] = append(run.logs.kernel[n], prefix)
	case f[0] == "objects" && len(f) > 1:
		run.objects = []byte(strings.TrimPrefix(l, "objects "))
	case f[0] == "emit" && len(f) > 2:
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return err
		}
		run.emitted[n] = append(run.emitted[n], strings.Join(f[2:], " "))
	case f[0] == "counter" && len(f) == 7:
		var v [3]uint64
		for i := range v {
			var err error
			if v[i], err = strconv.ParseUint(f[4+i], 10, 64); err != nil {
				return err
			}
		}
		run.counters = append(run.counters, kernelCounter{f[1], f[2], f[3], v[0], v[1], v[2]})
	case len(f) == 2:
		lo, hi, isRange := strings.Cut(f[0], "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		b := a
		if err == nil && isRange {
			b, err = strconv.ParseUint(hi, 10, 64)
		}
		if err != nil || b < a {
			return fmt.Errorf("bad record range %q", f[0])
		}
		v, at, _ := strings.Cut(f[1], "@")
		for n := a; n <= b; n++ {
			run.packets[n] = kernelPacket{v, at}
		}
	default:
		return fmt.Errorf("unknown line %q", l)
	}
	return nil
}

// readLegacy reads a directory holding the oracle's own files.
func readLegacy(t *testing.T, dir string) *kernelRun {
	run := &kernelRun{settings: conntrack.DefaultSettings(), packets: map[uint64]kernelPacket{}, emitted: map[uint64][]string{}}
	applySettings(t, run.settings, readText(t, filepath.Join(dir, "sysctl.txt")))
	f, err := os.Open(filepath.Join(dir, "packets.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	recorded := false // references trimmed without the emitted field
	for sc.Scan() {
		var k struct {
			N         uint64    `json:"n"`
			RX        int       `json:"rx"`
			Skipped   string    `json:"skipped"`
			Verdict   string    `json:"verdict"`
			DroppedAt string    `json:"dropped_at"`
			Emitted   *[]string `json:"emitted"`
		}
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			t.Fatal(err)
		}
		p := kernelPacket{k.Verdict, k.DroppedAt}
		switch {
		case k.Skipped != "":
			p = kernelPacket{Verdict: "skipped"}
		case k.RX == 0:
			p = kernelPacket{Verdict: "unseen"}
		}
		run.packets[k.N] = p
		if k.Emitted != nil {
			recorded = true
			if len(*k.Emitted) > 0 {
				run.emitted[k.N] = *k.Emitted
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !recorded {
		run.emitted = nil
	}
	run.counters = legacyCounters(t, filepath.Join(dir, "nft-counters.json"))
	run.logs = newOracleLogs(t, filepath.Join(dir, "packets.jsonl"))
	run.objects = []byte(readText(t, filepath.Join(dir, "nft-counters.json")))
	return run
}

// legacyCounters reads the counters of the ruleset's rules (leaving out
// the oracle's own tables) from `nft -j list ruleset`, in ruleset order.
func legacyCounters(t *testing.T, path string) []kernelCounter {
	var doc struct {
		Nftables []struct {
			Rule *struct {
				Family, Table, Chain string
				Handle               uint64
				Expr                 []map[string]json.RawMessage
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(readText(t, path)), &doc); err != nil {
		t.Fatal(err)
	}
	var out []kernelCounter
	for _, it := range doc.Nftables {
		r := it.Rule
		if r == nil || strings.HasPrefix(r.Table, "oracle") {
			continue
		}
		for _, e := range r.Expr {
			var c struct{ Packets, Bytes uint64 }
			// a `counter name "c"` reference is a string: a named counter
			// (compareObjects)
			if raw, ok := e["counter"]; ok && raw[0] != '"' && json.Unmarshal(raw, &c) == nil {
				out = append(out, kernelCounter{r.Family, r.Table, r.Chain, r.Handle, c.Packets, c.Bytes})
			}
		}
	}
	return out
}

// oraclePacket is a record of the oracle's packets.jsonl (the fields the
// kernel log test reads).
type oraclePacket struct {
	N         uint64 `json:"n"`
	RX        int    `json:"rx"`
	Skipped   string `json:"skipped"`
	Verdict   string `json:"verdict"`
	DroppedAt string `json:"dropped_at"`
}

func loadRuleset(t testing.TB, path string) *engine.Compiled {
	t.Helper()
	c, err := compileRuleset(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kernelSettings applies the conntrack settings of an oracle run's
// sysctl.txt.
func kernelSettings(t *testing.T, path string) *conntrack.Settings {
	s := conntrack.DefaultSettings()
	applySettings(t, s, readText(t, path))
	return s
}
