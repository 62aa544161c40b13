package ruleset_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hare-fw/hare/ruleset"
)

const corpus = "../../shared/testdata/rulesets"

func skipNoCorpus(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(corpus); err != nil {
		t.Skipf("skipping: shared corpus %s absent (%v)", corpus, err)
	}
}

// knownGood lists the corpus files whose print matches nft 1.0.6 exactly.
// A file here that stops matching is a regression; grow the list as the
// printer learns.
var knownGood = map[string]bool{
	"arch-desktop_inet-filter-reject.nft":                   true,
	"azurelinux_default-main.nft":                           true,
	"failsafe_minimal-inet.nft":                             true,
	"firezone_gateway-router-nat.nft":                       true,
	"golden/cache__0002_interval_0.input.nft":               true,
	"golden/cache__0011_index_0.input.nft":                  true,
	"golden/chains__0031priority_variable_0.input.nft":      true,
	"golden/chains__0032priority_variable_0.input.nft":      true,
	"golden/chains__0035policy_variable_0.input.nft":        true,
	"golden/maps__map_catchall_double_free_2.input.nft":     true,
	"golden/nft-f__0008split_tables_0.input.nft":            true,
	"golden/nft-f__0009variable_0.input.nft":                true,
	"golden/nft-f__0010variable_0.input.nft":                true,
	"golden/nft-f__0018ct_expectation_obj_0.input.nft":      true,
	"golden/nft-f__0018jump_variable_0.input.nft":           true,
	"golden/nft-f__0024priority_0.input.nft":                true,
	"golden/nft-f__0027split_chains_0.input.nft":            true,
	"golden/nft-f__0030variable_reuse_0.input.nft":          true,
	"golden/optionals__comments_chain_0.input.nft":          true,
	"golden/sets__0008create_verdict_map_0.input.nft":       true,
	"golden/sets__0015rulesetflush_0.input.nft":             true,
	"golden/sets__0027ipv6_maps_ipv4_0.input.nft":           true,
	"golden/sets__0033add_set_simple_flat_0.input.nft":      true,
	"golden/sets__0071unclosed_prefix_interval_0.input.nft": true,
	"golden/transactions__0002table_0.input.nft":            true,
	"golden/transactions__0013chain_0.input.nft":            true,
	"golden/transactions__0021rule_0.input.nft":             true,
	"homerouter_router-ipv6-repo-ipv4-nat-filter.nft":       true,
	"libreswan_ipsec-only-policy.nft":                       true,
	"nftables-upstream-example_ct-helpers.nft":              true,
	"nftables-upstream_default-configs/inet-filter.nft":     true,
	"nftables-upstream_default-configs/ipv4-filter.nft":     true,
	"nftables-upstream_default-configs/ipv4-mangle.nft":     true,
	"nftables-upstream_default-configs/ipv4-raw.nft":        true,
	"nftables-upstream_default-configs/ipv6-filter.nft":     true,
	"nftables-upstream_default-configs/ipv6-mangle.nft":     true,
	"nftables-upstream_default-configs/ipv6-raw.nft":        true,
	"nftables-upstream_default-configs/main.nft":            true,
	"openwrt-fw4_rule-notrack-raw.nft":                      true,
	"openwrt-fw4_wildcard-devices.nft":                      true,
	"openwrt-fw4_zone-masquerade.nft":                       true,
	"photon-os_default-ruleset.nft":                         true,
	"router-daemon_netd-base-nat-jumps.nft":                 true,
	"sdp-control-plane_ipv6-only-firewall.nft":              true,
	"vpn-netns_mullvad-inet-filter.nft":                     true,
	"yunohost_server-default-inet.nft":                      true,
}

// render parses, applies and prints a file.
func render(path string, handles bool) (string, error) {
	f, err := ruleset.ParseFile(path)
	if err != nil {
		return "", err
	}
	rs, err := ruleset.Build(f)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = ruleset.Print(&b, rs, ruleset.PrintOptions{Handles: handles})
	return b.String(), err
}

// goldenPairs returns input path -> expected path for the golden pairs and
// the real rulesets with an expected listing.
func goldenPairs(t *testing.T) map[string]string {
	pairs := map[string]string{}
	gs, _ := filepath.Glob(filepath.Join(corpus, "golden", "*.input.nft"))
	for _, in := range gs {
		pairs[in] = strings.TrimSuffix(in, ".input.nft") + ".expected.nft"
	}
	es, _ := filepath.Glob(filepath.Join(corpus, "expected", "*.nft"))
	for _, e := range es {
		in := filepath.Join(corpus, strings.ReplaceAll(filepath.Base(e), "__", "/"))
		if _, err := os.Stat(in); err == nil {
			pairs[in] = e
		}
	}
	return pairs
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n  want " + strings.TrimSpace(w) + "\n  got  " + strings.TrimSpace(g)
		}
	}
	return ""
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}

func TestGolden(t *testing.T) {
	skipNoCorpus(t)
	pairs := goldenPairs(t)
	var names []string
	for in := range pairs {
		names = append(names, in)
	}
	sort.Strings(names)
	pass := 0
	for _, in := range names {
		rel, _ := filepath.Rel(corpus, in)
		want, err := os.ReadFile(pairs[in])
		if err != nil {
			t.Fatal(err)
		}
		got, err := render(in, false)
		ok := err == nil && got == string(want)
		switch {
		case ok:
			pass++
			if !knownGood[rel] {
				t.Logf("PASS (new, add to knownGood) %s", rel)
			}
		case err != nil:
			t.Logf("FAIL %s: %v", rel, strings.SplitN(err.Error(), "\n", 2)[0])
		default:
			t.Logf("FAIL %s: %s", rel, firstDiff(string(want), got))
		}
		if !ok && knownGood[rel] {
			t.Errorf("regression: %s no longer prints as nft 1.0.6 does", rel)
		}
	}
	t.Logf("golden: %d of %d files print exactly as nft 1.0.6", pass, len(names))
}
