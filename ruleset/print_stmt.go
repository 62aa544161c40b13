package ruleset

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// l4Selectors maps header keywords to the inet_proto value their implicit
// dependency matches.
var l4Selectors = map[string]string{"tcp": "tcp", "udp": "udp", "udplite": "udplite", "sctp": "sctp", "dccp": "dccp", "icmp": "icmp", "icmpv6": "ipv6-icmp", "ah": "ah", "esp": "esp", "comp": "comp", "igmp": "igmp"}

// ruleString prints a rule. It drops explicit matches that repeat the
// dependency nft adds implicitly, as the kernel listing shows them (see
// redundantDeps).
func ruleString(r *Rule, pc ctx) string {
	stmts := listedDeps(r.Stmts, pc.family)
	drop, th := redundantDeps(stmts, pc.family)
	var parts []string
	for i, s := range stmts {
		if drop[i] {
			continue
		}
		if p, ok := th[i]; ok {
			m := *s.(*Match)
			sel := *m.X.(*Selector)
			sel.Words = append([]string{p}, sel.Words[1:]...)
			m.X = &sel
			s = &m
		}
		parts = append(parts, stmtString(s, pc))
	}
	if r.Comment != "" {
		parts = append(parts, fmt.Sprintf("comment \"%s\"", r.Comment))
	}
	return strings.Join(parts, " ")
}

// redundantDeps finds the matches nft 1.0.6 does not list because a later
// match of the same rule implies them, with only other matches in between
// (any other statement ends the run):
//
//   - meta l4proto P (ip protocol P in family ip), before a match on the
//     P header (tcp dport, ip saddr . tcp dport, ...); "th" after it lists
//     as the protocol itself (meta l4proto tcp th dport 22 is tcp dport 22);
//   - meta nfproto ipv4|ipv6 (inet), before a match on the ip|ip6 header, on
//     icmp|icmpv6, or meta l4proto icmp|ipv6-icmp.
//
// nft keeps `ip protocol tcp` in inet tables and `meta nfproto ipv4` before
// a transport header.
func redundantDeps(stmts []Stmt, fam Family) (drop []bool, th map[int]string) {
	drop = make([]bool, len(stmts))
	l3, l4 := -1, -1 // candidate dependency statements
	var l3val, l4val string
	for i, st := range stmts {
		m, ok := st.(*Match)
		if !ok {
			// The key of a set statement or meter depends on its
			// header too (update @s { ip saddr } after meta nfproto
			// ipv4).
			var key Expr
			switch d := st.(type) {
			case *DynsetStmt:
				key = d.Key
			case *MeterStmt:
				key = d.Key
			}
			if l3 >= 0 && key != nil {
				for _, h := range matchHeaders(key) {
					if l3val == "ipv4" && h == "ip" || l3val == "ipv6" && h == "ip6" {
						drop[l3] = true
					}
				}
			}
			l3, l4 = -1, -1
			continue
		}
		heads := matchHeaders(m.X)
		if l4 >= 0 {
			for _, h := range heads {
				if l4Selectors[h] == l4val {
					drop[l4] = true
				}
				if h == "th" && l4Selectors[l4val] == l4val && l4val != "icmp" && l4val != "igmp" {
					if _, isSel := m.X.(*Selector); isSel {
						drop[l4] = true
						if th == nil {
							th = map[int]string{}
						}
						th[i] = l4val
					}
				}
			}
		}
		if l3 >= 0 {
			for _, h := range heads {
				if l3val == "ipv4" && (h == "ip" || h == "icmp") || l3val == "ipv6" && (h == "ip6" || h == "icmpv6") {
					drop[l3] = true
				}
			}
		}
		sel, ok := m.X.(*Selector)
		v, okv := m.Y.(*Value)
		if !ok || !okv || m.Op != "" && m.Op != "==" {
			continue
		}
		key := strings.Join(sel.Words, " ")
		val := valueString(v, ctx{typ: selectorType(sel)})
		switch {
		case key == "meta l4proto" || key == "ip protocol" && fam == FamilyIP:
			if l3 >= 0 && (l3val == "ipv4" && val == "icmp" || l3val == "ipv6" && val == "ipv6-icmp") {
				drop[l3] = true
			}
			l4, l4val = i, val
		case key == "meta nfproto" && fam == FamilyInet:
			l3, l3val = i, val
		}
	}
	return drop, th
}

// matchHeaders returns the first word of every selector in x.
func matchHeaders(x Expr) []string {
	switch x := x.(type) {
	case *Selector:
		return []string{x.Words[0]}
	case *Binop:
		return append(matchHeaders(x.X), matchHeaders(x.Y)...)
	case *Concat:
		var hs []string
		for _, y := range x.Xs {
			hs = append(hs, matchHeaders(y)...)
		}
		return hs
	}
	return nil
}

func stmtString(s Stmt, pc ctx) string {
	fam := pc.family
	switch s := s.(type) {
	case *Match:
		if y, ok := singleElem(s.Y); ok {
			m := *s
			m.Y = y
			s = &m
		}
		c := pc.as(typeOfExpr(s.X))
		x := exprString(s.X, pc.as(""))
		y := exprString(s.Y, c)
		if b, ok := s.X.(*Binop); ok {
			if f, ok := flagMatch(s, b); ok {
				return f
			}
			y = exprString(s.Y, pc.as(typeOfExpr(b.X)))
			x = binopString(b, pc.as(""), pc.as(typeOfExpr(b.X)))
			// nft 1.0.6 writes == after a bit operation with a value
			// (meta mark & 0xff == 0x10).
			if _, isVal := s.Y.(*Value); isVal && (s.Op == "" || s.Op == "==") {
				return x + " == " + y
			}
		}
		op := s.Op
		if op == "==" && !(flagBits[c.typ] != nil && isNumber(s.Y)) {
			// nft keeps == only before a number on a bitmask type.
			op = ""
		}
		if op != "" {
			return x + " " + op + " " + y
		}
		return x + " " + y
	case *VerdictStmt:
		return exprString(&s.Verdict, pc.as(""))
	case *VmapStmt:
		return exprString(s.X, pc.as("")) + " vmap " + exprString(s.Map, pc.as(typeOfExpr(s.X)))
	case *CounterStmt:
		if s.Name != nil {
			return "counter name " + objRefString(s.Name, pc)
		}
		if pc.opts.Stateless {
			return "counter"
		}
		return fmt.Sprintf("counter packets %d bytes %d", s.Packets, s.Bytes)
	case *LogStmt:
		var b strings.Builder
		b.WriteString("log")
		for _, o := range s.Opts {
			if isDefaultLogLevel(o) {
				continue
			}
			b.WriteString(" " + o.Key + " ")
			if v, ok := o.Value.(*Value); ok && o.Key == "prefix" {
				b.WriteString(nftQuote(v.Text))
			} else {
				b.WriteString(exprString(o.Value, pc.as("")))
			}
		}
		return b.String()
	case *LimitStmt:
		if s.Name != nil {
			return "limit name " + exprString(s.Name, pc.as(""))
		}
		var b strings.Builder
		b.WriteString("limit rate ")
		if s.Over {
			b.WriteString("over ")
		}
		if s.RateUnit != "" {
			fmt.Fprintf(&b, "%d %s/%s", s.Rate, s.RateUnit, s.Per)
		} else {
			fmt.Fprintf(&b, "%d/%s", s.Rate, s.Per)
		}
		// nft 1.0.6 omits the default burst of 5 packets.
		if s.Burst != 0 && !(s.RateUnit == "" && s.Burst == 5) {
			unit := s.BurstUnit
			if unit == "" {
				unit = "packets"
			}
			fmt.Fprintf(&b, " burst %d %s", s.Burst, unit)
		}
		return b.String()
	case *QuotaStmt:
		if s.Name != nil {
			return "quota name " + objRefString(s.Name, pc)
		}
		q := "quota "
		if s.Over {
			q += "over "
		}
		q += bytesString(s.Bytes)
		if s.Used != 0 && !pc.opts.Stateless {
			q += " used " + bytesString(s.Used)
		}
		return q
	case *RejectStmt:
		switch {
		case s.With == "":
			return "reject"
		case s.With == "tcp":
			return "reject with tcp reset"
		}
		t := exprString(s.Type, pc.as(""))
		// The family default (port-unreachable) is not printed.
		if t == "port-unreachable" && (s.With == "icmp" && fam == FamilyIP || s.With == "icmpv6" && fam == FamilyIP6 || s.With == "icmpx" && fam == FamilyInet) {
			return "reject"
		}
		return "reject with " + s.With + " " + t
	case *NatStmt:
		var b strings.Builder
		b.WriteString(s.Kind)
		if f := natFamily(s, fam); f != "" {
			b.WriteString(" " + f)
		}
		if s.Addr != nil || s.Port != nil {
			b.WriteString(" to")
			if s.Prefix {
				b.WriteString(" prefix")
			}
			if s.Addr != nil {
				typ := "ipv4_addr"
				if natFamily(s, fam) == "ip6" || fam == FamilyIP6 {
					typ = "ipv6_addr"
				}
				a := exprString(s.Addr, pc.as(typ))
				if typ == "ipv6_addr" && s.Port != nil {
					a = "[" + a + "]"
				}
				b.WriteString(" " + a)
			} else {
				b.WriteString(" ")
			}
			if s.Port != nil {
				b.WriteString(":" + exprString(s.Port, pc.as("inet_service")))
			}
		}
		if len(s.Flags) > 0 {
			b.WriteString(" " + strings.Join(s.Flags, ","))
		}
		return b.String()
	case *SetStmt:
		return selectorString(s.Key) + " set " + exprString(s.Val, pc.as(selectorType(s.Key)))
	case *DynsetStmt:
		var b strings.Builder
		fmt.Fprintf(&b, "%s @%s { %s", s.Op, s.Set, exprString(s.Key, pc.as("")))
		if s.Timeout != "" {
			b.WriteString(" timeout " + timeString(s.Timeout))
		}
		for _, st := range s.Stmts {
			// A counter of a set statement is a template: nft
			// lists it without values.
			if c, ok := st.(*CounterStmt); ok && c.Name == nil {
				b.WriteString(" counter")
				continue
			}
			b.WriteString(" " + stmtString(st, pc))
		}
		b.WriteString(" }")
		return b.String()
	case *MeterStmt:
		var b strings.Builder
		size := s.Size
		if size == 0 {
			size = 65535
		}
		fmt.Fprintf(&b, "meter %s size %d { %s", s.Name, size, exprString(s.Key, pc.as("")))
		if s.Timeout != "" {
			b.WriteString(" timeout " + timeString(s.Timeout))
		}
		for _, st := range s.Stmts {
			b.WriteString(" " + stmtString(st, pc))
		}
		b.WriteString(" }")
		return b.String()
	case *SimpleStmt:
		return s.Word
	case *TproxyStmt:
		var b strings.Builder
		b.WriteString("tproxy")
		if s.Family != "" {
			b.WriteString(" " + s.Family)
		}
		b.WriteString(" to")
		if s.Addr != nil {
			typ := "ipv4_addr"
			if s.Family == "ip6" || fam == FamilyIP6 || isIPv6(s.Addr) {
				typ = "ipv6_addr"
			}
			a := exprString(s.Addr, pc.as(typ))
			if typ == "ipv6_addr" && s.Port != nil {
				a = "[" + a + "]"
			}
			b.WriteString(" " + a)
		} else {
			b.WriteString(" ")
		}
		if s.Port != nil {
			b.WriteString(":" + exprString(s.Port, pc.as("inet_service")))
		}
		return b.String()
	case *CtCountStmt:
		if s.Over {
			return fmt.Sprintf("ct count over %d", s.Count)
		}
		return fmt.Sprintf("ct count %d", s.Count)
	case *RawStmt:
		// nft lists list separators without a space before them.
		return strings.ReplaceAll(strings.Join(s.Words, " "), " , ", ", ")
	}
	return "?"
}

// natFamily is the family nft lists for a nat statement: the one
// written, or in an inet table the family of the address literal (the
// kernel's nat expression there always carries one: nft_nat's
// NFTA_NAT_FAMILY).
func natFamily(s *NatStmt, fam Family) string {
	if s.Family != "" || fam != FamilyInet || s.Addr == nil {
		return s.Family
	}
	x := s.Addr
	switch y := x.(type) {
	case *Prefix:
		x = y.X
	case *Range:
		x = y.Lo
	}
	if v, ok := x.(*Value); ok {
		if a, err := netip.ParseAddr(v.Text); err == nil {
			if a.Is4() {
				return "ip"
			}
			return "ip6"
		}
	}
	return ""
}

// isDefaultLogLevel reports whether o is "level warn", the default nft
// does not list (LOG_WARNING).
func isDefaultLogLevel(o Option) bool {
	v, ok := o.Value.(*Value)
	return ok && o.Key == "level" && (v.Text == "warn" || v.Text == "warning")
}

// isIPv6 reports whether x is an IPv6 address literal.
func isIPv6(x Expr) bool {
	v, ok := x.(*Value)
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(v.Text)
	return err == nil && a.Is6()
}

func bytesString(n uint64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return fmt.Sprintf("%d gbytes", n>>30)
	case n != 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%d mbytes", n>>20)
	case n != 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%d kbytes", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// timeUnits are nft's time units, largest first, in milliseconds.
var timeUnits = []struct {
	name string
	ms   uint64
}{{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}}

// timeString prints a time as nft lists it: "600s" and "600" (seconds)
// as "10m", "123s" as "2m3s". A string it cannot read is returned as is.
func timeString(t string) string {
	var total uint64
	rest := t
	if n, err := strconv.ParseUint(rest, 10, 64); err == nil {
		total, rest = n*1000, ""
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		n, err := strconv.ParseUint(rest[:i], 10, 64)
		if err != nil {
			return t
		}
		unit := uint64(0)
		for _, u := range timeUnits {
			if u.name == rest[i:j] {
				unit = u.ms
			}
		}
		if unit == 0 {
			return t
		}
		total += n * unit
		rest = rest[j:]
	}
	if total == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range timeUnits {
		if total >= u.ms {
			fmt.Fprintf(&b, "%d%s", total/u.ms, u.name)
			total %= u.ms
		}
	}
	return b.String()
}

// objRefString prints the object a counter, limit or quota statement
// names: a name always in quotes, as nft lists it (objref_expr_print)
// however it was written; a map lookup as the expression.
func objRefString(e Expr, pc ctx) string {
	if v, ok := e.(*Value); ok {
		return `"` + v.Text + `"`
	}
	return exprString(e, pc.as(""))
}
