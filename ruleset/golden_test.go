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
	"nftables-upstream-example_sets-and-maps.nft":             true,
	"embedded-rpi_default-deny-inet-synflood-icmpv6.nft":      true,
	"openwrt-fw4_rule-time-constraints.nft":                   true,
	"golden/bitwise__0040mark_binop_0.input.nft":              true,
	"golden/bitwise__0040mark_binop_1.input.nft":              true,
	"golden/maps__0010concat_map_0.input.nft":                 true,
	"golden/nft-f__0017ct_timeout_obj_0.input.nft":            true,
	"golden/optionals__log_prefix_0.input.nft":                true,
	"golden/sets__0001named_interval_0.input.nft":             true,
	"golden/sets__0042update_set_0.input.nft":                 true,
	"nixos-host_eligos-inet-filter-nat-counters.nft":          true,
	"openwrt-fw4_redirect-dnat-reflection.nft":                true,
	"openwrt-fw4_rule-icmp-icmpv6.nft":                        true,
	"pep-proxy_pepsal-tproxy-ctmark.nft":                      true,
	"transparent-proxy_v2ray-tproxy-inet-netdev.nft":          true,
	"golden/sets__0045concat_ipv4_service.input.nft":          true,
	"golden/nft-f__0025empty_dynset_0.input.nft":              true,
	"golden/maps__0012map_0.input.nft":                        true,
	"golden/comments__comments_0.input.nft":                   true,
	"wikimedia_base-glob-includes-notrack.nft":                true,
	"proxmox-bgp-edge_list-ruleset-nat-ipv6-sets.nft":         true,
	"golden/sets__0026named_limit_0.input.nft":                true,
	"golden/sets__0024synproxy_0.input.nft":                   true,
	"golden/nft-f__0032pknock_0.input.nft":                    true,
	"dshield-honeypot_add-rule-commands.nft":                  true,
	"qubesos_netvm-ipv6-filter-icmpv6.nft":                    true,
	"qubesos_netvm-ipv4-filter-nat.nft":                       true,
	"openwrt-fw4_zone-noncontiguous-masks.nft":                true,
	"openwrt-fw4_ipset-usage.nft":                             true,
	"rhel8_notrack-raw-stateless.nft":                         true,
	"openwrt-fw4_rule-mangle-dscp-mark.nft":                   true,
	"nixos-router_the-hub-inet-nat.nft":                       true,
	"nanopi-r2s-router_inet-vmap-defines.nft":                 true,
	"homelab-wireguard_inet-nat66.nft":                        true,
	"golden/nft-f__0022variables_0.input.nft":                 true,
	"game-host_ddos-meters-dynsets.nft":                       true,
	"homelab_base-inet-ctmark-reject.nft":                     true,
	"nftables-upstream_default-configs/netdev-ingress.nft":    true,
	"nftables-upstream_default-configs/ipv6-nat.nft":          true,
	"nftables-upstream_default-configs/ipv4-nat.nft":          true,
	"nftables-upstream_default-configs/inet-nat.nft":          true,
	"nftables-upstream_default-configs/bridge-filter.nft":     true,
	"nftables-upstream_default-configs/arp-filter.nft":        true,
	"nftables-upstream_default-configs/all-in-one.nft":        true,
	"hardening-guide_harbian-ip-filter-tcpflags-frag-log.nft": true,
	"golden/chains__0043chain_ingress_0.input.nft":            true,
	"cni-plugins_worker-generated-all-families.nft":           true,
	"golden/transactions__doubled-set.input.nft":              true,
	"golden/transactions__0042_stateful_expr_0.input.nft":     true,
	"golden/transactions__0039set_0.input.nft":                true,
	"golden/transactions__0035set_0.input.nft":                true,
	"golden/sets__range_with_same_start_end.input.nft":        true,
	"golden/sets__0051set_interval_counter_0.input.nft":       true,
	"golden/sets__0048set_counters_0.input.nft":               true,
	"golden/sets__0021nesting_0.input.nft":                    true,
	"golden/maps__0013map_0.input.nft":                        true,
	"golden/maps__0012map_concat_0.input.nft":                 true,
	"wireless-router_apu2-ip-filter-nat-reject.nft":           true,
	"server_ip-ip6-input-named-sets.nft":                      true,
	"docker-swarm-host_ip-ip6-filter-icmpv6-nd.nft":           true,
	"arch-desktop_inet-filter-reject.nft":                     true,
	"azurelinux_default-main.nft":                             true,
	"failsafe_minimal-inet.nft":                               true,
	"firezone_gateway-router-nat.nft":                         true,
	"golden/cache__0002_interval_0.input.nft":                 true,
	"golden/cache__0011_index_0.input.nft":                    true,
	"golden/chains__0031priority_variable_0.input.nft":        true,
	"golden/chains__0032priority_variable_0.input.nft":        true,
	"golden/chains__0035policy_variable_0.input.nft":          true,
	"golden/maps__map_catchall_double_free_2.input.nft":       true,
	"golden/nft-f__0008split_tables_0.input.nft":              true,
	"golden/nft-f__0009variable_0.input.nft":                  true,
	"golden/nft-f__0010variable_0.input.nft":                  true,
	"golden/nft-f__0018ct_expectation_obj_0.input.nft":        true,
	"golden/nft-f__0018jump_variable_0.input.nft":             true,
	"golden/nft-f__0024priority_0.input.nft":                  true,
	"golden/nft-f__0027split_chains_0.input.nft":              true,
	"golden/nft-f__0030variable_reuse_0.input.nft":            true,
	"golden/optionals__comments_chain_0.input.nft":            true,
	"golden/sets__0008create_verdict_map_0.input.nft":         true,
	"golden/sets__0015rulesetflush_0.input.nft":               true,
	"golden/sets__0027ipv6_maps_ipv4_0.input.nft":             true,
	"golden/sets__0033add_set_simple_flat_0.input.nft":        true,
	"golden/sets__0071unclosed_prefix_interval_0.input.nft":   true,
	"golden/transactions__0002table_0.input.nft":              true,
	"golden/transactions__0013chain_0.input.nft":              true,
	"golden/transactions__0021rule_0.input.nft":               true,
	"homerouter_router-ipv6-repo-ipv4-nat-filter.nft":         true,
	"libreswan_ipsec-only-policy.nft":                         true,
	"nftables-upstream-example_ct-helpers.nft":                true,
	"nftables-upstream_default-configs/inet-filter.nft":       true,
	"nftables-upstream_default-configs/ipv4-filter.nft":       true,
	"nftables-upstream_default-configs/ipv4-mangle.nft":       true,
	"nftables-upstream_default-configs/ipv4-raw.nft":          true,
	"nftables-upstream_default-configs/ipv6-filter.nft":       true,
	"nftables-upstream_default-configs/ipv6-mangle.nft":       true,
	"nftables-upstream_default-configs/ipv6-raw.nft":          true,
	"nftables-upstream_default-configs/main.nft":              true,
	"openwrt-fw4_rule-notrack-raw.nft":                        true,
	"openwrt-fw4_wildcard-devices.nft":                        true,
	"openwrt-fw4_zone-masquerade.nft":                         true,
	"photon-os_default-ruleset.nft":                           true,
	"router-daemon_netd-base-nat-jumps.nft":                   true,
	"sdp-control-plane_ipv6-only-firewall.nft":                true,
	"vpn-netns_mullvad-inet-filter.nft":                       true,
	"yunohost_server-default-inet.nft":                        true,
}

// renderRuleset parses, applies and prints a file; it returns the
// applied ruleset too.
func renderRuleset(path string, handles bool) (string, *ruleset.Ruleset, error) {
	rs, err := loadCorpusFile(path)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	err = ruleset.Print(&b, rs, ruleset.PrintOptions{Handles: handles})
	return b.String(), rs, err
}

// loadCorpusFile parses and applies a corpus file as the corpus loaded it
// into nft: a file whose first command is "delete table" replaces a table
// that must exist, so that table is created first (MANIFEST.md: the
// sets-and-maps example "after add table ip filter").
func loadCorpusFile(path string) (*ruleset.Ruleset, error) {
	f, err := ruleset.ParseFile(path)
	if err != nil {
		return nil, err
	}
	rs := &ruleset.Ruleset{}
	if len(f.Commands) > 0 && f.Commands[0].Verb == "delete" && f.Commands[0].Kind == "table" {
		c := *f.Commands[0]
		c.Verb = "add"
		if err := rs.Apply(&c); err != nil {
			return nil, err
		}
	}
	for _, c := range f.Commands {
		if err := rs.Apply(c); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// countRaw adds to m, per construct (the first word of the statement),
// the statements of rs that fell back to RawStmt.
func countRaw(m map[string]int, rs *ruleset.Ruleset) {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				var walk func([]ruleset.Stmt)
				walk = func(ss []ruleset.Stmt) {
					for _, s := range ss {
						switch s := s.(type) {
						case *ruleset.RawStmt:
							m[firstWords(strings.Join(s.Words, " "), 1)]++
						case *ruleset.DynsetStmt:
							walk(s.Stmts)
						}
					}
				}
				walk(r.Stmts)
			}
		}
	}
}

// diffCause names what a first difference is about: the two words of the
// expected line before the first differing word ("ct state", "elements
// ="), or its first word when the lines differ from the start.
func diffCause(want, got string) string {
	ww, gw := strings.Fields(want), strings.Fields(got)
	i := 0
	for i < len(ww) && i < len(gw) && ww[i] == gw[i] {
		i++
	}
	switch {
	case len(ww) == 0:
		return "(extra output)"
	case i == 0:
		return ww[0]
	case i == 1:
		return ww[0]
	}
	return ww[i-2] + " " + ww[i-1]
}

// goldenPairs returns input path -> expected path for the golden pairs and
// the real rulesets with an expected listing.
func goldenPairs(t *testing.T) map[string]string {
	pairs := map[string]string{}
	gs, _ := filepath.Glob(filepath.Join(corpus, "golden", "*.input.nft"))
	for _, in := range gs {
		pairs[in] = strings.TrimSuffix(in, ".input.nft") + ".expected.nft"
		// Where nft 1.0.6 lists the file differently from the upstream
		// dump, the corpus holds its own listing: that is the target.
		if own := strings.TrimSuffix(in, ".input.nft") + ".expected-nft1.0.6.nft"; fileExists(own) {
			pairs[in] = own
		}
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

// firstDiffCause describes the first line where want and got differ,
// and names its diffCause.
func firstDiffCause(want, got string) (string, string) {
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
			return "line " + itoa(i+1) + ":\n  want " + strings.TrimSpace(w) + "\n  got  " + strings.TrimSpace(g), diffCause(w, g)
		}
	}
	return "", ""
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
	raw, causes := map[string]int{}, map[string]int{}
	for _, in := range names {
		rel, _ := filepath.Rel(corpus, in)
		want, err := os.ReadFile(pairs[in])
		if err != nil {
			t.Fatal(err)
		}
		got, rs, err := renderRuleset(in, false)
		if rs != nil {
			countRaw(raw, rs)
		}
		ok := err == nil && got == string(want)
		switch {
		case ok:
			pass++
			if !knownGood[rel] {
				t.Logf("PASS (new, add to knownGood) %s", rel)
			}
		case err != nil:
			causes["(error) "+firstWords(err.Error()[strings.LastIndex(strings.SplitN(err.Error(), "\n", 2)[0], ": ")+2:], 3)]++
			t.Logf("FAIL %s: %v", rel, strings.SplitN(err.Error(), "\n", 2)[0])
		default:
			d, cause := firstDiffCause(string(want), got)
			causes[cause]++
			t.Logf("FAIL %s: %s", rel, d)
		}
		if !ok && knownGood[rel] {
			t.Errorf("regression: %s no longer prints as nft 1.0.6 does", rel)
		}
	}
	t.Logf("golden: %d of %d files print exactly as nft 1.0.6", pass, len(names))
	t.Logf("statements that fell back to RawStmt, by first word:%s", topCounts(raw, 20))
	t.Logf("first-difference causes (words before the first differing word):%s", topCounts(causes, 20))
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
