package engine

import (
	"github.com/hare-fw/hare/ruleset"
)

// Packet tracing. With Meta.Trace set, Engine.Packet reports every step of
// the packet's evaluation to it: each base chain it enters, each rule it
// evaluates (matched, with what the rule did, or the statement whose match
// failed), implicit returns, policies, the conntrack result and the
// routing decision. Without it runBase and evalRule pay one predictable
// branch per rule and allocate nothing (TestNoAllocs).
//
// The packet's nftrace flag (skb->nf_trace in Linux, set by `meta nftrace
// set 1`) travels with every event: Linux emits a trace message for a
// rule, a return or a policy only when the flag is set at that point
// (nft_trace_packet reads skb->nf_trace after the rule ran, so the rule
// that sets it is traced), and only for rules that ran to their end: a
// failed match (NFT_BREAK) emits nothing. A tracer printing `nft monitor
// trace` lines filters on Nftrace and on Kind; an explanation uses every
// event.
//
// While a tracer is set, runBase visits every rule of a chain in order
// instead of the chain index's candidates (index.go), so that an
// explanation can name every rule the packet failed; the index only skips
// rules that cannot match, so the verdict is the same.

// Tracer receives the steps of one packet's evaluation. Trace is called
// synchronously on the packet path; ev is a copy the tracer may keep.
type Tracer interface {
	Trace(ev TraceEvent)
}

// TraceKind is what a TraceEvent reports.
type TraceKind uint8

// Trace event kinds.
const (
	TraceChain     TraceKind = iota + 1 // a base chain begins (Hook, Table, Chain, Prio)
	TraceRule                           // a rule ran to its end: Action says what it did
	TraceNoMatch                        // a rule stopped at a failing match: Stmt, Value
	TraceReturn                         // a regular chain ended without a verdict: back to the caller
	TracePolicy                         // a base chain ended: its Policy applies
	TraceConntrack                      // conntrack ran: Result.CT holds its answer
	TraceRoute                          // routing: Route says where the packet goes
)

// RuleAction is what a rule that ran to its end did.
type RuleAction uint8

// Rule actions (nft verdict codes).
const (
	ActionContinue RuleAction = iota // no verdict: the next rule runs
	ActionAccept
	ActionDrop
	ActionReject // a drop for the kernel: traced as "verdict drop"
	ActionJump
	ActionGoto
	ActionReturn
)

var actionNames = [...]string{"continue", "accept", "drop", "reject", "jump", "goto", "return"}

func (a RuleAction) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// Route is the routing decision for a packet (Meta.Forward, Meta.NoRoute).
type Route uint8

// Routes.
const (
	RouteLocal   Route = iota // delivered locally: input
	RouteForward              // forwarded: forward, then postrouting
	RouteNone                 // no route: dropped after prerouting
)

var routeNames = [...]string{"local", "forward", "none"}

func (r Route) String() string {
	if int(r) < len(routeNames) {
		return routeNames[r]
	}
	return "unknown"
}

// TraceEvent is one step of a packet's evaluation.
type TraceEvent struct {
	Kind   TraceKind
	Hook   Hook
	Family ruleset.Family
	Table  string
	Chain  string
	Prio   int    // TraceChain: the base chain's priority
	Handle uint64 // TraceRule, TraceNoMatch: the rule's handle
	// Action and Target: what a rule that ran to its end did, and the
	// chain it jumped or went to.
	Action RuleAction
	Target string
	// Stmt is the index in the rule's statements (ruleset.Rule.Stmts) of
	// the match that failed (TraceNoMatch).
	Stmt int
	// Policy is a base chain's policy (TracePolicy).
	Policy Verdict
	// Route is the routing decision (TraceRoute).
	Route Route
	// Nftrace is the packet's nftrace flag after this step.
	Nftrace bool

	// The value the failing match loaded (TraceNoMatch): see Value.
	field   field
	value   u128
	present bool
}

// traceAll lists every rule index of a chain in order, for runBase while
// a tracer is set (see above); built once by Compile.
func (ch *chain) buildAll() {
	ch.all = make([]int32, len(ch.rules))
	for i := range ch.all {
		ch.all[i] = int32(i)
	}
}

// cands returns the rules of ch the packet visits: the index's candidates,
// or every rule while tracing.
func (cx *evalCtx) cands(ch *chain, key uint16, hasKey bool) (a, b []int32) {
	if cx.tr != nil {
		return ch.all, nil
	}
	return ch.candidates(cx.class, key, hasKey)
}

func actionOf(act action) RuleAction {
	switch act {
	case actAccept:
		return ActionAccept
	case actDrop:
		return ActionDrop
	case actReject:
		return ActionReject
	case actJump:
		return ActionJump
	case actGoto:
		return ActionGoto
	case actReturn:
		return ActionReturn
	}
	return ActionContinue
}

// traceChain reports the start of base chain ch on hook h.
func (c *Compiled) traceChain(cx *evalCtx, ch *chain, h Hook) {
	cx.tr.Trace(TraceEvent{Kind: TraceChain, Hook: h, Family: ch.family, Table: ch.table, Chain: ch.name, Prio: ch.prio, Nftrace: cx.nftrace})
}

// traceRule reports rule rl of ch after evalRule returned act.
func (c *Compiled) traceRule(cx *evalCtx, ch *chain, rl *rule, act action, target int32, h Hook) {
	ev := TraceEvent{Hook: h, Family: ch.family, Table: ch.table, Chain: ch.name, Handle: rl.handle, Nftrace: cx.nftrace}
	if act == actBreak {
		ev.Kind = TraceNoMatch
		o := &rl.ops[cx.failOp]
		ev.Stmt = int(o.stmt)
		if o.kind == opMatch && o.cond.lk == nil {
			ev.field = o.cond.f
			ev.value, ev.present = cx.loadCond(&o.cond)
		}
		cx.tr.Trace(ev)
		return
	}
	ev.Kind, ev.Action = TraceRule, actionOf(act)
	if act == actJump || act == actGoto {
		ev.Target = c.chains[target].name
	}
	cx.tr.Trace(ev)
}

// traceEnd reports the end of chain ch without a verdict: an implicit
// return from a regular chain, then, when the jump stack is empty
// (policy), the policy of base chain base. Linux emits no trace message
// for the implicit return (checked with the kernel oracle: the caller's
// next line follows).
func (c *Compiled) traceEnd(cx *evalCtx, ch, base *chain, h Hook, policy bool) {
	if ch != base {
		cx.tr.Trace(TraceEvent{Kind: TraceReturn, Hook: h, Family: ch.family, Table: ch.table, Chain: ch.name, Nftrace: cx.nftrace})
	}
	if policy {
		cx.tr.Trace(TraceEvent{Kind: TracePolicy, Hook: h, Family: base.family, Table: base.table, Chain: base.name, Policy: base.policy, Nftrace: cx.nftrace})
	}
}

// traceStep reports a conntrack or routing step.
func (cx *evalCtx) traceStep(k TraceKind, h Hook, rt Route) {
	cx.tr.Trace(TraceEvent{Kind: k, Hook: h, Route: rt, Nftrace: cx.nftrace})
}
