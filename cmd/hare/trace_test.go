package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The kernel's own packet trace against hare's. References, made with the
// kernel oracle and trimmed to the fields the tests read (n, rx, skipped,
// verdict, dropped_at, ct state/dir, trace):
//
//	testdata/rules-oracle/trace/CAPTURE/: oracle.sh -f trace.nft CAPTURE
//	    (tracing is on because trace.nft sets nftrace for a subset)
//	testdata/rules-oracle/trace-all/default_drop/CAPTURE/:
//	    oracle.sh -T -f default_drop.nft CAPTURE (every packet traced)
//
// with nft-ruleset.txt (the kernel's listing of the loaded ruleset) and
// sysctl.txt. For every packet that reached netfilter, hare's --trace
// (--trace-all) lines must name the same sequence of (family, table,
// chain, rule, verdict) and policies as the kernel's. A rule is compared
// by its position in its chain: the kernel's trace names a rule by its
// text, which the kernel's listing maps to a position (texts are unique
// per chain in these rulesets); hare's by handle. Rule texts and
// "packet:" lines are also compared as text and must be equal.

const traceRefs = "../../testdata/rules-oracle"

// tracedPacket is a packet of a trimmed packets.jsonl.
type tracedPacket struct {
	N       uint64   `json:"n"`
	RX      int      `json:"rx"`
	Skipped string   `json:"skipped"`
	Trace   []string `json:"trace"`
}

// traceStep is one line of a trace, reduced to what must agree.
type traceStep struct {
	where   string // "family table chain"
	kind    string // packet, rule, policy
	pos     int    // the rule's position in its chain (rule)
	verdict string // "(verdict ...)" of a rule, the policy
	text    string // the line after the trace id
}

var (
	traceLineRe = regexp.MustCompile(`^trace id [0-9a-f]{8} (\S+ \S+ \S+) (packet: |rule |policy )(.*)$`)
	counterRe   = regexp.MustCompile(`counter packets \d+ bytes \d+`)
	verdictRe   = regexp.MustCompile(`^(.*) \(verdict ([^)]*)\)$`)
)

// chainRules reads a listing (`nft list ruleset`) into the rule texts of
// each chain, keyed "family table chain", counters zeroed.
func chainRules(t *testing.T, path string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	var table, chain string
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 4 && f[0] == "table" && f[3] == "{":
			table = f[1] + " " + f[2]
		case len(f) == 3 && f[0] == "chain" && f[2] == "{":
			chain = table + " " + f[1]
		case len(f) == 0 || f[0] == "}" || f[0] == "type" || f[0] == "policy" || chain == "":
		case strings.HasPrefix(l, "\t\t") && !strings.HasPrefix(l, "\t\t\t"):
			out[chain] = append(out[chain], counterRe.ReplaceAllString(strings.TrimSpace(l), "counter packets 0 bytes 0"))
		}
	}
	return out
}

// parseTrace reduces trace lines to steps; rules are placed by pos.
func parseTrace(t *testing.T, lines []string, pos func(where, text string) int) []traceStep {
	var out []traceStep
	for _, l := range lines {
		m := traceLineRe.FindStringSubmatch(strings.TrimRight(l, " "))
		if m == nil {
			t.Errorf("not a trace line: %q", l)
			continue
		}
		st := traceStep{where: m[1], kind: strings.TrimSuffix(strings.TrimSpace(m[2]), ":"), text: m[3]}
		switch st.kind {
		case "packet":
		case "rule":
			v := verdictRe.FindStringSubmatch(m[3])
			if v == nil {
				t.Errorf("rule line without a verdict: %q", l)
				continue
			}
			st.pos, st.verdict = pos(m[1], v[1]), v[2]
		case "policy":
			st.verdict = m[3]
		}
		out = append(out, st)
	}
	return out
}

func TestTraceMatchesKernel(t *testing.T) {
	type refSet struct {
		ruleset string
		glob    string
		flag    string
	}
	sets := []refSet{
		{"trace.nft", "trace/*/packets.jsonl", "--trace"},
		{"default_drop.nft", "trace-all/default_drop/*/packets.jsonl", "--trace-all"},
	}
	var packets, traced, steps, packetLines, packetAgree, ruleLines, ruleAgree int
	for _, rs := range sets {
		runs, _ := filepath.Glob(filepath.Join(traceRefs, rs.glob))
		if len(runs) == 0 {
			t.Fatalf("no references %s", rs.glob)
		}
		for _, run := range runs {
			dir := filepath.Dir(run)
			capName := filepath.Base(dir)
			t.Run(rs.flag+"/"+capName, func(t *testing.T) {
				kernel := readJSONLines[tracedPacket](t, run)
				byN := map[uint64]tracedPacket{}
				for _, k := range kernel {
					byN[k.N] = k
				}
				listing := chainRules(t, filepath.Join(dir, "nft-ruleset.txt"))
				kpos := func(where, text string) int {
					for i, r := range listing[where] {
						if r == text {
							return i
						}
					}
					t.Errorf("kernel rule %q not in the listing of %s", text, where)
					return -1
				}
				hare := hareTraces(t, filepath.Join(traceRefs, rs.ruleset), dir, capName, rs.flag, byN)
				hpos := hareRulePositions(t, filepath.Join(traceRefs, rs.ruleset))
				for _, k := range kernel {
					if k.Skipped != "" || k.RX == 0 {
						continue
					}
					packets++
					if len(k.Trace) > 0 {
						traced++
					}
					ks := parseTrace(t, k.Trace, kpos)
					hs := parseTrace(t, hare[k.N], func(where, text string) int {
						if p, ok := hpos[where][text]; ok {
							return p
						}
						return -2 // matches no kernel position
					})
					if len(ks) != len(hs) {
						t.Errorf("packet %d: kernel traced %d lines, hare %d\nkernel:\n  %s\nhare:\n  %s", k.N, len(ks), len(hs),
							strings.Join(k.Trace, "\n  "), strings.Join(hare[k.N], "\n  "))
						continue
					}
					for i := range ks {
						a, b := ks[i], hs[i]
						if a.where != b.where || a.kind != b.kind || a.pos != b.pos || a.verdict != b.verdict {
							t.Errorf("packet %d line %d: kernel %q, hare %q", k.N, i+1, k.Trace[i], hare[k.N][i])
							continue
						}
						steps++
						switch a.kind {
						case "packet":
							packetLines++
							if a.text == b.text {
								packetAgree++
							} else {
								t.Errorf("packet %d: packet line\nkernel: %s\nhare:   %s", k.N, a.text, b.text)
							}
						case "rule":
							ruleLines++
							if a.text == b.text {
								ruleAgree++
							} else {
								t.Errorf("packet %d: rule text\nkernel: %s\nhare:   %s", k.N, a.text, b.text)
							}
						}
					}
				}
			})
		}
	}
	t.Logf("kernel trace: %d packets (%d traced), %d trace lines agree on table/chain/rule/verdict; packet: lines %d/%d equal as text, rule lines %d/%d",
		packets, traced, steps, packetAgree, packetLines, ruleAgree, ruleLines)
}

// hareTraces runs hare replay with the reference's settings and returns
// each packet's trace lines, by packet number (the --packets line that
// follows them).
func hareTraces(t *testing.T, rules, dir, capName, flag string, kernel map[uint64]tracedPacket) map[uint64][]string {
	t.Helper()
	capPath := filepath.Join("../../testdata/scenarios", capName+".pcapng")
	sets, _, _ := sysctlSettings(t, filepath.Join(dir, "sysctl.txt"))
	args := append([]string{"replay", "--rules", rules, flag, "--packets", "--clock", "frozen"}, sets...)
	args = append(args, capPath)
	var out, errOut bytes.Buffer
	skip := func(_ string, n uint64) bool {
		k := kernel[n]
		return k.Skipped != "" || k.RX == 0
	}
	if code := runReplayWith(args[1:], &out, &errOut, skip); code != 0 {
		t.Fatalf("hare %v: exit %d: %s", args, code, errOut.String())
	}
	got := map[uint64][]string{}
	var pending []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "trace id ") {
			pending = append(pending, l)
			continue
		}
		n, err := strconv.ParseUint(strings.Fields(l + " x")[0], 10, 64)
		if err != nil {
			continue // rule counters
		}
		got[n], pending = pending, nil
	}
	return got
}

// hareRulePositions maps hare's rule texts to their positions in their
// chains, keyed as chainRules, from hare's own listing of the ruleset.
func hareRulePositions(t *testing.T, rules string) map[string]map[string]int {
	t.Helper()
	code, out, errOut := hare(t, "ruleset", "print", rules)
	if code != 0 {
		t.Fatalf("ruleset print: %s", errOut)
	}
	path := writeTemp(t, "listing.txt", []byte(out))
	m := map[string]map[string]int{}
	for where, rs := range chainRules(t, path) {
		m[where] = map[string]int{}
		for i, r := range rs {
			m[where][r] = i
		}
	}
	return m
}
