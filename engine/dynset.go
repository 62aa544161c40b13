package engine

import "github.com/hare-fw/hare/ruleset"

// dynOp is the operation of a dynamic set statement (NFT_DYNSET_OP_*).
type dynOp uint8

const (
	dynAdd dynOp = iota
	dynUpdate
	dynDelete
)

// dynsetOp compiles `add @s { KEY [timeout T] }`, `update @s { … }` and
// `delete @s { KEY }` (nft_dynset_init).
func dynsetOp(s *ruleset.DynsetStmt, sets map[string]*namedSet) (op, error) {
	l := &setLookup{}
	switch s.Op {
	case "add":
		l.dop = dynAdd
	case "update":
		l.dop = dynUpdate
	case "delete":
		l.dop = dynDelete
	default:
		return op{}, &Error{s.Pos, "unsupported: " + s.Op + " @" + s.Set}
	}
	ns, ok := sets[s.Set]
	if !ok {
		return op{}, &Error{s.Pos, "unknown set @" + s.Set}
	}
	if ns.isMap {
		return op{}, &Error{s.Pos, "unsupported: " + s.Op + " @" + s.Set + " on a map"}
	}
	if ns.dyn == nil {
		// ruleset.Build marks every set a rule adds to dynamic; a set
		// without the flag is one nft would refuse too.
		return op{}, &Error{s.Pos, "set @" + s.Set + " cannot be updated from the packet path (not a dynamic set)"}
	}
	if len(s.Stmts) > 0 {
		return op{}, &Error{s.Stmts[0].Position(), "unsupported: statement in " + s.Op + " @" + s.Set + " (per-element limit, quota or counter)"}
	}
	key := s.Key
	if el, ok := key.(*ruleset.Elem); ok {
		key = el.X
	}
	parts, err := keyParts(key)
	if err != nil {
		return op{}, err
	}
	if !sameTypes(ns.parts, parts) {
		return op{}, &Error{s.Pos, sprintf("set @%s does not hold keys of this type", s.Set)}
	}
	if s.Timeout != "" {
		if !ns.timeout {
			// nft_dynset_init: a timeout needs a set with timeouts.
			return op{}, &Error{s.Pos, "set @" + s.Set + " has no timeout flag"}
		}
		if l.timeout, err = nftTime(s.Timeout, s.Pos); err != nil {
			return op{}, err
		}
	}
	l.parts, l.s = parts, ns
	return op{kind: opDynset, cond: cond{lk: l}}, nil
}

// dynset runs a dynamic set statement (nft_dynset_eval): add or update
// the packet's key, going on when the element is there afterwards and
// ending the rule (NFT_BREAK) when the set is full; delete it and go on.
// A missing key component ends the rule.
func (cx *evalCtx) dynset(l *setLookup) bool {
	var buf keyBuf
	var vals [maxKeyRegs]u128
	if !cx.loadKey(l.parts, &buf, &vals) {
		return false
	}
	d := l.s.dyn
	k := buf[:d.regs]
	if l.dop == dynDelete {
		d.remove(k)
		return true
	}
	to := l.timeout
	if to == 0 {
		to = d.timeout
	}
	exp := int64(never)
	if to > 0 {
		exp = cx.now + to
	}
	return d.put(k, 0, exp, cx.now, l.dop == dynUpdate)
}
