package ruleset

import (
	"strings"
	"testing"
)

// TestImplicitDepsListing: the want text is what `nft list ruleset`
// (nft 1.0.6, kernel 6.18) printed after `nft -f` of src in a throw-away
// network namespace on 2026-11-23; the hidden dependencies were read from
// `nft --debug=netlink list ruleset` at the same time.
func TestImplicitDepsListing(t *testing.T) {
	const src = `table inet t {
	chain c {
		type filter hook input priority 0;
		reject with tcp reset
		ip saddr 10.0.0.1 reject with tcp reset
		tcp dport 22 reject with tcp reset
		meta l4proto tcp reject with tcp reset
		ip protocol tcp reject with tcp reset
		counter reject with tcp reset
		reject with icmp type host-unreachable
		reject with icmpv6 type admin-prohibited
	}
}
table ip u {
	chain c {
		type filter hook input priority 0;
		reject with tcp reset
	}
}
`
	const want = `table inet t {
	chain c {
		type filter hook input priority filter; policy accept;
		meta l4proto tcp reject with tcp reset
		meta l4proto tcp ip saddr 10.0.0.1 reject with tcp reset
		tcp dport 22 reject with tcp reset
		meta l4proto tcp reject with tcp reset
		ip protocol tcp reject with tcp reset
		meta l4proto tcp counter packets 0 bytes 0 reject with tcp reset
		reject with icmp host-unreachable
		reject with icmpv6 admin-prohibited
	}
}
table ip u {
	chain c {
		type filter hook input priority filter; policy accept;
		reject with tcp reset
	}
}
`
	rs := buildString(t, src)
	var b strings.Builder
	if err := Print(&b, rs, PrintOptions{}); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// The hidden ones: ip u's tcp dependency, inet's nfproto ones.
	deps := ImplicitDeps(rs.Tables[1].Chains[0].Rules[0].Stmts, FamilyIP)
	if len(deps) != 1 || deps[0].Listed || joinWords(deps[0].Match.X.(*Selector).Words) != "meta l4proto" {
		t.Errorf("ip table tcp reset deps: %+v", deps)
	}
	for i, want := range map[int]string{6: "ipv4", 7: "ipv6"} {
		deps := ImplicitDeps(rs.Tables[0].Chains[0].Rules[i].Stmts, FamilyInet)
		if len(deps) != 1 || deps[0].Listed || deps[0].Match.Y.(*Value).Text != want {
			t.Errorf("rule %d deps: %+v, want hidden meta nfproto %s", i, deps, want)
		}
	}
}
