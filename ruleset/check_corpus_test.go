package ruleset_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/hare-fw/hare/ruleset"
)

// TestCheckCorpus checks every golden and real-world ruleset that nft
// 1.0.6 loaded (each has the listing nft printed after loading it):
// Check must accept them all.
func TestCheckCorpus(t *testing.T) {
	skipNoCorpus(t)
	pairs := goldenPairs(t)
	ins := make([]string, 0, len(pairs))
	for in := range pairs {
		ins = append(ins, in)
	}
	sort.Strings(ins)
	checked := 0
	for _, in := range ins {
		rs, err := loadCorpusFile(in)
		if err != nil {
			continue // not parsed yet: TestGolden reports it
		}
		checked++
		if err := ruleset.Check(rs); err != nil {
			t.Errorf("%s: nft loads it, Check rejects: %v", in, err)
		}
	}
	t.Logf("Check accepts %d of %d corpus rulesets that parse", checked, len(ins))
	if checked == 0 {
		t.Fatal("no corpus ruleset parsed")
	}
}

// TestCheckError shows the error Check gives: nft's wording, the
// position of the offending value and a caret under it.
func TestCheckError(t *testing.T) {
	src := "table ip t {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t\ttcp dport 22 ct state xxx accept\n\t\tip ttl 300\n\t}\n}\n"
	f, err := ruleset.Parse("x.nft", []byte(src), ruleset.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ruleset.Build(f)
	if err != nil {
		t.Fatal(err)
	}
	err = ruleset.Check(rs)
	if err == nil {
		t.Fatal("Check accepted ct state xxx")
	}
	// nft -c -f x.nft prints x.nft:4:25-27: Error: Could not parse
	// conntrack state, and x.nft:5:10-12: Error: Value 300 exceeds
	// valid range 0-255.
	want := "x.nft:4:25: Error: Could not parse conntrack state\n\t\ttcp dport 22 ct state xxx accept\n\t\t                      ^^^\n" +
		"x.nft:5:10: Error: Value 300 exceeds valid range 0-255\n\t\tip ttl 300\n\t\t       ^^^"
	if got := err.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(err.Error(), "^^^") {
		t.Error("no caret")
	}
}
