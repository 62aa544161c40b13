package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/ruleset"
)

// bigRuleset is an inet filter table with n rules of the kinds real
// generated rulesets have (per-host, per-port, per-prefix accepts with
// counters; jumps to per-zone chains), for the load-time figures.
func bigRuleset(n int) string {
	var b strings.Builder
	b.WriteString("table inet filter {\n")
	zones := 10
	for z := 0; z < zones; z++ {
		fmt.Fprintf(&b, "\tchain zone%d {\n", z)
		for i := 0; i < n/(2*zones); i++ {
			k := z*n + i
			switch i % 4 {
			case 0:
				fmt.Fprintf(&b, "\t\tip saddr 10.%d.%d.%d tcp dport %d counter accept\n", z, k>>8&0xff, k&0xff, 1+k%60000)
			case 1:
				fmt.Fprintf(&b, "\t\tip6 saddr 2001:db8:%x::/48 udp dport { %d, %d } counter accept\n", k&0xffff, 1+k%60000, 2+k%60000)
			case 2:
				fmt.Fprintf(&b, "\t\tip daddr 192.168.%d.0/24 tcp dport %d-%d drop\n", k&0xff, 1000+k%1000, 2000+k%1000)
			default:
				fmt.Fprintf(&b, "\t\tct state new tcp dport %d counter reject with tcp reset\n", 1+k%60000)
			}
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n")
	b.WriteString("\t\tct state established,related accept\n")
	for i := 0; i < n/2-zones; i++ {
		switch i % zones {
		case 0:
			fmt.Fprintf(&b, "\t\tiifname \"eth%d\" jump zone%d\n", i%8, (i/zones)%zones)
		default:
			fmt.Fprintf(&b, "\t\tip saddr 172.16.%d.%d tcp dport %d accept comment \"rule %d\"\n", i>>8&0xff, i&0xff, 1+i%60000, i)
		}
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func loadSource(tb testing.TB, src []byte) *engine.Compiled {
	f, err := ruleset.Parse("big.nft", src, ruleset.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := ruleset.Build(f)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := engine.Compile(rs)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkLoad10k is parse + build + compile of a 10,000-rule file
// (issue 4: under 200 ms).
func BenchmarkLoad10k(b *testing.B) {
	src := []byte(bigRuleset(10000))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		loadSource(b, src)
	}
}

// BenchmarkUpdateAddRule is one `add rule` into the 10,000-rule ruleset of
// BenchmarkLoad10k through Engine.Apply: clone the source, apply, compile
// the new rule, re-index its chain, swap (issue 4: under 1 ms).
func BenchmarkUpdateAddRule(b *testing.B) {
	c := loadSource(b, []byte(bigRuleset(10000)))
	eng := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
	cmd, err := ruleset.Parse("cmd", []byte("add rule inet filter input ip saddr 192.0.2.1 tcp dport 8080 counter accept\n"), ruleset.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eng.Apply(cmd); err != nil {
			b.Fatal(err)
		}
	}
}
