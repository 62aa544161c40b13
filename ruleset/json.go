package ruleset

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// JSON metainfo of nft 1.0.6 (json.c: do_list_ruleset_json's metainfo
// object; release name from nftables' configure.ac).
const (
	jsonNftVersion    = "1.0.6"
	jsonReleaseName   = "Lester Gooch #5"
	jsonSchemaVersion = 1
)

// UnsupportedJSONError names a construct the JSON printer cannot render
// as nft would; nothing is printed then.
type UnsupportedJSONError struct {
	Pos       Pos
	Construct string
}

func (e *UnsupportedJSONError) Error() string {
	return fmt.Sprintf("%s: JSON output of %s is not supported", e.Pos, e.Construct)
}

// jsonPrinter carries the first unsupported construct met.
type jsonPrinter struct {
	opts PrintOptions
	err  *UnsupportedJSONError
}

func (p *jsonPrinter) unsupported(pos Pos, what string) jv {
	if p.err == nil {
		p.err = &UnsupportedJSONError{Pos: pos, Construct: what}
	}
	return jnull{}
}

// PrintJSON writes rs as `nft -j list ruleset` (nft 1.0.6) prints it: one
// line, {"nftables": [metainfo, then per table the table, its objects, its
// named sets and maps, its chains, then the rules of every chain]}, the
// order of json.c's table_print_json_full. Handles are always printed, as
// nft -j does. A construct it cannot render is an *UnsupportedJSONError and
// nothing is written.
func PrintJSON(w io.Writer, rs *Ruleset, o PrintOptions) error {
	p := &jsonPrinter{opts: o}
	items := jarr{single("metainfo", obj(
		"version", jstr(jsonNftVersion),
		"release_name", jstr(jsonReleaseName),
		"json_schema_version", jint(jsonSchemaVersion)))}
	for _, t := range rs.Tables {
		items = append(items, p.table(t)...)
	}
	if p.err != nil {
		return p.err
	}
	var b strings.Builder
	single("nftables", items).encodeJSON(&b)
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

func (p *jsonPrinter) table(t *Table) jarr {
	fam := jstr(t.Family.String())
	to := obj("family", fam, "name", jstr(t.Name), "handle", juint(t.Handle))
	if t.Comment != "" {
		to = to.with("comment", jstr(t.Comment))
	}
	if len(t.Flags) > 0 {
		// nft 1.0.6's table_print_json packs the table's name where
		// the flags belong ("flags": "x" for table ip x { flags dormant }).
		to = to.with("flags", jstr(t.Name))
	}
	out := jarr{single("table", to)}
	for _, ob := range t.Objects {
		out = append(out, p.object(t, ob))
	}
	for _, s := range t.Sets {
		out = append(out, p.set(t, s))
	}
	for _, c := range t.Chains {
		out = append(out, p.chain(t, c))
	}
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			out = append(out, p.rule(t, c, r))
		}
	}
	return out
}

func (p *jsonPrinter) chain(t *Table, c *Chain) jv {
	// nft 1.0.6's chain_print_json has no comment.
	co := obj("family", jstr(t.Family.String()), "table", jstr(t.Name), "name", jstr(c.Name), "handle", juint(c.Handle))
	if c.IsBase() {
		pol := c.Policy
		if pol == "" {
			pol = "accept"
		}
		co = co.with("type", jstr(c.Type)).with("hook", jstr(c.Hook)).
			with("prio", jint(priorityValue(t.Family, c))).with("policy", jstr(pol))
	}
	return single("chain", co)
}

// priorityValue is the number the kernel holds for a chain's priority.
func priorityValue(fam Family, c *Chain) int {
	v := c.Priority.Offset
	if c.Priority.Name != "" {
		if fam == FamilyBridge {
			v += bridgePrioValue(c.Priority.Name)
		} else {
			v += prioNames[c.Priority.Name]
		}
	}
	return v
}

func (p *jsonPrinter) rule(t *Table, c *Chain, r *Rule) jv {
	ro := obj("family", jstr(t.Family.String()), "table", jstr(t.Name), "chain", jstr(c.Name), "handle", juint(r.Handle))
	if r.Comment != "" {
		ro = ro.with("comment", jstr(r.Comment))
	}
	pc := ctx{family: t.Family, opts: p.opts}
	stmts := listedDeps(r.Stmts, t.Family)
	drop, th := redundantDeps(stmts, t.Family)
	exprs := jarr{}
	for i, s := range stmts {
		if drop[i] {
			continue
		}
		if proto, ok := th[i]; ok {
			s = withHeader(s.(*Match), proto)
		}
		exprs = append(exprs, p.stmt(s, pc))
	}
	return single("rule", ro.with("expr", exprs))
}

// withHeader returns m with its selector's header word replaced (th dport
// listed as tcp dport after meta l4proto tcp).
func withHeader(m *Match, proto string) *Match {
	nm := *m
	sel := *m.X.(*Selector)
	sel.Words = append([]string{proto}, sel.Words[1:]...)
	nm.X = &sel
	return &nm
}

// setTypeJSON is a set's key or data type: a string, or an array of the
// parts of a concatenation (set_print_json's set_dtype_json).
func setTypeJSON(typ string) jv {
	parts := strings.Split(typ, " . ")
	if len(parts) == 1 {
		return jstr(typ)
	}
	a := make(jarr, len(parts))
	for i, s := range parts {
		a[i] = jstr(s)
	}
	return a
}

func (p *jsonPrinter) set(t *Table, s *Set) jv {
	c := setCtx(s, t.Family, p.opts)
	kind := "set"
	if s.IsMap {
		kind = "map"
	}
	typ := strings.Join(s.Key, " . ")
	if s.KeyTypeof != nil {
		typ = typeofDatatypes(s.KeyTypeof)
	}
	so := obj("family", jstr(t.Family.String()), "name", jstr(s.Name), "table", jstr(t.Name),
		"type", setTypeJSON(typ), "handle", juint(s.Handle))
	if s.Comment != "" {
		so = so.with("comment", jstr(s.Comment))
	}
	if s.IsMap {
		data := s.Data
		if v, ok := s.DataTypeof.(*Value); ok {
			data = v.Text // typeof ... : verdict
		} else if s.DataTypeof != nil {
			data = typeofDatatypes(s.DataTypeof)
		}
		so = so.with("map", jstr(data))
	}
	if s.Policy != "" && s.Policy != "performance" {
		so = so.with("policy", jstr(s.Policy))
	}
	if s.Size != 0 {
		so = so.with("size", juint(s.Size))
	}
	if flags := setFlags(s); len(flags) > 0 {
		fa := jarr{}
		// set_print_json lists constant, interval, timeout; nft 1.0.6
		// leaves dynamic out.
		for _, f := range strings.Split(setFlagList(flags), ",") {
			if f != "dynamic" {
				fa = append(fa, jstr(f))
			}
		}
		if len(fa) > 0 {
			so = so.with("flags", fa)
		}
	}
	if s.Timeout != "" {
		so = so.with("timeout", juint(timeMillis(s.Timeout)/1000))
	}
	if s.GCInterval != "" {
		so = so.with("gc-interval", juint(timeMillis(s.GCInterval)/1000))
	}
	if len(s.Elems) > 0 {
		elems := jarr{}
		for _, x := range normalisedElems(setElemList(s), c, setSorted(s, c)) {
			elems = append(elems, p.setElem(x, c))
		}
		so = so.with("elem", elems)
	}
	if len(s.Stmts) > 0 {
		sts := jarr{}
		for _, st := range s.Stmts {
			sts = append(sts, p.templateStmt(st, c.as("")))
		}
		so = so.with("stmt", sts)
	}
	return single(kind, so)
}

// typeofDatatypes is the datatype of a typeof expression, " . " joined,
// "integer" for the parts hare has no datatype for.
func typeofDatatypes(x Expr) string {
	xs := []Expr{x}
	if c, ok := x.(*Concat); ok {
		xs = c.Xs
	}
	parts := make([]string, len(xs))
	for i, y := range xs {
		parts[i] = typeOfExpr(y)
		if parts[i] == "" {
			parts[i] = "integer"
		}
	}
	return strings.Join(parts, " . ")
}

// timeMillis reads an nft time ("1h30m", "600s", "600" seconds) in
// milliseconds; 0 if it cannot.
func timeMillis(t string) uint64 {
	if n, err := strconv.ParseUint(t, 10, 64); err == nil {
		return n * 1000
	}
	var total uint64
	rest := t
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
			return 0
		}
		unit := uint64(0)
		for _, u := range timeUnits {
			if u.name == rest[i:j] {
				unit = u.ms
			}
		}
		if unit == 0 {
			return 0
		}
		total += n * unit
		rest = rest[j:]
	}
	return total
}

// object renders a named stateful object (obj_print_json).
func (p *jsonPrinter) object(t *Table, ob *Object) jv {
	oo := obj("family", jstr(t.Family.String()), "name", jstr(ob.Name), "table", jstr(t.Name), "handle", juint(ob.Handle))
	if ob.Comment != "" {
		oo = oo.with("comment", jstr(ob.Comment))
	}
	words := []string{}
	for _, f := range ob.Fields {
		words = append(words, f...)
	}
	arg := func(k string) (string, bool) {
		for i, w := range words {
			if w == k && i+1 < len(words) {
				return strings.Trim(words[i+1], `"`), true
			}
		}
		return "", false
	}
	switch ob.Kind {
	case "counter":
		oo = oo.with("packets", juint(ob.Packets)).with("bytes", juint(ob.Bytes))
	case "quota":
		q := &QuotaStmt{}
		if err := parseQuotaWords(words, q); err != nil {
			return p.unsupported(ob.Pos, "quota object "+strings.Join(words, " "))
		}
		if ob.Used != 0 {
			q.Used = ob.Used
		}
		oo = oo.with("bytes", juint(q.Bytes)).with("used", juint(q.Used)).with("inv", jbool(q.Over))
	case "ct helper":
		typ, _ := arg("type")
		proto, _ := arg("protocol")
		l3, ok := arg("l3proto")
		if !ok {
			l3 = defaultL3proto(t.Family)
		}
		oo = oo.with("type", jstr(typ)).with("protocol", jstr(proto)).with("l3proto", jstr(l3))
	case "ct expectation":
		proto, _ := arg("protocol")
		dport, _ := arg("dport")
		timeout, _ := arg("timeout")
		size, _ := arg("size")
		l3, ok := arg("l3proto")
		if !ok {
			l3 = defaultL3proto(t.Family)
		}
		oo = oo.with("protocol", jstr(proto)).with("dport", jnum(dport)).
			with("timeout", juint(timeMillis(timeout))).with("size", jnum(size)).with("l3proto", jstr(l3))
	case "limit":
		l, err := parseLimitWords(words)
		if err != nil {
			return p.unsupported(ob.Pos, "limit object "+strings.Join(words, " "))
		}
		for _, kv := range limitJSON(l) {
			if kv.k != "inv" {
				oo = oo.with(kv.k, kv.v)
			}
		}
		// obj_print_json lists rate, per, burst for a limit object.
		oo = reorder(oo, "rate", "per", "burst")
	case "synproxy":
		mss, _ := arg("mss")
		ws, _ := arg("wscale")
		oo = oo.with("mss", jnum(mss)).with("wscale", jnum(ws))
		var flags jarr
		for _, w := range words {
			if w == "timestamp" || w == "sack-perm" {
				flags = append(flags, jstr(w))
			}
		}
		if len(flags) > 0 {
			oo = oo.with("flags", flags)
		}
	default:
		return p.unsupported(ob.Pos, ob.Kind+" object")
	}
	return single(ob.Kind, oo)
}

// reorder moves the named keys of o to its end, in the order given.
func reorder(o jobj, keys ...string) jobj {
	var out jobj
	in := map[string]bool{}
	for _, k := range keys {
		in[k] = true
	}
	for _, kv := range o {
		if !in[kv.k] {
			out = append(out, kv)
		}
	}
	for _, k := range keys {
		for _, kv := range o {
			if kv.k == k {
				out = append(out, kv)
			}
		}
	}
	return out
}

func defaultL3proto(f Family) string {
	switch f {
	case FamilyIP6:
		return "ip6"
	case FamilyInet:
		return "inet"
	}
	return "ip"
}

// jnum is a number written as text, as a JSON number when it reads as one.
func jnum(s string) jv {
	if n, err := strconv.ParseUint(s, 0, 64); err == nil {
		return juint(n)
	}
	return jstr(s)
}
