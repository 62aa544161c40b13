package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestExplainMatchesKernel checks `hare replay --explain N -o json` for
// every packet of the kernel trace references (see trace_test.go) against
// what the kernel said about the same packet: its final verdict, its ct
// state and direction, and the rules that ran to their end (the kernel's
// trace lines while nftrace was set) must be the explanation's matched
// rules with nftrace set, in order, with the same verdicts; the deciding
// rule is the kernel's last rule line. Every rule the explanation says
// did not match names one of that rule's own statements.
func TestExplainMatchesKernel(t *testing.T) {
	type refSet struct{ ruleset, glob, flag string }
	sets := []refSet{
		{"trace.nft", "trace/*/packets.jsonl", ""},
		{"default_drop.nft", "trace-all/default_drop/*/packets.jsonl", "all"},
	}
	var explained, rulesSeen, noMatch int
	for _, rs := range sets {
		runs, _ := filepath.Glob(filepath.Join(traceRefs, rs.glob))
		for _, run := range runs {
			dir := filepath.Dir(run)
			capName := filepath.Base(dir)
			t.Run(rs.ruleset+"/"+capName, func(t *testing.T) {
				kernel := readJSONLines[explainRef](t, run)
				byN := map[uint64]explainRef{}
				for _, k := range kernel {
					byN[k.N] = k
				}
				listing := chainRules(t, filepath.Join(dir, "nft-ruleset.txt"))
				hpos := hareRulePositions(t, filepath.Join(traceRefs, rs.ruleset))
				sets, _, _ := sysctlSettings(t, filepath.Join(dir, "sysctl.txt"))
				for _, k := range kernel {
					if k.Skipped != "" || k.RX == 0 || k.Verdict == "held" {
						continue
					}
					ex := explainPacket(t, filepath.Join(traceRefs, rs.ruleset), capName, sets, k.N, byN)
					explained++
					want := map[string]string{"accepted": "accept", "dropped": "drop", "rejected": "reject"}[k.Verdict]
					if ex.Verdict != want {
						t.Errorf("packet %d: explained verdict %s, kernel %s", k.N, ex.Verdict, k.Verdict)
					}
					if len(k.CT) > 0 && (ex.Conntrack.State != k.CT[0].State || ex.Conntrack.Dir != "" && ex.Conntrack.Dir != k.CT[0].Dir) {
						t.Errorf("packet %d: explained ct %s %s, kernel %s %s", k.N, ex.Conntrack.State, ex.Conntrack.Dir, k.CT[0].State, k.CT[0].Dir)
					}
					// The kernel's rule lines, as (chain, position, verdict).
					var kr, hr []string
					for _, l := range k.Trace {
						m := traceLineRe.FindStringSubmatch(strings.TrimRight(l, " "))
						if m == nil || m[2] != "rule " {
							continue
						}
						v := verdictRe.FindStringSubmatch(m[3])
						pos := -1
						for i, r := range listing[m[1]] {
							if r == v[1] {
								pos = i
							}
						}
						kr = append(kr, m[1]+" #"+strconv.Itoa(pos)+" "+v[2])
					}
					for _, st := range ex.Steps {
						if st.Event != "rule" {
							continue
						}
						rulesSeen++
						where := st.Family + " " + st.Table + " " + st.Chain
						if st.Matched != nil && !*st.Matched {
							noMatch++
							info := st.Rule
							if st.Failed == "" || !strings.Contains(info, strings.TrimSpace(st.Failed)) && !strings.Contains(st.Failed, "l4proto") {
								t.Errorf("packet %d: %s rule %q: failed match %q is not one of its statements", k.N, where, info, st.Failed)
							}
							if st.Value == "" {
								t.Errorf("packet %d: %s rule %q: no packet value for %q", k.N, where, info, st.Failed)
							}
							continue
						}
						if !st.Nftrace && rs.flag != "all" { // -T traced every packet from the start
							continue
						}
						v := st.Verdict
						if v == "reject" {
							v = "drop"
						}
						p, ok := hpos[where][st.Rule]
						if !ok {
							p = -2
						}
						hr = append(hr, where+" #"+strconv.Itoa(p)+" "+v)
					}
					if strings.Join(kr, "\n") != strings.Join(hr, "\n") {
						t.Errorf("packet %d: rules that ran to their end\nkernel:\n  %s\nexplain:\n  %s", k.N, strings.Join(kr, "\n  "), strings.Join(hr, "\n  "))
					}
				}
			})
		}
	}
	if explained == 0 {
		t.Fatal("no packet explained")
	}
	t.Logf("explain: %d packets agree with the kernel (verdict, ct state, matched rules); %d rule evaluations, %d did not match", explained, rulesSeen, noMatch)
}

type explainRef struct {
	N       uint64   `json:"n"`
	RX      int      `json:"rx"`
	Skipped string   `json:"skipped"`
	Verdict string   `json:"verdict"`
	Trace   []string `json:"trace"`
	CT      []struct {
		State string `json:"state"`
		Dir   string `json:"dir"`
	} `json:"ct"`
}

func explainPacket(t *testing.T, rules, capName string, sets []string, n uint64, kernel map[uint64]explainRef) explanation {
	t.Helper()
	args := append([]string{"--rules", rules, "--explain", strconv.FormatUint(n, 10), "-o", "json", "--clock", "frozen"}, sets...)
	args = append(args, filepath.Join("../../testdata/scenarios", capName+".pcapng"))
	var out, errOut bytes.Buffer
	skip := func(_ string, n uint64) bool {
		k := kernel[n]
		return k.Skipped != "" || k.RX == 0
	}
	if code := runReplayWith(args, &out, &errOut, skip); code != 0 {
		t.Fatalf("hare replay %v: exit %d: %s", args, code, errOut.String())
	}
	line, _, _ := bytes.Cut(out.Bytes(), []byte("\n"))
	var ex explanation
	if err := json.Unmarshal(line, &ex); err != nil {
		t.Fatalf("packet %d: %v\n%s", n, err, out.String())
	}
	if ex.Packet != n {
		t.Fatalf("explained packet %d, asked %d", ex.Packet, n)
	}
	return ex
}
