package ruleset

import "strings"

// Ruleset is the state a File leaves in an empty kernel ruleset: the
// result of applying its commands in order. Handles are assigned as the
// kernel does: tables from one counter, and inside a table one counter for
// chains, objects, sets (anonymous ones included) and rules.
type Ruleset struct {
	Tables []*Table

	srcs map[string][]byte // source texts, for error carets

	nextTable uint64
}

// Build applies the commands of f to an empty ruleset. It does not
// validate the rules as nft would; Check does (hare ruleset check runs
// both).
func Build(f *File) (*Ruleset, error) { return build(f) }

func build(f *File) (*Ruleset, error) {
	rs := &Ruleset{srcs: f.srcs}
	for _, c := range f.Commands {
		if err := rs.Apply(c); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

func (rs *Ruleset) table(fam Family, name string, create bool) *Table {
	for _, t := range rs.Tables {
		if t.Family == fam && t.Name == name {
			return t
		}
	}
	if !create {
		return nil
	}
	rs.nextTable++
	t := &Table{Family: fam, Name: name, Handle: rs.nextTable}
	rs.Tables = append(rs.Tables, t)
	return t
}

func (t *Table) handle() uint64 {
	t.nextHandle++
	return t.nextHandle
}

func (t *Table) chain(name string) *Chain {
	for _, c := range t.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (t *Table) set(name string) *Set {
	for _, s := range t.Sets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func applyErr(c *Command, format string, args ...any) error {
	return &Error{File: c.Pos.File, Line: c.Pos.Line, Col: c.Pos.Col, Msg: sprintf(format, args...)}
}

// Apply runs one command against rs.
func (rs *Ruleset) Apply(c *Command) error {
	if c.Kind == "ruleset" {
		if c.Verb == "flush" {
			var keep []*Table
			for _, t := range rs.Tables {
				if c.Family != FamilyUnknown && t.Family != c.Family {
					keep = append(keep, t)
				}
			}
			rs.Tables = keep
		}
		return nil
	}
	if c.Kind == "table" {
		switch c.Verb {
		case "delete", "destroy":
			for i, t := range rs.Tables {
				if t.Family == c.Family && t.Name == c.Table {
					rs.Tables = append(rs.Tables[:i], rs.Tables[i+1:]...)
					return nil
				}
			}
			if c.Verb == "delete" {
				return applyErr(c, "No such file or directory; did you mean table '%s'?", c.Table)
			}
			return nil
		case "flush":
			if t := rs.table(c.Family, c.Table, false); t != nil {
				for _, ch := range t.Chains {
					ch.Rules = nil
				}
			}
			return nil
		}
		t := rs.table(c.Family, c.Table, true)
		tb := c.TableBody
		t.Flags = append(t.Flags, tb.Flags...)
		if tb.Comment != "" {
			t.Comment = tb.Comment
		}
		// The kernel batch creates chains, then objects, then sets, then
		// rules (seen in the handles nft 1.0.6 lists).
		for _, pass := range []int{0, 1, 2, 3} {
			for _, d := range tb.Commands {
				if err := t.apply(d, pass); err != nil {
					return err
				}
			}
		}
		return nil
	}
	t := rs.table(c.Family, c.Table, false)
	if t == nil {
		return applyErr(c, "No such file or directory; table '%s' does not exist", c.Table)
	}
	switch c.Verb {
	case "delete", "destroy":
		return t.remove(c)
	case "flush":
		if ch := t.chain(c.Chain); ch != nil && c.Kind == "chain" {
			ch.Rules = nil
		}
		if s := t.set(c.Name); s != nil {
			s.Elems = nil
		}
		return nil
	}
	for pass := 0; pass < 4; pass++ {
		if err := t.apply(c, pass); err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) remove(c *Command) error {
	switch c.Kind {
	case "chain":
		for i, ch := range t.Chains {
			if ch.Name == c.Chain {
				t.Chains = append(t.Chains[:i], t.Chains[i+1:]...)
				return nil
			}
		}
	case "rule":
		if ch := t.chain(c.Chain); ch != nil {
			for i, r := range ch.Rules {
				if r.Handle == c.Handle {
					ch.Rules = append(ch.Rules[:i], ch.Rules[i+1:]...)
					return nil
				}
			}
		}
	case "set", "map":
		for i, s := range t.Sets {
			if s.Name == c.Name {
				t.Sets = append(t.Sets[:i], t.Sets[i+1:]...)
				return nil
			}
		}
	case "element":
		s := t.set(c.Name)
		if s == nil {
			return applyErr(c, "No such file or directory; set '%s' does not exist", c.Name)
		}
		s.Elems = deleteElems(s, c.Elems)
		return nil
	default:
		for i, o := range t.Objects {
			if o.Kind == c.Kind && o.Name == c.Name {
				t.Objects = append(t.Objects[:i], t.Objects[i+1:]...)
				return nil
			}
		}
	}
	if c.Verb == "destroy" {
		return nil
	}
	return applyErr(c, "No such file or directory")
}

// apply runs a command inside table t; pass selects chains (0), objects
// (1), sets (2) or rules and elements (3).
func (t *Table) apply(c *Command, pass int) error {
	switch c.Kind {
	case "chain":
		if pass == 0 {
			ch := t.chain(c.Chain)
			if ch == nil {
				ch = &Chain{Pos: c.Pos, Name: c.Chain, Handle: t.handle()}
				t.Chains = append(t.Chains, ch)
			}
			if b := c.ChainBody; b != nil && b.Hook != "" {
				ch.Type, ch.Hook, ch.Priority, ch.Devices = b.Type, b.Hook, b.Priority, b.Devices
			}
			if b := c.ChainBody; b != nil && b.Policy != "" {
				ch.Policy = b.Policy
			}
			if b := c.ChainBody; b != nil && (b.Comment != "" || b.HasComment) {
				ch.Comment = b.Comment
				ch.HasComment = true
			}
		}
		if pass == 3 && c.ChainBody != nil {
			ch := t.chain(c.Chain)
			for _, r := range c.ChainBody.Rules {
				t.addRule(ch, r, len(ch.Rules))
			}
		}
	case "rule":
		if pass != 3 {
			return nil
		}
		ch := t.chain(c.Chain)
		if ch == nil {
			return applyErr(c, "No such file or directory; chain '%s' does not exist", c.Chain)
		}
		at := len(ch.Rules)
		if c.Verb == "insert" {
			at = 0
		}
		if c.HasPos {
			at = -1
			for i, r := range ch.Rules {
				if r.Handle == c.Handle {
					at = i
					if c.Verb == "add" {
						at++
					}
				}
			}
			if at < 0 {
				return applyErr(c, "Could not process rule: No such file or directory")
			}
			if c.Verb == "replace" {
				r := *c.Rule
				r.Handle = ch.Rules[at].Handle
				ch.Rules[at] = &r
				return nil
			}
		}
		if c.Index >= 0 && c.Index <= len(ch.Rules) {
			at = c.Index
			if c.Verb == "add" && at < len(ch.Rules) {
				at++
			}
		}
		t.addRule(ch, c.Rule, at)
	case "set", "map":
		if pass == 2 && c.Set != nil {
			if s := t.set(c.Name); s != nil {
				s.Elems = append(s.Elems, c.Set.Elems...)
				return nil
			}
			s := *c.Set
			s.Handle = t.handle()
			t.Sets = append(t.Sets, &s)
		}
	case "element":
		if pass == 3 {
			s := t.set(c.Name)
			if s == nil {
				return applyErr(c, "No such file or directory; set '%s' does not exist", c.Name)
			}
			s.Elems = append(s.Elems, c.Elems...)
		}
	default:
		if pass == 1 && c.Object != nil {
			for _, o := range t.Objects {
				if o.Kind == c.Object.Kind && o.Name == c.Object.Name {
					return nil
				}
			}
			o := *c.Object
			o.Handle = t.handle()
			t.Objects = append(t.Objects, &o)
		}
	}
	return nil
}

// addRule inserts a copy of r at index at, giving its anonymous sets and
// then the rule handles, as the kernel does.
func (t *Table) addRule(ch *Chain, r *Rule, at int) {
	t.nextHandle += uint64(icmpDepSets(r.Stmts))
	for _, s := range r.Stmts {
		t.nextHandle += uint64(countAnonSets(s))
		if d, ok := s.(*DynsetStmt); ok {
			t.markDynamic(d.Set)
		}
	}
	nr := *r
	nr.Handle = t.handle()
	ch.Rules = append(ch.Rules, nil)
	copy(ch.Rules[at+1:], ch.Rules[at:])
	ch.Rules[at] = &nr
}

// markDynamic records that a rule adds to or updates the named set: the
// kernel set then carries the dynamic flag and, unless one was given, the
// default dynset size of 65535 (as nft 1.0.6 lists it).
func (t *Table) markDynamic(name string) {
	s := t.set(strings.TrimPrefix(name, "@"))
	if s == nil {
		return
	}
	if s.Size == 0 {
		s.Size = 65535
	}
	for _, f := range s.Flags {
		if f == "dynamic" {
			return
		}
	}
	s.Flags = append(s.Flags, "dynamic")
}

// icmpDepSets counts the implicit anonymous sets of a rule: nft 1.0.6
// puts `icmp type { echo-reply, echo-request }` before an icmp id or
// sequence match (icmpv6 likewise) unless an earlier match on the type
// already names one (proto.c icmp_dep; seen with nft -a list ruleset).
func icmpDepSets(stmts []Stmt) int {
	n := 0
	typed := map[string]bool{}
	for _, s := range stmts {
		m, ok := s.(*Match)
		if !ok {
			continue
		}
		sel, ok := m.X.(*Selector)
		if !ok || len(sel.Words) != 2 || (sel.Words[0] != "icmp" && sel.Words[0] != "icmpv6") {
			continue
		}
		switch sel.Words[1] {
		case "type":
			typed[sel.Words[0]] = true
		case "id", "sequence":
			if !typed[sel.Words[0]] {
				n++
				typed[sel.Words[0]] = true
			}
		}
	}
	return n
}

func countAnonSets(s Stmt) int {
	switch s := s.(type) {
	case *Match:
		if _, single := singleElem(s.Y); single {
			return 0
		}
		if _, ok := s.Y.(*SetExpr); ok {
			return 1
		}
	case *VmapStmt:
		if _, ok := s.Map.(*SetExpr); ok {
			return 1
		}
	case *SetStmt:
		if m, ok := s.Val.(*MapLookup); ok {
			if _, ok := m.Map.(*SetExpr); ok {
				return 1
			}
		}
	case *NatStmt:
		if m, ok := s.Addr.(*MapLookup); ok {
			if _, ok := m.Map.(*SetExpr); ok {
				return 1
			}
		}
	}
	return 0
}

// deleteElems returns the elements of s without those in del (compared
// by key, in the set's printed form).
func deleteElems(s *Set, del []Expr) []Expr {
	c := setCtx(s, FamilyUnknown, PrintOptions{})
	gone := map[string]bool{}
	for _, x := range flattenElems(del) {
		gone[exprString(elemKey(x), c)] = true
	}
	var keep []Expr
	for _, x := range flattenElems(s.Elems) {
		if !gone[exprString(elemKey(x), c)] {
			keep = append(keep, x)
		}
	}
	return keep
}

// elemKey returns the key of a set or map element, without attributes.
func elemKey(x Expr) Expr {
	if m, ok := x.(*MapElem); ok {
		x = m.Key
	}
	if e, ok := x.(*Elem); ok {
		x = e.X
	}
	return x
}

// singleElem returns the element of an anonymous set written with exactly
// one plain element ({ 53 }, { 10.0.0.0/8 }, { 1-2 }): nft matches it as
// the element itself, creates no set and lists "tcp dport 53".
func singleElem(x Expr) (Expr, bool) {
	s, ok := x.(*SetExpr)
	if !ok || len(s.Elems) != 1 {
		return nil, false
	}
	switch e := s.Elems[0].(type) {
	case *Value:
		if _, op := relOps[e.Text]; op {
			return nil, false // bare, it would read back as an operator
		}
		return e, true
	case *Prefix, *Range:
		return e, true
	}
	return nil, false
}
