package engine

import (
	"github.com/hare-fw/hare/ruleset"
)

// namedSet is a compiled set or map, named or anonymous, shared by every
// rule that looks it up. Its elements live in the form that answers
// lookups fastest:
//
//   - a static set of one component (the common `ip saddr @blocked`):
//     single values in a Go map (constant time) and ranges and prefixes
//     as sorted disjoint intervals (binary search, logarithmic), read by
//     cond directly and by the chain index (plain);
//   - otherwise exact keys, concatenations included, in a hashTab over
//     the key's 32-bit registers (constant time, nft_set_hash), the
//     intervals of a one-component map sorted for binary search
//     (nft_set_rbtree), and the ranges of a concatenation as per-component
//     intervals tested element by element (the kernel's nft_set_pipapo
//     gives the same answers with bitmaps);
//   - a set that changes from the packet path (`add @s`, `update @s`,
//     element timeouts) in a dynTab (nft_set_rhash), the only mutable
//     state of a Compiled besides counters.
//
// A map's data (verdicts for vmaps, values for data maps) is in vals,
// indexed by what a lookup finds.
type namedSet struct {
	name    string
	pos     ruleset.Pos
	parts   []vtype // key component types
	regs    int     // key width in registers (keyRegs)
	isMap   bool
	verdict bool  // a verdict map
	data    vtype // a data map's value type
	timeout bool  // elements may carry timeouts (flag timeout)

	plain bool
	exact map[u128]struct{}
	ivs   ivset

	tab  hashTab
	ivm  ivset   // intervals of a one-component map
	ivv  []int32 // value index of each ivm interval
	rng  []interval
	rngv []int32 // value index of each concatenation range (len(parts) intervals of rng each)
	dyn  *dynTab
	vals []mapValue
	// jumps are the verdict elements' target chain names, resolved
	// into vals by resolveVerdicts.
	jumps    []string
	resolved bool
}

// mapValue is one value of a map: a verdict (act, target) or data.
type mapValue struct {
	act    action
	target int32
	data   u128
}

// setTypes are the element types of `type …` declarations.
var setTypes = map[string]vtype{
	"ipv4_addr":    tAddr4,
	"ipv6_addr":    tAddr6,
	"ether_addr":   tEther,
	"inet_service": tPort,
	"inet_proto":   tProto,
	"ifname":       tIfname,
	"mark":         tU32,
	"ct_state":     tCtState,
	"ct_status":    tCtStatus,
	"icmp_type":    tICMPType,
	"icmpv6_type":  tICMPv6Type,
	"icmp_code":    tU8,
	"icmpv6_code":  tU8,
	"nf_proto":     tNfproto,
	"tcp_flag":     tTCPFlags,
}

// compileSets compiles the named sets and maps of t.
func compileSets(t *ruleset.Table) (map[string]*namedSet, error) {
	out := map[string]*namedSet{}
	for _, s := range t.Sets {
		ns, err := compileSet(s)
		if err != nil {
			return nil, err
		}
		out[s.Name] = ns
	}
	return out, nil
}

// setKeyTypes reads a declaration's key: `type a . b` or `typeof x . y`.
func setKeyTypes(s *ruleset.Set) ([]vtype, error) {
	if s.KeyTypeof != nil {
		kps, err := keyParts(s.KeyTypeof)
		if err != nil {
			return nil, err
		}
		var out []vtype
		for _, kp := range kps {
			out = append(out, kp.t)
		}
		return out, nil
	}
	if len(s.Key) == 0 {
		return nil, &Error{s.Pos, "set " + s.Name + " has no type"}
	}
	var out []vtype
	for _, w := range s.Key {
		t, ok := setTypes[w]
		if !ok {
			return nil, &Error{s.Pos, sprintf("unsupported: set %s of type %s", s.Name, w)}
		}
		out = append(out, t)
	}
	if keyRegs(out) > maxKeyRegs {
		return nil, &Error{s.Pos, sprintf("key of set %s is longer than the kernel's 64 bytes", s.Name)}
	}
	return out, nil
}

func compileSet(s *ruleset.Set) (*namedSet, error) {
	parts, err := setKeyTypes(s)
	if err != nil {
		return nil, err
	}
	ns := &namedSet{name: s.Name, pos: s.Pos, parts: parts, regs: keyRegs(parts), isMap: s.IsMap}
	dynamic := false
	for _, f := range s.Flags {
		switch f {
		case "constant", "interval":
		case "timeout":
			ns.timeout = true
		case "dynamic":
			dynamic = true
		default:
			return nil, &Error{s.Pos, sprintf("unsupported: flag %s of set %s", f, s.Name)}
		}
	}
	if len(s.Stmts) > 0 {
		return nil, &Error{s.Pos, sprintf("unsupported: statements on the elements of set %s", s.Name)}
	}
	if s.IsMap {
		if err := ns.dataType(s); err != nil {
			return nil, err
		}
	}
	var timeout, gcInt int64 = 0, 1e9 // the kernel's default gc interval: one second (nft_set_gc_interval)
	if s.Timeout != "" {
		ns.timeout = true
		if timeout, err = nftTime(s.Timeout, s.Pos); err != nil {
			return nil, err
		}
	}
	if s.GCInterval != "" {
		if gcInt, err = nftTime(s.GCInterval, s.Pos); err != nil {
			return nil, err
		}
	}
	els, err := ns.readElems(s.Elems)
	if err != nil {
		return nil, err
	}
	if dynamic || ns.timeout {
		return ns, ns.buildDynamic(els, int64(s.Size), timeout, gcInt)
	}
	if s.Size > 0 && uint64(len(els)) > s.Size {
		return nil, &Error{s.Pos, sprintf("set %s has %d elements, more than its size %d", s.Name, len(els), s.Size)}
	}
	return ns, ns.build(els)
}

// dataType reads a map's data type.
func (ns *namedSet) dataType(s *ruleset.Set) error {
	if s.DataIsInterval {
		return &Error{s.Pos, "unsupported: map " + s.Name + " with interval data"}
	}
	if s.DataTypeof != nil {
		kp, err := keyPartOf(s.DataTypeof)
		if err != nil {
			return err
		}
		ns.data = kp.t
		return nil
	}
	if s.Data == "verdict" {
		ns.verdict = true
		return nil
	}
	t, ok := setTypes[s.Data]
	if !ok {
		return &Error{s.Pos, sprintf("unsupported: map %s of data type %s", s.Name, s.Data)}
	}
	ns.data = t
	return nil
}

// setElem is one element as read from the source.
type setElem struct {
	pos     ruleset.Pos
	parts   []interval
	val     mapValue
	jump    string
	timeout int64 // ns, 0 for none
}

func (e *setElem) exact() bool {
	for _, iv := range e.parts {
		if iv.lo != iv.hi {
			return false
		}
	}
	return true
}

// readElems reads the elements of a set or map of ns's type.
func (ns *namedSet) readElems(xs []ruleset.Expr) ([]setElem, error) {
	var out []setElem
	for _, x := range xs {
		e := setElem{pos: x.Position()}
		var key, val ruleset.Expr = x, nil
		if me, ok := key.(*ruleset.MapElem); ok {
			key, val = me.Key, me.Val
		}
		if el, ok := key.(*ruleset.Elem); ok {
			if len(el.Stmts) > 0 {
				return nil, &Error{el.Pos, "unsupported: statements on a set element"}
			}
			to := el.Timeout
			if el.Expires != "" {
				to = el.Expires // what remains of it when listed
			}
			if to != "" {
				if !ns.timeout {
					return nil, &Error{el.Pos, "element timeout in set " + ns.name + " without the timeout flag"}
				}
				var err error
				if e.timeout, err = nftTime(to, el.Pos); err != nil {
					return nil, err
				}
			}
			key = el.X
			if me, ok := key.(*ruleset.MapElem); ok {
				key, val = me.Key, me.Val
			}
		}
		if (val != nil) != ns.isMap {
			if ns.isMap {
				return nil, &Error{e.pos, "map element without a value"}
			}
			return nil, &Error{e.pos, "set element with a value"}
		}
		ks := []ruleset.Expr{key}
		if c, ok := key.(*ruleset.Concat); ok {
			ks = c.Xs
		}
		if len(ks) != len(ns.parts) {
			return nil, &Error{e.pos, sprintf("element has %d components, the key of %s has %d", len(ks), ns.name, len(ns.parts))}
		}
		for i, k := range ks {
			iv, err := partInterval(k, ns.parts[i])
			if err != nil {
				return nil, err
			}
			e.parts = append(e.parts, iv)
		}
		if val != nil {
			if err := ns.readValue(&e, val); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// readValue reads a map element's data.
func (ns *namedSet) readValue(e *setElem, val ruleset.Expr) error {
	if ns.verdict {
		v, ok := val.(*ruleset.Verdict)
		if !ok {
			return &Error{val.Position(), "a verdict map needs a verdict here"}
		}
		switch v.Kind {
		case "accept":
			e.val.act = actAccept
		case "drop":
			e.val.act = actDrop
		case "continue":
			e.val.act = actContinue
		case "return":
			e.val.act = actReturn
		case "jump", "goto":
			e.val.act = actJump
			if v.Kind == "goto" {
				e.val.act = actGoto
			}
			e.jump = v.Chain
		default:
			return &Error{v.Pos, "unsupported: verdict " + v.Kind + " in a map"}
		}
		return nil
	}
	iv, err := partInterval(val, ns.data)
	if err != nil {
		return err
	}
	if iv.lo != iv.hi {
		return &Error{val.Position(), "unsupported: a range as map data"}
	}
	e.val.data = iv.lo
	return nil
}

// addValue records e's value and returns its index.
func (ns *namedSet) addValue(e *setElem) int32 {
	if !ns.isMap {
		return 0
	}
	ns.vals = append(ns.vals, e.val)
	ns.jumps = append(ns.jumps, e.jump)
	return int32(len(ns.vals) - 1)
}

// keyOf writes an exact element's key registers.
func (ns *namedSet) keyOf(e *setElem, buf *keyBuf) []uint32 {
	off := 0
	for i, t := range ns.parts {
		n := regsOf(t)
		put(buf, off, e.parts[i].lo, n)
		off += n
	}
	return buf[:ns.regs]
}

// build places the elements of a static set or map.
func (ns *namedSet) build(els []setElem) error {
	if !ns.isMap && len(ns.parts) == 1 {
		ns.plain = true
		ns.exact = map[u128]struct{}{}
		var ivs ivset
		for i := range els {
			ivs = append(ivs, els[i].parts[0])
		}
		for _, iv := range ivs.normalise() {
			if iv.lo == iv.hi {
				ns.exact[iv.lo] = struct{}{}
			} else {
				ns.ivs = append(ns.ivs, iv)
			}
		}
		return nil
	}
	// A map of one component with any range is an interval map
	// (nft_set_rbtree): every element is an interval, and overlapping
	// ones conflict, as nft refuses them.
	intervalMap := false
	if ns.isMap && len(ns.parts) == 1 {
		for i := range els {
			intervalMap = intervalMap || !els[i].exact()
		}
	}
	nExact := 0
	for i := range els {
		if !intervalMap && els[i].exact() {
			nExact++
		}
	}
	ns.tab = newHashTab(ns.regs, nExact)
	var buf keyBuf
	type ivv struct {
		iv  interval
		val int32
		pos ruleset.Pos
	}
	var ivl []ivv
	for i := range els {
		e := &els[i]
		switch {
		case intervalMap:
			ivl = append(ivl, ivv{e.parts[0], ns.addValue(e), e.pos})
		case e.exact():
			k := ns.keyOf(e, &buf)
			if old := ns.tab.find(k); old >= 0 {
				if ns.isMap && ns.vals[old] != e.val || ns.isMap && ns.jumps[old] != e.jump {
					return &Error{e.pos, "conflicting value for a key already in map " + ns.name}
				}
				continue
			}
			ns.tab.insert(k, ns.addValue(e))
		default:
			ns.rng = append(ns.rng, e.parts...)
			ns.rngv = append(ns.rngv, ns.addValue(e))
		}
	}
	if intervalMap {
		sortIvv(ivl, func(a ivv) interval { return a.iv })
		for i, x := range ivl {
			if i > 0 && !ivl[i-1].iv.hi.less(x.iv.lo) {
				return &Error{x.pos, "conflicting intervals in map " + ns.name}
			}
			ns.ivm = append(ns.ivm, x.iv)
			ns.ivv = append(ns.ivv, x.val)
		}
	}
	return nil
}

// buildDynamic places the elements of a set that changes from the packet
// path or times out: exact keys only, as the kernel's hash sets.
func (ns *namedSet) buildDynamic(els []setElem, size, timeout, gcInt int64) error {
	if size > 0 && int64(len(els)) > size {
		return &Error{ns.pos, sprintf("set %s has %d elements, more than its size %d", ns.name, len(els), size)}
	}
	ns.dyn = newDynTab(ns.regs, size, len(els), timeout, gcInt)
	var buf keyBuf
	for i := range els {
		e := &els[i]
		if !e.exact() {
			return &Error{e.pos, "unsupported: ranges and prefixes in set " + ns.name + ", which has timeouts or is updated from the packet path"}
		}
		exp := int64(never)
		to := e.timeout
		if to == 0 {
			to = timeout // nft_add_set_elem: the set's timeout by default
		}
		if to > 0 {
			exp = -to
		}
		k := ns.keyOf(e, &buf)
		if ns.dyn.shardHas(k) {
			continue // a duplicate
		}
		ns.dyn.put(k, ns.addValue(e), exp, 0, false)
	}
	return nil
}

// shardHas reports whether k is in the table, expired or not (build time).
func (d *dynTab) shardHas(k []uint32) bool {
	s, h := d.shard(k)
	_, ok := s.probe(k, h, d.regs)
	return ok
}

// bindSet ties a table's set to the ruleset: the jump targets of a
// verdict map, and the clock its declared element timeouts start from.
func (c *Compiled) bindSet(ns *namedSet, index map[string]int32) error {
	if ns.dyn != nil {
		ns.dyn.epoch = &c.epoch
	}
	return c.resolveVerdicts(ns, index)
}

// resolveVerdicts turns the jump targets of a verdict map into chain
// indexes, refusing unknown and base chains as nft does.
func (c *Compiled) resolveVerdicts(ns *namedSet, index map[string]int32) error {
	if ns.resolved || !ns.verdict {
		return nil
	}
	ns.resolved = true
	for i, name := range ns.jumps {
		if name == "" {
			continue
		}
		t, ok := index[name]
		if !ok {
			return &Error{ns.pos, sprintf("jump to unknown chain %s in map %s", name, ns.name)}
		}
		if c.chains[t].hook != HookUnknown {
			return &Error{ns.pos, sprintf("cannot jump to base chain %s (map %s)", name, ns.name)}
		}
		ns.vals[i].target = t
	}
	return nil
}

// refMatch compiles `sel @name` and `sel != @name` for a plain set.
func refMatch(cd cond, m *ruleset.Match, ref *ruleset.SetRef, t vtype, sets map[string]*namedSet) (cond, error) {
	ns, ok := sets[ref.Name]
	if !ok {
		return cd, &Error{ref.Pos, "unknown set @" + ref.Name}
	}
	if len(ns.parts) != 1 || ns.parts[0] != t {
		return cd, &Error{ref.Pos, sprintf("set @%s does not hold values of this selector's type", ref.Name)}
	}
	if ns.isMap {
		return cd, &Error{ref.Pos, sprintf("@%s is a map, not a set", ref.Name)}
	}
	switch m.Op {
	case "", "==":
	case "!=":
		cd.neg = true
	default:
		return cd, &Error{m.Pos, "unsupported: operator " + m.Op + " with a set"}
	}
	if !ns.plain {
		if cd.hasMask {
			return cd, &Error{m.X.Position(), "unsupported: mask with set @" + ref.Name}
		}
		// Dynamic: looked up at run time, never indexed by its
		// current contents.
		cd.lk = &setLookup{parts: []keyPart{{cd.f, t, cd.arg}}, s: ns}
		cd.f, cd.hasMask = fNone, false
		return cd, nil
	}
	cd.exact, cd.set = ns.exact, ns.ivs
	return cd, nil
}
