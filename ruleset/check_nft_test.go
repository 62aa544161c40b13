package ruleset_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/hare-fw/hare/ruleset"
)

// checkPass lists the cases of check-cases.txt that nft rejects and
// Check rejects too; a listed case Check stops rejecting is a
// regression. Regenerate with go test ./ruleset -run TestCheckNft -update.
const checkPass = "testdata/check-pass.txt"

// readRefs reads testdata/check-nft.txt: case id -> "ok", "crash" or
// nft's first error message.
func readRefs(t *testing.T) map[string]string {
	b, err := os.ReadFile(checkRefs)
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

// TestCheckNft compares ruleset.Build and Check with nft -c on
// every case of check-cases.txt: Check must never reject a ruleset nft
// accepts, and every case listed in check-pass.txt must stay rejected.
func TestCheckNft(t *testing.T) {
	skipNoCorpus(t)
	cases := readCheckCases(t)
	refs := readRefs(t)
	known := map[string]bool{}
	if b, err := os.ReadFile(checkPass); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" {
				known[l] = true
			}
		}
	}
	var (
		pass                  []string
		nftRej, caught, crash int
		parseRej, falseParse  int
		missed                = map[string]int{}
		regressions           int
	)
	for _, cs := range cases {
		ref, ok := refs[cs.id]
		if !ok {
			t.Fatalf("case %q has no nft reference: run scripts/nft-check-refs.sh", cs.id)
		}
		if ref == "crash" {
			crash++
			continue
		}
		f, perr := ruleset.Parse("case", []byte(cs.src), ruleset.Config{})
		var berr, cerr error
		if perr == nil {
			var rs *ruleset.Ruleset
			if rs, berr = ruleset.Build(f); berr == nil {
				cerr = ruleset.Check(rs)
			}
		}
		if ref == "ok" {
			if cerr != nil {
				t.Errorf("%s: nft accepts, Check rejects: %v\n%s", cs.id, cerr, cs.src)
			} else if perr != nil || berr != nil {
				falseParse++
			}
			continue
		}
		nftRej++
		switch {
		case perr != nil || berr != nil:
			parseRej++
			pass = append(pass, cs.id)
		case cerr != nil:
			caught++
			pass = append(pass, cs.id)
		default:
			missed[ref]++
			if os.Getenv("CHECK_MISSED") != "" && strings.Contains(ref, os.Getenv("CHECK_MISSED")) {
				t.Logf("missed %s: %s", cs.id, ref)
			}
			if known[cs.id] {
				regressions++
				t.Errorf("regression: %s no longer rejected (nft: %s)", cs.id, ref)
			}
		}
	}
	t.Logf("nft rejects %d cases (%d crash nft): hare rejects %d (%d by parse/apply, %d by Check), accepts %d",
		nftRej, crash, parseRej+caught, parseRej, caught, nftRej-parseRej-caught)
	t.Logf("nft accepts, parse/apply rejects (not Check): %d", falseParse)
	t.Logf("top nft errors hare misses:%s", topCounts(missed, 40))
	if *update && regressions == 0 {
		sort.Strings(pass)
		if err := os.WriteFile(checkPass, []byte(strings.Join(pass, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
