package engine_test

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/ruleset"
)

// The reference's stateful statements, written from the kernel's
// descriptions and nothing of stmt.go: a limit is a bucket of nanoseconds
// of credit (nft_limit), a quota a running byte total (nft_quota), a
// named object is state shared by name, a mark set is an arithmetic
// expression evaluated as written.

type slowObjKey struct {
	family      ruleset.Family
	table, kind string
	name        string
}

type slowBucket struct {
	started       bool
	last, credit  uint64
	perPkt, cap   uint64
	unit, rate    uint64
	bytes, invert bool
}

type slowQuota struct {
	used, max uint64
	over      bool
}

// slowState is the reference's state of stateful statements: anonymous
// ones by rule and statement position, named ones by name.
type slowState struct {
	buckets map[slowCounterKey]*slowBucket
	quotas  map[slowCounterKey]*slowQuota
	named   map[slowObjKey]any // *slowBucket, *slowQuota or *[2]uint64 (packets, bytes)
	order   []slowObjKey
}

func (s *slowEngine) state() *slowState {
	if s.st != nil {
		return s.st
	}
	st := &slowState{buckets: map[slowCounterKey]*slowBucket{}, quotas: map[slowCounterKey]*slowQuota{}, named: map[slowObjKey]any{}}
	for _, t := range s.rs.Tables {
		for _, o := range t.Objects {
			k := slowObjKey{t.Family, t.Name, o.Kind, o.Name}
			var words []string
			for _, f := range o.Fields {
				words = append(words, f...)
			}
			body := strings.Join(words, " ")
			switch o.Kind {
			case "counter":
				st.named[k] = &[2]uint64{}
			case "quota":
				q := &slowQuota{over: strings.HasPrefix(body, "over ")}
				q.max = slowBytes(strings.TrimPrefix(body, "over "))
				st.named[k] = q
			case "limit":
				st.named[k] = slowLimitFrom("limit " + body)
			default:
				continue
			}
			st.order = append(st.order, k)
		}
	}
	s.st = st
	return st
}

// slowBytes reads "N UNIT".
func slowBytes(s string) uint64 {
	f := strings.Fields(s)
	n, _ := strconv.ParseUint(f[0], 10, 64)
	return n * map[string]uint64{"bytes": 1, "kbytes": 1024, "mbytes": 1 << 20}[f[1]]
}

// slowLimitFrom reads the text of a limit statement.
func slowLimitFrom(text string) *slowBucket {
	f := strings.Fields(text)[2:] // after "limit rate"
	b := &slowBucket{}
	if f[0] == "over" {
		b.invert, f = true, f[1:]
	}
	rate, per, ok := strings.Cut(f[0], "/")
	b.rate, _ = strconv.ParseUint(rate, 10, 64)
	f = f[1:]
	if !ok {
		unit, p, _ := strings.Cut(f[0], "/")
		per, f, b.bytes = p, f[1:], true
		b.rate *= map[string]uint64{"bytes": 1, "kbytes": 1024, "mbytes": 1 << 20}[unit]
	}
	b.unit = map[string]uint64{"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}[per] * 1e9
	var burst uint64
	if len(f) > 0 && f[0] == "burst" {
		burst = slowBytes(f[1] + " " + strings.Replace(f[2], "packets", "bytes", 1))
	}
	if b.bytes {
		b.cap = b.unit * (b.rate + burst) / b.rate
	} else {
		if burst == 0 {
			burst = 5 // the kernel's default burst of a packet rate
		}
		b.perPkt = b.unit / b.rate
		b.cap = b.perPkt * burst
	}
	b.credit = b.cap
	return b
}

// within reports whether a packet of n bytes at now is within the rate.
func (b *slowBucket) within(now uint64, n uint64) bool {
	if !b.started {
		b.started, b.last = true, now
	}
	if now > b.last {
		b.credit += now - b.last
		b.last = now
	}
	if b.credit > b.cap {
		b.credit = b.cap
	}
	cost := b.perPkt
	if b.bytes {
		cost = b.unit * n / b.rate
	}
	if b.credit >= cost {
		b.credit -= cost
		return true
	}
	return false
}

func (q *slowQuota) within(n uint64) bool {
	q.used += n
	return q.used <= q.max
}

// stmt interprets a stateful statement; false ends the rule.
func (s *slowEngine) stmt(sp *slowPacket, t *ruleset.Table, key slowCounterKey, st ruleset.Stmt) bool {
	state := s.state()
	n := uint64(sp.p.L3Len)
	named := func(x ruleset.Expr, kind string) any {
		return state.named[slowObjKey{t.Family, t.Name, kind, x.(*ruleset.Value).Text}]
	}
	switch st := st.(type) {
	case *ruleset.CounterStmt: // counter name X
		c := named(st.Name, "counter").(*[2]uint64)
		c[0]++
		c[1] += n
	case *ruleset.LimitStmt:
		var b *slowBucket
		if st.Name != nil {
			b = named(st.Name, "limit").(*slowBucket)
		} else {
			if state.buckets[key] == nil {
				state.buckets[key] = slowLimitFrom(slowLimitText(st))
			}
			b = state.buckets[key]
		}
		return b.within(uint64(sp.now), n) != b.invert
	case *ruleset.QuotaStmt:
		var q *slowQuota
		if st.Name != nil {
			q = named(st.Name, "quota").(*slowQuota)
		} else {
			if state.quotas[key] == nil {
				state.quotas[key] = &slowQuota{used: st.Used, max: st.Bytes, over: st.Over}
			}
			q = state.quotas[key]
		}
		return q.within(n) != q.over
	case *ruleset.LogStmt:
		// No effect on the verdict.
	case *ruleset.SetStmt:
		key := strings.Join(st.Key.Words, " ")
		if key == "ct label" {
			bit, _ := strconv.Atoi(st.Val.(*ruleset.Value).Text)
			if sp.tracked && !sp.untracked {
				var l [2]uint64
				l[bit/64] = 1 << (bit % 64)
				sp.ct.AddLabels(sp.ctr, l)
			}
			return true
		}
		v, ok := s.value(sp, st.Val)
		if !ok {
			return false
		}
		switch key {
		case "meta mark":
			sp.mark = v
		case "ct mark":
			if sp.tracked && !sp.untracked {
				sp.ct.SetMark(sp.ctr, v)
			}
		case "meta priority":
		default:
			panic("reference: set " + key)
		}
	default:
		panic(fmt.Sprintf("reference: statement %T", st))
	}
	return true
}

// slowLimitText prints a limit statement back as text for slowLimitFrom.
func slowLimitText(l *ruleset.LimitStmt) string {
	s := "limit rate "
	if l.Over {
		s += "over "
	}
	if l.RateUnit != "" {
		s += strconv.FormatUint(l.Rate, 10) + " " + l.RateUnit + "/" + l.Per
	} else {
		s += strconv.FormatUint(l.Rate, 10) + "/" + l.Per
	}
	if l.Burst != 0 {
		u := l.BurstUnit
		if u == "" {
			u = "packets"
		}
		s += " burst " + strconv.FormatUint(l.Burst, 10) + " " + u
	}
	return s
}

// value evaluates a set statement's value as written.
func (s *slowEngine) value(sp *slowPacket, x ruleset.Expr) (uint32, bool) {
	switch x := x.(type) {
	case *ruleset.Value:
		if a, b, ok := strings.Cut(x.Text, ":"); ok { // tc handle
			hi, _ := strconv.ParseUint(a, 16, 16)
			lo, _ := strconv.ParseUint(b, 16, 16)
			return uint32(hi<<16 | lo), true
		}
		if x.Text == "none" {
			return 0, true
		}
		n, _ := strconv.ParseUint(x.Text, 0, 32)
		return uint32(n), true
	case *ruleset.Selector:
		switch strings.Join(x.Words, " ") {
		case "meta mark", "mark":
			return sp.mark, true
		case "ct mark":
			if !sp.tracked || sp.untracked {
				return 0, false
			}
			return sp.ct.Mark(sp.ctr)
		}
	case *ruleset.Binop:
		a, ok := s.value(sp, x.X)
		if !ok {
			return 0, false
		}
		b, _ := s.value(sp, x.Y)
		switch x.Op {
		case "&":
			return a & b, true
		case "|":
			return a | b, true
		case "^":
			return a ^ b, true
		}
	}
	panic("reference: value")
}

// objects returns the named counters and quotas in declaration order, as
// Compiled.Objects lists them.
func (s *slowEngine) objects() []engine.ObjectValue {
	var out []engine.ObjectValue
	for _, k := range s.state().order {
		v := engine.ObjectValue{Family: k.family, Table: k.table, Kind: k.kind, Name: k.name}
		switch o := s.st.named[k].(type) {
		case *[2]uint64:
			v.Packets, v.Bytes = o[0], o[1]
		case *slowQuota:
			v.Quota, v.Used, v.Over = o.max, min(o.used, o.max), o.over
		}
		out = append(out, v)
	}
	return out
}
