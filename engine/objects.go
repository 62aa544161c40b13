package engine

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/hare-fw/hare/ruleset"
)

// Named stateful objects (nft_object): `counter c { }`, `quota q { over
// 100 mbytes }`, `limit l { rate 10/second }` in a table, used by rules as
// `counter name "c"`, `quota name "q"`, `limit name "l"`. Every rule naming
// an object shares its state (nft_objref_eval), and the object's values are
// reported like rule counters (Compiled.Objects). Objects of other kinds
// (ct helper, ct timeout, synproxy, secmark) may be declared, since an
// unused object changes nothing; a rule using one is an error.

// object is one named object of a compiled ruleset.
type object struct {
	family ruleset.Family
	table  string
	kind   string // counter, quota, limit
	name   string
	ctr    *counter
	quota  *quota
	lim    *limiter
	limSrc *ruleset.LimitStmt // for Objects: the limit as declared
	src    *ruleset.Object
}

type objKey struct {
	family      ruleset.Family
	table, kind string
	name        string
}

// compileObjects reads the counter, quota and limit objects of t.
func (c *Compiled) compileObjects(t *ruleset.Table) error {
	for _, o := range t.Objects {
		ob := &object{family: t.Family, table: t.Name, kind: o.Kind, name: o.Name, src: o}
		var err error
		switch o.Kind {
		case "counter":
			ob.ctr, err = counterObject(o)
		case "quota":
			ob.quota, err = quotaObject(o)
		case "limit":
			ob.limSrc, err = limitObject(o)
			if err == nil {
				ob.lim, err = newLimiter(ob.limSrc)
			}
		default:
			continue
		}
		if err != nil {
			return err
		}
		if c.objIndex == nil {
			c.objIndex = map[objKey]*object{}
		}
		c.objIndex[objKey{t.Family, t.Name, o.Kind, o.Name}] = ob
		c.objects = append(c.objects, ob)
	}
	return nil
}

// objectRef resolves `KIND name X` in a rule of chain cc.
func (c *Compiled) objectRef(cc *chain, kind string, name ruleset.Expr, pos ruleset.Pos) (*object, error) {
	v, ok := name.(*ruleset.Value)
	if !ok {
		// nft also allows a map lookup here (counter name ip saddr map
		// {...}): a data map.
		return nil, &Error{name.Position(), "unsupported: " + kind + " name from a map"}
	}
	ob := c.objIndex[objKey{cc.family, cc.table, kind, v.Text}]
	if ob == nil {
		// nft: "Could not process rule: No such file or directory".
		return nil, &Error{pos, sprintf("%s %q not found in table %s %s", kind, v.Text, cc.family, cc.table)}
	}
	return ob, nil
}

func objWords(o *ruleset.Object) []string {
	var ws []string
	for _, f := range o.Fields {
		for _, w := range f {
			if w != ";" {
				ws = append(ws, w)
			}
		}
	}
	return ws
}

func counterObject(o *ruleset.Object) (*counter, error) {
	ws := objWords(o)
	ctr := new(counter)
	switch {
	case len(ws) == 0:
	case len(ws) == 4 && ws[0] == "packets" && ws[2] == "bytes":
		p, err1 := strconv.ParseUint(ws[1], 10, 64)
		b, err2 := strconv.ParseUint(ws[3], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, &Error{o.Pos, "counter " + o.Name + ": bad packets or bytes"}
		}
		ctr.packets.Store(p)
		ctr.bytes.Store(b)
	default:
		return nil, &Error{o.Pos, "counter " + o.Name + ": unsupported body " + strings.Join(ws, " ")}
	}
	return ctr, nil
}

// objBytes reads N UNIT from ws.
func objBytes(ws []string) (uint64, []string, bool) {
	if len(ws) < 2 {
		return 0, ws, false
	}
	n, err := strconv.ParseUint(ws[0], 10, 64)
	m, ok := byteUnits[ws[1]]
	if err != nil || !ok {
		return 0, ws, false
	}
	return n * m, ws[2:], true
}

func quotaObject(o *ruleset.Object) (*quota, error) {
	ws := objWords(o)
	q := new(quota)
	bad := &Error{o.Pos, "quota " + o.Name + ": unsupported body " + strings.Join(ws, " ")}
	if len(ws) > 0 && (ws[0] == "over" || ws[0] == "until") {
		q.invert = ws[0] == "over"
		ws = ws[1:]
	}
	var ok bool
	if q.limit, ws, ok = objBytes(ws); !ok {
		return nil, bad
	}
	if len(ws) > 0 {
		if ws[0] != "used" {
			return nil, bad
		}
		var used uint64
		if used, ws, ok = objBytes(ws[1:]); !ok || len(ws) > 0 {
			return nil, bad
		}
		q.consumed.Store(used)
	}
	return q, nil
}

// limitObject reads `rate [over] N/UNIT [burst N packets]` or `rate [over]
// N BYTES/UNIT [burst N BYTES]` as the limit statement it stands for.
func limitObject(o *ruleset.Object) (*ruleset.LimitStmt, error) {
	ws := objWords(o)
	bad := &Error{o.Pos, "limit " + o.Name + ": unsupported body " + strings.Join(ws, " ")}
	s := &ruleset.LimitStmt{Pos: o.Pos}
	if len(ws) < 2 || ws[0] != "rate" {
		return nil, bad
	}
	ws = ws[1:]
	if ws[0] == "over" || ws[0] == "until" {
		s.Over = ws[0] == "over"
		ws = ws[1:]
	}
	if len(ws) == 0 {
		return nil, bad
	}
	num, per, ok := strings.Cut(ws[0], "/")
	ws = ws[1:]
	if !ok {
		if len(ws) == 0 {
			return nil, bad
		}
		s.RateUnit, per, ok = strings.Cut(ws[0], "/")
		ws = ws[1:]
		if _, known := byteUnits[s.RateUnit]; !ok || !known {
			return nil, bad
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return nil, bad
	}
	s.Rate, s.Per = n, per
	if len(ws) > 0 {
		if ws[0] != "burst" || len(ws) != 3 {
			return nil, bad
		}
		if s.Burst, err = strconv.ParseUint(ws[1], 10, 64); err != nil {
			return nil, bad
		}
		s.BurstUnit = ws[2]
	}
	return s, nil
}

// ObjectValue is the state of one named object after a run.
type ObjectValue struct {
	Family ruleset.Family
	Table  string
	Kind   string // counter, quota, limit
	Name   string
	// Counter: packets and bytes counted.
	Packets, Bytes uint64
	// Quota: its limit in bytes, bytes consumed (at most the limit, as
	// the kernel lists it), and whether it is `over`.
	Quota, Used uint64
	Over        bool
	// Limit: the declaration (also Over).
	Limit *ruleset.LimitStmt
}

// Objects returns the named counters, quotas and limits, in ruleset order.
func (c *Compiled) Objects() []ObjectValue {
	out := make([]ObjectValue, len(c.objects))
	for i, o := range c.objects {
		v := ObjectValue{Family: o.family, Table: o.table, Kind: o.kind, Name: o.name}
		switch {
		case o.ctr != nil:
			v.Packets, v.Bytes = o.ctr.packets.Load(), o.ctr.bytes.Load()
		case o.quota != nil:
			// nft_quota_do_dump reports at most the quota as used.
			v.Quota, v.Used, v.Over = o.quota.limit, min(o.quota.consumed.Load(), o.quota.limit), o.quota.invert
		case o.lim != nil:
			v.Limit, v.Over = o.limSrc, o.limSrc.Over
		}
		out[i] = v
	}
	return out
}

// keepObjects gives the objects of c that prev had too, declared the same,
// prev's state, and points c's rules at it: a named object lives on
// across transactions that do not delete it, as in the kernel.
func (c *Compiled) keepObjects(prev *Compiled) {
	if len(prev.objects) == 0 || len(c.objects) == 0 {
		return
	}
	ctrs := map[*counter]*counter{}
	quotas := map[*quota]*quota{}
	lims := map[*limiter]*limiter{}
	for i, ob := range c.objects {
		old := prev.objIndex[objKey{ob.family, ob.table, ob.kind, ob.name}]
		if old == nil || !reflect.DeepEqual(old.src.Fields, ob.src.Fields) {
			continue
		}
		switch {
		case ob.ctr != nil:
			ctrs[ob.ctr] = old.ctr
		case ob.quota != nil:
			quotas[ob.quota] = old.quota
		case ob.lim != nil:
			lims[ob.lim] = old.lim
		}
		c.objects[i] = old
		c.objIndex[objKey{ob.family, ob.table, ob.kind, ob.name}] = old
	}
	for i := range c.chains {
		ch := &c.chains[i]
		for j := range ch.rules {
			for k := range ch.rules[j].ops {
				o := &ch.rules[j].ops[k]
				switch o.kind {
				case opObjCounter:
					if n, ok := ctrs[o.ctr]; ok {
						o.ctr = n
					}
				case opQuota:
					if n, ok := quotas[o.x.quota]; ok {
						o.x.quota = n
					}
				case opLimit:
					if n, ok := lims[o.x.lim]; ok {
						o.x.lim = n
					}
				}
			}
		}
	}
}
