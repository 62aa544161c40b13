package engine

import (
	"strconv"
	"strings"

	"github.com/hare-fw/hare/ruleset"
)

// The non-verdict statements with state or side effects: limit, quota,
// named counter/quota/limit references, log, and the set statements (meta
// mark, ct mark, ct label, ct zone, meta priority). Their op kinds start at
// 32 so that compile.go's list grows independently.
const (
	opLimit       opKind = iota + 32 // nft_limit: break unless the bucket allows
	opQuota                          // nft_quota: break unless the quota allows
	opObjCounter                     // counter name X: a named counter (not a rule counter)
	opLog                            // nft_log: hand the packet to the log sink
	opSetMark                        // meta mark set (nft_meta_set_eval)
	opSetPriority                    // meta priority set
	opSetCtMark                      // ct mark set (nft_ct_set_eval)
	opSetCtLabel                     // ct label set
	opSetCtZone                      // ct zone set (nft_ct_set_zone_eval)
)

// stmtOp holds a statement's parameters and state.
type stmtOp struct {
	named bool // the state is a named object's (objects.go), not the rule's
	lim   *limiter
	quota *quota
	log   *LogParams
	val   setVal    // the value a set statement writes
	label [2]uint64 // ct label set: the bits
}

// compileStmt compiles the statements of this file; ok is false for a
// statement it does not know (the caller reports it).
func (c *Compiled) compileStmt(cc *chain, s ruleset.Stmt, sets map[string]*namedSet) (o op, ok bool, err error) {
	switch s := s.(type) {
	case *ruleset.LimitStmt:
		o.kind = opLimit
		o.x = &stmtOp{}
		if s.Name != nil {
			ob, err := c.objectRef(cc, "limit", s.Name, s.Pos)
			if err != nil {
				return o, true, err
			}
			o.x.lim, o.x.named = ob.lim, true
			return o, true, nil
		}
		o.x.lim, err = newLimiter(s)
		return o, true, err
	case *ruleset.QuotaStmt:
		o.kind = opQuota
		o.x = &stmtOp{}
		if s.Name != nil {
			ob, err := c.objectRef(cc, "quota", s.Name, s.Pos)
			if err != nil {
				return o, true, err
			}
			o.x.quota, o.x.named = ob.quota, true
			return o, true, nil
		}
		q := &quota{limit: s.Bytes, invert: s.Over}
		q.consumed.Store(s.Used)
		o.x.quota = q
		return o, true, nil
	case *ruleset.LogStmt:
		lp, err := compileLog(s)
		if err != nil {
			return o, true, err
		}
		return op{kind: opLog, x: &stmtOp{log: lp}}, true, nil
	}
	return o, false, nil
}

// namedCounter compiles `counter name X`.
func (c *Compiled) namedCounter(cc *chain, s *ruleset.CounterStmt) (op, error) {
	ob, err := c.objectRef(cc, "counter", s.Name, s.Pos)
	if err != nil {
		return op{}, err
	}
	return op{kind: opObjCounter, ctr: ob.ctr}, nil
}

// evalStmt runs one of this file's ops; false means the rule breaks.
func (c *Compiled) evalStmt(cx *evalCtx, o *op) bool {
	switch o.kind {
	case opLimit:
		return !o.x.lim.breaks(cx.now, uint32(cx.p.L3Len))
	case opQuota:
		return !o.x.quota.breaks(uint32(cx.p.L3Len))
	case opObjCounter:
		o.ctr.packets.Add(1)
		o.ctr.bytes.Add(uint64(cx.p.L3Len))
	case opLog:
		cx.log(o.x.log)
	case opSetMark, opSetPriority, opSetCtMark, opSetCtZone:
		v, ok := cx.setValue(&o.x.val)
		if !ok {
			return false // no entry (nft_ct_get_eval) or no map element (nft_lookup): NFT_BREAK
		}
		switch o.kind {
		case opSetMark:
			cx.mark, cx.r.Mark = v, v
		case opSetPriority:
			cx.r.Priority = v
		case opSetCtMark:
			if cx.tracked && !cx.untracked && cx.e.ct.SetMark(&cx.r.CT, v) {
				cx.entryOK = 0 // ct matches read the new mark
			}
		case opSetCtZone:
			// nft_ct_set_zone_eval: only a packet not yet tracked
			// takes the zone (a template conntrack attaches it).
			if !cx.tracked && !cx.untracked {
				cx.zone = uint16(v)
			}
		}
	case opSetCtLabel:
		if cx.tracked && !cx.untracked && cx.e.ct.AddLabels(&cx.r.CT, o.x.label) {
			cx.entryOK = 0
		}
	}
	return true
}

// setVal is the value of a set statement: a source (a constant, the
// packet's mark, its entry's mark, a data map) through nft_bitwise's mask and xor:
// (src & mask) ^ xor. nft folds `x & a | b ^ c` into that one pair.
type setVal struct {
	src  valSrc
	mask uint32
	xor  uint32
	lk   *setLookup // srcMap: a data map (map.go)
}

type valSrc uint8

const (
	srcConst valSrc = iota
	srcMark
	srcCtMark
	srcMap // the value a data map gives the packet's key
)

func (cx *evalCtx) setValue(v *setVal) (uint32, bool) {
	var x uint32
	switch v.src {
	case srcMark:
		x = cx.mark
	case srcCtMark:
		if !cx.tracked || cx.untracked {
			return 0, false
		}
		m, ok := cx.e.ct.Mark(&cx.r.CT)
		if !ok {
			return 0, false
		}
		x = m
	case srcMap:
		m, ok := cx.mapLookup(v.lk)
		if !ok {
			return 0, false // no element: nft_lookup breaks
		}
		x = uint32(m.lo)
	}
	return x&v.mask ^ v.xor, true
}

// isNftrace tells meta nftrace set (trace_compile.go) from the set
// statements of this file.
func isNftrace(s *ruleset.SetStmt) bool {
	k := strings.Join(s.Key.Words, " ")
	return k == "meta nftrace" || k == "nftrace"
}

// compileValueSet compiles `KEY set VALUE` for the keys of this file.
func compileValueSet(s *ruleset.SetStmt, sets map[string]*namedSet) (op, error) {
	key := strings.Join(s.Key.Words, " ")
	var o op
	switch key {
	case "meta mark", "mark":
		o.kind = opSetMark
	case "ct mark":
		o.kind = opSetCtMark
	case "meta priority", "priority":
		o.kind = opSetPriority
	case "ct zone":
		o.kind = opSetCtZone
	case "ct label":
		v, ok := s.Val.(*ruleset.Value)
		if !ok {
			return o, &Error{s.Val.Position(), "unsupported: ct label set from " + exprKind(s.Val)}
		}
		n, err := parseU64(v.Text)
		if err != nil || n > 127 {
			// Label names come from connlabel.conf, which the replay
			// does not read.
			return o, &Error{v.Pos, sprintf("ct label set: %q is not a label bit number 0-127", v.Text)}
		}
		o.kind = opSetCtLabel
		o.x = &stmtOp{}
		o.x.label[n/64] = 1 << (n % 64)
		return o, nil
	case "ct helper":
		return o, &Error{s.Pos, "unsupported: ct helper set (conntrack helpers and their expectations are not modelled)"}
	case "ct timeout":
		return o, &Error{s.Pos, "unsupported: ct timeout set (per-connection timeout policies are not modelled in package conntrack)"}
	case "ct original zone", "ct reply zone":
		return o, &Error{s.Pos, "unsupported: " + key + " set (zones of one direction are not modelled)"}
	default:
		return o, &Error{s.Pos, "unsupported: set statement " + key}
	}
	v, err := compileSetVal(s.Val, key, sets)
	if err != nil {
		return o, err
	}
	if key == "ct zone" && v.src == srcConst && v.xor > 0xffff {
		return o, &Error{s.Val.Position(), "ct zone set: zone out of range 0-65535"}
	}
	o.x = &stmtOp{val: v}
	return o, nil
}

// compileSetVal compiles a set statement's value.
func compileSetVal(x ruleset.Expr, key string, sets map[string]*namedSet) (setVal, error) {
	switch x := x.(type) {
	case *ruleset.Value:
		n, err := constValue(x, key)
		return setVal{src: srcConst, xor: n}, err
	case *ruleset.Selector:
		switch strings.Join(x.Words, " ") {
		case "meta mark", "mark":
			return setVal{src: srcMark, mask: ^uint32(0)}, nil
		case "ct mark":
			return setVal{src: srcCtMark, mask: ^uint32(0)}, nil
		}
		return setVal{}, &Error{x.Pos, "unsupported: " + key + " set from " + strings.Join(x.Words, " ")}
	case *ruleset.Binop:
		v, err := compileSetVal(x.X, key, sets)
		if err != nil {
			return v, err
		}
		c, ok := x.Y.(*ruleset.Value)
		if !ok {
			return v, &Error{x.Y.Position(), "unsupported: " + x.Op + " with " + exprKind(x.Y)}
		}
		n, err := constValue(c, key)
		if err != nil {
			return v, err
		}
		// nft's netlink_gen_bitwise: AND narrows mask and xor, OR
		// clears the bits from the mask and sets them in xor, XOR
		// flips them in xor.
		switch x.Op {
		case "&":
			v.mask &= n
			v.xor &= n
		case "|":
			v.mask &^= n
			v.xor |= n
		case "^":
			v.xor ^= n
		default:
			return v, &Error{x.Pos, "unsupported: " + x.Op + " in a set statement"}
		}
		return v, nil
	case *ruleset.MapLookup:
		data := tU32
		if key == "ct zone" {
			data = tU16
		}
		l, err := compileMapLookup(x, sets, data)
		return setVal{src: srcMap, mask: ^uint32(0), lk: l}, err
	}
	return setVal{}, &Error{x.Position(), "unsupported: " + key + " set from " + exprKind(x)}
}

// constValue reads a 32-bit constant: a number, or for meta priority a tc
// handle (nft's tchandle_type_parse: none, root, MAJOR:MINOR in hex).
func constValue(v *ruleset.Value, key string) (uint32, error) {
	if key == "meta priority" || key == "priority" {
		switch v.Text {
		case "none":
			return 0, nil
		case "root":
			return 0xffffffff, nil
		}
		if maj, mnr, ok := strings.Cut(v.Text, ":"); ok {
			a, err1 := parseHex16(maj)
			b, err2 := parseHex16(mnr)
			if err1 != nil || err2 != nil {
				return 0, &Error{v.Pos, sprintf("meta priority set: bad tc handle %q", v.Text)}
			}
			return a<<16 | b, nil
		}
	}
	n, err := parseU64(v.Text)
	if err != nil || n > 0xffffffff {
		return 0, &Error{v.Pos, sprintf("%s set: %q is not a 32-bit number", key, v.Text)}
	}
	return uint32(n), nil
}

func parseU64(s string) (uint64, error) { return strconv.ParseUint(s, 0, 64) }

func parseHex16(s string) (uint32, error) {
	if s == "" {
		return 0, nil // ":1" and "1:" leave a half zero
	}
	n, err := strconv.ParseUint(s, 16, 16)
	return uint32(n), err
}

// takeStmtState gives o the state of old, the same statement of the same
// source rule in the ruleset Update replaces: an anonymous limit keeps its
// bucket and a quota what it consumed, as the kernel's rule keeps them.
// Named objects are carried over by keepObjects.
func (o *op) takeStmtState(old *op) {
	if (o.kind == opLimit || o.kind == opQuota) && !o.x.named && !old.x.named {
		o.x = old.x
	}
}
