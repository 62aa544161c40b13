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
