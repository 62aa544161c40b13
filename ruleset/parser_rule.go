package ruleset

import (
	"strconv"
	"strings"
)

// rule parses statements up to the end of the statement line.
func (p *parser) rule() *Rule {
	r := &Rule{Pos: p.peek().pos}
	for !p.atStmtEnd() {
		if p.isWord("comment") {
			p.i++
			r.Comment = p.str()
			continue
		}
		r.Stmts = append(r.Stmts, p.stmt())
	}
	if len(r.Stmts) == 0 {
		p.unexpected(p.peek(), "a statement")
	}
	return r
}

var verdictWords = map[string]bool{"accept": true, "drop": true, "continue": true, "return": true, "jump": true, "goto": true}

var relOps = map[string]string{"==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}

func (p *parser) stmt() Stmt {
	t := p.peek()
	if t.kind == tokWord {
		switch {
		case verdictWords[t.text]:
			return &VerdictStmt{p.verdict("'{'")}
		case t.text == "counter":
			p.i++
			s := &CounterStmt{Pos: t.pos}
			if p.acceptWord("name") {
				s.Name = p.primary()
			}
			if p.acceptWord("packets") {
				s.Packets = p.number()
				p.expectWord("bytes")
				s.Bytes = p.number()
			}
			return s
		case t.text == "log":
			return p.logStmt()
		case t.text == "limit":
			return p.limitStmt()
		case t.text == "quota":
			return p.quotaStmt()
		case t.text == "reject":
			p.i++
			s := &RejectStmt{Pos: t.pos}
			if p.acceptWord("with") {
				s.With = p.name()
				if s.With == "tcp" {
					p.expectWord("reset")
				} else {
					p.acceptWord("type")
					s.Type = p.primary()
				}
			}
			return s
		case t.text == "notrack":
			p.i++
			return &SimpleStmt{Pos: t.pos, Word: t.text}
		case t.text == "snat" || t.text == "dnat" || t.text == "masquerade" || t.text == "redirect":
			return p.natStmt()
		case t.text == "meter":
			return p.meter()
		case t.text == "tproxy":
			return p.tproxyStmt()
		case t.text == "ct" && p.peekN(1).kind == tokWord && p.peekN(1).text == "count":
			p.i += 2
			s := &CtCountStmt{Pos: t.pos}
			s.Over = p.acceptWord("over")
			s.Count = p.number()
			return s
		case t.text == "add" || t.text == "update" || t.text == "delete":
			if p.peekN(1).kind == tokAt {
				return p.dynset()
			}
		}
		if isSelectorStart(t.text) {
			return p.matchOrSet()
		}
	}
	if t.kind == tokPunct && t.text == "(" {
		// A parenthesised left side: "(meta mark & 0xff) | 0x10 == 0x11"
		// (parser_bison.y primary_expr '(' basic_expr ')').
		return p.matchOrSet()
	}
	if t.kind == tokAt || t.kind == tokString || t.kind == tokWord {
		// A constant on the left (rare) or something unknown: raw.
		return p.raw()
	}
	p.unexpected(t, "")
	return nil
}

// raw consumes the rest of the statement line as a RawStmt.
func (p *parser) raw() Stmt {
	s := &RawStmt{Pos: p.peek().pos}
	depth := 0
	for {
		t := p.peek()
		if t.kind == tokEOF && depth > 0 {
			p.unexpected(t, "'}'")
		}
		if t.kind == tokEOF || depth == 0 && (t.kind == tokNL || t.kind == tokPunct && t.text == "}") {
			return s
		}
		if t.kind == tokPunct && t.text == "{" {
			depth++
		}
		if t.kind == tokPunct && t.text == "}" {
			depth--
		}
		if t.kind == tokNL {
			p.i++
			continue
		}
		w := t.text
		switch t.kind {
		case tokString:
			w = nftQuote(t.text)
		case tokAt:
			w = "@" + t.text
		}
		s.Words = append(s.Words, w)
		p.i++
	}
}

// verdict reads a verdict; want is what nft's message says it expected
// instead of a keyword as a jump or goto target: '{' in a statement (an
// anonymous chain could follow), "string or '$'" in a map's data.
func (p *parser) verdict(want string) Verdict {
	t := p.next()
	v := Verdict{Pos: t.pos, Kind: t.text}
	if t.text == "jump" || t.text == "goto" {
		v.Chain = p.targetIdent(want)
	}
	return v
}

func (p *parser) matchOrSet() Stmt {
	pos := p.peek().pos
	x := p.lhs()
	if sel, ok := x.(*Selector); ok && p.acceptWord("set") {
		return &SetStmt{Pos: pos, Key: sel, Val: p.rhsValue()}
	}
	if p.acceptWord("vmap") {
		return &VmapStmt{Pos: pos, X: x, Map: p.primary()}
	}
	m := &Match{Pos: pos, X: x}
	t := p.peek()
	if op, ok := relOps[t.text]; ok && (t.kind == tokPunct || t.kind == tokWord) {
		p.i++
		m.Op = op
	}
	m.Y = p.rhs()
	return m
}

// lhs parses the left side of a match: a selector, concatenations and
// bit operations.
func (p *parser) lhs() Expr { return p.concatOf(p.lhsTerm) }

// concatOf reads term, or terms joined by '.' into a Concat.
func (p *parser) concatOf(term func() Expr) Expr {
	x := term()
	if p.isPunct(".") {
		c := &Concat{Pos: x.Position(), Xs: []Expr{x}}
		for p.acceptPunct(".") {
			c.Xs = append(c.Xs, term())
		}
		x = c
	}
	return x
}

func (p *parser) lhsTerm() Expr {
	x := p.selectorOrValue()
	if v, ok := x.(*Value); ok && payloadFields[v.Text] != nil {
		// On the left a header keyword must be followed by one of its
		// fields ("ip 0" is nft's "syntax error, unexpected …").
		p.unexpected(p.peek(), "a field of "+v.Text)
	}
	return p.binops(x, 1, true)
}

// binops extends x with the bit operators that follow it, binding as nft's
// grammar does (parser_bison.y shift_expr, and_expr, exclusive_or_expr,
// inclusive_or_expr: << and >> before &, & before ^, ^ before |, each
// left-associative), so "ip saddr ^ 1.2.3.4 & 1.2.3.4" is
// saddr ^ (1.2.3.4 & 1.2.3.4) there and here. minPrec is the weakest
// operator this call may take; left is whether the shifts and the keyword
// spellings are allowed (a match's left side; a value on the right takes
// only & | ^).
func (p *parser) binops(x Expr, minPrec int, left bool) Expr {
	for {
		op := p.peekBinop(left)
		prec := binopPrec[op]
		if op == "" || prec < minPrec {
			return x
		}
		p.i++
		y := p.primary()
		for {
			next := p.peekBinop(left)
			if next == "" || binopPrec[next] <= prec {
				break
			}
			y = p.binops(y, prec+1, left)
		}
		x = &Binop{Pos: x.Position(), Op: op, X: x, Y: y}
	}
}

// peekBinop returns the bit operator at the next token, or "".
func (p *parser) peekBinop(left bool) string {
	t := p.peek()
	switch {
	case t.kind == tokPunct && (t.text == "&" || t.text == "|" || t.text == "^"):
		return t.text
	case !left:
		return ""
	case t.kind == tokPunct && (t.text == "<<" || t.text == ">>"):
		return t.text
	case t.kind == tokWord:
		return wordOps[t.text] // and, or, xor, lshift, rshift
	}
	return ""
}

var wordOps = map[string]string{"and": "&", "or": "|", "xor": "^", "lshift": "<<", "rshift": ">>"}

func (p *parser) selectorOrValue() Expr {
	t := p.peek()
	if t.kind == tokWord && isSelectorStart(t.text) {
		n := p.peekN(1)
		if f, ok := payloadFields[t.text]; !ok || n.kind == tokWord && f[n.text] || t.text == "tcp" && n.text == "option" {
			return p.selector()
		}
	}
	return p.primary()
}

// selector reads a selector's keywords.
func (p *parser) selector() *Selector {
	t := p.next()
	s := &Selector{Pos: t.pos, Words: []string{t.text}}
	add := func() { s.Words = append(s.Words, p.next().text) }
	switch w := t.text; {
	case w == "meta":
		add()
	case unqualifiedMeta[w]:
		s.Words = []string{"meta", w}
	case w == "ct":
		if p.isWord("original") || p.isWord("reply") {
			add()
			if p.isWord("ip") || p.isWord("ip6") {
				add()
			}
		}
		add()
	case w == "fib":
		s.Args = append(s.Args, &Value{Pos: p.peek().pos, Text: p.next().text})
		for p.acceptPunct(".") {
			s.Args = append(s.Args, &Value{Pos: p.peek().pos, Text: p.next().text})
		}
		add()
	case w == "rt":
		if p.isWord("ip") || p.isWord("ip6") {
			add()
		}
		add()
	case w == "tcp" && p.isWord("option"):
		add()
		add()
		if t := p.peek(); t.kind == tokWord && !p.selectorEnd() {
			add()
		}
	case w == "jhash" || w == "symhash":
		// jhash EXPR mod N [seed N] [offset N] (nft_hash)
		if w == "jhash" {
			s.Args = []Expr{p.concatOf(p.selectorOrValue)}
		}
		p.expectWord("mod")
		s.Words = append(s.Words, "mod", p.next().text)
		for p.isWord("seed") || p.isWord("offset") {
			s.Words = append(s.Words, p.next().text, p.next().text)
		}
	case w == "numgen":
		add()
		p.expectWord("mod")
		s.Words = append(s.Words, "mod", p.next().text)
		if p.acceptWord("offset") {
			s.Words = append(s.Words, "offset", p.next().text)
		}
	case w == "socket" && p.isWord("cgroupv2"):
		add()
		add()
		add()
	default:
		switch {
		case p.peek().kind == tokWord && payloadFields[w] != nil && payloadFields[w][p.peek().text]:
			add()
		case w == "socket" || w == "osf" || w == "exthdr":
			if p.peek().kind == tokWord {
				add()
			}
		}
	}
	return s
}

func (p *parser) selectorEnd() bool {
	t := p.peek()
	_, op := relOps[t.text]
	return op || t.text == "set" || t.text == "exists" || t.text == "missing"
}

// rhs parses the right side of a match: a value, a comma list, a set, a
// range, a prefix, a concatenation.
func (p *parser) rhs() Expr {
	x := p.concatExpr()
	if p.isPunct(",") {
		l := &List{Pos: x.Position(), Xs: []Expr{x}}
		for p.acceptPunct(",") {
			l.Xs = append(l.Xs, p.concatExpr())
		}
		x = l
		if !p.isPunct("/") {
			return l
		}
	}
	if p.isPunct("/") {
		// tcp flags syn / syn,ack: a mask.
		p.i++
		m := p.concatExpr()
		if p.isPunct(",") {
			l := &List{Pos: m.Position(), Xs: []Expr{m}}
			for p.acceptPunct(",") {
				l.Xs = append(l.Xs, p.concatExpr())
			}
			m = l
		}
		return &Binop{Pos: x.Position(), Op: "/", X: x, Y: m}
	}
	return x
}

// rhsValue parses the value of a set statement: a selector or a constant,
// with bit operations and map lookups.
func (p *parser) rhsValue() Expr {
	x := p.lhs()
	if p.acceptWord("map") {
		x = &MapLookup{Pos: x.Position(), X: x, Map: p.primary()}
	}
	return x
}

func (p *parser) concatExpr() Expr { return p.concatOf(p.rangeExpr) }

func (p *parser) rangeExpr() Expr {
	x := p.selectorOrValue()
	if p.isPunct("-") {
		p.i++
		return &Range{Pos: x.Position(), Lo: x, Hi: p.primary()}
	}
	return p.binops(x, 1, false)
}

// primary parses a single value: literal, @set, { set }, ( expr ), or a
// word split into a range or prefix.
func (p *parser) primary() Expr {
	t := p.peek()
	switch t.kind {
	case tokAt:
		p.i++
		return &SetRef{Pos: t.pos, Name: t.text}
	case tokString:
		p.i++
		return &Value{Pos: t.pos, Text: t.text, Quoted: true}
	case tokPunct:
		switch t.text {
		case "{":
			return p.setExpr()
		case "(":
			p.i++
			x := p.lhs()
			for p.acceptPunct("|") {
				x = &Binop{Pos: x.Position(), Op: "|", X: x, Y: p.lhs()}
			}
			p.expectPunct(")")
			return x
		case "*":
			p.i++
			return &Wildcard{Pos: t.pos}
		case "-":
			p.i++
			n := p.next()
			return &Value{Pos: t.pos, Text: "-" + n.text}
		}
	case tokWord:
		if verdictWords[t.text] {
			v := p.verdict("string or '$'")
			return &v
		}
		p.i++
		return wordValue(t)
	}
	p.unexpected(t, "value")
	return nil
}

// wordValue splits a word that lexed as one but is a prefix (a/n) or a
// range (a-b).
func wordValue(t token) Expr {
	w := t.text
	if i := strings.LastIndexByte(w, '/'); i > 0 {
		if n, err := strconv.Atoi(w[i+1:]); err == nil {
			return &Prefix{Pos: t.pos, X: &Value{Pos: t.pos, Text: w[:i]}, Len: n}
		}
	}
	if i := strings.IndexByte(w, '-'); i > 0 && looksNumeric(w[:i]) && looksNumeric(w[i+1:]) {
		return &Range{Pos: t.pos, Lo: &Value{Pos: t.pos, Text: w[:i]}, Hi: &Value{Pos: t.pos, Text: w[i+1:]}}
	}
	return &Value{Pos: t.pos, Text: w}
}

func looksNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == ':' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == 'x') {
			return false
		}
	}
	return s[0] >= '0' && s[0] <= '9' || strings.Contains(s, ":")
}

// setExpr parses { elem, ... } with map elements and element options.
func (p *parser) setExpr() *SetExpr {
	open := p.expectPunct("{")
	s := &SetExpr{Pos: open.pos}
	for {
		p.skipNL()
		if p.acceptPunct("}") {
			return s
		}
		x := p.concatExpr()
		x = p.elemOpts(x)
		if p.acceptPunct(":") {
			p.skipNL()
			v := p.concatExpr()
			if vv, ok := v.(*Value); ok && (vv.Text == "jump" || vv.Text == "goto") {
				v = &Verdict{Pos: vv.Pos, Kind: vv.Text, Chain: p.targetIdent("string or '$'")}
			}
			x = &MapElem{Pos: x.Position(), Key: x, Val: v}
		}
		s.Elems = append(s.Elems, x)
		p.skipNL()
		if !p.acceptPunct(",") {
			p.skipNL()
			p.expectPunct("}")
			return s
		}
	}
}

func (p *parser) elemOpts(x Expr) Expr {
	var e *Elem
	get := func() *Elem {
		if e == nil {
			e = &Elem{Pos: x.Position(), X: x}
		}
		return e
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tokWord && t.text == "timeout":
			p.i++
			get().Timeout = p.name()
		case t.kind == tokWord && t.text == "expires":
			p.i++
			get().Expires = p.name()
		case t.kind == tokWord && t.text == "comment":
			p.i++
			get().Comment = p.str()
		case t.kind == tokWord && (t.text == "counter" || t.text == "limit" || t.text == "quota"):
			get().Stmts = append(get().Stmts, p.stmt())
		default:
			if e != nil {
				return e
			}
			return x
		}
	}
}

func (p *parser) dynset() Stmt {
	t := p.next()
	s := &DynsetStmt{Pos: t.pos, Op: t.text, Set: p.next().text}
	s.Key, s.Timeout, s.Stmts = p.elemBody()
	return s
}

// elemBody reads the `{ KEY [timeout T] [STMT...] }` of a set statement
// or a meter.
func (p *parser) elemBody() (key Expr, timeout string, stmts []Stmt) {
	p.expectPunct("{")
	key = p.concatExpr()
	if p.acceptWord("timeout") {
		timeout = p.name()
	}
	for !p.isPunct("}") {
		stmts = append(stmts, p.stmt())
	}
	p.expectPunct("}")
	return key, timeout, stmts
}

func (p *parser) meter() Stmt {
	t := p.next()
	s := &MeterStmt{Pos: t.pos, Name: p.name()}
	if p.acceptWord("size") {
		s.Size = p.number()
	}
	s.Key, s.Timeout, s.Stmts = p.elemBody()
	return s
}

func (p *parser) logStmt() Stmt {
	t := p.next()
	s := &LogStmt{Pos: t.pos}
	for {
		k := p.peek()
		if k.kind != tokWord {
			return s
		}
		switch k.text {
		case "prefix", "level", "group", "snaplen", "queue-threshold":
			p.i++
			s.Opts = append(s.Opts, Option{Key: k.text, Value: p.primary()})
		case "flags":
			p.i++
			s.Opts = append(s.Opts, Option{Key: k.text, Value: p.logFlags()})
		default:
			return s
		}
	}
}

// logFlags reads the value of one "flags" of a log statement: all,
// skuid, ether, ip options, or tcp followed by sequence and/or options
// (comma separated); it is kept as one Value of the words.
func (p *parser) logFlags() Expr {
	t := p.next()
	v := &Value{Pos: t.pos, Text: t.text}
	if t.text == "tcp" || t.text == "ip" {
		v.Text += " " + p.name()
		for t.text == "tcp" && p.acceptPunct(",") {
			v.Text += "," + p.name()
		}
	}
	return v
}

var limitUnits = map[string]bool{"bytes": true, "kbytes": true, "mbytes": true}

func (p *parser) limitStmt() Stmt {
	t := p.next()
	s := &LimitStmt{Pos: t.pos}
	if p.acceptWord("name") {
		s.Name = p.primary()
		return s
	}
	p.expectWord("rate")
	if p.acceptWord("over") {
		s.Over = true
	} else {
		p.acceptWord("until")
	}
	w := p.next()
	text := w.text
	// "10/second" is one word; "10 mbytes/second" two.
	if i := strings.IndexByte(text, '/'); i > 0 {
		s.Per = text[i+1:]
		text = text[:i]
	}
	n, err := parseUint(text)
	if err != nil {
		p.failAt(w, "syntax error, bad rate %q", w.text)
	}
	s.Rate = n
	if s.Per == "" {
		u := p.next()
		unit := u.text
		if i := strings.IndexByte(unit, '/'); i > 0 {
			s.Per = unit[i+1:]
			unit = unit[:i]
		} else if p.acceptPunct("/") {
			s.Per = p.name()
		}
		if !limitUnits[unit] {
			p.failAt(u, "syntax error, bad rate unit %q", u.text)
		}
		s.RateUnit = unit
	}
	if p.acceptWord("burst") {
		s.Burst = p.number()
		if p.isWord("packets") || limitUnits[p.peek().text] {
			s.BurstUnit = p.next().text
		}
	}
	return s
}

func (p *parser) quotaStmt() Stmt {
	t := p.next()
	s := &QuotaStmt{Pos: t.pos}
	if p.acceptWord("name") {
		s.Name = p.primary()
		return s
	}
	if p.acceptWord("over") {
		s.Over = true
	} else {
		p.acceptWord("until")
	}
	s.Bytes = p.bytes()
	if p.acceptWord("used") {
		s.Used = p.bytes()
	}
	return s
}

func (p *parser) bytes() uint64 {
	n := p.number()
	u := p.next()
	switch u.text {
	case "bytes":
	case "kbytes":
		n <<= 10
	case "mbytes":
		n <<= 20
	case "gbytes":
		n <<= 30
	default:
		p.unexpected(u, "bytes unit")
	}
	return n
}

func (p *parser) natStmt() Stmt {
	t := p.next()
	s := &NatStmt{Pos: t.pos, Kind: t.text}
	if p.isWord("ip") || p.isWord("ip6") {
		s.Family = p.next().text
	}
	// dnat ip addr . port to MAP: the map yields address and port; nft
	// 1.0.6 lists it without the "addr . port" words.
	if p.isWord("addr") && p.peekN(1).kind == tokPunct && p.peekN(1).text == "." && p.peekN(2).text == "port" {
		p.i += 3
	}
	if p.acceptWord("prefix") {
		s.Prefix = true
	}
	if p.acceptWord("to") || (s.Kind == "snat" || s.Kind == "dnat") && !p.atStmtEnd() {
		if p.acceptPunct(":") {
			s.Port = p.concatExpr()
		} else {
			x := p.natAddr(s)
			s.Addr = x
			if p.acceptWord("map") {
				s.Addr = &MapLookup{Pos: x.Position(), X: x, Map: p.primary()}
			} else if p.acceptPunct(":") {
				s.Port = p.concatExpr()
			}
		}
	}
	// redirect/masquerade to N: the value is a port (nft lists to :N).
	if (s.Kind == "redirect" || s.Kind == "masquerade") && s.Addr != nil && s.Port == nil {
		s.Addr, s.Port = nil, s.Addr
	}
	for {
		k := p.peek()
		if k.kind == tokWord && (k.text == "random" || k.text == "fully-random" || k.text == "persistent") {
			p.i++
			s.Flags = append(s.Flags, k.text)
			p.acceptPunct(",")
			continue
		}
		return s
	}
}

// tproxyStmt reads tproxy [ip|ip6] to addr[:port] | to :port.
func (p *parser) tproxyStmt() Stmt {
	t := p.next()
	s := &TproxyStmt{Pos: t.pos}
	if p.isWord("ip") || p.isWord("ip6") {
		s.Family = p.next().text
	}
	p.expectWord("to")
	if p.acceptPunct(":") {
		s.Port = p.primary()
		return s
	}
	n := &NatStmt{}
	s.Addr = p.natAddr(n)
	s.Port = n.Port
	if s.Port == nil && p.acceptPunct(":") {
		s.Port = p.primary()
	}
	return s
}

// natAddr reads a nat target address; a word like 1.2.3.4:80 carries its
// port, and [::1]:80 is an IPv6 address with a port.
func (p *parser) natAddr(s *NatStmt) Expr {
	t := p.peek()
	if t.kind == tokPunct && t.text == "[" {
		p.i++
		a := p.concatExpr()
		p.expectPunct("]")
		return a
	}
	if t.kind == tokWord && strings.Count(t.text, ":") == 1 && strings.Count(t.text, ".") == 3 {
		p.i++
		i := strings.IndexByte(t.text, ':')
		s.Port = wordValue(token{pos: t.pos, text: t.text[i+1:]})
		return wordValue(token{pos: t.pos, text: t.text[:i]})
	}
	return p.concatExpr()
}
