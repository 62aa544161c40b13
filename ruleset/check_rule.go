package ruleset

import "net/netip"

// rulectx is what the statements before the current one established, as
// nft's evaluation context does (struct proto_ctx): the network protocol
// (4, 6 or 0) and whether a transport protocol was matched.
type rulectx struct {
	nfproto int
	l4      bool
	l4proto string // the transport header matched by name ("tcp", "udp", ...)
}

// rule checks the statements of one rule.
func (c *checker) rule(r *Rule) {
	var rc rulectx
	c.raw = false
	for _, s := range r.Stmts {
		// a statement the parser keeps as words, or a selector it read
		// as a bare keyword ("ipsec in ip6 daddr ..."), may hold context:
		// no family checks for this rule
		switch s := s.(type) {
		case *RawStmt:
			c.raw = true
		case *Match:
			if x, ok := s.X.(*Selector); ok && len(x.Words) == 1 {
				c.raw = true
			}
		}
	}
	for i, s := range r.Stmts {
		if i > 0 && terminal(r.Stmts[i-1]) {
			// stmt_evaluate: a statement after a verdict, nat or reject
			c.errAt(s.Position(), "Error: Statement after terminal statement has no effect")
			return
		}
		n := len(c.errs)
		c.stmt(s, &rc)
		if len(c.errs) > n {
			return // nft stops at a rule's first error
		}
	}
}

// terminal reports whether s ends evaluation of its rule (nft's
// STMT_F_TERMINAL: verdicts, reject, nat, queue).
func terminal(s Stmt) bool {
	switch s := s.(type) {
	case *VerdictStmt, *RejectStmt, *NatStmt:
		return true
	case *RawStmt:
		return len(s.Words) > 0 && s.Words[0] == "queue"
	}
	return false
}

func (c *checker) stmts(ss []Stmt, rc *rulectx) {
	for _, s := range ss {
		c.stmt(s, rc)
	}
}

// l3Headers are the payload headers that set the network protocol.
var l3Headers = map[string]int{"ip": 4, "ip6": 6}

// exthdrs are the IPv6 extension headers (nft's exthdr expression).
var exthdrs = fields("hbh frag rt0 rt dst mh srh")

// l4Headers are the headers that imply a transport protocol match.
var l4Headers = fields("tcp udp udplite sctp dccp th icmp icmpv6 igmp ah esp comp")

func (c *checker) selector(s *Selector, rc *rulectx) {
	w := s.Words
	fam := c.t.Family
	h := w[0]
	if h == "rt" && (len(w) < 2 || !payloadFields["rt0"][w[1]]) {
		h = "route" // rt classid, rt nexthop: the routing expression
	}
	switch {
	case c.raw:
	case h == "ip" && fam == FamilyIP6, h == "ct" && len(w) > 2 && w[len(w)-2] == "ip" && fam == FamilyIP6:
		c.errAt(s.Pos, "Error: conflicting protocols specified: ip6 vs. ip")
	case h == "ip6" && fam == FamilyIP, h == "ct" && len(w) > 2 && w[len(w)-2] == "ip6" && fam == FamilyIP:
		c.errAt(s.Pos, "Error: conflicting protocols specified: ip vs. ip6")
	case exthdrs[h] && fam == FamilyIP:
		c.errAt(s.Pos, "Error: cannot use exthdr with ip")
	case h == "meta" && len(w) == 2 && w[1] == "nfproto" && fam != FamilyInet:
		c.errAt(s.Pos, "Error: meta nfproto is only useful in the inet family")
	}
	if v, ok := l3Headers[h]; ok {
		rc.nfproto = v
	}
	if l4Headers[h] {
		rc.l4 = true
		if rc.l4proto == "" && h != "th" {
			rc.l4proto = h
		}
	}
}

func (c *checker) stmt(s Stmt, rc *rulectx) {
	switch s := s.(type) {
	case *Match:
		if x, ok := s.X.(*Selector); ok {
			c.selector(x, rc)
			c.matchCtx(x, s, rc)
		}
		c.rhs(s.Y, exprTypes(s.X))
		if r, ok := s.Y.(*SetRef); ok {
			c.setRef(r, s.X)
		}
	case *VmapStmt:
		if x, ok := s.X.(*Selector); ok {
			c.selector(x, rc)
		}
		if m, ok := s.Map.(*SetExpr); ok {
			c.rhs(m, exprTypes(s.X))
		}
		if r, ok := s.Map.(*SetRef); ok {
			c.setRef(r, s.X)
		}
	case *SetStmt:
		if _, ok := s.Val.(*SetExpr); ok {
			// the grammar has no set on the right of "set"
			c.errAt(s.Val.Position(), "Error: syntax error, unexpected '{'")
			return
		}
		if s.Key != nil {
			c.rhs(s.Val, exprTypes(s.Key))
		}
	case *DynsetStmt:
		c.stmts(s.Stmts, rc)
	case *MeterStmt:
		c.stmts(s.Stmts, rc)
	case *LogStmt:
		c.log(s)
	case *RejectStmt:
		c.reject(s, rc)
	case *NatStmt:
		c.nat(s.Pos, s.Family, s.Addr, s.Port, rc, false)
	case *TproxyStmt:
		c.nat(s.Pos, s.Family, s.Addr, s.Port, rc, true)
	}
}

// matchCtx records what a match of x tells about the protocols.
func (c *checker) matchCtx(x *Selector, m *Match, rc *rulectx) {
	w := x.Words
	v, ok := m.Y.(*Value)
	if m.Op != "" && m.Op != "==" {
		ok = false
	}
	switch {
	case len(w) == 2 && w[0] == "meta" && w[1] == "nfproto":
		if ok && v.Text == "ipv4" {
			rc.nfproto = 4
		} else if ok && v.Text == "ipv6" {
			rc.nfproto = 6
		}
	case len(w) == 2 && (w[0] == "meta" && w[1] == "l4proto" || w[0] == "ip" && w[1] == "protocol" || w[0] == "ip6" && w[1] == "nexthdr"):
		rc.l4 = true
		if ok && rc.l4proto == "" {
			if n, known := protocols[v.Text]; known {
				rc.l4proto = protoNames[n]
			} else if n, isNum := parseNumber(v.Text); isNum && n.IsUint64() {
				rc.l4proto = protoNames[n.Uint64()]
			}
		}
	}
}

// setRef checks that @name exists in the table and that its key type
// fits the expression it is looked up with.
func (c *checker) setRef(r *SetRef, x Expr) {
	set := c.t.set(r.Name)
	if set == nil {
		// the kernel's NFT_MSG_NEWRULE lookup fails with ENOENT
		c.errAt(r.Pos, "Error: No such file or directory")
		return
	}
	sel, ok := x.(*Selector)
	if !ok || len(set.Key) != 1 || set.KeyTypeof != nil {
		return
	}
	want, have := selectorType(sel), set.Key[0]
	if dw, dh := typeDesc[want], typeDesc[have]; dw != "" && dh != "" && want != have {
		// expr_evaluate_relational / datatype_equal
		c.errAt(r.Pos, "Error: datatype mismatch, expected %s, expression has type %s", dw, dh)
	}
}

// typeDesc are the descriptions nft gives the datatypes whose mismatch
// Check reports.
var typeDesc = map[string]string{
	"ipv4_addr": "IPv4 address", "ipv6_addr": "IPv6 address", "inet_service": "internet network service",
	"ether_addr": "Ethernet address",
}

// log checks the combinations stmt_evaluate_log refuses.
func (c *checker) log(s *LogStmt) {
	has := map[string]string{}
	for _, o := range s.Opts {
		if v, ok := o.Value.(*Value); ok {
			has[o.Key] = v.Text
		} else {
			has[o.Key] = "?"
		}
	}
	_, group := has["group"]
	_, level := has["level"]
	_, flags := has["flags"]
	switch {
	case group && level:
		c.errAt(s.Pos, "Error: level and group are mutually exclusive")
	case group && flags:
		c.errAt(s.Pos, "Error: flags and group are mutually exclusive")
	case has["level"] == "audit" && len(s.Opts) > 1:
		c.errAt(s.Pos, "Error: log level audit doesn't support any further options")
	}
}

// reject checks stmt_evaluate_reject: the ICMP family against the table
// family, the code names, tcp reset after a non-TCP match.
func (c *checker) reject(s *RejectStmt, rc *rulectx) {
	fam := c.t.Family
	switch {
	case fam == FamilyARP:
		c.errAt(s.Pos, "Error: cannot use reject with arp")
		return
	case s.With == "icmp" && (fam == FamilyIP6 || rc.nfproto == 6), s.With == "icmpv6" && (fam == FamilyIP || rc.nfproto == 4):
		c.errAt(s.Pos, "Error: conflicting protocols specified: ip vs ip6")
		return
	case s.With == "icmpx" && (fam == FamilyIP || fam == FamilyIP6):
		c.errAt(s.Pos, "Error: abstracted ICMP unreachable not supported")
		return
	case s.With == "tcp" && rc.l4proto != "" && rc.l4proto != "tcp":
		c.errAt(s.Pos, "Error: you cannot use tcp reset with this protocol")
		return
	}
	if v, ok := s.Type.(*Value); ok && !isNumber(v) {
		// a number is taken as is (nft accepts reject with icmp 256)
		switch s.With {
		case "icmp":
			c.value(v, tICMPCode)
		case "icmpv6":
			c.value(v, tICMP6Cod)
		}
	}
}

// nat checks the address family and port of snat, dnat, masquerade,
// redirect and tproxy (stmt_evaluate_nat, stmt_evaluate_tproxy).
func (c *checker) nat(pos Pos, family string, addr, port Expr, rc *rulectx, tproxy bool) {
	if tproxy && !rc.l4 {
		c.errAt(pos, "Error: Transparent proxy support requires transport protocol match")
		return
	}
	want := 0
	switch {
	case family == "ip":
		want = 4
	case family == "ip6":
		want = 6
	case c.t.Family == FamilyIP:
		want = 4
	case c.t.Family == FamilyIP6:
		want = 6
	default:
		want = rc.nfproto
	}
	if a := literalAddr(addr); a.IsValid() {
		if want == 0 && c.t.Family == FamilyInet {
			c.errAt(pos, "Error: ip or ip6 must be specified with address for inet tables.")
			return
		}
		if want == 4 && a.Is6() || want == 6 && a.Is4() {
			c.errAt(addr.Position(), "Error: Could not resolve hostname: Address family for hostname not supported")
			return
		}
	}
	if port != nil && !tproxy && !rc.l4 {
		c.errAt(port.Position(), "Error: transport protocol mapping is only valid after transport protocol match")
	}
}

// literalAddr returns the address of a literal nat target (an address,
// range or prefix), or the zero Addr.
func literalAddr(x Expr) netip.Addr {
	switch x := x.(type) {
	case *Value:
		a, _ := netip.ParseAddr(x.Text)
		return a
	case *Range:
		return literalAddr(x.Lo)
	case *Prefix:
		return literalAddr(x.X)
	}
	return netip.Addr{}
}

// exprTypes returns the datatype of each part of x (one for a plain
// selector, one per element of a concatenation); an unknown part is nil.
func exprTypes(x Expr) []*dtype {
	switch x := x.(type) {
	case *Selector:
		if d, ok := selectorDtype(x); ok {
			return []*dtype{&d}
		}
	case *Concat:
		out := make([]*dtype, len(x.Xs))
		for i, y := range x.Xs {
			if ts := exprTypes(y); len(ts) == 1 {
				out[i] = ts[0]
			}
		}
		return out
	case *Binop:
		if x.Op == "&" || x.Op == "|" || x.Op == "^" {
			return exprTypes(x.X)
		}
	}
	return []*dtype{nil}
}

// rhs checks the constants of y against the datatypes ts of the
// expression they are compared with or assigned to.
func (c *checker) rhs(y Expr, ts []*dtype) {
	switch y := y.(type) {
	case *Value:
		if len(ts) == 1 && ts[0] != nil {
			c.value(y, *ts[0])
		}
	case *Range:
		lv, lok := y.Lo.(*Value)
		hv, hok := y.Hi.(*Value)
		if !lok || !hok || len(ts) != 1 || ts[0] == nil {
			c.rhs(y.Lo, ts)
			c.rhs(y.Hi, ts)
			return
		}
		n0 := len(c.errs)
		lo, lnum := c.value(lv, *ts[0])
		hi, hnum := c.value(hv, *ts[0])
		// range_expr_value_high < low: expr_evaluate_range
		if len(c.errs) == n0 && lnum && hnum && lo.Cmp(hi) > 0 {
			c.errAt(y.Pos, "Error: Range has zero or negative size")
		}
	case *Prefix:
		c.rhs(y.X, ts)
	case *SetExpr:
		for _, e := range y.Elems {
			c.rhs(e, ts)
		}
	case *Elem:
		c.rhs(y.X, ts)
	case *List:
		for _, e := range y.Xs {
			c.rhs(e, ts)
		}
	case *Concat:
		if len(ts) == len(y.Xs) {
			for i, e := range y.Xs {
				c.rhs(e, ts[i:i+1])
			}
		}
	case *MapElem:
		c.rhs(y.Key, ts)
	case *Binop:
		// "flags a,b / c,d" is value / mask, both of the flag type
		if y.Op == "|" || y.Op == "&" || y.Op == "^" || y.Op == "/" {
			c.rhs(y.X, ts)
			c.rhs(y.Y, ts)
		}
	}
}
