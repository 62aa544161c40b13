package ruleset_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hare-fw/hare/ruleset"
)

// jsonRefs holds what nft 1.0.6 printed with `nft -j list ruleset` after
// loading each corpus input (scripts/nft-json-refs.sh writes them).
const jsonRefs = "testdata/json"

// jsonPass lists the references hare's JSON reproduces byte for byte; a
// listed one that stops matching is a regression. Regenerate with
// go test ./ruleset -run TestJSONRefs -update.
const jsonPass = "testdata/json-pass.txt"

// jsonInput maps a reference name back to its corpus input:
// "golden__X.input" is golden/X.input.nft, "D__F" with D a corpus
// directory is D/F.nft, anything else F.nft at the top.
func jsonInput(name string) string {
	for _, dir := range []string{"golden", "nftables-upstream_default-configs"} {
		if rest, ok := strings.CutPrefix(name, dir+"__"); ok {
			return filepath.Join(corpus, dir, rest+".nft")
		}
	}
	return filepath.Join(corpus, name+".nft")
}

func renderJSON(path string) (string, error) {
	rs, err := loadCorpusFile(path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = ruleset.PrintJSON(&b, rs, ruleset.PrintOptions{})
	return b.String(), err
}

// firstJSONDiff names the first top-level item (table, chain, rule, set)
// where got and want differ, and the first differing statement of a rule.
func firstJSONDiff(want, got []byte) string {
	var w, g struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if json.Unmarshal(want, &w) != nil || json.Unmarshal(got, &g) != nil {
		return "(unreadable JSON)"
	}
	for i := range w.Nftables {
		if i >= len(g.Nftables) {
			return fmt.Sprintf("item %d missing", i)
		}
		if reflect.DeepEqual(decodeItem(w.Nftables[i]), decodeItem(g.Nftables[i])) {
			continue
		}
		for k, wv := range w.Nftables[i] {
			gv := g.Nftables[i][k]
			if k == "rule" {
				var wr, gr struct{ Expr []json.RawMessage }
				json.Unmarshal(wv, &wr)
				json.Unmarshal(gv, &gr)
				for j := range wr.Expr {
					if j >= len(gr.Expr) || !reflect.DeepEqual(decode(wr.Expr[j]), decode(gr.Expr[j])) {
						var gs string
						if j < len(gr.Expr) {
							gs = string(gr.Expr[j])
						}
						return fmt.Sprintf("rule stmt %d:\n  want %s\n  got  %s", j, wr.Expr[j], gs)
					}
				}
			}
			return fmt.Sprintf("%s:\n  want %s\n  got  %s", k, wv, gv)
		}
		return fmt.Sprintf("item %d:\n  want %v\n  got  %v", i, w.Nftables[i], g.Nftables[i])
	}
	if len(g.Nftables) > len(w.Nftables) {
		return "extra items"
	}
	return "(key order only)"
}

func decodeItem(m map[string]json.RawMessage) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = decode(v)
	}
	return out
}

func decode(b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err.Error()
	}
	return v
}

// jsonCause names the construct of a difference: the first key of the
// wanted statement or object.
func jsonCause(d string) string {
	_, rest, ok := strings.Cut(d, "want ")
	if !ok {
		return d
	}
	rest, _, _ = strings.Cut(rest, "\n")
	var v map[string]any
	if json.Unmarshal([]byte(rest), &v) != nil {
		return firstWords(rest, 1)
	}
	for k, x := range v {
		if m, ok := x.(map[string]any); ok {
			if l, ok := m["left"].(map[string]any); ok {
				for lk := range l {
					return k + " " + lk
				}
			}
		}
		return k
	}
	return rest
}

// TestJSONRefs compares `hare ruleset print -j` with nft 1.0.6's -j
// output for every corpus input nft loads: byte for byte (nft's own
// one-line form) and as JSON values.
func TestJSONRefs(t *testing.T) {
	skipNoCorpus(t)
	refs, _ := filepath.Glob(filepath.Join(jsonRefs, "*.json"))
	if len(refs) == 0 {
		t.Fatalf("no references in %s (scripts/nft-json-refs.sh)", jsonRefs)
	}
	known := map[string]bool{}
	if b, err := os.ReadFile(jsonPass); err == nil {
		for _, l := range strings.Fields(string(b)) {
			known[l] = true
		}
	}
	var passing []string
	semantic, regressions := 0, 0
	causes := map[string]int{}
	for _, ref := range refs {
		name := strings.TrimSuffix(filepath.Base(ref), ".json")
		want, err := os.ReadFile(ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := renderJSON(jsonInput(name))
		same := err == nil && got == string(want)
		var wv, gv any
		sem := err == nil && json.Unmarshal(want, &wv) == nil && json.Unmarshal([]byte(got), &gv) == nil && reflect.DeepEqual(wv, gv)
		switch {
		case same:
			passing = append(passing, name)
		case err != nil:
			msg := strings.SplitN(err.Error(), "\n", 2)[0]
			if u, ok := err.(*ruleset.UnsupportedJSONError); ok {
				causes["(unsupported) "+u.Construct]++
			} else {
				causes["(error) "+firstWords(msg[strings.LastIndex(msg, ": ")+2:], 3)]++
			}
			t.Logf("FAIL %s: %s", name, msg)
		default:
			d := firstJSONDiff(want, []byte(got))
			causes[jsonCause(d)]++
			t.Logf("FAIL %s: %s", name, d)
		}
		if sem {
			semantic++
		}
		if !same && known[name] {
			regressions++
			t.Errorf("regression: %s no longer prints as nft -j does", name)
		}
	}
	t.Logf("json: %d of %d byte-identical to nft -j, %d equal as JSON", len(passing), len(refs), semantic)
	t.Logf("first-difference causes:%s", topCounts(causes, 30))
	if *update && regressions == 0 {
		sort.Strings(passing)
		if err := os.WriteFile(jsonPass, []byte(strings.Join(passing, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJSONWellFormed checks the printer's own encoding against
// encoding/json and against nft's layout: one line, ", " and ": "
// separators (what a re-encode with those separators gives back).
func TestJSONWellFormed(t *testing.T) {
	skipNoCorpus(t)
	refs, _ := filepath.Glob(filepath.Join(jsonRefs, "*.json"))
	for _, ref := range refs {
		got, err := renderJSON(jsonInput(strings.TrimSuffix(filepath.Base(ref), ".json")))
		if err != nil {
			continue
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: invalid JSON", ref)
		}
		if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
			t.Errorf("%s: not one line", ref)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(got)); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
}
