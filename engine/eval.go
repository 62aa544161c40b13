package engine

import (
	"sync"
	"sync/atomic"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// The path of one packet through Engine.Packet:
//
//  1. prerouting base chains with priority below conntrack's (-200), raw
//     and the like; `notrack` here exempts the packet from tracking;
//  2. conntrack: Table.Track (skipped for an untracked packet);
//  3. the remaining prerouting chains (mangle, dstnat, filter…);
//  4. routing, as the caller decided it in Meta (ip_route_input): with
//     NoRoute the packet stops here (dropped); with Forward it goes to
//     the forward base chains, then the postrouting ones (ip_forward,
//     ip_output); otherwise to the input base chains (local delivery,
//     the replay's default topology);
//  5. conntrack Confirm, only for an accepted packet (Linux
//     nf_conntrack_confirm runs last on the input hook, and on
//     postrouting for a forwarded packet).
//
// A locally generated packet (Meta.Output) takes the output path instead:
// output chains with conntrack among them, then postrouting (output.go).
//
// In each base chain the rules run in order (nft_do_chain): a failing match
// ends the rule, accept ends the base chain (the next base chain runs),
// drop and reject end the packet, jump pushes a return point, goto does
// not, return pops (or applies the policy in a base chain), and the end of
// a base chain applies its policy. Nothing here allocates.

// Engine evaluates packets against the current Compiled ruleset, which
// Swap replaces atomically: a packet sees one ruleset from start to end.
// It is safe for concurrent use if the conntrack table is (it is).
type Engine struct {
	rules   atomic.Pointer[Compiled]
	ct      *conntrack.Table
	mu      sync.Mutex // serialises Swap and Apply; packets never take it
	logSink LogSink    // log.go
}

// New returns an engine over conntrack table ct with ruleset c.
func New(ct *conntrack.Table, c *Compiled) *Engine {
	e := &Engine{ct: ct}
	e.rules.Store(c)
	return e
}

// Swap installs c and returns the ruleset it replaces.
func (e *Engine) Swap(c *Compiled) *Compiled {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rules.Swap(c)
}

// Rules returns the ruleset in force.
func (e *Engine) Rules() *Compiled { return e.rules.Load() }

// Meta is what the packet's surroundings say about it.
type Meta struct {
	Iifname [16]byte // input interface name, NUL padded (see IfName)
	Mark    uint32   // meta mark on arrival
	// NoRoute says routing finds no local delivery: the packet is
	// dropped after prerouting and never confirmed.
	NoRoute bool
	// Forward says routing forwards the packet (out of Oifname) instead
	// of delivering it locally: forward and postrouting chains run
	// instead of input.
	Forward bool
	Oifname [16]byte // output interface of a forwarded or locally generated packet (IfName)
	// Output says the packet was made on this host (NFQUEUE from the
	// OUTPUT hook): it takes the local output path (output.go) instead of
	// prerouting and routing; Iifname, NoRoute and Forward do not apply,
	// and Oifname is the device the socket's route chose.
	Output bool
	// Trace, when not nil, receives every step of the packet's
	// evaluation (trace.go). Nftrace is the packet's nftrace flag on
	// arrival (`meta nftrace set 1` sets it on the way).
	Trace   Tracer
	Nftrace bool
	// Iif and Oif are the interface indexes of the input and output
	// devices and IifType and OifType their types (ARPHRD_*,
	// dev->type), for meta iif, oif, iiftype and oiftype. A live
	// datapath sets them; when both indexes are 0 (the replay) the
	// devices are the replay's: ReplayIfindex, ReplayOifindex and
	// ReplayIftype (fields_load.go).
	Iif, Oif         int32
	IifType, OifType uint16
}

// devices says whether the caller gave the packet's devices (Iif, Oif);
// otherwise they are the replay's.
func (m *Meta) devices() bool { return m.Iif != 0 || m.Oif != 0 }

// IfName packs an interface name for Meta.Iifname.
func IfName(s string) (b [16]byte) {
	copy(b[:15], s)
	return b
}

// Result is the fate of one packet. Reuse one per worker; Packet
// overwrites it. Chain and Table alias the Compiled ruleset's strings.
type Result struct {
	Verdict Verdict
	By      Decider
	Hook    Hook
	Table   string
	Chain   string
	Rule    uint64 // handle of the deciding rule (By == DecidedRule)
	// Reject is what the deciding reject statement sends (BuildReject);
	// meaningful only when Verdict is Reject.
	Reject RejectKind
	// Untracked is set when a notrack rule exempted the packet; CT is then
	// not meaningful.
	Untracked bool
	CT        conntrack.Result
	// Mark is the packet's mark after the ruleset (meta mark set), and
	// Priority its skb priority (meta priority set; 0 unless set).
	Mark     uint32
	Priority uint32
	// NAT is the NAT statement that accepted the packet in a nat chain,
	// if any. hare does not perform the translation yet (nat.go): the
	// packet went on untranslated.
	NAT NATKind

	entry conntrack.Entry // scratch for ct status
	logEv LogEvent        // scratch for the log sink
}

// evalCtx is the per-packet state the matchers read.
type evalCtx struct {
	p         *packet.Parsed
	m         *Meta
	ctState   uint64 // ct state bit
	tracked   bool   // conntrack ran
	untracked bool
	statusOK  bool
	entryOK   int8 // ctEntry: 0 not looked up, 1 in r.entry, -1 none
	status    uint64
	e         *Engine
	r         *Result
	class     uint8 // classOf the packet, for the chain indexes
	addr      pktAddrs
	now       int64  // the caller's clock (set element timeouts, limits)
	mark      uint32 // the packet's mark (meta mark set changes it)
	zone      uint16 // conntrack zone (ct zone set before conntrack)
	hook      Hook   // the hook running, for meta iifname/oifname

	tr      Tracer // Meta.Trace: nil unless tracing
	nftrace bool   // skb->nf_trace
	failOp  int32  // while tracing: the op a rule stopped at (actBreak)
	natDone uint8  // NAT bindings set up so far (natBit), nat.go
}

// Packet runs p, a decoded and reassembled IP datagram arriving at time now
// (the caller's clock), through the hooks and puts its fate in r.
func (e *Engine) Packet(p *packet.Parsed, m *Meta, now int64, r *Result) {
	c := e.rules.Load()
	if c.epoch.Load() == 0 {
		c.epoch.CompareAndSwap(0, now+1)
	}
	r.Verdict, r.By, r.Hook, r.Table, r.Chain, r.Rule, r.Untracked = Accept, DecidedNone, HookUnknown, "", "", 0, false
	cx := evalCtx{p: p, m: m, ctState: ctBitInvalid, e: e, r: r, now: now, mark: m.Mark, tr: m.Trace, nftrace: m.Nftrace}
	l4proto, hasL4 := nftTransport(p)
	cx.class = classOf(p.IPVersion, l4proto, hasL4)
	r.Mark, r.Priority, r.NAT = m.Mark, 0, NATNone

	if m.Output {
		e.output(c, &cx, now)
		return
	}
	if !e.trackAt(c, &cx, HookPrerouting, now) {
		return
	}
	if cx.tr != nil {
		cx.traceStep(TraceRoute, HookPrerouting, routeOf(m))
	}
	if m.NoRoute {
		r.Verdict, r.By, r.Hook, r.Table, r.Chain, r.Rule = Drop, DecidedRouting, HookPrerouting, "", "", 0
		return
	}
	if m.Forward {
		if !c.runHook(&cx, HookForward) || !c.runHook(&cx, HookPostrouting) {
			return
		}
	} else if !c.runHook(&cx, HookInput) {
		return
	}
	if cx.tracked {
		e.ct.Confirm(&r.CT, now)
	}
}

// trackAt runs the first hook of the packet's path, h (prerouting, or
// output for a locally generated packet): its base chains with priority
// below conntrack's, conntrack (nf_conntrack_in, registered on both hooks
// at NF_IP_PRI_CONNTRACK), then the rest. It reports whether the packet
// goes on.
func (e *Engine) trackAt(c *Compiled, cx *evalCtx, h Hook, now int64) bool {
	r := cx.r
	chains := c.hooks[h]
	i := 0
	for ; i < len(chains) && c.chains[chains[i]].prio < PriorityConntrack; i++ {
		if !c.runBase(cx, chains[i], h) {
			return false
		}
	}
	if cx.untracked {
		r.Untracked = true
		r.CT = conntrack.Result{State: conntrack.StateUntracked}
		cx.ctState = ctBitUntracked
	} else {
		e.ct.Track(cx.p, cx.zone, now, &r.CT)
		cx.tracked = true
		cx.ctState = stateBit(r.CT.State)
		if cx.tr != nil {
			cx.traceStep(TraceConntrack, h, 0)
		}
		if r.CT.Drop {
			r.Verdict, r.By, r.Hook = Drop, DecidedConntrack, h
			return false
		}
	}
	for ; i < len(chains); i++ {
		if !c.runBase(cx, chains[i], h) {
			return false
		}
	}
	return true
}

// runHook runs the base chains of hook h in order and reports whether the
// packet goes on.
func (c *Compiled) runHook(cx *evalCtx, h Hook) bool {
	for _, ci := range c.hooks[h] {
		if !c.runBase(cx, ci, h) {
			return false
		}
	}
	return true
}

func routeOf(m *Meta) Route {
	switch {
	case m.NoRoute:
		return RouteNone
	case m.Forward:
		return RouteForward
	}
	return RouteLocal
}

const (
	ctBitInvalid   = 1
	ctBitUntracked = 64
)

// stateBit is nft's ct state bit (NF_CT_STATE_BIT).
func stateBit(s conntrack.State) uint64 {
	switch s {
	case conntrack.StateNew:
		return 8
	case conntrack.StateEstablished:
		return 2
	case conntrack.StateRelated:
		return 4
	case conntrack.StateUntracked:
		return ctBitUntracked
	}
	return ctBitInvalid
}

// frame is a jump stack entry: where to resume, as positions in the
// chain's two candidate lists (see chainIndex).
type frame struct {
	chain int32
	i, j  int32
}

// runBase runs base chain bi and reports whether the packet goes on
// (accepted by this chain); otherwise r holds the final verdict.
func (c *Compiled) runBase(cx *evalCtx, bi int32, h Hook) bool {
	base := &c.chains[bi]
	if !familyMatches(base, cx.p) || base.nat && cx.natSkips(h) {
		return true
	}
	r := cx.r
	cx.hook = h
	key, hasKey := keyOf(cx.p, cx.class)
	var stack [maxJumpDepth]frame
	sp := 0
	cur := bi
	ch := base
	if cx.tr != nil {
		c.traceChain(cx, ch, h)
	}
	a, b := cx.cands(ch, key, hasKey)
	var i, j int32
	for {
		// The next rule is the smaller head of the two lists.
		var ri int32
		switch {
		case int(i) < len(a) && (int(j) >= len(b) || a[i] < b[j]):
			ri = a[i]
			i++
		case int(j) < len(b):
			ri = b[j]
			j++
		default:
			if cx.tr != nil {
				c.traceEnd(cx, ch, base, h, sp == 0)
			}
			if sp == 0 {
				return c.policy(r, base, h)
			}
			sp--
			cur, i, j = stack[sp].chain, stack[sp].i, stack[sp].j
			ch = &c.chains[cur]
			a, b = cx.cands(ch, key, hasKey)
			continue
		}
		rl := &ch.rules[ri]
		act, target := c.evalRule(cx, rl)
		if cx.tr != nil {
			c.traceRule(cx, ch, rl, act, target, h)
		}
		switch act {
		case actContinue, actBreak:
			continue
		case actAccept, actDrop, actReject:
			r.By, r.Hook, r.Table, r.Chain, r.Rule = DecidedRule, h, ch.table, ch.name, rl.handle
			switch act {
			case actAccept:
				r.Verdict = Accept
				return true
			case actDrop:
				r.Verdict = Drop
			default:
				r.Verdict, r.Reject = Reject, unpackReject(target)
			}
			return false
		case actJump:
			stack[sp] = frame{cur, i, j}
			sp++
			fallthrough
		case actGoto:
			cur, i, j = target, 0, 0
			ch = &c.chains[cur]
			a, b = cx.cands(ch, key, hasKey)
		case actReturn:
			if sp == 0 {
				if cx.tr != nil {
					c.traceEnd(cx, base, base, h, true)
				}
				return c.policy(r, base, h)
			}
			sp--
			cur, i, j = stack[sp].chain, stack[sp].i, stack[sp].j
			ch = &c.chains[cur]
			a, b = cx.cands(ch, key, hasKey)
		}
	}
}

func (c *Compiled) policy(r *Result, base *chain, h Hook) bool {
	r.Verdict, r.By, r.Hook, r.Table, r.Chain, r.Rule = base.policy, DecidedPolicy, h, base.table, base.name, 0
	return base.policy == Accept
}

func familyMatches(ch *chain, p *packet.Parsed) bool {
	switch ch.family {
	case ruleset.FamilyIP:
		return p.IPVersion == 4
	case ruleset.FamilyIP6:
		return p.IPVersion == 6
	}
	return true
}

// evalRule runs a rule's steps; a failing match ends it with actBreak
// (NFT_BREAK), which runBase treats as continue.
func (c *Compiled) evalRule(cx *evalCtx, rl *rule) (action, int32) {
	for i := range rl.ops {
		o := &rl.ops[i]
		switch o.kind {
		case opMatch:
			if !cx.match(&o.cond) {
				if cx.tr != nil {
					cx.failOp = int32(i)
				}
				return actBreak, 0
			}
		case opNftrace:
			cx.nftrace = o.target != 0
		case opCounter:
			k := o.ctr
			k.packets.Add(1)
			k.bytes.Add(uint64(cx.p.L3Len))
		case opNotrack:
			// nft_notrack_eval: a packet that already has an entry
			// keeps it.
			if !cx.tracked {
				cx.untracked = true
			}
		case opVerdict:
			if o.nat != NATNone {
				cx.natDone |= natBit(cx.hook)
				cx.r.NAT = o.nat
			}
			return o.act, o.target
		case opVmap:
			act, target, ok := cx.vmap(o.cond.lk)
			if !ok {
				if cx.tr != nil {
					cx.failOp = int32(i)
				}
				return actBreak, 0 // nft_lookup_eval: no element, NFT_BREAK
			}
			return act, target
		case opDynset:
			if !cx.dynset(o.cond.lk) {
				if cx.tr != nil {
					cx.failOp = int32(i)
				}
				return actBreak, 0 // nft_dynset_eval: NFT_BREAK
			}
		default:
			if !c.evalStmt(cx, o) {
				return actContinue, 0
			}
		}
	}
	return actContinue, 0
}

func (cx *evalCtx) match(cd *cond) bool {
	if cd.lk != nil {
		return cx.matchSet(cd)
	}
	v, ok := cx.loadCond(cd)
	if !ok {
		return false // NFT_BREAK: the field is absent, whatever the operator
	}
	if cd.hasMask {
		v.lo &= cd.mask
	}
	if cd.anyBits {
		return (v.lo&cd.bits != 0) != cd.neg
	}
	if cd.exact != nil {
		if _, ok := cd.exact[v]; ok {
			return !cd.neg
		}
	}
	return cd.set.has(v) != cd.neg
}
