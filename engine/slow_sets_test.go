package engine_test

import (
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hare-fw/hare/ruleset"
)

// The reference's sets and maps, written over the AST with no compiled
// form: a concatenation is matched component by component with member,
// a map's elements are tried in order, and a dynamic set is a Go map from
// the printed key to its deadline.

// slowDyn is a set that changes from the packet path.
type slowDyn struct {
	elems   map[string]int64 // printed key -> deadline (MaxInt64: none)
	size    int
	timeout int64
	gcEvery int64
	gcLast  int64
	gcDone  bool
}

// slowTime reads an nft time ("1h", "30ms", "2d3h", "10").
func slowTime(s string) int64 {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n * 1e9
	}
	var days int64
	if i := strings.Index(s, "d"); i > 0 {
		days, _ = strconv.ParseInt(s[:i], 10, 64)
		s = s[i+1:]
	}
	d := time.Duration(0)
	if s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			panic("reference: time " + s)
		}
	}
	return days*24*int64(time.Hour) + int64(d)
}

func slowIsDynamic(set *ruleset.Set) bool {
	return set.Timeout != "" || slices.Contains(set.Flags, "dynamic") || slices.Contains(set.Flags, "timeout")
}

func slowFindSet(t *ruleset.Table, name string) *ruleset.Set {
	for _, s := range t.Sets {
		if s.Name == name {
			return s
		}
	}
	panic("reference: no set " + name)
}

// slowTypeOf is the reference's value type of a set type word.
var slowTypeOf = map[string]string{"ipv4_addr": "addr", "ipv6_addr": "addr", "inet_service": "port", "inet_proto": "proto", "mark": "u32", "ifname": "ifname"}

// dynState returns the state of a dynamic set, created on first use from
// its declaration; declared timeouts run from the first packet.
func (s *slowEngine) dynState(set *ruleset.Set) *slowDyn {
	if d, ok := s.dyn[set]; ok {
		return d
	}
	d := &slowDyn{elems: map[string]int64{}, size: int(set.Size), gcEvery: 1e9}
	if set.Timeout != "" {
		d.timeout = slowTime(set.Timeout)
	}
	if set.GCInterval != "" {
		d.gcEvery = slowTime(set.GCInterval)
	}
	for _, e := range set.Elems {
		to := d.timeout
		if el, ok := e.(*ruleset.Elem); ok {
			if el.Timeout != "" {
				to = slowTime(el.Timeout)
			}
			e = el.X
		}
		xs := []ruleset.Expr{e}
		if c, ok := e.(*ruleset.Concat); ok {
			xs = c.Xs
		}
		var key []string
		for i, x := range xs {
			v := x.(*ruleset.Value)
			switch typ := slowTypeOf[set.Key[i]]; typ {
			case "addr":
				key = append(key, netip.MustParseAddr(v.Text).String())
			case "ifname":
				key = append(key, v.Text)
			default:
				key = append(key, strconv.FormatUint(literal(v, typ), 10))
			}
		}
		dl := int64(math.MaxInt64)
		if to > 0 {
			dl = s.epoch + to
		}
		d.elems[strings.Join(key, " . ")] = dl
	}
	s.dyn[set] = d
	return d
}

// keyVals loads the components of a key expression.
func (sp *slowPacket) keyVals(x ruleset.Expr) (vals []slowVal, typs []string, ok bool) {
	xs := []ruleset.Expr{x}
	if c, isC := x.(*ruleset.Concat); isC {
		xs = c.Xs
	}
	for _, e := range xs {
		words := strings.Join(e.(*ruleset.Selector).Words, " ")
		var v slowVal
		var typ string
		switch words {
		case "th sport", "th dport":
			th := sp.p.Transport()
			if len(th) < 4 {
				return nil, nil, false
			}
			off := 0
			if words == "th dport" {
				off = 2
			}
			v, typ = slowVal{typ: "num", num: uint64(binary.BigEndian.Uint16(th[off:]))}, "port"
		case "iifname":
			v, typ, _ = sp.field("meta iifname")
		case "mark":
			v, typ, _ = sp.field("meta mark")
		default:
			v, typ, ok = sp.field(words)
			if !ok {
				return nil, nil, false
			}
		}
		vals, typs = append(vals, v), append(typs, typ)
	}
	return vals, typs, true
}

func slowKeyString(vals []slowVal) string {
	var parts []string
	for _, v := range vals {
		switch v.typ {
		case "addr":
			parts = append(parts, v.addr.String())
		case "ifname":
			parts = append(parts, v.name)
		default:
			parts = append(parts, strconv.FormatUint(v.num, 10))
		}
	}
	return strings.Join(parts, " . ")
}

// keyIn reports whether the key vals is element key e.
func keyIn(vals []slowVal, typs []string, e ruleset.Expr) bool {
	if el, ok := e.(*ruleset.Elem); ok {
		e = el.X
	}
	xs := []ruleset.Expr{e}
	if c, ok := e.(*ruleset.Concat); ok {
		xs = c.Xs
	}
	for i, x := range xs {
		if !member(vals[i], x, typs[i]) {
			return false
		}
	}
	return true
}

// setMatch handles the matches on concatenations, th fields and dynamic
// sets; handled is false for the others.
func (s *slowEngine) setMatch(sp *slowPacket, t *ruleset.Table, m *ruleset.Match) (result, handled bool) {
	_, concat := m.X.(*ruleset.Concat)
	th := false
	if sel, ok := m.X.(*ruleset.Selector); ok {
		th = sel.Words[0] == "th"
	}
	var set *ruleset.Set
	if ref, ok := m.Y.(*ruleset.SetRef); ok {
		set = slowFindSet(t, ref.Name)
	}
	dynamic := set != nil && slowIsDynamic(set)
	if !concat && !th && !dynamic {
		return false, false
	}
	vals, typs, ok := sp.keyVals(m.X)
	if !ok {
		return false, true
	}
	in := false
	switch {
	case dynamic:
		dl, ok := s.dynState(set).elems[slowKeyString(vals)]
		in = ok && sp.now < dl
	case set != nil:
		for _, e := range set.Elems {
			in = in || keyIn(vals, typs, e)
		}
	default:
		elems := []ruleset.Expr{m.Y}
		if se, ok := m.Y.(*ruleset.SetExpr); ok {
			elems = se.Elems
		}
		for _, e := range elems {
			in = in || keyIn(vals, typs, e)
		}
	}
	return in != (m.Op == "!="), true
}

// vmapVerdict looks a verdict map up: the first element whose key holds.
func (s *slowEngine) vmapVerdict(sp *slowPacket, t *ruleset.Table, st *ruleset.VmapStmt) (ruleset.Verdict, bool) {
	vals, typs, ok := sp.keyVals(st.X)
	if !ok {
		return ruleset.Verdict{}, false
	}
	var elems []ruleset.Expr
	if ref, ok := st.Map.(*ruleset.SetRef); ok {
		elems = slowFindSet(t, ref.Name).Elems
	} else {
		elems = st.Map.(*ruleset.SetExpr).Elems
	}
	for _, e := range elems {
		me := e.(*ruleset.MapElem)
		if keyIn(vals, typs, me.Key) {
			return *me.Val.(*ruleset.Verdict), true
		}
	}
	return ruleset.Verdict{}, false
}

// dynset runs add, update and delete; false ends the rule.
func (s *slowEngine) dynset(sp *slowPacket, t *ruleset.Table, st *ruleset.DynsetStmt) bool {
	set := slowFindSet(t, st.Set)
	d := s.dynState(set)
	vals, _, ok := sp.keyVals(st.Key)
	if !ok {
		return false
	}
	k := slowKeyString(vals)
	if st.Op == "delete" {
		delete(d.elems, k)
		return true
	}
	to := d.timeout
	if st.Timeout != "" {
		to = slowTime(st.Timeout)
	}
	dl := int64(math.MaxInt64)
	if to > 0 {
		dl = sp.now + to
	}
	if old, ok := d.elems[k]; ok {
		switch {
		case sp.now >= old: // expired: a new element takes its place
			d.elems[k] = dl
		case st.Op == "update" && old != math.MaxInt64:
			d.elems[k] = dl
		}
		return true
	}
	if d.size > 0 && len(d.elems) >= d.size && (!d.gcDone || sp.now-d.gcLast >= d.gcEvery) {
		d.gcDone, d.gcLast = true, sp.now
		for key, dl := range d.elems {
			if sp.now >= dl {
				delete(d.elems, key)
			}
		}
	}
	if d.size > 0 && len(d.elems) >= d.size {
		return false // full: NFT_BREAK
	}
	d.elems[k] = dl
	return true
}
