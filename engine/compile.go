package engine

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/hare-fw/hare/ruleset"
)

var sprintf = fmt.Sprintf

// Error is a construct the compiler does not support, or a ruleset the
// kernel would refuse, with the position of the offending source.
type Error struct {
	Pos ruleset.Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Hook is a netfilter hook. The zero value is invalid.
type Hook uint8

// Hooks, in packet order.
const (
	HookUnknown Hook = iota
	HookPrerouting
	HookInput
	HookForward
	HookOutput
	HookPostrouting
	numHooks
)

var hookNames = [...]string{"unknown", "prerouting", "input", "forward", "output", "postrouting"}

func (h Hook) String() string {
	if int(h) < len(hookNames) {
		return hookNames[h]
	}
	return "unknown"
}

// Standard priorities (enum nf_ip_hook_priorities).
const (
	PriorityDefrag    = -400
	PriorityConntrack = -200
)

// maxJumpDepth is the kernel's NFT_JUMP_STACK_SIZE.
const maxJumpDepth = 16

// field is a packet or metadata field a match loads.
type field uint8

const (
	fNone field = iota
	fIP4Saddr
	fIP4Daddr
	fIP4Proto
	fIP4TTL
	fIP6Saddr
	fIP6Daddr
	fIP6Nexthdr
	fIP6Hoplimit
	fL4Proto
	fNfproto
	fMark
	fIifname
	fOifname
	fTCPSport
	fTCPDport
	fTCPFlags
	fUDPSport
	fUDPDport
	fICMPType
	fICMPCode
	fICMPv6Type
	fICMPv6Code
	fCtState
	fCtStatus
)

// selectors maps the selector words to a field and its type.
var selectors = map[string]struct {
	f field
	t vtype
}{
	"ip saddr":     {fIP4Saddr, tAddr4},
	"ip daddr":     {fIP4Daddr, tAddr4},
	"ip protocol":  {fIP4Proto, tProto},
	"ip ttl":       {fIP4TTL, tU8},
	"ip6 saddr":    {fIP6Saddr, tAddr6},
	"ip6 daddr":    {fIP6Daddr, tAddr6},
	"ip6 nexthdr":  {fIP6Nexthdr, tProto},
	"ip6 hoplimit": {fIP6Hoplimit, tU8},
	"meta l4proto": {fL4Proto, tProto},
	"meta nfproto": {fNfproto, tNfproto},
	"meta mark":    {fMark, tU32},
	"meta iifname": {fIifname, tIfname},
	"meta oifname": {fOifname, tIfname},
	"tcp sport":    {fTCPSport, tPort},
	"tcp dport":    {fTCPDport, tPort},
	"tcp flags":    {fTCPFlags, tTCPFlags},
	"udp sport":    {fUDPSport, tPort},
	"udp dport":    {fUDPDport, tPort},
	"icmp type":    {fICMPType, tICMPType},
	"icmp code":    {fICMPCode, tU8},
	"icmpv6 type":  {fICMPv6Type, tICMPv6Type},
	"icmpv6 code":  {fICMPv6Code, tU8},
	"ct state":     {fCtState, tCtState},
	"ct status":    {fCtStatus, tCtStatus},
	"mark":         {fMark, tU32},
	"iifname":      {fIifname, tIfname},
	"oifname":      {fOifname, tIfname},
}

// opKind is one step of a rule.
type opKind uint8

const (
	opMatch   opKind = iota // cond must hold, else the rule ends (NFT_BREAK)
	opCounter               // count the packet in counters[counter]
	opNotrack               // mark the packet untracked (before conntrack only)
	opNftrace               // set the packet's nftrace flag to target != 0
	opVerdict               // the rule's verdict; always last
	opVmap                  // a verdict map (cond.lk): its verdict, or the rule ends; always last
	opDynset                // add/update/delete the key in a dynamic set (cond.lk; dynset.go)
)

// action is a verdict statement.
type action uint8

const (
	actContinue action = iota
	actAccept
	actDrop
	actReject
	actJump
	actGoto
	actReturn
	actBreak // a match failed (NFT_BREAK): the next rule runs, nothing traced
)

// cond is a compiled match: load f, optionally AND it with mask, then
// either test bits (any of them set, or none with neg) or look the value up
// in set (membership, or non-membership with neg).
type cond struct {
	f       field
	arg     uint32 // the field's parameter (an option kind, a direction; fields.go)
	neg     bool
	anyBits bool
	hasMask bool
	mask    uint64
	bits    uint64
	set     ivset
	// exact holds the single values of a named set (a hash lookup,
	// constant time at any size); set then holds only its ranges and
	// prefixes.
	exact map[u128]struct{}
	// lk, when set, is a lookup of a (concatenated or dynamic) key in a
	// set, map.go: f is then fNone.
	lk *setLookup
}

type op struct {
	kind   opKind
	act    action
	target int32 // jump/goto chain index
	// ctr is the rule counter's state. It is a pointer so that a
	// compiled rule reused by Update (update.go) keeps counting where it
	// was: state belongs to the rule, not to one Compiled.
	ctr  *counter
	cond cond
	stmt int16   // index of the statement it came from in ruleset.Rule.Stmts (trace.go)
	nat  NATKind // a NAT statement's verdict (nat.go)
	x    *stmtOp // limit, quota, log, set statements (stmt.go)
}

type rule struct {
	ops    []op
	handle uint64
	// ver and proto are the rule's guard, implied by the matches before
	// its first side effect: the IP version (4 or 6, 0 for any) and the
	// transport protocol with a transport header (0 for any) a packet
	// must have for the rule to possibly match. The chain index
	// (index.go) lists a rule only for the packet classes its guard
	// admits, so runBase never visits a rule failing its guard
	// (BenchmarkEngine200: most rules of a real ruleset name a protocol
	// or a family the packet does not have). noMatch marks guards that
	// contradict each other.
	ver   uint8
	proto uint8
	// Index facts (prepareIndex): the packet classes the guard admits
	// (bit per class), and the index keys when keyed.
	prepared bool
	keyed    bool
	classes  uint16
	keys     []uint16
}

const noMatch = 0xff

// guard computes r's ver and proto.
func (r *rule) guard() {
	for i := range r.ops {
		o := &r.ops[i]
		if o.kind != opMatch {
			return
		}
		var ver, proto uint8
		switch o.cond.f {
		case fIP4Saddr, fIP4Daddr, fIP4Proto, fIP4TTL:
			ver = 4
		case fIP6Saddr, fIP6Daddr, fIP6Nexthdr, fIP6Hoplimit:
			ver = 6
		case fTCPSport, fTCPDport, fTCPFlags:
			proto = 6
		case fUDPSport, fUDPDport:
			proto = 17
		case fICMPType, fICMPCode:
			proto = 1
		case fICMPv6Type, fICMPv6Code:
			proto = 58
		default:
			ver, proto = fieldGuard(o.cond.f)
		}
		if ver != 0 {
			if r.ver != 0 && r.ver != ver {
				ver = noMatch
			}
			r.ver = ver
		}
		if proto != 0 {
			if r.proto != 0 && r.proto != proto {
				proto = noMatch
			}
			r.proto = proto
		}
	}
}

type chain struct {
	table  string
	name   string
	family ruleset.Family
	hook   Hook
	prio   int
	policy Verdict // Accept or Drop, for base chains
	order  int     // declaration order among base chains
	rules  []rule
	idx    chainIndex
	nat    bool // type nat (nat.go)
	// src is the source rule of each compiled rule (same order), so
	// Update can tell which rules a change left alone.
	src []*ruleset.Rule
	all []int32 // every rule index, in order: the walk while tracing (trace.go)
}

// CounterKey names a rule counter: its table, chain and rule handle.
type CounterKey struct {
	Family ruleset.Family
	Table  string
	Chain  string
	Handle uint64
}

type counter struct {
	packets, bytes atomic.Uint64
}

// Compiled is an immutable evaluation form of a ruleset: base chains
// grouped by hook and sorted by priority, rules as compiled matchers. Only
// its rule counters change after Compile (atomically). It is safe for
// concurrent use; swap whole rulesets with an atomic.Pointer (see Engine).
type Compiled struct {
	// epoch is 1 + the time of the first packet, when the timeouts of
	// declared set elements start (set.go).
	epoch    atomic.Int64
	chains   []chain
	hooks    [numHooks][]int32 // base chain indices, in evaluation order
	src      *ruleset.Ruleset
	tables   []table
	objects  []*object // named counters, quotas, limits (objects.go)
	objIndex map[objKey]*object
	opts     Options // what Compile was given (ifindex.go)
}

// table is what the rules of one source table compile against: the chain
// indices their jumps name and the table's compiled named sets.
type table struct {
	t     *ruleset.Table
	index map[string]int32
	sets  map[string]*namedSet
}

// Compile turns an applied ruleset into its evaluation form. Anything it
// does not support (a statement, a selector, a family, a chain type) is an
// *Error naming the construct and its position: a rule is never evaluated
// partly.
//
// Compile keeps rs as the source of the result (see Update): the caller
// must not change it afterwards; change a Clone instead.
func Compile(rs *ruleset.Ruleset) (*Compiled, error) {
	return compile(rs, Options{})
}

func compile(rs *ruleset.Ruleset, opts Options) (*Compiled, error) {
	c := &Compiled{src: rs, opts: opts}
	order := 0
	for _, t := range rs.Tables {
		if !t.Family.IsEvaluable() {
			return nil, &Error{t.Pos, sprintf("unsupported: table family %s", t.Family)}
		}
		idx := map[string]int32{}
		for _, ch := range t.Chains {
			idx[ch.Name] = int32(len(c.chains))
			cc := chain{table: t.Name, name: ch.Name, family: t.Family}
			if ch.IsBase() {
				if err := baseChain(&cc, ch, t.Family); err != nil {
					return nil, err
				}
				cc.order = order
				order++
			}
			c.chains = append(c.chains, cc)
		}
		sets, err := compileSets(t)
		if err != nil {
			return nil, err
		}
		for _, ns := range sets {
			if err := c.bindSet(ns, idx); err != nil {
				return nil, err
			}
		}
		if err := c.compileObjects(t); err != nil {
			return nil, err
		}
		c.tables = append(c.tables, table{t, idx, sets})
	}
	for _, tk := range c.tables {
		for _, ch := range tk.t.Chains {
			cc := &c.chains[tk.index[ch.Name]]
			for _, r := range ch.Rules {
				cr, err := c.compileRule(cc, r, tk.index, tk.sets)
				if err != nil {
					return nil, err
				}
				cr.guard()
				cc.rules = append(cc.rules, cr)
				cc.src = append(cc.src, r)
			}
		}
	}
	if err := c.checkJumps(rs); err != nil {
		return nil, err
	}
	for i := range c.chains {
		c.chains[i].buildIndex()
		c.chains[i].buildAll()
	}
	for i := range c.chains {
		if h := c.chains[i].hook; h != HookUnknown {
			c.hooks[h] = append(c.hooks[h], int32(i))
		}
	}
	for h := range c.hooks {
		hs := c.hooks[h]
		// Lower priority first; at equal priority the later registration
		// runs first (nf_hook_entries_grow inserts before equals).
		sort.SliceStable(hs, func(i, j int) bool {
			a, b := &c.chains[hs[i]], &c.chains[hs[j]]
			if a.prio != b.prio {
				return a.prio < b.prio
			}
			return a.order > b.order
		})
	}
	return c, nil
}

func baseChain(cc *chain, ch *ruleset.Chain, f ruleset.Family) error {
	switch ch.Type {
	case "filter":
	case "nat":
		cc.nat = true
	case "route":
		// A route chain is a filter chain on output that re-routes the
		// packet when a mark or address changed (nf_route_table); the
		// replay topology never runs output chains.
		if ch.Hook != "output" {
			return &Error{ch.Pos, sprintf("chain type route is only valid on the output hook (chain %s)", ch.Name)}
		}
	default:
		return &Error{ch.Pos, sprintf("unsupported: chain type %s (chain %s)", ch.Type, ch.Name)}
	}
	if len(ch.Devices) > 0 {
		return &Error{ch.Pos, sprintf("unsupported: devices on chain %s", ch.Name)}
	}
	for h := HookPrerouting; h < numHooks; h++ {
		if h.String() == ch.Hook {
			cc.hook = h
		}
	}
	if cc.hook == HookUnknown {
		return &Error{ch.Pos, sprintf("unsupported: hook %s", ch.Hook)}
	}
	cc.prio = ch.Priority.Offset
	if ch.Priority.Name != "" {
		base, ok := ruleset.StandardPriority(f, ch.Priority.Name)
		if !ok {
			return &Error{ch.Pos, sprintf("unsupported: priority %s", ch.Priority.Name)}
		}
		cc.prio += base
	}
	if cc.prio <= PriorityDefrag {
		return &Error{ch.Pos, sprintf("unsupported: priority %d runs before defrag (%d)", cc.prio, PriorityDefrag)}
	}
	if cc.nat {
		// nft_chain_nat_init and nf_nat_register_fn: no NAT on forward,
		// and NAT runs after conntrack (the kernel answers EOPNOTSUPP).
		if cc.hook == HookForward {
			return &Error{ch.Pos, sprintf("chain type nat is not valid on the forward hook (chain %s)", ch.Name)}
		}
		if cc.prio <= PriorityConntrack {
			return &Error{ch.Pos, sprintf("nat chain %s: priority %d must be above conntrack's (%d)", ch.Name, cc.prio, PriorityConntrack)}
		}
	}
	switch ch.Policy {
	case "", "accept":
		cc.policy = Accept
	case "drop":
		cc.policy = Drop
	default:
		return &Error{ch.Pos, sprintf("unsupported: policy %s", ch.Policy)}
	}
	return nil
}

func (c *Compiled) compileRule(cc *chain, r *ruleset.Rule, index map[string]int32, sets map[string]*namedSet) (rule, error) {
	cr := rule{handle: r.Handle}
	for i, s := range r.Stmts {
		if n := len(cr.ops); n > 0 && (cr.ops[n-1].kind == opVerdict || cr.ops[n-1].kind == opVmap) {
			return rule{}, &Error{s.Position(), "statement after a verdict"}
		}
		if len(r.Stmts) > 1<<15 {
			return rule{}, &Error{s.Position(), "rule too long"}
		}
		n0 := len(cr.ops)
		switch s := s.(type) {
		case *ruleset.NatStmt:
			o, err := compileNat(cc, s)
			if err != nil {
				return rule{}, err
			}
			cr.ops = append(cr.ops, o)
		case *ruleset.Match:
			cd, err := compileMatch(s, sets, c.opts.Ifindex)
			if err != nil {
				return rule{}, err
			}
			if cc.hook == HookOutput && cd.f >= fFibOif && cd.f <= fFibType {
				// fib.go models the routes of received packets (every
				// destination local); a locally generated packet's are
				// not modelled.
				return rule{}, &Error{s.Pos, "unsupported: fib in an output chain (chain " + cc.name + ")"}
			}
			cr.ops = append(cr.ops, op{kind: opMatch, cond: cd})
		case *ruleset.VmapStmt:
			o, err := c.vmapOp(s, index, sets)
			if err != nil {
				return rule{}, err
			}
			cr.ops = append(cr.ops, o)
		case *ruleset.DynsetStmt:
			o, err := dynsetOp(s, sets)
			if err != nil {
				return rule{}, err
			}
			cr.ops = append(cr.ops, o)
		case *ruleset.CounterStmt:
			if s.Name != nil {
				o, err := c.namedCounter(cc, s)
				if err != nil {
					return rule{}, err
				}
				cr.ops = append(cr.ops, o)
				continue
			}
			cr.ops = append(cr.ops, op{kind: opCounter, ctr: new(counter)})
		case *ruleset.SimpleStmt:
			if s.Word != "notrack" {
				return rule{}, &Error{s.Pos, "unsupported: statement " + s.Word}
			}
			if cc.hook != HookPrerouting && cc.hook != HookOutput {
				// nft_notrack_validate: prerouting and output only.
				return rule{}, &Error{s.Pos, "notrack is only valid in prerouting and output base chains"}
			}
			cr.ops = append(cr.ops, op{kind: opNotrack})
		case *ruleset.RejectStmt:
			k, err := rejectKindOf(s, cc.family)
			if err != nil {
				return rule{}, err
			}
			cr.ops = append(cr.ops, op{kind: opVerdict, act: actReject, target: k.pack()})
		case *ruleset.VerdictStmt:
			o := op{kind: opVerdict}
			switch s.Kind {
			case "accept":
				o.act = actAccept
			case "drop":
				o.act = actDrop
			case "continue":
				o.act = actContinue
			case "return":
				o.act = actReturn
			case "jump", "goto":
				o.act = actJump
				if s.Kind == "goto" {
					o.act = actGoto
				}
				t, ok := index[s.Chain]
				if !ok {
					return rule{}, &Error{s.Pos, sprintf("jump to unknown chain %s", s.Chain)}
				}
				if c.chains[t].hook != HookUnknown {
					return rule{}, &Error{s.Pos, sprintf("cannot jump to base chain %s", s.Chain)}
				}
				o.target = t
			default:
				return rule{}, &Error{s.Pos, "unsupported: verdict " + s.Kind}
			}
			cr.ops = append(cr.ops, o)
		case *ruleset.SetStmt:
			var o op
			var err error
			if isNftrace(s) {
				o, err = compileSetStmt(cc, s) // trace_compile.go
			} else {
				o, err = compileValueSet(s, sets) // stmt.go
			}
			if err != nil {
				return rule{}, err
			}
			cr.ops = append(cr.ops, o)
		default:
			o, ok, err := c.compileStmt(cc, s, sets)
			if err != nil {
				return rule{}, err
			}
			if !ok {
				return rule{}, &Error{s.Position(), "unsupported: " + stmtKind(s, r.Stmts[i])}
			}
			cr.ops = append(cr.ops, o)
		}
		for j := n0; j < len(cr.ops); j++ {
			cr.ops[j].stmt = int16(i)
		}
	}
	return withImplicitDeps(cr, r, cc.family, sets)
}

// withImplicitDeps puts in front of cr the matches nft adds to the rule on
// its own (ruleset.ImplicitDeps: `reject with tcp reset` needs TCP, and
// in inet tables `reject with icmp|icmpv6` needs IPv4|IPv6). The kernel
// runs them as ordinary matches, so a UDP packet does not match `reject
// with tcp reset` and goes on to the next rule. They report the reject
// statement's index to the tracer.
func withImplicitDeps(cr rule, r *ruleset.Rule, fam ruleset.Family, sets map[string]*namedSet) (rule, error) {
	deps := ruleset.ImplicitDeps(r.Stmts, fam)
	if len(deps) == 0 {
		return cr, nil
	}
	at := int16(0)
	for i, s := range r.Stmts {
		if _, ok := s.(*ruleset.RejectStmt); ok {
			at = int16(i)
		}
	}
	ops := make([]op, 0, len(deps)+len(cr.ops))
	for _, d := range deps {
		cd, err := compileMatch(d.Match, sets, nil)
		if err != nil {
			return rule{}, err
		}
		ops = append(ops, op{kind: opMatch, cond: cd, stmt: at})
	}
	cr.ops = append(ops, cr.ops...)
	return cr, nil
}

func stmtKind(s ruleset.Stmt, _ ruleset.Stmt) string {
	switch s := s.(type) {
	case *ruleset.VmapStmt:
		return "verdict map"
	case *ruleset.LogStmt:
		return "log statement"
	case *ruleset.LimitStmt:
		return "limit statement"
	case *ruleset.QuotaStmt:
		return "quota statement"
	case *ruleset.NatStmt:
		return s.Kind + " statement"
	case *ruleset.SetStmt:
		return "set statement " + strings.Join(s.Key.Words, " ")
	case *ruleset.DynsetStmt:
		return s.Op + " @" + s.Set
	case *ruleset.RawStmt:
		return "statement " + strings.Join(s.Words, " ")
	}
	return sprintf("%T", s)
}

func compileMatch(m *ruleset.Match, sets map[string]*namedSet, ifx func(string) (int32, bool)) (cond, error) {
	if cd, ok, err := setMatch(m, sets); ok {
		return cd, err
	}
	var cd cond
	x := m.X
	var maskX ruleset.Expr
	if b, ok := x.(*ruleset.Binop); ok && b.Op == "&" {
		x, maskX = b.X, b.Y
	}
	sel, ok := x.(*ruleset.Selector)
	if !ok || (len(sel.Args) > 0 && sel.Words[0] != "fib") {
		return cd, &Error{m.X.Position(), "unsupported: match on " + exprKind(m.X)}
	}
	name := selectorName(sel)
	st, ok := selectors[name]
	if !ok || st.f == fNone {
		return cd, &Error{sel.Pos, unsupportedSelector(name)}
	}
	y := m.Y
	if ifx != nil && (st.f == fIif || st.f == fOif) {
		var err error
		if y, err = resolveIfnames(y, ifx); err != nil {
			return cd, err
		}
	}
	st, cd.arg = refineMatch(name, st, y)
	cd.f = st.f
	if maskX != nil {
		if st.t == tAddr4 || st.t == tAddr6 || st.t == tIfname {
			return cd, &Error{m.X.Position(), "unsupported: mask on " + name}
		}
		mk, err := bits(maskX, st.t)
		if err != nil {
			return cd, err
		}
		cd.hasMask, cd.mask = true, mk
	}
	if ref, ok := y.(*ruleset.SetRef); ok {
		return refMatch(cd, m, ref, st.t, sets)
	}
	switch y.(type) {
	case *ruleset.Concat, *ruleset.MapLookup, *ruleset.Selector:
		return cd, &Error{y.Position(), "unsupported: " + exprKind(y)}
	}
	_, isSet := y.(*ruleset.SetExpr)
	_, isList := y.(*ruleset.List)
	if b, ok := y.(*ruleset.Binop); ok && b.Op == "/" {
		return slashMatch(cd, m, b, st.t)
	}
	_, isOr := y.(*ruleset.Binop)
	// Flag types: `ct state a,b` or `tcp flags syn` test bits (nft's
	// implicit flag comparison); `!=` tests that none are set.
	if st.t.isBitmask() && !isSet && !cd.hasMask && (m.Op == "" || m.Op == "!=") {
		b, err := bits(y, st.t)
		if err != nil {
			return cd, err
		}
		cd.anyBits, cd.bits, cd.neg = true, b, m.Op == "!="
		return cd, nil
	}
	if isList || isOr {
		b, err := bits(y, st.t)
		if err != nil {
			return cd, err
		}
		cd.set = ivset{{u128{lo: b}, u128{lo: b}}}
	} else {
		var err error
		if cd.set, err = elems(y, st.t, nil); err != nil {
			return cd, err
		}
	}
	switch m.Op {
	case "", "==":
	case "!=":
		cd.neg = true
	case "<", "<=", ">", ">=":
		if len(cd.set) != 1 || cd.set[0].lo != cd.set[0].hi || st.t == tAddr4 || st.t == tAddr6 || st.t == tIfname {
			return cd, &Error{m.Pos, "unsupported: " + m.Op + " with this value"}
		}
		v := cd.set[0].lo.lo
		lo, hi := uint64(0), st.t.max()
		switch m.Op {
		case "<":
			if v == 0 {
				return cd, &Error{m.Pos, "comparison is always false"}
			}
			hi = v - 1
		case "<=":
			hi = v
		case ">":
			lo = v + 1
		case ">=":
			lo = v
		}
		cd.set = ivset{{u128{lo: lo}, u128{lo: hi}}}
	default:
		return cd, &Error{m.Pos, "unsupported: operator " + m.Op}
	}
	cd.set = cd.set.normalise()
	return cd, nil
}

// checkJumps refuses loops and chains deeper than the kernel's jump stack.
func (c *Compiled) checkJumps(rs *ruleset.Ruleset) error {
	const (
		unseen = iota
		active
		done
	)
	mark := make([]uint8, len(c.chains))
	depth := make([]int, len(c.chains)) // deepest jump stack below the chain
	var visit func(i int32) error
	visit = func(i int32) error {
		switch mark[i] {
		case active:
			return &Error{chainPos(rs, &c.chains[i]), sprintf("loop through chain %s", c.chains[i].name)}
		case done:
			return nil
		}
		mark[i] = active
		for _, r := range c.chains[i].rules {
			for _, o := range r.ops {
				for _, j := range o.jumps() {
					if err := visit(j.target); err != nil {
						return err
					}
					d := depth[j.target]
					if j.act == actJump {
						d++
					}
					depth[i] = max(depth[i], d)
				}
			}
		}
		mark[i] = done
		if depth[i] > maxJumpDepth {
			return &Error{chainPos(rs, &c.chains[i]), sprintf("jumps from chain %s nest deeper than %d", c.chains[i].name, maxJumpDepth)}
		}
		return nil
	}
	for i := range c.chains {
		if err := visit(int32(i)); err != nil {
			return err
		}
	}
	return nil
}

func chainPos(rs *ruleset.Ruleset, cc *chain) ruleset.Pos {
	for _, t := range rs.Tables {
		if t.Name != cc.table || t.Family != cc.family {
			continue
		}
		for _, ch := range t.Chains {
			if ch.Name == cc.name {
				return ch.Pos
			}
		}
	}
	return ruleset.Pos{}
}

// Counters returns the rule counters, in ruleset order: for each counter
// statement its rule and the packets and bytes it counted so far.
func (c *Compiled) Counters() []CounterValue {
	var out []CounterValue
	for i := range c.chains {
		ch := &c.chains[i]
		for j := range ch.rules {
			rl := &ch.rules[j]
			for k := range rl.ops {
				if o := &rl.ops[k]; o.kind == opCounter {
					out = append(out, CounterValue{CounterKey{ch.family, ch.table, ch.name, rl.handle}, o.ctr.packets.Load(), o.ctr.bytes.Load()})
				}
			}
		}
	}
	return out
}

// CounterValue is one rule counter's value.
type CounterValue struct {
	CounterKey
	Packets, Bytes uint64
}
