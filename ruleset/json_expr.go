package ruleset

import (
	"net/netip"
	"strconv"
	"strings"
)

func jmatch(op string, left, right jv) jv {
	return single("match", obj("op", jstr(op), "left", left, "right", right))
}

// match renders a relational expression (relational_expr_json). The
// implicit operator of nft's language is "==", or "in" on a bitmask type
// (ct state established matches any of the bits); a bit test against zero
// is listed as nft lists it, "!" for == 0 and "in" for != 0.
func (p *jsonPrinter) match(s *Match, pc ctx) jv {
	if y, ok := singleElem(s.Y); ok {
		m := *s
		m.Y = y
		s = &m
	}
	typ := typeOfExpr(s.X)
	if b, ok := s.X.(*Binop); ok {
		if j, ok := p.flagMatch(s, b); ok {
			return j
		}
		op := s.Op
		if op == "" {
			op = "=="
		}
		return jmatch(op, p.expr(b, pc.as("")), p.expr(s.Y, pc.as(typeOfExpr(b.X))))
	}
	if b, ok := s.Y.(*Binop); ok && b.Op == "/" {
		// sel value / mask is (sel & mask) == value.
		op := s.Op
		if op == "" {
			op = "=="
		}
		left := single("&", jarr{p.expr(s.X, pc.as("")), p.expr(b.Y, pc.as(typ))})
		return jmatch(op, left, p.expr(b.X, pc.as(typ)))
	}
	op := s.Op
	if op == "" {
		op = "=="
		if _, isSet := s.Y.(*SetExpr); !isSet && flagBits[typ] != nil {
			if _, isRef := s.Y.(*SetRef); !isRef {
				op = "in"
			}
		}
	}
	return jmatch(op, p.expr(s.X, pc.as("")), p.expr(s.Y, pc.as(typ)))
}

// flagMatch renders sel & mask OP value on a bitmask type (see the text
// printer's flagMatch).
func (p *jsonPrinter) flagMatch(m *Match, b *Binop) (jv, bool) {
	sel, isSel := b.X.(*Selector)
	if !isSel || b.Op != "&" {
		return nil, false
	}
	typ := selectorType(sel)
	mask, ok := flagNames(b.Y, typ)
	if !ok {
		return nil, false
	}
	op := m.Op
	if op == "" {
		op = "=="
	}
	if op != "==" && op != "!=" {
		return nil, false
	}
	left := p.expr(sel, ctx{})
	if isZero(m.Y) {
		if op == "==" {
			return jmatch("!", left, flagsJSON(mask, typ)), true
		}
		return jmatch("in", left, flagsJSON(mask, typ)), true
	}
	val, ok := flagNames(m.Y, typ)
	if !ok {
		return nil, false
	}
	return jmatch(op, single("&", jarr{left, flagsJSON(mask, typ)}), flagsJSON(val, typ)), true
}

// flagsJSON is a bitmask value: one name, or an array of names in bit
// order.
func flagsJSON(names []string, typ string) jv {
	ns := strings.Split(flagList(names, typ), ",")
	if len(ns) == 1 {
		return jstr(ns[0])
	}
	a := make(jarr, len(ns))
	for i, n := range ns {
		a[i] = jstr(n)
	}
	return a
}

// expr renders an expression in context c.
func (p *jsonPrinter) expr(x Expr, c ctx) jv {
	switch x := x.(type) {
	case *Selector:
		return p.selector(x)
	case *Value:
		return jsonValue(x, c)
	case *Prefix:
		s := exprString(x.X, c)
		if a, err := netip.ParseAddr(s); err == nil {
			if x.Len == a.BitLen() {
				return jstr(a.String())
			}
			if pf, err := a.Prefix(x.Len); err == nil {
				return single("prefix", obj("addr", jstr(pf.Addr().String()), "len", jint(x.Len)))
			}
		}
		return single("prefix", obj("addr", p.expr(x.X, c), "len", jint(x.Len)))
	case *Range:
		nc := c.numeric()
		return single("range", jarr{p.expr(x.Lo, nc), p.expr(x.Hi, nc)})
	case *SetExpr:
		elems := jarr{}
		for _, e := range normalisedElems(x.Elems, c, !intervalConcat(x.Elems)) {
			elems = append(elems, p.setElem(e, c))
		}
		return single("set", elems)
	case *SetRef:
		return jstr("@" + x.Name)
	case *Concat:
		parts := strings.Split(c.typ, " . ")
		a := jarr{}
		for i, y := range x.Xs {
			cc := c
			cc.typ = ""
			if i < len(parts) {
				cc.typ = parts[i]
			}
			a = append(a, p.expr(y, cc))
		}
		return single("concat", a)
	case *List:
		if names, ok := flagNames(x, c.typ); ok {
			return flagsJSON(names, c.typ)
		}
		a := jarr{}
		for _, y := range x.Xs {
			a = append(a, p.expr(y, c))
		}
		return a
	case *Binop:
		if x.Op == "/" {
			return p.unsupported(x.Pos, "value / mask outside a match")
		}
		yt := typeOfExpr(x.X)
		if x.Op == "<<" || x.Op == ">>" {
			yt = ""
		}
		return single(x.Op, jarr{p.expr(x.X, c.as("")), p.expr(x.Y, c.as(yt))})
	case *MapLookup:
		return single("map", obj("key", p.expr(x.X, c.as("")), "data", p.mapData(x.Map, c.as(typeOfExpr(x.X)))))
	case *Verdict:
		return verdictJSON(x)
	case *Wildcard:
		return jstr("*")
	case *MapElem, *Elem:
		return p.setElem(x, c)
	}
	return p.unsupported(x.Position(), "expression")
}

// mapData is the data of a map lookup or vmap: @name, or an anonymous map
// {"set": [[key, value], ...]}.
func (p *jsonPrinter) mapData(m Expr, c ctx) jv {
	return p.expr(m, c)
}

// setElem renders one element of a set or map (set_elem_expr_json): a
// plain value, [key, value] for a map, {"elem": {...}} when it carries a
// timeout, expiry, comment or statements.
func (p *jsonPrinter) setElem(x Expr, c ctx) jv {
	switch e := x.(type) {
	case *MapElem:
		var val jv
		if v, ok := e.Val.(*Verdict); ok {
			val = verdictJSON(v)
		} else {
			val = p.expr(e.Val, c.as(""))
		}
		return jarr{p.setElem(e.Key, c), val}
	case *Elem:
		eo := obj("val", p.expr(e.X, c))
		if e.Timeout != "" {
			eo = eo.with("timeout", juint(timeMillis(e.Timeout)/1000))
		}
		if e.Expires != "" {
			eo = eo.with("expires", juint(timeMillis(e.Expires)/1000))
		}
		if e.Comment != "" {
			eo = eo.with("comment", jstr(e.Comment))
		}
		// nft 1.0.6's set_elem_expr_json lists the first statement
		// only.
		if len(e.Stmts) > 0 {
			if j, ok := p.stmt(e.Stmts[0], c.as("")).(jobj); ok && len(j) == 1 {
				eo = eo.with(j[0].k, j[0].v)
			}
		}
		return single("elem", eo)
	}
	return p.expr(x, c)
}

// selector renders a packet or metadata selector: payload, meta, ct, fib,
// rt, socket, numgen, tcp option (payload_expr_json, meta_expr_json, ...).
func (p *jsonPrinter) selector(s *Selector) jv {
	w := s.Words
	switch w[0] {
	case "meta":
		if len(w) == 2 {
			return single("meta", obj("key", jstr(w[1])))
		}
	case "ct":
		switch len(w) {
		case 2:
			return single("ct", obj("key", jstr(w[1])))
		case 3:
			return single("ct", obj("key", jstr(w[2]), "dir", jstr(w[1])))
		case 4:
			return single("ct", obj("key", jstr(w[3]), "dir", jstr(w[1]), "family", jstr(w[2])))
		}
	case "fib":
		flags := jarr{}
		for _, a := range s.Args {
			if v, ok := a.(*Value); ok {
				flags = append(flags, jstr(v.Text))
			}
		}
		return single("fib", obj("result", jstr(w[len(w)-1]), "flags", flags))
	case "rt":
		switch len(w) {
		case 2:
			return single("rt", obj("key", jstr(w[1])))
		case 3:
			return single("rt", obj("key", jstr(w[2]), "family", jstr(w[1])))
		}
	case "socket":
		if len(w) == 2 {
			return single("socket", obj("key", jstr(w[1])))
		}
	case "jhash", "symhash":
		ho := jobj{}
		for i := 1; i+1 < len(w); i += 2 {
			ho = ho.with(w[i], jnum(w[i+1]))
		}
		if len(s.Args) == 1 {
			ho = ho.with("expr", p.expr(s.Args[0], ctx{}))
		}
		return single(w[0], ho)
	case "numgen":
		if len(w) >= 4 {
			off := "0"
			if len(w) >= 6 {
				off = w[5]
			}
			return single("numgen", obj("mode", jstr(w[1]), "mod", jnum(w[3]), "offset", jnum(off)))
		}
	case "tcp":
		if len(w) == 4 && w[1] == "option" {
			return single("tcp option", obj("name", jstr(w[2]), "field", jstr(w[3])))
		}
		if len(w) == 3 && w[1] == "option" {
			return single("tcp option", obj("name", jstr(w[2])))
		}
	}
	if len(w) == 2 && payloadFields[w[0]] != nil && payloadFields[w[0]][w[1]] {
		return single("payload", obj("protocol", jstr(w[0]), "field", jstr(w[1])))
	}
	return p.unsupported(s.Pos, "selector "+strings.Join(w, " "))
}

// jsonValue renders a constant of datatype c.typ as nft's datatype_json
// does: numbers for integer-based types without symbols (ports, marks,
// lengths), strings for addresses, interface names and symbolic constants
// (protocol, ICMP type, DSCP and flag names), a number where a symbolic
// type has no name for the value.
func jsonValue(v *Value, c ctx) jv {
	t := v.Text
	switch c.typ {
	case "ipv4_addr", "ipv6_addr":
		return jstr(valueString(v, c))
	case "ifname":
		return jstr(t)
	case "hour":
		return jstr(hourString(t))
	case "inet_service":
		if n, ok := services[t]; ok {
			return juint(n)
		}
	case "inet_proto":
		s := valueString(v, c)
		if n, err := strconv.ParseUint(s, 0, 8); err == nil {
			return juint(n)
		}
		return jstr(s)
	case "mark":
		if n, err := strconv.ParseUint(t, 0, 32); err == nil {
			return juint(n)
		}
	case "icmp_type", "icmpv6_type", "dscp", "icmp_code", "icmpv6_code":
		s := valueString(v, c)
		if n, err := strconv.ParseUint(s, 0, 8); err == nil {
			return juint(n)
		}
		return jstr(s)
	}
	if flagBits[c.typ] != nil {
		if _, ok := flagBits[c.typ][t]; ok {
			return jstr(t)
		}
	}
	if v.Quoted {
		return jstr(t)
	}
	switch t {
	case "exists":
		return jbool(true)
	case "missing":
		return jbool(false)
	}
	if n, err := strconv.ParseUint(t, 0, 64); err == nil {
		return juint(n)
	}
	return jstr(t)
}
