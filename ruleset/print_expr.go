package ruleset

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// ctx is the printing context of a value: the datatype it takes from the
// selector it is compared with or assigned to.
type ctx struct {
	typ    string
	family Family
	opts   PrintOptions
}

// numeric returns c for a value printed by number: a symbolic type
// (protocol, ICMP type and code, DSCP) is printed as its integer.
func (c ctx) numeric() ctx {
	switch c.typ {
	case "inet_proto", "icmp_type", "icmpv6_type", "icmp_code", "icmpv6_code", "dscp":
		c.typ = "integer"
	}
	return c
}

// as returns c with the datatype typ.
func (c ctx) as(typ string) ctx {
	c.typ = typ
	return c
}

// selectorType returns the nft datatype of a selector's value.
func selectorType(s *Selector) string {
	w := s.Words
	last := w[len(w)-1]
	switch {
	case w[0] == "ip" && (last == "saddr" || last == "daddr"):
		return "ipv4_addr"
	case w[0] == "ip6" && (last == "saddr" || last == "daddr"), w[0] == "icmpv6" && (last == "taddr" || last == "daddr"):
		return "ipv6_addr"
	case w[0] == "ct" && (last == "saddr" || last == "daddr") && len(w) > 2 && w[len(w)-2] == "ip":
		return "ipv4_addr"
	case w[0] == "ct" && (last == "saddr" || last == "daddr") && len(w) > 2 && w[len(w)-2] == "ip6":
		return "ipv6_addr"
	case last == "sport" || last == "dport" || last == "proto-src" || last == "proto-dst":
		return "inet_service"
	case last == "protocol" && w[0] != "meta" || last == "nexthdr" || last == "l4proto":
		return "inet_proto"
	case last == "nfproto":
		return "nfproto"
	case last == "mark":
		return "mark"
	case w[0] == "icmp" && last == "type":
		return "icmp_type"
	case w[0] == "icmpv6" && last == "type":
		return "icmpv6_type"
	case w[0] == "meta" && last == "hour":
		return "hour"
	case w[0] == "meta" && last == "day":
		return "day"
	case w[0] == "icmp" && last == "code" && len(w) == 2:
		return "icmp_code"
	case w[0] == "icmpv6" && last == "code" && len(w) == 2:
		return "icmpv6_code"
	case last == "dscp" && (w[0] == "ip" || w[0] == "ip6"):
		return "dscp"
	case w[0] == "ct" && last == "state":
		return "ct_state"
	case w[0] == "ct" && last == "status":
		return "ct_status"
	case w[0] == "tcp" && last == "flags":
		return "tcp_flag"
	case last == "iifname" || last == "oifname" || last == "iif" || last == "oif" || last == "ibrname" || last == "obrname":
		return "ifname"
	}
	return ""
}

func typeOfExpr(x Expr) string {
	switch x := x.(type) {
	case *Selector:
		return selectorType(x)
	case *Concat:
		var p []string
		for _, y := range x.Xs {
			p = append(p, typeOfExpr(y))
		}
		return strings.Join(p, " . ")
	}
	return ""
}

func selectorString(s *Selector) string {
	w := s.Words
	if w[0] == "meta" && len(w) == 2 && printUnqualifiedMeta[w[1]] {
		return w[1]
	}
	if w[0] == "jhash" && len(s.Args) == 1 {
		return "jhash " + exprString(s.Args[0], ctx{}) + " " + strings.Join(w[1:], " ")
	}
	if w[0] == "fib" {
		var a []string
		for _, x := range s.Args {
			a = append(a, exprString(x, ctx{}))
		}
		return "fib " + strings.Join(a, " . ") + " " + strings.Join(w[1:], " ")
	}
	return strings.Join(w, " ")
}

// valueString prints a literal in the canonical form of its type.
func valueString(v *Value, c ctx) string {
	t := v.Text
	switch c.typ {
	case "ipv4_addr", "ipv6_addr":
		if a, err := netip.ParseAddr(t); err == nil {
			return a.String()
		}
	case "inet_service":
		if n, ok := services[t]; ok {
			return fmt.Sprint(n)
		}
		if n, err := strconv.ParseUint(t, 0, 16); err == nil {
			return fmt.Sprint(n)
		}
	case "inet_proto":
		if c.opts.NumericProto {
			if n, ok := protocols[t]; ok {
				return fmt.Sprint(n)
			}
		}
		if n, err := strconv.ParseUint(t, 0, 8); err == nil {
			if name, ok := protoNames[n]; ok && !c.opts.NumericProto {
				return name
			}
			return fmt.Sprint(n)
		}
		if n, ok := protocols[t]; ok {
			return protoNames[n]
		}
	case "mark":
		if n, err := strconv.ParseUint(t, 0, 32); err == nil {
			return fmt.Sprintf("0x%08x", n)
		}
	case "ifname":
		return nftQuote(t)
	case "hour":
		return nftQuote(hourString(t))
	case "icmp_type", "icmpv6_type":
		if n, err := strconv.ParseUint(t, 0, 8); err == nil {
			if name, ok := icmpTypeNames[c.typ][n]; ok {
				return name
			}
		}
	case "dscp":
		if n, err := strconv.ParseUint(t, 0, 8); err == nil {
			if name, ok := dscpNames[n]; ok {
				return name
			}
		}
	case "icmp_code", "icmpv6_code":
		if n, err := strconv.ParseUint(t, 0, 8); err == nil {
			if name, ok := codeNames[c.typ][n]; ok {
				return name
			}
		}
	}
	if v.Quoted {
		return nftQuote(t)
	}
	return t
}

// hourString is a meta hour value as nft lists it: without ":00"
// seconds ("21:51:00" is "21:51").
func hourString(t string) string {
	if strings.Count(t, ":") == 2 && strings.HasSuffix(t, ":00") {
		return strings.TrimSuffix(t, ":00")
	}
	return t
}

// sortKey orders set elements as nft 1.0.6 lists them: by the element's
// value as a number. Most types are stored big-endian, so that is their
// numeric order; ifname is a host-endian string and a concatenation a
// host-endian run of 32-bit padded parts, so both compare from their last
// byte backwards (nft lists { "eth0", "lo" } as { "lo", "eth0" } and
// 1.2.3.4 . 80 after 5.6.7.8 . 22).
func sortKey(x Expr, c ctx) (string, bool) {
	x = elemKey(x)
	switch x := x.(type) {
	case *Prefix:
		return sortKey(x.X, c)
	case *Range:
		return sortKey(x.Lo, c)
	case *Concat:
		parts := strings.Split(c.typ, " . ")
		if len(parts) != len(x.Xs) {
			return "", false
		}
		var key []byte
		for i, y := range x.Xs {
			b, ok := elemBytes(y, c.as(parts[i]))
			if !ok {
				return "", false
			}
			for len(b)%4 != 0 {
				b = append(b, 0)
			}
			key = append(key, b...)
		}
		return string(reversed(key)), true
	}
	b, ok := elemBytes(x, c)
	if ok && c.typ == "ifname" {
		b = reversed(b)
	}
	return string(b), ok
}

func reversed(b []byte) []byte {
	r := make([]byte, len(b))
	for i, c := range b {
		r[len(b)-1-i] = c
	}
	return r
}

// typeBytes is the stored size of the datatypes sortKey knows.
var typeBytes = map[string]int{
	"ipv4_addr": 4, "ipv6_addr": 16, "inet_service": 2, "inet_proto": 1, "mark": 4, "ifname": 16,
	"icmp_type": 1, "icmpv6_type": 1, "dscp": 1, "ct_state": 4, "ct_status": 4, "tcp_flag": 1, "nfproto": 1,
	"ether_addr": 6, "icmp_code": 1, "icmpv6_code": 1, "day": 1,
}

// elemBytes returns the stored bytes of a value of type c.typ, in
// network order (ifname: the name padded with zeros; mark and ct bits,
// host-endian, little-endian as on this machine).
func elemBytes(x Expr, c ctx) ([]byte, bool) {
	switch x := x.(type) {
	case *Prefix:
		return elemBytes(x.X, c)
	case *Range:
		return elemBytes(x.Lo, c)
	case *Elem:
		return elemBytes(x.X, c)
	}
	v, ok := x.(*Value)
	size := typeBytes[c.typ]
	if !ok || size == 0 {
		return nil, false
	}
	s := valueString(v, c)
	switch c.typ {
	case "ipv4_addr", "ipv6_addr":
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, false
		}
		return a.AsSlice(), true
	case "ifname":
		b := make([]byte, size)
		copy(b, v.Text)
		return b, true
	case "ether_addr":
		b := make([]byte, 0, 6)
		for _, h := range strings.Split(s, ":") {
			n, err := strconv.ParseUint(h, 16, 8)
			if err != nil {
				return nil, false
			}
			b = append(b, byte(n))
		}
		return b, len(b) == 6
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		var ok bool
		switch {
		case flagBits[c.typ] != nil:
			n, ok = flagBits[c.typ][s]
		case c.typ == "icmp_type":
			n, ok = icmpTypes[s]
		case c.typ == "icmpv6_type":
			n, ok = icmpv6Types[s]
		case c.typ == "inet_proto":
			n, ok = protocols[s]
		case c.typ == "dscp":
			n, ok = dscpValues[s]
		case icmpCodes[c.typ] != nil:
			n, ok = icmpCodes[c.typ][s]
		case c.typ == "day":
			n, ok = days[strings.Trim(s, `"`)]
		}
		if !ok {
			return nil, false
		}
	}
	b := make([]byte, size)
	for i := 0; i < size; i++ {
		if c.typ == "mark" || c.typ == "ct_state" || c.typ == "ct_status" {
			b[i] = byte(n >> (8 * i))
		} else {
			b[size-1-i] = byte(n >> (8 * i))
		}
	}
	return b, true
}

// normaliseElems flattens nested sets and prints the elements, sorted by
// value when sort is set and every element has a numeric key.
func normaliseElems(xs []Expr, c ctx, sorted bool) []string {
	elems := normalisedElems(xs, c, sorted)
	out := make([]string, len(elems))
	for i, x := range elems {
		out[i] = exprString(x, c)
	}
	return out
}

// normalisedElems is the list of elements nft lists for xs: nested sets
// flattened, sorted by value when sorted is set and every element has a
// numeric key, repeated keys dropped, ranges a-a collapsed to a. Both
// printers (text and JSON) list these.
func normalisedElems(xs []Expr, c ctx, sorted bool) []Expr {
	flat := flattenElems(xs)
	if sorted {
		keys := make([]string, len(flat))
		ok := true
		for i, x := range flat {
			k, good := sortKey(x, c)
			keys[i] = k
			ok = ok && good
		}
		if ok {
			idx := make([]int, len(flat))
			for i := range idx {
				idx[i] = i
			}
			sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
			sf := make([]Expr, len(flat))
			for i, j := range idx {
				sf[i] = flat[j]
			}
			flat = sf
		}
	}
	// Repeated keys are one element; a range a-a is the element a.
	out := make([]Expr, 0, len(flat))
	seen := map[string]bool{}
	for _, x := range flat {
		k := exprString(collapseRange(elemKey(x), c), c)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, collapseRange(x, c))
	}
	return out
}

// intervalConcat reports whether a set holds concatenations with ranges or
// prefixes: the kernel keeps those in a pipapo set, listed in insertion
// order.
func intervalConcat(xs []Expr) bool {
	for _, x := range flattenElems(xs) {
		if cc, ok := elemKey(x).(*Concat); ok {
			for _, y := range cc.Xs {
				switch y.(type) {
				case *Range, *Prefix:
					return true
				}
			}
		}
	}
	return false
}

// flattenElems flattens nested sets { a, { b, c } } into one list.
func flattenElems(xs []Expr) []Expr {
	var flat []Expr
	var walk func([]Expr)
	walk = func(xs []Expr) {
		for _, x := range xs {
			if s, ok := x.(*SetExpr); ok {
				walk(s.Elems)
				continue
			}
			// { a, b } : v is one element per key (a define expanded
			// to a set on the left of a map element).
			if m, ok := x.(*MapElem); ok {
				if ks, ok := m.Key.(*SetExpr); ok {
					for _, k := range flattenElems(ks.Elems) {
						e := *m
						e.Key = k
						flat = append(flat, &e)
					}
					continue
				}
			}
			flat = append(flat, x)
		}
	}
	walk(xs)
	return flat
}

// collapseRange returns x with a range whose ends print alike replaced
// by its low end (nft lists 30-30 as 30).
func collapseRange(x Expr, c ctx) Expr {
	switch r := x.(type) {
	case *Range:
		if exprString(r.Lo, c) == exprString(r.Hi, c) {
			return r.Lo
		}
	case *Elem:
		if y := collapseRange(r.X, c); y != r.X {
			e := *r
			e.X = y
			return &e
		}
	}
	return x
}

// binopPrec is the binding strength of nft's bit operators.
var binopPrec = map[string]int{"|": 1, "^": 2, "&": 3, "<<": 4, ">>": 4}

// exprString prints an expression in context c.
func exprString(x Expr, c ctx) string {
	switch x := x.(type) {
	case *Selector:
		return selectorString(x)
	case *Value:
		return valueString(x, c)
	case *Prefix:
		s := exprString(x.X, c)
		if a, err := netip.ParseAddr(s); err == nil {
			if x.Len == a.BitLen() {
				return a.String()
			}
			if p, err := a.Prefix(x.Len); err == nil {
				return p.String()
			}
		}
		return fmt.Sprintf("%s/%d", s, x.Len)
	case *Range:
		// range_expr_print lists both ends numerically
		// (NFT_CTX_OUTPUT_NUMERIC_ALL).
		nc := c.numeric()
		return exprString(x.Lo, nc) + "-" + exprString(x.Hi, nc)
	case *SetExpr:
		return "{ " + strings.Join(normaliseElems(x.Elems, c, !intervalConcat(x.Elems)), ", ") + " }"
	case *SetRef:
		return "@" + x.Name
	case *Concat:
		parts := strings.Split(c.typ, " . ")
		var p []string
		for i, y := range x.Xs {
			cc := c
			if i < len(parts) {
				cc.typ = parts[i]
			}
			p = append(p, exprString(y, cc))
		}
		return strings.Join(p, " . ")
	case *List:
		if names, ok := flagNames(x, c.typ); ok {
			return flagList(names, c.typ)
		}
		var p []string
		for _, y := range x.Xs {
			p = append(p, exprString(y, c))
		}
		return strings.Join(p, ",")
	case *Binop:
		if x.Op == "/" {
			return exprString(x.X, c) + " / " + exprString(x.Y, c)
		}
		yc := c
		if x.Op == "<<" || x.Op == ">>" {
			yc.typ = "" // a shift count is a plain number
		}
		return binopString(x, c, yc)
	case *MapLookup:
		return exprString(x.X, c) + " map " + exprString(x.Map, c.as(typeOfExpr(x.X)))
	case *MapElem:
		return exprString(x.Key, c) + " : " + exprString(x.Val, c.as(""))
	case *Elem:
		s := exprString(x.X, c)
		if x.Timeout != "" {
			s += " timeout " + timeString(x.Timeout)
		}
		if x.Expires != "" {
			s += " expires " + x.Expires
		}
		for _, st := range x.Stmts {
			s += " " + stmtString(st, c)
		}
		if x.Comment != "" {
			s += fmt.Sprintf(" comment \"%s\"", x.Comment)
		}
		return s
	case *Verdict:
		if x.Chain != "" {
			return x.Kind + " " + x.Chain
		}
		return x.Kind
	case *Wildcard:
		return "*"
	}
	return "?"
}

// binopString prints a bit operation, its left operand in context xc and
// its right one in yc.
func binopString(x *Binop, xc, yc ctx) string {
	l := exprString(x.X, xc)
	// binop_expr_print parenthesises an operand of lower precedence:
	// (meta mark | 0x10) << 8.
	if in, ok := x.X.(*Binop); ok && binopPrec[in.Op] < binopPrec[x.Op] {
		l = "(" + l + ")"
	}
	r := exprString(x.Y, yc)
	// Operators are left-associative: a right operand that is itself an
	// operation of no stronger binding keeps its parentheses, or it would
	// read back as a different expression.
	if in, ok := x.Y.(*Binop); ok && in.Op != "/" && binopPrec[in.Op] <= binopPrec[x.Op] {
		r = "(" + r + ")"
	}
	return l + " " + x.Op + " " + r
}
