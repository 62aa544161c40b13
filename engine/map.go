package engine

import (
	"sort"
	"strings"

	"github.com/hare-fw/hare/ruleset"
)

// setLookup is a compiled lookup of a key in a set or map: a match
// (`ip saddr . tcp dport @s`, cond.lk), a verdict map statement (opVmap),
// a data map expression (mapLookup) or a dynamic set statement
// (opDynset), which also carries its operation and timeout.
type setLookup struct {
	parts []keyPart
	s     *namedSet
	// dynset statements only.
	dop     dynOp
	timeout int64 // ns; 0 for the set's
}

// find looks the packet's key up: the value index of the element found
// (0 for a set), -1 for none, and loaded false when the packet lacks a
// key component (NFT_BREAK, whatever the operator). It allocates nothing.
func (cx *evalCtx) find(l *setLookup) (idx int32, loaded bool) {
	var buf keyBuf
	var vals [maxKeyRegs]u128
	if !cx.loadKey(l.parts, &buf, &vals) {
		return -1, false
	}
	return l.s.find(buf[:l.s.regs], vals[:len(l.parts)], cx.now), true
}

// find looks key k (registers) with component values vals up at time now.
func (ns *namedSet) find(k []uint32, vals []u128, now int64) int32 {
	if ns.dyn != nil {
		return ns.dyn.find(k, now)
	}
	if ns.plain {
		if _, ok := ns.exact[vals[0]]; ok || ns.ivs.has(vals[0]) {
			return 0
		}
		return -1
	}
	if i := ns.tab.find(k); i >= 0 {
		return i
	}
	if len(ns.ivm) > 0 {
		if i := ns.ivm.index(vals[0]); i >= 0 {
			return ns.ivv[i]
		}
		return -1
	}
	n := len(vals)
elems:
	for e, v := range ns.rngv {
		r := ns.rng[e*n : e*n+n]
		for i := range r {
			if vals[i].less(r[i].lo) || r[i].hi.less(vals[i]) {
				continue elems
			}
		}
		return v
	}
	return -1
}

// index is the position of the interval of s holding v, or -1.
func (s ivset) index(v u128) int {
	i, j := 0, len(s)
	for i < j {
		h := int(uint(i+j) >> 1)
		if s[h].hi.less(v) {
			i = h + 1
		} else {
			j = h
		}
	}
	if i < len(s) && !v.less(s[i].lo) {
		return i
	}
	return -1
}

// matchSet evaluates a match through a setLookup.
func (cx *evalCtx) matchSet(cd *cond) bool {
	i, ok := cx.find(cd.lk)
	if !ok {
		return false
	}
	return (i >= 0) != cd.neg
}

// vmap evaluates a verdict map: on a hit the element's verdict, on a miss
// ok false, and the rule ends (nft_lookup sets NFT_BREAK).
func (cx *evalCtx) vmap(l *setLookup) (act action, target int32, ok bool) {
	i, loaded := cx.find(l)
	if !loaded || i < 0 {
		return actContinue, 0, false
	}
	v := &l.s.vals[i]
	return v.act, v.target, true
}

// mapLookup evaluates a data map (`KEY map { k : v }`, `KEY map @m`,
// compiled by compileMapLookup): the value of the element the packet's
// key finds, or ok false when there is none or a key component is
// missing, where the statement using it must end the rule (nft_lookup
// with a data register: NFT_BREAK). Statements such as `meta mark set`
// call it; it allocates nothing.
func (cx *evalCtx) mapLookup(l *setLookup) (v u128, ok bool) {
	i, loaded := cx.find(l)
	if !loaded || i < 0 {
		return u128{}, false
	}
	return l.s.vals[i].data, true
}

// compileMapLookup compiles a data map expression whose values go to a
// destination of type data (`meta mark set ip saddr map { … }`: mark),
// which decides how the values of an anonymous map are read, as nft's
// evaluation does. A named map must hold values of that type.
func compileMapLookup(x *ruleset.MapLookup, sets map[string]*namedSet, data vtype) (*setLookup, error) {
	parts, err := keyParts(x.X)
	if err != nil {
		return nil, err
	}
	if se, ok := x.Map.(*ruleset.SetExpr); ok {
		ns := &namedSet{name: "anonymous", pos: se.Pos, parts: types(parts), isMap: true, data: data}
		ns.regs = keyRegs(ns.parts)
		els, err := ns.readElems(se.Elems)
		if err != nil {
			return nil, err
		}
		return &setLookup{parts: parts, s: ns}, ns.build(els)
	}
	ns, err := mapOf(x.Map, parts, false, sets)
	if err != nil {
		return nil, err
	}
	if ns.data != data {
		return nil, &Error{x.Map.Position(), sprintf("map @%s holds values of another type than its destination", ns.name)}
	}
	return &setLookup{parts: parts, s: ns}, nil
}

// mapOf finds or builds the map a lookup names: @name or an anonymous
// map of key parts, a verdict map or a data map.
func mapOf(m ruleset.Expr, parts []keyPart, verdict bool, sets map[string]*namedSet) (*namedSet, error) {
	what := map[bool]string{true: "verdict map", false: "data map"}[verdict]
	if ref, ok := m.(*ruleset.SetRef); ok {
		ns, ok := sets[ref.Name]
		if !ok {
			return nil, &Error{ref.Pos, "unknown map @" + ref.Name}
		}
		if !ns.isMap || ns.verdict != verdict {
			return nil, &Error{ref.Pos, sprintf("@%s is not a %s", ref.Name, what)}
		}
		if !sameTypes(ns.parts, parts) {
			return nil, &Error{ref.Pos, sprintf("map @%s does not hold keys of this type", ref.Name)}
		}
		return ns, nil
	}
	if _, ok := m.(*ruleset.SetExpr); !ok {
		return nil, &Error{m.Position(), "unsupported: " + what + " " + exprKind(m)}
	}
	ns := &namedSet{name: "anonymous", pos: m.Position(), parts: types(parts), isMap: true, verdict: verdict}
	ns.regs = keyRegs(ns.parts)
	els, err := ns.readElems(m.(*ruleset.SetExpr).Elems)
	if err != nil {
		return nil, err
	}
	return ns, ns.build(els)
}

func types(parts []keyPart) []vtype {
	out := make([]vtype, len(parts))
	for i, p := range parts {
		out[i] = p.t
	}
	return out
}

func sameTypes(a []vtype, parts []keyPart) bool {
	if len(a) != len(parts) {
		return false
	}
	for i := range a {
		if a[i] != parts[i].t {
			return false
		}
	}
	return true
}

// setMatch compiles the matches plain conds cannot express: a
// concatenation on the left (`ip saddr . tcp dport @s`), or a key-only
// selector (`th dport { … }`). ok is false for every other match.
func setMatch(m *ruleset.Match, sets map[string]*namedSet) (cd cond, ok bool, err error) {
	switch x := m.X.(type) {
	case *ruleset.Concat:
	case *ruleset.Selector:
		if _, special := keySelectors[strings.Join(x.Words, " ")]; !special {
			return cd, false, nil
		}
	default:
		return cd, false, nil
	}
	parts, err := keyParts(m.X)
	if err != nil {
		return cd, true, err
	}
	switch m.Op {
	case "", "==":
	case "!=":
		cd.neg = true
	default:
		return cd, true, &Error{m.Pos, "unsupported: operator " + m.Op + " with a concatenation"}
	}
	var ns *namedSet
	if ref, isRef := m.Y.(*ruleset.SetRef); isRef {
		ns = sets[ref.Name]
		switch {
		case ns == nil:
			return cd, true, &Error{ref.Pos, "unknown set @" + ref.Name}
		case ns.isMap:
			return cd, true, &Error{ref.Pos, sprintf("@%s is a map, not a set", ref.Name)}
		case !sameTypes(ns.parts, parts):
			return cd, true, &Error{ref.Pos, sprintf("set @%s does not hold keys of this type", ref.Name)}
		}
	} else {
		ns = &namedSet{name: "anonymous", pos: m.Y.Position(), parts: types(parts)}
		ns.regs = keyRegs(ns.parts)
		xs := []ruleset.Expr{m.Y}
		if se, ok := m.Y.(*ruleset.SetExpr); ok {
			xs = se.Elems
		}
		els, err := ns.readElems(xs)
		if err != nil {
			return cd, true, err
		}
		if err := ns.build(els); err != nil {
			return cd, true, err
		}
	}
	cd.lk = &setLookup{parts: parts, s: ns}
	return cd, true, nil
}

// vmapOp compiles `KEY vmap { k : verdict, … }` and `KEY vmap @m`.
func (c *Compiled) vmapOp(s *ruleset.VmapStmt, index map[string]int32, sets map[string]*namedSet) (op, error) {
	parts, err := keyParts(s.X)
	if err != nil {
		return op{}, err
	}
	ns, err := mapOf(s.Map, parts, true, sets)
	if err != nil {
		return op{}, err
	}
	if err := c.resolveVerdicts(ns, index); err != nil {
		return op{}, err
	}
	return op{kind: opVmap, cond: cond{lk: &setLookup{parts: parts, s: ns}}}, nil
}

// jump is one jump or goto an op can make.
type jump struct {
	act    action
	target int32
}

// jumps lists the jumps and gotos of o: its own verdict's, or each of its
// verdict map's (the kernel's loop check visits the elements of verdict
// maps too, nft_chain_validate).
func (o *op) jumps() []jump {
	var out []jump
	switch o.kind {
	case opVerdict:
		if o.act == actJump || o.act == actGoto {
			out = append(out, jump{o.act, o.target})
		}
	case opVmap:
		for _, v := range o.cond.lk.s.vals {
			if v.act == actJump || v.act == actGoto {
				out = append(out, jump{v.act, v.target})
			}
		}
	}
	return out
}

// nftTime reads an nft time: a sequence of number-unit pairs (d, h, m,
// s, ms), or a plain number of seconds. It returns nanoseconds.
func nftTime(s string, pos ruleset.Pos) (int64, error) {
	units := []struct {
		u string
		n int64
	}{{"ms", 1e6}, {"d", 86400e9}, {"h", 3600e9}, {"m", 60e9}, {"s", 1e9}}
	var total int64
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 12 {
			return 0, &Error{pos, sprintf("bad time %q", s)}
		}
		var n int64
		for _, ch := range rest[:i] {
			n = n*10 + int64(ch-'0')
		}
		rest = rest[i:]
		if rest == "" && total == 0 {
			return n * 1e9, nil
		}
		found := false
		for _, u := range units {
			if strings.HasPrefix(rest, u.u) {
				total += n * u.n
				rest = rest[len(u.u):]
				found = true
				break
			}
		}
		if !found {
			return 0, &Error{pos, sprintf("bad time %q", s)}
		}
	}
	return total, nil
}

// sortIvv sorts xs by the low end of the interval iv gives.
func sortIvv[T any](xs []T, iv func(T) interval) {
	sort.Slice(xs, func(i, j int) bool { return iv(xs[i]).lo.less(iv(xs[j]).lo) })
}
