package engine_test

import (
	"fmt"
	"strings"
	"testing"
)

// setRuleset is ruleset200's shape reduced to set lookups: every packet
// looks its source and destination up in a named ipv4_addr set of n single
// addresses and its source port in an inet_service set of n odd ports
// (at most 30,000; odd, so they stay single values and are not merged
// into one range).
func setRuleset(n int) string {
	var b strings.Builder
	b.WriteString("table inet filter {\n\tset big4 { type ipv4_addr; elements = { ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		// 11.0.0.0 upwards: none of the bench packets' addresses.
		fmt.Fprintf(&b, "11.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff)
	}
	b.WriteString(" } }\n\tset bigports { type inet_service; elements = { ")
	for i := range min(n, 30000) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d", 5537+2*i)
	}
	b.WriteString(` } }
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr @big4 counter drop
		ip daddr @big4 counter drop
		udp sport @bigports counter drop
		counter
	}
}
`)
	return b.String()
}

// BenchmarkSetSize shows a named set of 100,000 elements costs the same per
// packet as one of 10 (hash lookups; the port set is capped at 30,000).
func BenchmarkSetSize(b *testing.B) {
	for _, n := range []int{10, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c, err := compileString(setRuleset(n))
			if err != nil {
				b.Fatal(err)
			}
			benchEngine(b, c)
		})
	}
}

// bigSetRuleset is a ruleset whose every packet looks its source and
// destination up in one set of n elements of the given kind; the elements
// start at 11.0.0.0 and 2001:db9:: (none of the bench packets'), plus the
// bench captures' own addresses, so that both misses and hits are
// measured. The rules only count: every packet runs every lookup.
func bigSetRuleset(kind string, n int) string {
	var b strings.Builder
	decl := map[string]string{
		"exact":      "type ipv4_addr",
		"interval":   "type ipv4_addr; flags interval",
		"prefix6":    "type ipv6_addr; flags interval",
		"concat":     "type ipv4_addr . inet_service",
		"concat6":    "type ipv6_addr . inet_service",
		"concativ":   "type ipv4_addr . inet_service; flags interval",
		"vmapconcat": "type ipv4_addr . inet_service : verdict",
	}[kind]
	set := "set"
	if strings.HasPrefix(kind, "vmap") {
		set = "map"
	}
	fmt.Fprintf(&b, "table inet filter {\n\tchain c { counter }\n\t%s s { %s; elements = { ", set, decl)
	hits := map[string][]string{
		"exact": {"172.23.0.3", "192.0.2.10"}, "interval": {"172.23.0.2-172.23.0.3"}, "prefix6": {"2001:470:1f11:81f::/64"},
		"concat": {"172.23.0.3 . 21", "192.0.2.10 . 80"}, "concat6": {"2001:db8:1::10 . 80"}, "concativ": {"172.23.0.0/24 . 21-25"},
		"vmapconcat": {"172.23.0.3 . 21 : jump c"},
	}[kind]
	for i := range n {
		a, c, d := i>>16&0xff, i>>8&0xff, i&0xff
		switch kind {
		case "exact":
			fmt.Fprintf(&b, "11.%d.%d.%d, ", a, c, d)
		case "interval":
			// Disjoint two-address ranges.
			fmt.Fprintf(&b, "%d.%d.%d.%d-%d.%d.%d.%d, ", 11+a/64, a%64*4+c/64, c%64*4+d/64, d%64*4, 11+a/64, a%64*4+c/64, c%64*4+d/64, d%64*4+1)
		case "prefix6":
			fmt.Fprintf(&b, "2001:db9:%x:%x::/64, ", i>>16, i&0xffff)
		case "concat":
			fmt.Fprintf(&b, "11.%d.%d.%d . %d, ", a, c, d, 1+i%1000)
		case "concat6":
			fmt.Fprintf(&b, "2001:db9::%x:%x . %d, ", i>>16, i&0xffff, 1+i%1000)
		case "concativ":
			fmt.Fprintf(&b, "11.%d.%d.0/24 . %d-%d, ", a, c, d*10, d*10+5)
		case "vmapconcat":
			fmt.Fprintf(&b, "11.%d.%d.%d . %d : accept, ", a, c, d, 1+i%1000)
		}
	}
	b.WriteString(strings.Join(hits, ", "))
	b.WriteString(" }\n\t}\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n")
	switch kind {
	case "exact", "interval":
		b.WriteString("\t\tip saddr @s counter\n\t\tip daddr @s counter\n")
	case "prefix6":
		b.WriteString("\t\tip6 saddr @s counter\n\t\tip6 daddr @s counter\n")
	case "concat", "concativ":
		b.WriteString("\t\tip saddr . th dport @s counter\n\t\tip daddr . th sport @s counter\n")
	case "concat6":
		b.WriteString("\t\tip6 saddr . th dport @s counter\n\t\tip6 daddr . th sport @s counter\n")
	case "vmapconcat":
		b.WriteString("\t\tip saddr . th dport vmap @s\n")
	}
	b.WriteString("\t\tcounter\n\t}\n}\n")
	return b.String()
}

// BenchmarkSetMillion runs the bench packets through two lookups in a set
// of 1,000,000 elements (10 for comparison) of each kind: exact values
// and concatenations (hash: the same cost at any size), intervals and
// IPv6 prefixes (binary search: logarithmic). Interval concatenations are
// tested element by element, so they stop at 10,000.
func BenchmarkSetMillion(b *testing.B) {
	for _, kind := range []string{"exact", "interval", "prefix6", "concat", "concat6", "vmapconcat", "concativ"} {
		for _, n := range []int{10, 1000000} {
			if kind == "concativ" && n > 10000 {
				n = 10000
			}
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
				c, err := compileString(bigSetRuleset(kind, n))
				if err != nil {
					b.Fatal(err)
				}
				benchEngine(b, c)
			})
		}
	}
}

// BenchmarkCompileSetMillion is the time to parse, build and compile a
// ruleset with a set of 1,000,000 elements (one op = one ruleset).
func BenchmarkCompileSetMillion(b *testing.B) {
	for _, kind := range []string{"exact", "interval", "concat6"} {
		b.Run(kind, func(b *testing.B) {
			src := bigSetRuleset(kind, 1000000)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := compileString(src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
