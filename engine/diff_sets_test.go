package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Random sets and maps for the differential: concatenations (exact and
// interval, named and anonymous), verdict maps (anonymous with jumps,
// named, concatenated), and dynamic sets with sizes and timeouts short
// enough for the generated packets (1 ms apart) to see elements expire.

var exactPorts = []string{"22", "53", "80", "443"}

// genConcatElems writes n random exact `addr . port` elements.
func genConcatElems(r *rand.Rand, addrs []string, n int) string {
	seen := map[string]bool{}
	var out []string
	for range n {
		e := pick(r, addrs) + " . " + pick(r, exactPorts)
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return strings.Join(out, ", ")
}

// genMoreSets declares the sets and maps the generators below name.
func genMoreSets(r *rand.Rand, b *strings.Builder) {
	fmt.Fprintf(b, "\tset c4 { type ipv4_addr . inet_service; elements = { %s } }\n", genConcatElems(r, pool4, 1+r.IntN(5)))
	fmt.Fprintf(b, "\tset c6 { typeof ip6 saddr . th dport; elements = { %s } }\n", genConcatElems(r, pool6, 1+r.IntN(5)))
	fmt.Fprintf(b, "\tset ci4 { type ipv4_addr . inet_service; flags interval; elements = { %s } }\n",
		pick(r, []string{"10.0.0.0/8 . 1024-65535, 192.168.1.5 . 22", "10.0.0.1-10.0.0.2 . 0-79, 192.0.2.9 . 443", "0.0.0.0/0 . 53, 10.0.0.0/30 . 80-443"}))
	fmt.Fprintf(b, "\tmap vm { type inet_service : verdict; flags interval; elements = { %s } }\n",
		pick(r, []string{"22 : accept, 53 : drop, 80 : continue, 443 : return", "1024-65535 : drop, 22 : accept", "0-79 : accept, 80-1023 : drop"}))
	fmt.Fprintf(b, "\tmap vm2 { type ipv4_addr . inet_service : verdict; elements = { %s : accept, %s : drop } }\n",
		genConcatElems(r, pool4[:2], 1), genConcatElems(r, pool4[2:], 1))
	decl := ""
	if r.IntN(2) == 0 {
		decl = fmt.Sprintf(" elements = { %s timeout %dms, %s };", pick(r, pool4[:2]), 5+r.IntN(50), pick(r, pool4[2:]))
	}
	gc := ""
	if r.IntN(2) == 0 {
		gc = fmt.Sprintf(" gc-interval %dms;", 1+r.IntN(20))
	}
	fmt.Fprintf(b, "\tset dyn4 { type ipv4_addr; size %d; flags dynamic,timeout; timeout %dms;%s%s }\n", 2+r.IntN(3), 5+r.IntN(40), gc, decl)
	fmt.Fprintf(b, "\tset dynp { type ipv4_addr . inet_service; size %d; flags dynamic; }\n", 1+r.IntN(6))
}

// genSetMatch writes a match on a concatenation, a th field or a dynamic
// set.
func genSetMatch(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return fmt.Sprintf("ip %s . %s dport %s@c4", pick(r, []string{"saddr", "daddr"}), pick(r, []string{"tcp", "udp", "th"}), genOp(r))
	case 1:
		return "ip6 saddr . th dport " + genOp(r) + "@c6"
	case 2:
		return "ip saddr . tcp dport " + genOp(r) + "@ci4"
	case 3:
		return fmt.Sprintf("ip saddr . tcp dport %s{ %s }", genOp(r), genConcatElems(r, pool4, 1+r.IntN(3)))
	case 4:
		return "meta l4proto . th dport " + genOp(r) + pick(r, []string{"{ tcp . 22, udp . 53 }", "{ udp . 80, tcp . 443, icmp . 0 }"})
	case 5:
		return "ip saddr " + genOp(r) + "@dyn4"
	case 6:
		return "ip saddr . th dport " + genOp(r) + "@dynp"
	default:
		return "th dport " + genOp(r) + genValues(r, ports)
	}
}

// genVmap writes a verdict map statement; it may jump to chains c[from:nreg].
func genVmap(r *rand.Rand, from, nreg int) string {
	jump := "drop"
	if from < nreg {
		jump = fmt.Sprintf("%s c%d", pick(r, []string{"jump", "goto"}), from+r.IntN(nreg-from))
	}
	switch r.IntN(5) {
	case 0:
		return fmt.Sprintf("tcp dport vmap { 22 : accept, 80 : %s, 1024-65535 : drop, 443 : continue }", jump)
	case 1:
		return "udp dport vmap @vm"
	case 2:
		return "ip saddr . tcp dport vmap @vm2"
	case 3:
		return fmt.Sprintf("ct state vmap { established : accept, new : %s, invalid : drop }", jump)
	default:
		return fmt.Sprintf("ip saddr vmap { 10.0.0.0/30 : %s, 192.168.0.0/16 : accept, 192.0.2.9 : return }", jump)
	}
}

// genDynset writes a dynamic set statement.
func genDynset(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return "add @dyn4 { ip saddr }"
	case 1:
		return fmt.Sprintf("update @dyn4 { ip saddr timeout %dms }", 5+r.IntN(30))
	case 2:
		return "delete @dyn4 { ip " + pick(r, []string{"saddr", "daddr"}) + " }"
	case 3:
		return "add @dynp { ip saddr . th dport }"
	default:
		return "delete @dynp { ip daddr . th sport }"
	}
}
