package ruleset_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hare-fw/hare/ruleset"
)

var update = flag.Bool("update", false, "rewrite testdata/rulest-pass.txt with the rules.t lines that pass now")

// rulesTPass lists the rules.t lines ("dir/file.t:line<TAB>rule") that
// pass; a listed line that stops passing is a regression. Regenerate with
// go test ./ruleset -run TestRulesT -update.
const rulesTPass = "testdata/rulest-pass.txt"

// rulesTNft106 holds, for the rules.t lines where nft 1.0.6 lists a rule
// differently from rules.t's expectation (written for nft 1.1.6), what
// nft 1.0.6 printed; that is the target.
const rulesTNft106 = "testdata/rulest-nft1.0.6.txt"

func readNft106(t *testing.T) map[string]string {
	b, err := os.ReadFile(rulesTNft106)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "\t"); ok && !strings.HasPrefix(l, "#") {
			m[k] = v
		}
	}
	return m
}

// tTable is a "*family;table;chain,chain" header of a .t file.
type tTable struct {
	family string
	name   string
	chains []string
}

// tLine is one rule line of a .t file with the declarations in force.
type tLine struct {
	file   string // relative to rules.t, such as "inet/tcp.t"
	line   int
	rule   string
	want   string // the normalised listing; the rule itself when not given
	fail   bool   // the rule must be rejected
	tables []tTable
	chains map[string]string // chain name -> "type filter hook input priority 0"
	decls  []string          // sets, maps and objects, as table-body text
}

// splitStatus splits "RULE;ok;WANT" into its parts; status is "" for a
// line without one.
func splitStatus(s string) (rule, status, want string) {
	parts := strings.Split(s, ";")
	for i := 1; i < len(parts); i++ {
		if p := strings.TrimSpace(parts[i]); p == "ok" || p == "fail" {
			return strings.TrimSpace(strings.Join(parts[:i], ";")), p, strings.TrimSpace(strings.Join(parts[i+1:], ";"))
		}
	}
	return s, "", ""
}

// setDecl turns "NAME type T [timeout X] [flags F]" into a set or map
// declaration.
func setDecl(s string) string {
	name, rest, _ := strings.Cut(s, " ")
	kw := "set"
	if strings.Contains(rest, " : ") {
		kw = "map"
	}
	for _, k := range []string{" timeout ", " flags "} {
		rest = strings.Replace(rest, k, "; "+strings.TrimSpace(k)+" ", 1)
	}
	return fmt.Sprintf("%s %s { %s; }", kw, name, rest)
}

// objDecl turns "NAME type ct helper { ... }" or "NAME type quota 25
// mbytes" into an object declaration.
func objDecl(s string) string {
	name, rest, _ := strings.Cut(s, " ")
	rest = strings.TrimPrefix(rest, "type ")
	kind, body := rest, ""
	if i := strings.IndexByte(rest, '{'); i >= 0 {
		kind, body = strings.TrimSpace(rest[:i]), strings.TrimSuffix(strings.TrimSpace(rest[i+1:]), "}")
	} else {
		w := strings.Fields(rest)
		n := 1
		if w[0] == "ct" {
			n = 2
		}
		kind, body = strings.Join(w[:n], " "), strings.Join(w[n:], " ")
	}
	return fmt.Sprintf("%s %s { %s }", kind, name, body)
}

// readT reads one .t file into its rule lines.
func readT(t *testing.T, root, rel string) []tLine {
	f, err := os.Open(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out     []tLine
		tables  []tTable
		chains  = map[string]string{}
		decls   []string
		sawRule bool
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == '-' || l[0] == '?' {
			continue
		}
		switch l[0] {
		case ':':
			name, spec, _ := strings.Cut(l[1:], ";")
			chains[name] = spec
			continue
		case '*':
			if sawRule {
				tables, sawRule = nil, false
			}
			p := strings.Split(l[1:], ";")
			if len(p) == 3 {
				tables = append(tables, tTable{family: p[0], name: p[1], chains: strings.Split(p[2], ",")})
			}
			continue
		case '!', '%':
			body, status, _ := splitStatus(l[1:])
			if status == "ok" {
				if l[0] == '!' {
					decls = append(decls, setDecl(body))
				} else {
					decls = append(decls, objDecl(body))
				}
			}
			continue
		}
		rule, status, want := splitStatus(l)
		if status == "" {
			continue
		}
		sawRule = true
		if want == "" {
			want = rule
		}
		cs := map[string]string{}
		for k, v := range chains {
			cs[k] = v
		}
		out = append(out, tLine{file: rel, line: n, rule: rule, want: want, fail: status == "fail",
			tables: tables, chains: cs, decls: append([]string(nil), decls...)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// normRule makes a listing comparable as upstream's runner does: spaces
// collapsed, and the elements of each innermost { } sorted (anonymous set
// order is not significant).
func normRule(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			break
		}
		cl := strings.IndexByte(s[open:], '}')
		if cl < 0 {
			break
		}
		inner := s[open+1 : open+cl]
		if j := strings.LastIndexByte(inner, '{'); j >= 0 {
			b.WriteString(s[:open+1+j])
			s = s[open+1+j:]
			continue
		}
		el := strings.Split(inner, ",")
		for i := range el {
			el[i] = strings.TrimSpace(el[i])
		}
		sort.Strings(el)
		b.WriteString(s[:open])
		b.WriteString("{ " + strings.Join(el, ", ") + " }")
		s = s[open+cl+1:]
	}
	b.WriteString(s)
	return b.String()
}

// tResult is the outcome of one rules.t line.
type tResult int

const (
	tPass tResult = iota + 1
	tFail
	tUnsupported
)

// runTLine tries a line in every table and chain its file declares. An ok
// line passes when every listing matches; it is unsupported when any
// table does not parse or a statement fell back to RawStmt (construct
// names that). A fail line passes when every table rejects it.
func runTLine(tl tLine) (res tResult, construct, detail string) {
	rejected, tries := 0, 0
	for _, tb := range tl.tables {
		for _, ch := range tl.chains2(tb) {
			tries++
			var src strings.Builder
			fmt.Fprintf(&src, "table %s %s {\n", tb.family, tb.name)
			for _, d := range tl.decls {
				src.WriteString("\t" + d + "\n")
			}
			fmt.Fprintf(&src, "\tchain %s {\n\t\t%s;\n\t\t%s\n\t}\n}\n", ch, tl.chains[ch], tl.rule)
			f, err := ruleset.Parse(tl.file, []byte(src.String()), ruleset.Config{})
			var rs *ruleset.Ruleset
			if err == nil {
				rs, err = ruleset.Build(f)
			}
			if err == nil && tl.fail {
				err = ruleset.Check(rs)
			}
			if err != nil {
				rejected++
				if !tl.fail {
					return tUnsupported, "parse: " + firstWords(tl.rule, 2), strings.SplitN(err.Error(), "\n", 2)[0]
				}
				continue
			}
			if tl.fail {
				continue
			}
			r := findRule(rs, ch)
			if r == nil {
				return tFail, "", "rule not found"
			}
			if raw := rawWords(r.Stmts); raw != "" {
				if raw[0] == '@' {
					raw = "@base,offset,length"
				} else if c := raw[0]; !(c >= 'a' && c <= 'z') {
					raw = firstWords(tl.rule, 1) + "..."
				}
				return tUnsupported, "raw: " + firstWords(raw, 1), ""
			}
			got := ruleset.RuleString(r, rs.Tables[0].Family, ruleset.PrintOptions{Stateless: true, NumericProto: true})
			if normRule(got) != normRule(tl.want) {
				return tFail, "", fmt.Sprintf("%s %s: got %q", tb.family, ch, got)
			}
		}
	}
	if tl.fail {
		if rejected == tries {
			return tPass, "", ""
		}
		return tFail, "", "accepted"
	}
	return tPass, "", ""
}

// chains2 returns the chains of tb that the file declares.
func (tl tLine) chains2(tb tTable) []string {
	var cs []string
	for _, c := range tb.chains {
		if _, ok := tl.chains[c]; ok {
			cs = append(cs, c)
		}
	}
	return cs
}

func findRule(rs *ruleset.Ruleset, chain string) *ruleset.Rule {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			if c.Name == chain && len(c.Rules) > 0 {
				return c.Rules[0]
			}
		}
	}
	return nil
}

// rawWords names the first statement that fell back to RawStmt by its
// first two words, or returns "".
func rawWords(ss []ruleset.Stmt) string {
	for _, s := range ss {
		switch s := s.(type) {
		case *ruleset.RawStmt:
			return firstWords(strings.Join(s.Words, " "), 2)
		case *ruleset.DynsetStmt:
			if w := rawWords(s.Stmts); w != "" {
				return w
			}
		}
	}
	return ""
}

func firstWords(s string, n int) string {
	w := strings.Fields(s)
	if len(w) > n {
		w = w[:n]
	}
	return strings.Join(w, " ")
}

// topCounts formats the n largest counts of m, largest first.
func topCounts(m map[string]int, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for i, k := range keys {
		if i == n {
			break
		}
		fmt.Fprintf(&b, "\n  %4d  %s", m[k], k)
	}
	return b.String()
}

// TestRulesT replays nftables' py-test .t files: each rule is parsed in
// the tables and chains its file declares, printed as `nft -s -p list`
// would, and compared with the expected form; fail lines must be
// rejected.
func TestRulesT(t *testing.T) {
	skipNoCorpus(t)
	root := filepath.Join(corpus, "rules.t")
	files, _ := filepath.Glob(filepath.Join(root, "*", "*.t"))
	if len(files) == 0 {
		t.Fatalf("no .t files under %s", root)
	}
	nft106 := readNft106(t)
	known := map[string]bool{}
	if b, err := os.ReadFile(rulesTPass); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, _, _ := strings.Cut(l, "\t"); k != "" {
				known[k] = true
			}
		}
	}
	var (
		passing         []string
		total           [4]int
		unsupported     = map[string]int{}
		regressions     int
		newlyPassing    int
		failLines       [4]int // the results of "fail" lines alone
		verbose         = testing.Verbose()
		failDetailLimit = 0
	)
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		var n [4]int
		for _, tl := range readT(t, root, rel) {
			if w, ok := nft106[fmt.Sprintf("%s:%d", rel, tl.line)]; ok {
				tl.want = w
			}
			res, construct, detail := runTLine(tl)
			n[res]++
			total[res]++
			if tl.fail {
				failLines[res]++
			}
			key := fmt.Sprintf("%s:%d", rel, tl.line)
			switch res {
			case tPass:
				passing = append(passing, key+"\t"+tl.rule)
				if !known[key] {
					newlyPassing++
				}
			case tUnsupported:
				unsupported[construct]++
			case tFail:
				if verbose && failDetailLimit < 400 {
					failDetailLimit++
					t.Logf("FAIL %s %q want %q: %s", key, tl.rule, tl.want, detail)
				}
			}
			if res != tPass && known[key] {
				regressions++
				t.Errorf("regression: %s %q no longer passes (%s%s)", key, tl.rule, construct, detail)
			}
		}
		t.Logf("%-20s pass %4d  fail %4d  unsupported %4d", rel, n[tPass], n[tFail], n[tUnsupported])
	}
	t.Logf("rules.t: pass %d, fail %d, unsupported %d (of %d lines); %d newly passing",
		total[tPass], total[tFail], total[tUnsupported], total[tPass]+total[tFail]+total[tUnsupported], newlyPassing)
	t.Logf("of which fail lines: %d rejected, %d accepted", failLines[tPass], failLines[tFail])
	t.Logf("top unsupported constructs:%s", topCounts(unsupported, 15))
	if *update && regressions == 0 {
		sort.Strings(passing)
		if err := os.WriteFile(rulesTPass, []byte(strings.Join(passing, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if newlyPassing > 0 {
		t.Logf("%d lines pass that %s does not list; run with -update", newlyPassing, rulesTPass)
	}
}
