package ruleset_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var genCheck = flag.Bool("gencheck", false, "rewrite testdata/check-cases.txt from rules.t and its mutations")

// checkCases holds the rulesets whose accept/reject is compared with nft
// -c (scripts/nft-check-refs.sh writes checkRefs from it). Each case is a
// block "@ ID" followed by the ruleset text, blocks separated by a blank
// line.
const (
	checkCases = "testdata/check-cases.txt"
	checkRefs  = "testdata/check-nft.txt"
)

// checkCase is one ruleset to check.
type checkCase struct {
	id  string
	src string
}

// tableSrc returns the ruleset of tl's rule (or rule, when not empty) in
// table tb, chain ch.
func tableSrc(tl tLine, tb tTable, ch, rule string) string {
	var src strings.Builder
	fmt.Fprintf(&src, "table %s %s {\n", tb.family, tb.name)
	for _, d := range tl.decls {
		src.WriteString("\t" + d + "\n")
	}
	fmt.Fprintf(&src, "\tchain %s {\n\t\t%s;\n\t\t%s\n\t}\n}\n", ch, tl.chains[ch], rule)
	return src.String()
}

var (
	// numberRE finds a decimal number standing alone (not part of an
	// address, prefix, time or hex value).
	numberRE = regexp.MustCompile(`(^|[ ,{\-])([0-9]+)($|[ ,}\-])`)
	// wordRE finds a lower-case word standing alone.
	wordRE = regexp.MustCompile(`(^|[ ,{])([a-z][a-z0-9\-]*[a-z0-9])($|[ ,}])`)
)

// mutSymbols are words that stand for values (service, protocol, ICMP
// type, ct state, TCP flag, DSCP names and the like): the symbol
// mutation misspells one of them.
var mutSymbols = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`ssh http https domain ftp telnet smtp ntp bootps bootpc
		tcp udp icmp icmpv6 sctp dccp esp ah gre udplite comp igmp ipv6-icmp
		echo-request echo-reply destination-unreachable time-exceeded parameter-problem
		nd-neighbor-solicit nd-neighbor-advert nd-router-advert nd-router-solicit packet-too-big
		router-advertisement router-solicitation redirect source-quench mld-listener-query
		port-unreachable host-unreachable net-unreachable admin-prohibited no-route addr-unreachable
		new established related invalid untracked expected seen-reply assured confirmed snat dnat dying
		syn ack fin rst psh urg ecn cwr cs0 cs1 cs4 cs7 af11 af41 ef
		original reply ip ip6 inet arp bridge ipv4 ipv6 host unicast broadcast multicast other
		ether loopback ppp ipip gretap`) {
		mutSymbols[w] = true
	}
}

// mutants returns the mutations of a rule nft accepts: a number made
// too large for any field width, a symbol misspelt.
func mutants(rule string) map[string]string {
	out := map[string]string{}
	if m := numberRE.FindStringSubmatchIndex(rule); m != nil {
		for _, n := range []string{"256", "70000", "4294967296"} {
			out["num"+n] = rule[:m[4]] + n + rule[m[5]:]
		}
	}
	for _, m := range wordRE.FindAllStringSubmatchIndex(rule, -1) {
		if w := rule[m[4]:m[5]]; mutSymbols[w] && m[4] > 0 {
			out["sym"] = rule[:m[4]] + w + "x" + rule[m[5]:]
			break
		}
	}
	return out
}

// otherFamily is the table a rule of family fam is moved to by the
// family mutation.
var otherFamily = map[string]tTable{
	"ip":     {family: "ip6", name: "test-ip6"},
	"ip6":    {family: "ip", name: "test-ip4"},
	"inet":   {family: "arp", name: "test-arp"},
	"bridge": {family: "ip", name: "test-ip4"},
}

// genCheckCases builds every case: each rules.t line in each table and
// chain its file declares, then mutations of the first table of each ok
// line.
func genCheckCases(t *testing.T) []checkCase {
	root := filepath.Join(corpus, "rules.t")
	files, _ := filepath.Glob(filepath.Join(root, "*", "*.t"))
	var cases []checkCase
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		for _, tl := range readT(t, root, rel) {
			key := fmt.Sprintf("%s:%d", rel, tl.line)
			first := true
			for _, tb := range tl.tables {
				for _, ch := range tl.chains2(tb) {
					cases = append(cases, checkCase{fmt.Sprintf("t %s %s/%s", key, tb.family, ch), tableSrc(tl, tb, ch, tl.rule)})
					if tl.fail || !first {
						continue
					}
					first = false
					ms := mutants(tl.rule)
					names := make([]string, 0, len(ms))
					for k := range ms {
						names = append(names, k)
					}
					sort.Strings(names)
					for _, k := range names {
						cases = append(cases, checkCase{fmt.Sprintf("m-%s %s %s/%s", k, key, tb.family, ch), tableSrc(tl, tb, ch, ms[k])})
					}
					if o, ok := otherFamily[tb.family]; ok && len(tl.tables) == 1 {
						cases = append(cases, checkCase{fmt.Sprintf("m-fam %s %s/%s", key, o.family, ch), tableSrc(tl, o, ch, tl.rule)})
					}
				}
			}
		}
	}
	return cases
}

// readCheckCases reads testdata/check-cases.txt.
func readCheckCases(t *testing.T) []checkCase {
	b, err := os.ReadFile(checkCases)
	if err != nil {
		t.Fatal(err)
	}
	var out []checkCase
	for _, blk := range strings.Split(string(b), "\n\n") {
		id, src, ok := strings.Cut(blk, "\n")
		if !ok || !strings.HasPrefix(id, "@ ") {
			continue
		}
		out = append(out, checkCase{strings.TrimPrefix(id, "@ "), src + "\n"})
	}
	return out
}

// TestGenCheckCases rewrites testdata/check-cases.txt with -gencheck;
// otherwise it verifies that the committed file is what the generator
// makes now (so the nft references stay in step with the cases).
func TestGenCheckCases(t *testing.T) {
	skipNoCorpus(t)
	cases := genCheckCases(t)
	var b strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&b, "@ %s\n%s\n", c.id, c.src)
	}
	if *genCheck {
		if err := os.WriteFile(checkCases, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(checkCases)
	if err != nil {
		t.Fatal(err)
	}
	if string(old) != b.String() {
		t.Fatalf("%s is stale: run go test ./ruleset -run TestGenCheckCases -gencheck, then scripts/nft-check-refs.sh", checkCases)
	}
}
