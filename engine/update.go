package engine

import (
	"reflect"
	"slices"

	"github.com/hare-fw/hare/ruleset"
)

// Update compiles rs, a changed Clone of prev's source ruleset, reusing
// everything of prev the change did not touch. A rule whose source is the
// same *ruleset.Rule as in prev keeps its compiled form and its state
// (counters…), as a kernel rule keeps its counters when other rules come
// and go; a chain whose rules are all the same is reused whole, index
// included.
//
// Two paths:
//   - rules only (the common `add/insert/replace/delete rule`): every table,
//     chain and set is as in prev, only chains' rule lists differ. Only
//     the new rules are compiled and only the changed chains re-indexed:
//     BenchmarkUpdateAddRule is an `add rule` into a 10,000-rule chain.
//   - anything else (chains, sets, elements, tables, objects changed): a
//     full Compile, after which the state of every rule that survived is
//     carried over from prev.
//
// Either way the result is a new Compiled and prev is unchanged: packets
// still running on prev finish on it (Engine.Swap). A failing rule fails
// the whole update with its position, as Compile does.
func Update(prev *Compiled, rs *ruleset.Ruleset) (*Compiled, error) {
	if prev == nil || prev.src == nil || !sameShape(prev.src, rs) {
		var opts Options
		if prev != nil {
			opts = prev.opts
		}
		c, err := compile(rs, opts)
		if err != nil {
			return nil, err
		}
		if prev != nil {
			c.keepState(prev)
		}
		return c, nil
	}
	c := &Compiled{src: rs, hooks: prev.hooks, chains: slices.Clone(prev.chains), tables: slices.Clone(prev.tables),
		objects: prev.objects, objIndex: prev.objIndex, opts: prev.opts}
	jumps := false
	for ti := range c.tables {
		tk := &c.tables[ti]
		tk.t = rs.Tables[ti]
		for _, ch := range tk.t.Chains {
			cc := &c.chains[tk.index[ch.Name]]
			if slices.Equal(cc.src, ch.Rules) {
				continue // reused whole: rules, sources and index
			}
			rules := make([]rule, 0, len(ch.Rules))
			j := 0 // next unmatched rule of the old chain
			for _, r := range ch.Rules {
				if k := findRule(cc.src, j, r); k >= 0 {
					rules = append(rules, cc.rules[k])
					j = k + 1
					continue
				}
				cr, err := c.compileRule(cc, r, tk.index, tk.sets)
				if err != nil {
					return nil, err
				}
				cr.guard()
				jumps = jumps || cr.jumps()
				rules = append(rules, cr)
			}
			cc.rules, cc.src = rules, ch.Rules
			cc.buildIndex()
			cc.buildAll()
		}
	}
	// A loop or a too deep jump stack can only come from a new jump.
	if jumps {
		if err := c.checkJumps(rs); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// updateWindow bounds how far findRule looks ahead for a rule: a delete of
// that many consecutive rules still reuses the rest; beyond it the rules
// are compiled afresh (correct, only slower).
const updateWindow = 16

// findRule returns the index of r in old[from:from+updateWindow], or -1.
func findRule(old []*ruleset.Rule, from int, r *ruleset.Rule) int {
	for k := from; k < len(old) && k < from+updateWindow; k++ {
		if old[k] == r {
			return k
		}
	}
	return -1
}

// jumps reports whether r can jump or go to another chain.
func (r *rule) jumps() bool {
	for i := range r.ops {
		if o := &r.ops[i]; o.kind == opVerdict && (o.act == actJump || o.act == actGoto) {
			return true
		}
	}
	return false
}

// keepState moves the state of each rule of prev whose source rule is in
// c too (same *ruleset.Rule, so the same statements in the same order)
// onto c's compiled rule.
func (c *Compiled) keepState(prev *Compiled) {
	c.keepObjects(prev) // objects.go
	c.keepDynSets(prev)
	old := map[*ruleset.Rule]*rule{}
	for i := range prev.chains {
		ch := &prev.chains[i]
		for j, r := range ch.src {
			old[r] = &ch.rules[j]
		}
	}
	for i := range c.chains {
		ch := &c.chains[i]
		for j, r := range ch.src {
			if o, ok := old[r]; ok {
				ch.rules[j].takeState(o)
			}
		}
	}
}

// keepDynSets gives each dynamic set of c whose declaration is unchanged
// in prev (same table, same source set) the elements the packet path
// added to it in prev: the kernel keeps a set's contents when other
// parts of the ruleset change. Rules reach a set's contents through its
// namedSet, so moving the table moves them for every rule.
func (c *Compiled) keepDynSets(prev *Compiled) {
	for _, nt := range c.tables {
		for _, pt := range prev.tables {
			if pt.t.Family != nt.t.Family || pt.t.Name != nt.t.Name {
				continue
			}
			for _, s := range nt.t.Sets {
				ns, ps := nt.sets[s.Name], pt.sets[s.Name]
				if ns == nil || ps == nil || ns.dyn == nil || ps.dyn == nil {
					continue
				}
				for _, old := range pt.t.Sets {
					if old.Name == s.Name && sameSet(old, s) {
						ns.dyn = ps.dyn
					}
				}
			}
		}
	}
}

// takeState gives r the state objects of o, compiled from the same source
// rule: op by op, the same kinds.
func (r *rule) takeState(o *rule) {
	if len(r.ops) != len(o.ops) {
		return
	}
	for i := range r.ops {
		if r.ops[i].kind != o.ops[i].kind {
			return
		}
	}
	for i := range r.ops {
		if r.ops[i].kind == opCounter {
			r.ops[i].ctr = o.ops[i].ctr
		}
		r.ops[i].takeStmtState(&o.ops[i]) // stmt.go
	}
}

// sameShape reports whether b differs from a at most in the rules of its
// chains: the same tables, chains (with the same hooks, priorities and
// policies), sets with the same elements, and objects.
func sameShape(a, b *ruleset.Ruleset) bool {
	if len(a.Tables) != len(b.Tables) {
		return false
	}
	for i, ta := range a.Tables {
		tb := b.Tables[i]
		if ta.Family != tb.Family || ta.Name != tb.Name || len(ta.Chains) != len(tb.Chains) ||
			len(ta.Sets) != len(tb.Sets) || len(ta.Objects) != len(tb.Objects) {
			return false
		}
		for j, ca := range ta.Chains {
			cb := tb.Chains[j]
			if ca.Name != cb.Name || ca.Type != cb.Type || ca.Hook != cb.Hook || ca.Priority != cb.Priority ||
				ca.Policy != cb.Policy || !slices.Equal(ca.Devices, cb.Devices) {
				return false
			}
		}
		for j, sa := range ta.Sets {
			if !sameSet(sa, tb.Sets[j]) {
				return false
			}
		}
		for j, oa := range ta.Objects {
			if !reflect.DeepEqual(oa, tb.Objects[j]) {
				return false
			}
		}
	}
	return true
}

// sameSet compares two versions of a set. Elements are compared by
// identity: Clone shares them and a change replaces or appends them.
func sameSet(a, b *ruleset.Set) bool {
	if a == b {
		return true
	}
	x, y := *a, *b
	if !slices.Equal(x.Elems, y.Elems) {
		return false
	}
	x.Elems, y.Elems = nil, nil
	return reflect.DeepEqual(x, y)
}

// Apply runs the commands of f (nft -f syntax: add, insert, replace or
// delete rule; add or delete element; add, flush or delete chain, set,
// table…) against the ruleset in force as one transaction, like the
// kernel's nf_tables batch: the commands change a clone of the source
// ruleset, which is compiled (Update) and swapped in only if every command
// and the compilation succeed. On error the ruleset in force is untouched
// and the error carries the failing command's position. Apply returns the
// new ruleset. Updates are serialised; packets never wait for them.
func (e *Engine) Apply(f *ruleset.File) (*Compiled, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	prev := e.rules.Load()
	rs := &ruleset.Ruleset{}
	if prev != nil && prev.src != nil {
		rs = prev.src.Clone()
	}
	for _, cmd := range f.Commands {
		if err := rs.Apply(cmd); err != nil {
			return nil, err
		}
	}
	c, err := Update(prev, rs)
	if err != nil {
		return nil, err
	}
	e.rules.Store(c)
	return c, nil
}

// Source returns the ruleset c was compiled from (for listing it). The
// caller must not change it.
func (c *Compiled) Source() *ruleset.Ruleset { return c.src }
