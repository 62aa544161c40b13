package engine

import "github.com/hare-fw/hare/ruleset"

// namedSet is a compiled named set: its single values in a hash (constant
// time at any size) and its ranges and prefixes as sorted disjoint
// intervals (binary search, logarithmic). Both are immutable after
// Compile and shared by every rule that looks the set up.
type namedSet struct {
	t     vtype
	exact map[u128]struct{}
	ivs   ivset
}

// setTypes are the element types named sets support so far.
var setTypes = map[string]vtype{
	"ipv4_addr":    tAddr4,
	"ipv6_addr":    tAddr6,
	"inet_service": tPort,
	"inet_proto":   tProto,
}

// compileSets compiles the named sets of t. A map, a concatenated key, a
// typeof key or an element with a timeout is an *Error for now.
func compileSets(t *ruleset.Table) (map[string]*namedSet, error) {
	out := map[string]*namedSet{}
	for _, s := range t.Sets {
		if s.IsMap {
			return nil, &Error{s.Pos, "unsupported: named map " + s.Name}
		}
		if len(s.Key) != 1 {
			return nil, &Error{s.Pos, sprintf("unsupported: key of set %s (typeof or concatenation)", s.Name)}
		}
		vt, ok := setTypes[s.Key[0]]
		if !ok {
			return nil, &Error{s.Pos, sprintf("unsupported: set %s of type %s", s.Name, s.Key[0])}
		}
		if s.Timeout != "" || len(s.Stmts) > 0 {
			return nil, &Error{s.Pos, sprintf("unsupported: set %s with timeout or statements", s.Name)}
		}
		var ivs ivset
		for _, e := range s.Elems {
			var err error
			if ivs, err = elems(e, vt, ivs); err != nil {
				return nil, err
			}
		}
		ns := &namedSet{t: vt, exact: map[u128]struct{}{}}
		for _, iv := range ivs.normalise() {
			if iv.lo == iv.hi {
				ns.exact[iv.lo] = struct{}{}
			} else {
				ns.ivs = append(ns.ivs, iv)
			}
		}
		out[s.Name] = ns
	}
	return out, nil
}

// refMatch compiles `sel @name` and `sel != @name`.
func refMatch(cd cond, m *ruleset.Match, ref *ruleset.SetRef, t vtype, sets map[string]*namedSet) (cond, error) {
	ns, ok := sets[ref.Name]
	if !ok {
		return cd, &Error{ref.Pos, "unknown set @" + ref.Name}
	}
	if ns.t != t {
		return cd, &Error{ref.Pos, sprintf("set @%s does not hold values of this selector's type", ref.Name)}
	}
	switch m.Op {
	case "", "==":
	case "!=":
		cd.neg = true
	default:
		return cd, &Error{m.Pos, "unsupported: operator " + m.Op + " with a set"}
	}
	cd.exact, cd.set = ns.exact, ns.ivs
	return cd, nil
}
