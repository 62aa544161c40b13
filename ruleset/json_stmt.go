package ruleset

import (
	"errors"
	"strconv"
	"strings"
)

// stmt renders a statement as nft 1.0.6's *_stmt_json functions do.
func (p *jsonPrinter) stmt(s Stmt, pc ctx) jv {
	switch s := s.(type) {
	case *Match:
		return p.match(s, pc)
	case *VerdictStmt:
		return verdictJSON(&s.Verdict)
	case *VmapStmt:
		return single("vmap", obj("key", p.expr(s.X, pc.as("")), "data", p.mapData(s.Map, pc.as(typeOfExpr(s.X)))))
	case *CounterStmt:
		if s.Name != nil {
			return single("counter", p.objRef(s.Name))
		}
		if p.opts.Stateless {
			return single("counter", jnull{}) // nft -s -j
		}
		return single("counter", obj("packets", juint(s.Packets), "bytes", juint(s.Bytes)))
	case *LogStmt:
		return p.log(s)
	case *LimitStmt:
		if s.Name != nil {
			return single("limit", p.objRef(s.Name))
		}
		return single("limit", limitJSON(s))
	case *QuotaStmt:
		if s.Name != nil {
			return single("quota", p.objRef(s.Name))
		}
		return single("quota", quotaJSON(s))
	case *RejectStmt:
		return p.reject(s, pc)
	case *NatStmt:
		return p.nat(s, pc)
	case *SetStmt:
		// ct helper/timeout/expectation set X assign a named object
		// (objref_stmt_json).
		if w := s.Key.Words; len(w) == 2 && w[0] == "ct" && (w[1] == "helper" || w[1] == "timeout" || w[1] == "expectation") {
			if v, ok := s.Val.(*Value); ok {
				return single("ct "+w[1], jstr(v.Text))
			}
			return single("ct "+w[1], p.expr(s.Val, pc.as("")))
		}
		return single("mangle", obj("key", p.expr(s.Key, pc.as("")), "value", p.expr(s.Val, pc.as(selectorType(s.Key)))))
	case *DynsetStmt:
		so := obj("op", jstr(s.Op), "elem", p.dynElem(s.Key, s.Timeout, pc), "set", jstr("@"+s.Set))
		if len(s.Stmts) > 0 {
			sts := jarr{}
			for _, st := range s.Stmts {
				sts = append(sts, p.templateStmt(st, pc))
			}
			so = so.with("stmt", sts)
		}
		return single("set", so)
	case *MeterStmt:
		size := s.Size
		if size == 0 {
			size = 65535
		}
		// meter_stmt_json: one statement, not an array.
		var st jv = jnull{}
		if len(s.Stmts) == 1 {
			st = p.stmt(s.Stmts[0], pc)
		} else if len(s.Stmts) > 1 {
			return p.unsupported(s.Pos, "meter with several statements")
		}
		return single("meter", obj("key", p.dynElem(s.Key, s.Timeout, pc), "stmt", st, "size", juint(size), "name", jstr(s.Name)))
	case *SimpleStmt:
		return single(s.Word, jnull{})
	case *TproxyStmt:
		to := jobj{}
		if s.Family != "" {
			to = to.with("family", jstr(s.Family))
		}
		if s.Addr != nil {
			typ := "ipv4_addr"
			if s.Family == "ip6" || pc.family == FamilyIP6 || isIPv6(s.Addr) {
				typ = "ipv6_addr"
			}
			to = to.with("addr", p.expr(s.Addr, pc.as(typ)))
		}
		if s.Port != nil {
			to = to.with("port", p.expr(s.Port, pc.as("inet_service")))
		}
		return single("tproxy", to)
	case *CtCountStmt:
		co := obj("val", juint(s.Count))
		if s.Over {
			co = co.with("inv", jbool(true))
		}
		return single("ct count", co)
	case *RawStmt:
		w := "statement"
		if len(s.Words) > 0 {
			w = "statement " + strconv.Quote(s.Words[0])
		}
		return p.unsupported(s.Pos, w)
	}
	return p.unsupported(s.Position(), "statement")
}

// templateStmt renders a statement of a set declaration or a set
// statement: a counter there is a template, listed without values.
func (p *jsonPrinter) templateStmt(s Stmt, pc ctx) jv {
	if c, ok := s.(*CounterStmt); ok && c.Name == nil {
		return single("counter", jnull{})
	}
	return p.stmt(s, pc)
}

// objRef is the name of a named object a statement refers to.
func (p *jsonPrinter) objRef(x Expr) jv {
	if v, ok := x.(*Value); ok {
		return jstr(v.Text)
	}
	return p.unsupported(x.Position(), "object reference by expression")
}

// dynElem is the element of a set statement or meter: the key, wrapped
// in {"elem": {"val": key, "timeout": s}} when it has a timeout.
func (p *jsonPrinter) dynElem(key Expr, timeout string, pc ctx) jv {
	k := p.expr(key, pc.as(""))
	if timeout == "" {
		return k
	}
	return single("elem", obj("val", k, "timeout", juint(timeMillis(timeout)/1000)))
}

func verdictJSON(v *Verdict) jv {
	if v.Chain != "" {
		return single(v.Kind, obj("target", jstr(v.Chain)))
	}
	return single(v.Kind, jnull{})
}

// logFlagOrder is the order log_stmt_json lists flags in (NF_LOG_* bits).
var logFlagOrder = []string{"tcp sequence", "tcp options", "ip options", "skuid", "ether"}

func (p *jsonPrinter) log(s *LogStmt) jv {
	if len(s.Opts) == 0 || len(s.Opts) == 1 && isDefaultLogLevel(s.Opts[0]) {
		return single("log", jnull{})
	}
	lo := jobj{}
	var flags []string
	for _, key := range []string{"prefix", "group", "snaplen", "queue-threshold", "level"} {
		for _, o := range s.Opts {
			if o.Key != key || isDefaultLogLevel(o) {
				continue
			}
			v, _ := o.Value.(*Value)
			if v == nil {
				return p.unsupported(s.Pos, "log "+key+" expression")
			}
			switch key {
			case "prefix", "level":
				lv := v.Text
				if lv == "warning" {
					lv = "warn"
				}
				lo = lo.with(key, jstr(lv))
			default:
				lo = lo.with(key, jnum(v.Text))
			}
		}
	}
	for _, o := range s.Opts {
		if o.Key != "flags" {
			continue
		}
		words := flagWords(o.Value)
		for i := 0; i < len(words); i++ {
			w := words[i]
			if (w == "tcp" || w == "ip") && i+1 < len(words) {
				for _, f := range strings.Split(words[i+1], ",") {
					flags = append(flags, w+" "+f)
				}
				i++
				continue
			}
			flags = append(flags, w)
		}
	}
	if len(flags) > 0 {
		fa := jarr{}
		all := false
		for _, f := range flags {
			all = all || f == "all"
		}
		for _, f := range logFlagOrder {
			for _, g := range flags {
				if g == f || all {
					fa = append(fa, jstr(f))
					break
				}
			}
		}
		if all {
			lo = lo.with("flags", jstr("all"))
		} else {
			lo = lo.with("flags", fa)
		}
	}
	return single("log", lo)
}

// flagWords returns the words of a log flags value (tcp sequence,options
// parses as a list of concatenated words).
func flagWords(x Expr) []string {
	switch x := x.(type) {
	case *Value:
		return strings.Fields(x.Text)
	case *List:
		var out []string
		for _, y := range x.Xs {
			out = append(out, flagWords(y)...)
		}
		return out
	case *Concat:
		var out []string
		for _, y := range x.Xs {
			out = append(out, flagWords(y)...)
		}
		return out
	}
	return nil
}

// limitJSON is limit_stmt_json: rate and burst, in bytes units for a byte
// limit, the default burst of 5 packets written out.
func limitJSON(s *LimitStmt) jobj {
	burst := s.Burst
	if s.RateUnit == "" && burst == 0 {
		burst = 5
	}
	lo := obj("rate", juint(s.Rate), "burst", juint(burst), "per", jstr(s.Per))
	if s.RateUnit != "" {
		lo = obj("rate", juint(s.Rate), "burst", juint(burst), "per", jstr(s.Per))
		lo = lo.with("rate_unit", jstr(s.RateUnit))
		if s.Burst != 0 {
			lo = lo.with("burst_unit", jstr(s.BurstUnit))
		}
	}
	if s.Over {
		lo = lo.with("inv", jbool(true))
	}
	return lo
}

func quotaJSON(s *QuotaStmt) jobj {
	val, unit := bytesUnit(s.Bytes)
	qo := obj("val", juint(val), "val_unit", jstr(unit))
	if s.Used != 0 {
		u, uu := bytesUnit(s.Used)
		qo = qo.with("used", juint(u)).with("used_unit", jstr(uu))
	}
	if s.Over {
		qo = qo.with("inv", jbool(true))
	}
	return qo
}

// bytesUnit splits n into a value and the largest unit dividing it.
func bytesUnit(n uint64) (uint64, string) {
	f := strings.Fields(bytesString(n))
	v, _ := strconv.ParseUint(f[0], 10, 64)
	return v, f[1]
}

var errWords = errors.New("bad words")

// parseQuotaWords reads the body of a quota object: [over|until] N unit
// [used N unit].
func parseQuotaWords(w []string, q *QuotaStmt) error {
	if len(w) > 0 && (w[0] == "over" || w[0] == "until") {
		q.Over = w[0] == "over"
		w = w[1:]
	}
	read := func() (uint64, error) {
		if len(w) < 2 {
			return 0, errWords
		}
		n, err := strconv.ParseUint(w[0], 10, 64)
		if err != nil {
			return 0, err
		}
		shift := map[string]uint{"bytes": 0, "kbytes": 10, "mbytes": 20, "gbytes": 30}
		s, ok := shift[w[1]]
		if !ok {
			return 0, errWords
		}
		w = w[2:]
		return n << s, nil
	}
	var err error
	if q.Bytes, err = read(); err != nil {
		return err
	}
	if len(w) > 0 && w[0] == "used" {
		w = w[1:]
		if q.Used, err = read(); err != nil {
			return err
		}
	}
	if len(w) != 0 {
		return errWords
	}
	return nil
}

// parseLimitWords reads the body of a limit object: rate [over] N/unit
// [burst N packets].
func parseLimitWords(w []string) (*LimitStmt, error) {
	l := &LimitStmt{}
	if len(w) < 2 || w[0] != "rate" {
		return nil, errWords
	}
	w = w[1:]
	if w[0] == "over" || w[0] == "until" {
		l.Over = w[0] == "over"
		w = w[1:]
	}
	if len(w) == 0 {
		return nil, errWords
	}
	r := w[0]
	w = w[1:]
	i := strings.IndexByte(r, '/')
	if i < 0 {
		return nil, errWords
	}
	n, err := strconv.ParseUint(r[:i], 10, 64)
	if err != nil {
		return nil, err
	}
	l.Rate, l.Per = n, r[i+1:]
	if len(w) >= 2 && w[0] == "burst" {
		if l.Burst, err = strconv.ParseUint(w[1], 10, 64); err != nil {
			return nil, err
		}
		w = w[2:]
		if len(w) > 0 && w[0] == "packets" {
			w = w[1:]
		}
	}
	if len(w) != 0 {
		return nil, errWords
	}
	return l, nil
}

func (p *jsonPrinter) reject(s *RejectStmt, pc ctx) jv {
	switch s.With {
	case "tcp":
		return single("reject", obj("type", jstr("tcp reset")))
	case "":
		// The family's default, which nft lists explicitly in JSON.
		switch pc.family {
		case FamilyIP:
			return single("reject", obj("type", jstr("icmp"), "expr", jstr("port-unreachable")))
		case FamilyIP6:
			return single("reject", obj("type", jstr("icmpv6"), "expr", jstr("port-unreachable")))
		}
		return single("reject", obj("type", jstr("icmpx"), "expr", jstr("port-unreachable")))
	}
	c := pc.as("")
	switch s.With {
	case "icmp":
		c.typ = "icmp_code"
	case "icmpv6":
		c.typ = "icmpv6_code"
	case "icmpx":
		c.typ = "icmpx_code"
	}
	return single("reject", obj("type", jstr(s.With), "expr", jstr(exprString(s.Type, c))))
}

func (p *jsonPrinter) nat(s *NatStmt, pc ctx) jv {
	no := jobj{}
	if f := natFamily(s, pc.family); f != "" {
		no = no.with("family", jstr(f))
	}
	if s.Addr != nil {
		typ := "ipv4_addr"
		if natFamily(s, pc.family) == "ip6" || pc.family == FamilyIP6 {
			typ = "ipv6_addr"
		}
		no = no.with("addr", p.expr(s.Addr, pc.as(typ)))
	}
	if s.Port != nil {
		no = no.with("port", p.expr(s.Port, pc.as("inet_service")))
	}
	// nat_stmt_json writes a single flag as a string, several as an
	// array.
	if len(s.Flags) == 1 {
		no = no.with("flags", jstr(s.Flags[0]))
	} else if len(s.Flags) > 1 {
		fa := jarr{}
		for _, f := range s.Flags {
			fa = append(fa, jstr(f))
		}
		no = no.with("flags", fa)
	}
	if s.Prefix {
		no = no.with("type_flags", jstr("prefix"))
	}
	if len(no) == 0 {
		return single(s.Kind, jnull{})
	}
	return single(s.Kind, no)
}
