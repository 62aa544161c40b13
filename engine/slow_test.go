package engine_test

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// slowEngine is the reference evaluator of the differential tests: a plain
// interpreter over the ruleset AST, with no compilation step. Selectors are
// looked up by their words on every packet, literals parsed on every
// comparison, addresses compared with netip, jumps followed by recursion.
// It is slow and simple on purpose (like wireguard-go's SlowRouter): the
// compiled engine must give the same verdict, decided by the same rule or
// policy, and the same rule counters. It keeps its own conntrack table, fed
// the same packets, so ct state is derived independently too.
type slowEngine struct {
	rs       *ruleset.Ruleset
	ct       *conntrack.Table
	counters map[slowCounterKey]uint64
	order    []slowCounterKey
	dyn      map[*ruleset.Set]*slowDyn // dynamic sets (slow_sets_test.go)
	epoch    int64                     // the first packet's time
	started  bool
	st       *slowState // stateful statements (slow_stmt_test.go)
	lastMark uint32     // the last packet's mark after the ruleset
	// ifx, when not nil, is the live system's interfaces by name: iif and
	// oif names are indexes, and Meta's Iif, Oif and types are used.
	ifx map[string]int32
}

type slowCounterKey struct {
	table, chain string
	family       ruleset.Family
	handle       uint64
	stmt         int
}

func newSlowEngine(rs *ruleset.Ruleset) *slowEngine {
	s := &slowEngine{rs: rs, ct: conntrack.NewTable(conntrack.DefaultSettings(), nil), counters: map[slowCounterKey]uint64{}}
	for _, t := range rs.Tables {
		for _, ch := range t.Chains {
			for _, r := range ch.Rules {
				for i, st := range r.Stmts {
					if c, ok := st.(*ruleset.CounterStmt); ok && c.Name == nil {
						s.order = append(s.order, slowCounterKey{t.Name, ch.Name, t.Family, r.Handle, i})
					}
				}
			}
		}
	}
	return s
}

// slowResult is what the reference says about one packet.
type slowResult struct {
	verdict engine.Verdict
	by      engine.Decider
	hook    engine.Hook
	table   string
	chain   string
	rule    uint64
}

type slowBase struct {
	t     *ruleset.Table
	ch    *ruleset.Chain
	prio  int
	order int
}

// bases returns the base chains of hook h in the order netfilter runs them.
func (s *slowEngine) bases(h string) []slowBase {
	var out []slowBase
	n := 0
	for _, t := range s.rs.Tables {
		for _, ch := range t.Chains {
			if !ch.IsBase() {
				continue
			}
			n++
			if ch.Hook != h {
				continue
			}
			prio := ch.Priority.Offset
			if ch.Priority.Name != "" {
				v, _ := ruleset.StandardPriority(t.Family, ch.Priority.Name)
				prio += v
			}
			out = append(out, slowBase{t, ch, prio, n})
		}
	}
	// Lower priority first; at equal priority the chain registered later
	// runs first.
	slices.SortStableFunc(out, func(a, b slowBase) int {
		if a.prio != b.prio {
			return a.prio - b.prio
		}
		return b.order - a.order
	})
	return out
}

// slowPacket is the packet plus what the interpreter learns on the way.
type slowPacket struct {
	p         *packet.Parsed
	m         *engine.Meta
	state     string // ct state name
	tracked   bool
	untracked bool
	ct        *conntrack.Table
	ctr       *conntrack.Result // conntrack's result, once it ran
	hook      engine.Hook       // the hook whose chains run
	now       int64
	mark      uint32 // the packet's mark (meta mark set changes it)
	ifx       map[string]int32
}

func (s *slowEngine) packet(p *packet.Parsed, m *engine.Meta, now int64) slowResult {
	res := slowResult{verdict: engine.Accept}
	sp := &slowPacket{p: p, m: m, state: "invalid", ct: s.ct, now: now, mark: m.Mark, ifx: s.ifx}
	defer func() { s.lastMark = sp.mark }()
	if !s.started {
		s.started, s.epoch, s.dyn = true, now, map[*ruleset.Set]*slowDyn{}
	}
	// A locally generated packet (Meta.Output) starts on output instead
	// of prerouting, conntrack included (nf_conntrack_in runs on both).
	firstName, firstHook := "prerouting", engine.HookPrerouting
	if m.Output {
		firstName, firstHook = "output", engine.HookOutput
	}
	pre := s.bases(firstName)
	run := func(bs []slowBase, hook engine.Hook) bool {
		sp.hook = hook
		for _, b := range bs {
			if !familyHas(b.t.Family, p) {
				continue
			}
			v, rt, rc, rh := s.chain(sp, b.t, b.ch, 0)
			switch v {
			case "accept", "drop", "reject":
				res = slowResult{verdict: map[string]engine.Verdict{"accept": engine.Accept, "drop": engine.Drop, "reject": engine.Reject}[v],
					by: engine.DecidedRule, hook: hook, table: rt, chain: rc, rule: rh}
			default:
				pol := engine.Accept
				if b.ch.Policy == "drop" {
					pol = engine.Drop
				}
				res = slowResult{verdict: pol, by: engine.DecidedPolicy, hook: hook, table: b.t.Name, chain: b.ch.Name}
			}
			if res.verdict != engine.Accept {
				return false
			}
		}
		return true
	}
	var early, late []slowBase
	for _, b := range pre {
		if b.prio < engine.PriorityConntrack {
			early = append(early, b)
		} else {
			late = append(late, b)
		}
	}
	if !run(early, firstHook) {
		return res
	}
	var ctr conntrack.Result
	if sp.untracked {
		sp.state = "untracked"
	} else {
		s.ct.Track(p, 0, now, &ctr)
		sp.ctr = &ctr
		sp.tracked = true
		sp.state = ctr.State.String()
		if ctr.Drop {
			return slowResult{verdict: engine.Drop, by: engine.DecidedConntrack, hook: firstHook}
		}
	}
	if !run(late, firstHook) {
		return res
	}
	// Routing, as Meta says: a locally generated packet was routed by its
	// socket and goes to postrouting; otherwise no route drops, a
	// forwarded packet goes through forward and postrouting, a local one
	// through input.
	switch {
	case m.Output:
		if !run(s.bases("postrouting"), engine.HookPostrouting) {
			return res
		}
	case m.NoRoute:
		return slowResult{verdict: engine.Drop, by: engine.DecidedRouting, hook: engine.HookPrerouting}
	case m.Forward:
		if !run(s.bases("forward"), engine.HookForward) || !run(s.bases("postrouting"), engine.HookPostrouting) {
			return res
		}
	default:
		if !run(s.bases("input"), engine.HookInput) {
			return res
		}
	}
	if sp.tracked {
		s.ct.Confirm(&ctr, now)
	}
	return res
}

func familyHas(f ruleset.Family, p *packet.Parsed) bool {
	switch f {
	case ruleset.FamilyIP:
		return p.IPVersion == 4
	case ruleset.FamilyIP6:
		return p.IPVersion == 6
	}
	return true
}

// chain interprets ch. It returns the verdict word ("accept", "drop",
// "reject", "return", or "" for falling off the end) and for a final
// verdict the table, chain and handle of the rule that gave it.
func (s *slowEngine) chain(sp *slowPacket, t *ruleset.Table, ch *ruleset.Chain, depth int) (string, string, string, uint64) {
	if depth > 16 {
		panic("jump stack overflow")
	}
rules:
	for _, r := range ch.Rules {
		if !slowRejectApplies(sp, t.Family, r) {
			continue
		}
		for i, st := range r.Stmts {
			if vm, ok := st.(*ruleset.VmapStmt); ok {
				v, hit := s.vmapVerdict(sp, t, vm)
				if !hit {
					continue rules
				}
				st = &ruleset.VerdictStmt{Verdict: v}
			}
			switch st := st.(type) {
			case *ruleset.DynsetStmt:
				if !s.dynset(sp, t, st) {
					continue rules
				}
			case *ruleset.Match:
				if !s.match(sp, t, st) {
					continue rules
				}
			case *ruleset.CounterStmt:
				if st.Name != nil {
					s.stmt(sp, t, slowCounterKey{t.Name, ch.Name, t.Family, r.Handle, i}, st)
					continue
				}
				s.counters[slowCounterKey{t.Name, ch.Name, t.Family, r.Handle, i}]++
			case *ruleset.SimpleStmt: // notrack
				if !sp.tracked {
					sp.untracked = true
				}
			case *ruleset.RejectStmt:
				return "reject", t.Name, ch.Name, r.Handle
			case *ruleset.LimitStmt, *ruleset.QuotaStmt, *ruleset.LogStmt, *ruleset.SetStmt:
				if !s.stmt(sp, t, slowCounterKey{t.Name, ch.Name, t.Family, r.Handle, i}, st) {
					continue rules
				}
			case *ruleset.VerdictStmt:
				switch st.Kind {
				case "accept", "drop":
					return st.Kind, t.Name, ch.Name, r.Handle
				case "return":
					return "return", "", "", 0
				case "continue":
					continue rules
				case "jump", "goto":
					v, rt, rc, rh := s.chain(sp, t, findChain(t, st.Chain), depth+1)
					if v == "accept" || v == "drop" || v == "reject" {
						return v, rt, rc, rh
					}
					if st.Kind == "goto" {
						return "return", "", "", 0
					}
					continue rules
				}
			}
		}
	}
	return "", "", "", 0
}

func findChain(t *ruleset.Table, name string) *ruleset.Chain {
	for _, ch := range t.Chains {
		if ch.Name == name {
			return ch
		}
	}
	panic("no chain " + name)
}

// slowVal is a field's value: an address, a number or an interface name.
type slowVal struct {
	typ  string // addr, num, ifname
	addr netip.Addr
	num  uint64
	name string
	ifx  map[string]int32 // iif: names are these indexes (live devices)
}

// field reads a selector; ok is false when the packet has no such field.
func (sp *slowPacket) field(words string) (v slowVal, typ string, ok bool) {
	p := sp.p
	num := func(n uint64, typ string, ok bool) (slowVal, string, bool) {
		return slowVal{typ: "num", num: n}, typ, ok
	}
	// nf_tables' transport protocol: for IPv6, the walk over extension
	// headers stops at an AH (ipv6_find_hdr with IP6_FH_F_AUTH)
	l4proto, hasL4 := p.Proto, p.L4Off != 0
	if p.IPVersion == 6 {
		for _, h := range p.Ext.Headers() {
			if h.Kind == packet.ExtAH {
				l4proto, hasL4 = packet.ProtoAH, false
			}
		}
	}
	l4 := func(proto packet.IPProto) bool { return l4proto == proto && hasL4 }
	switch words {
	case "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr":
		want := uint8(4)
		if strings.HasPrefix(words, "ip6") {
			want = 6
		}
		a := p.Src
		if strings.HasSuffix(words, "daddr") {
			a = p.Dst
		}
		return slowVal{typ: "addr", addr: a}, "addr", p.IPVersion == want
	case "ip protocol":
		return num(uint64(p.Proto), "proto", p.IPVersion == 4)
	case "ip ttl":
		return num(uint64(p.HopLimit), "u8", p.IPVersion == 4)
	case "ip6 hoplimit":
		return num(uint64(p.HopLimit), "u8", p.IPVersion == 6)
	case "ip6 nexthdr":
		if p.IPVersion != 6 {
			return num(0, "proto", false)
		}
		return num(uint64(p.IP()[6]), "proto", true)
	case "meta l4proto":
		return num(uint64(l4proto), "proto", p.IPVersion != 0)
	case "meta nfproto":
		return num(map[uint8]uint64{4: 2, 6: 10}[p.IPVersion], "nfproto", p.IPVersion != 0)
	case "meta mark":
		return num(uint64(sp.mark), "u32", true)
	case "meta iifname":
		name := strings.TrimRight(string(sp.m.Iifname[:]), "\x00")
		if sp.m.Output {
			name = "" // made here: no input device at all
		}
		return slowVal{typ: "ifname", name: name}, "ifname", true
	case "meta oifname":
		name := ""
		if sp.hook == engine.HookForward || sp.hook == engine.HookPostrouting || sp.hook == engine.HookOutput {
			name = strings.TrimRight(string(sp.m.Oifname[:]), "\x00")
		}
		return slowVal{typ: "ifname", name: name}, "ifname", true
	case "tcp sport":
		return num(uint64(p.SrcPort), "port", l4(packet.ProtoTCP))
	case "tcp dport":
		return num(uint64(p.DstPort), "port", l4(packet.ProtoTCP))
	case "tcp flags":
		return num(uint64(p.TCP.Flags&0xff), "tcp_flag", l4(packet.ProtoTCP))
	case "udp sport":
		return num(uint64(p.SrcPort), "port", l4(packet.ProtoUDP))
	case "udp dport":
		return num(uint64(p.DstPort), "port", l4(packet.ProtoUDP))
	case "icmp type":
		return num(uint64(p.ICMP.Type), "icmp_type", l4(packet.ProtoICMP))
	case "icmpv6 type":
		return num(uint64(p.ICMP.Type), "icmpv6_type", l4(packet.ProtoICMPv6))
	case "ct state":
		b, _ := ruleset.CtState(sp.state)
		return num(uint64(b), "ct_state", true)
	}
	if v, typ, ok, known := sp.moreField(words); known {
		return v, typ, ok
	}
	panic("reference: no selector " + words)
}

// literal reads a number-like literal of type typ.
func literal(x ruleset.Expr, typ string) uint64 {
	switch x := x.(type) {
	case *ruleset.Value:
		var n uint64
		var ok bool
		switch typ {
		case "proto":
			var b uint8
			b, ok = ruleset.Protocol(x.Text)
			n = uint64(b)
		case "port":
			var b uint16
			b, ok = ruleset.Service(x.Text)
			n = uint64(b)
		case "icmp_type":
			var b uint8
			b, ok = ruleset.ICMPType(x.Text)
			n = uint64(b)
		case "icmpv6_type":
			var b uint8
			b, ok = ruleset.ICMPv6Type(x.Text)
			n = uint64(b)
		case "tcp_flag":
			var b uint8
			b, ok = ruleset.TCPFlag(x.Text)
			n = uint64(b)
		case "ct_state":
			var b uint32
			b, ok = ruleset.CtState(x.Text)
			n = uint64(b)
		case "nfproto":
			n, ok = map[string]uint64{"ipv4": 2, "ipv6": 10}[x.Text]
		default:
			n, ok = moreLiteral(typ, x.Text)
		}
		if ok {
			return n
		}
		n, err := strconv.ParseUint(x.Text, 0, 64)
		if err != nil {
			panic("reference: bad literal " + x.Text)
		}
		return n
	case *ruleset.List:
		var n uint64
		for _, e := range x.Xs {
			n |= literal(e, typ)
		}
		return n
	case *ruleset.Binop: // a | b
		return literal(x.X, typ) | literal(x.Y, typ)
	}
	panic("reference: unsupported literal")
}

// member reports whether v is one of the values of right-hand side x.
func member(v slowVal, x ruleset.Expr, typ string) bool {
	switch x := x.(type) {
	case *ruleset.SetExpr:
		for _, e := range x.Elems {
			if member(v, e, typ) {
				return true
			}
		}
		return false
	case *ruleset.Elem:
		return member(v, x.X, typ)
	case *ruleset.Prefix:
		a := netip.MustParseAddr(x.X.(*ruleset.Value).Text)
		return netip.PrefixFrom(a, x.Len).Masked().Contains(v.addr)
	case *ruleset.Range:
		switch v.typ {
		case "addr":
			lo := netip.MustParseAddr(x.Lo.(*ruleset.Value).Text)
			hi := netip.MustParseAddr(x.Hi.(*ruleset.Value).Text)
			return lo.BitLen() == v.addr.BitLen() && lo.Compare(v.addr) <= 0 && v.addr.Compare(hi) <= 0
		}
		return literal(x.Lo, typ) <= v.num && v.num <= literal(x.Hi, typ)
	case *ruleset.Value:
		switch v.typ {
		case "addr":
			if strings.Contains(x.Text, "/") {
				return netip.MustParsePrefix(x.Text).Masked().Contains(v.addr)
			}
			return netip.MustParseAddr(x.Text) == v.addr
		case "iif":
			if i, ok := v.ifx[x.Text]; ok {
				return uint64(i) == v.num
			}
			if _, err := strconv.ParseUint(x.Text, 0, 32); err != nil && x.Text != "exists" && x.Text != "missing" {
				return x.Text == v.name
			}
		case "ifname":
			if pre, ok := strings.CutSuffix(x.Text, "*"); ok {
				return strings.HasPrefix(v.name, pre)
			}
			return x.Text == v.name
		}
	}
	return literal(x, typ) == v.num
}

func isFlagType(typ string) bool { return typ == "tcp_flag" || typ == "ct_state" }

func (s *slowEngine) match(sp *slowPacket, t *ruleset.Table, m *ruleset.Match) bool {
	if in, handled := s.setMatch(sp, t, m); handled {
		return in
	}
	if ref, ok := m.Y.(*ruleset.SetRef); ok {
		// A named set is the anonymous set of its elements.
		for _, set := range t.Sets {
			if set.Name == ref.Name {
				m = &ruleset.Match{Pos: m.Pos, Op: m.Op, X: m.X, Y: &ruleset.SetExpr{Elems: set.Elems}}
			}
		}
	}
	lhs := m.X
	var mask ruleset.Expr
	if b, ok := lhs.(*ruleset.Binop); ok && b.Op == "&" {
		lhs, mask = b.X, b.Y
	}
	sel := lhs.(*ruleset.Selector)
	words := strings.Join(sel.Words, " ")
	if len(sel.Args) > 0 { // fib operands
		var ops []string
		for _, a := range sel.Args {
			ops = append(ops, a.(*ruleset.Value).Text)
		}
		words = "fib " + strings.Join(ops, " . ") + " " + strings.Join(sel.Words[1:], " ")
	}
	switch words {
	case "mark":
		words = "meta mark"
	case "iifname":
		words = "meta iifname"
	case "oifname":
		words = "meta oifname"
	}
	v, typ, ok := sp.field(words)
	if !ok {
		return false
	}
	if mask != nil {
		v.num &= literal(mask, typ)
	}
	if b, ok := m.Y.(*ruleset.Binop); ok && b.Op == "/" {
		// flags v / m: (field & m) == v.
		eq := v.num&literal(b.Y, typ) == literal(b.X, typ)
		return eq != (m.Op == "!=")
	}
	_, isSet := m.Y.(*ruleset.SetExpr)
	if isFlagType(typ) && mask == nil && !isSet && (m.Op == "" || m.Op == "!=") {
		any := v.num&literal(m.Y, typ) != 0
		return any != (m.Op == "!=")
	}
	switch m.Op {
	case "", "==":
		return member(v, m.Y, typ)
	case "!=":
		return !member(v, m.Y, typ)
	}
	w := literal(m.Y, typ)
	switch m.Op {
	case "<":
		return v.num < w
	case "<=":
		return v.num <= w
	case ">":
		return v.num > w
	case ">=":
		return v.num >= w
	}
	panic("reference: operator " + m.Op)
}

// countersInOrder returns the packet count of each counter statement, in
// ruleset order (the order of Compiled.Counters).
func (s *slowEngine) countersInOrder() []uint64 {
	out := make([]uint64, len(s.order))
	for i, k := range s.order {
		out[i] = s.counters[k]
	}
	return out
}

// slowRejectApplies: nft makes a rule whose reject needs a protocol match
// only packets of that protocol (reject with tcp reset: TCP; in inet,
// with icmp: IPv4, with icmpv6: IPv6), wherever the reject is in the rule.
func slowRejectApplies(sp *slowPacket, fam ruleset.Family, r *ruleset.Rule) bool {
	for _, st := range r.Stmts {
		rj, ok := st.(*ruleset.RejectStmt)
		if !ok {
			continue
		}
		switch {
		case rj.With == "tcp" && (sp.p.Proto != packet.ProtoTCP || sp.p.IPVersion == 0):
			return false
		case fam == ruleset.FamilyInet && rj.With == "icmp" && sp.p.IPVersion != 4:
			return false
		case fam == ruleset.FamilyInet && rj.With == "icmpv6" && sp.p.IPVersion != 6:
			return false
		}
	}
	return true
}
