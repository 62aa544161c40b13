package engine

import (
	"encoding/binary"
	"net"
	"strings"

	"github.com/hare-fw/hare/ruleset"
)

// Lookup keys. The key of a set or map is one selector or a concatenation
// of selectors (`ip saddr . tcp dport`). The kernel lays a key out in
// 32-bit registers, each component padded to a multiple of 4 bytes
// (nft_concat, NFT_REG32_SIZE), a key being at most 64 bytes
// (NFT_DATA_VALUE_MAXLEN). keyBuf is that layout: an exact key is hashed
// and compared over its registers whatever its components, so an
// `ip6 saddr . tcp dport` key (5 registers) costs one hash of 20 bytes.

const maxKeyRegs = 16

// keyBuf holds a key as loaded from a packet (or read from a literal).
type keyBuf [maxKeyRegs]uint32

// keyPart is one component of a key: the field a rule loads for it and
// its type.
type keyPart struct {
	f   field
	t   vtype
	arg uint32 // the field's argument (cond.arg)
}

// Fields and types only lookup keys use.
const (
	// fTHSport and fTHDport are `th sport` and `th dport`: the first and
	// second 16-bit words of whatever transport header the packet has
	// (nft payload base NFT_PAYLOAD_TRANSPORT_HEADER).
	fTHSport field = 200 + iota
	fTHDport
)

// tEther is ether_addr (6 bytes, two registers).
const tEther vtype = 200

// keySelectors are the selectors only keys know. The ether ones are listed
// to refuse them precisely.
var keySelectors = map[string]keyPart{
	"th sport":    {fTHSport, tPort, 0},
	"th dport":    {fTHDport, tPort, 0},
	"ether saddr": {fNone, tEther, 0},
	"ether daddr": {fNone, tEther, 0},
}

// regsOf is the registers a value of type t takes in a key.
func regsOf(t vtype) int {
	switch t {
	case tAddr6, tIfname:
		return 4
	case tEther:
		return 2
	}
	if t.max() > 0xffffffff {
		return 2
	}
	return 1
}

// keyRegs is the width of a key of parts.
func keyRegs(parts []vtype) int {
	n := 0
	for _, t := range parts {
		n += regsOf(t)
	}
	return n
}

// put writes v, of width regs, at buf[off:].
func put(buf *keyBuf, off int, v u128, regs int) {
	switch regs {
	case 1:
		buf[off] = uint32(v.lo)
	case 2:
		buf[off], buf[off+1] = uint32(v.lo>>32), uint32(v.lo)
	default:
		buf[off], buf[off+1], buf[off+2], buf[off+3] = uint32(v.hi>>32), uint32(v.hi), uint32(v.lo>>32), uint32(v.lo)
	}
}

// keyPartOf resolves one selector of a key.
func keyPartOf(x ruleset.Expr) (keyPart, error) {
	sel, ok := x.(*ruleset.Selector)
	if !ok || len(sel.Args) > 0 {
		return keyPart{}, &Error{x.Position(), "unsupported: key component " + exprKind(x)}
	}
	name := strings.Join(sel.Words, " ")
	if kp, ok := keySelectors[name]; ok {
		if kp.f == fNone {
			return kp, &Error{sel.Pos, "unsupported: selector " + name + " (the engine evaluates IP datagrams; the decoder keeps no link-layer header for them)"}
		}
		return kp, nil
	}
	st, ok := selectors[name]
	if !ok || st.f == fNone {
		return keyPart{}, &Error{sel.Pos, "unsupported: selector " + name}
	}
	return keyPart{st.f, st.t, selectorArgs[name]}, nil
}

// keyParts resolves the selectors of a key: one selector or a
// concatenation.
func keyParts(x ruleset.Expr) ([]keyPart, error) {
	xs := []ruleset.Expr{x}
	if c, ok := x.(*ruleset.Concat); ok {
		xs = c.Xs
	}
	var out []keyPart
	regs := 0
	for _, e := range xs {
		kp, err := keyPartOf(e)
		if err != nil {
			return nil, err
		}
		regs += regsOf(kp.t)
		out = append(out, kp)
	}
	if regs > maxKeyRegs {
		return nil, &Error{x.Position(), sprintf("key of %d bytes is longer than the kernel's 64 (NFT_DATA_VALUE_MAXLEN)", 4*regs)}
	}
	return out, nil
}

// loadPart reads one key component from the packet; ok is false when the
// packet lacks it (NFT_BREAK).
func (cx *evalCtx) loadPart(kp *keyPart) (u128, bool) {
	switch kp.f {
	case fTHSport, fTHDport:
		// nft_payload_eval: no transport header (or a later fragment)
		// breaks.
		th := cx.p.Transport()
		if len(th) < 4 {
			return u128{}, false
		}
		if kp.f == fTHSport {
			return u128{lo: uint64(binary.BigEndian.Uint16(th))}, true
		}
		return u128{lo: uint64(binary.BigEndian.Uint16(th[2:]))}, true
	}
	if kp.f < fIPVersion {
		return cx.load(kp.f)
	}
	return cx.loadField(kp.f, kp.arg)
}

// loadKey loads every component of parts into buf (registers) and vals
// (one value per component); ok is false when one is missing.
func (cx *evalCtx) loadKey(parts []keyPart, buf *keyBuf, vals *[maxKeyRegs]u128) bool {
	off := 0
	for i := range parts {
		kp := &parts[i]
		v, ok := cx.loadPart(kp)
		if !ok {
			return false
		}
		n := regsOf(kp.t)
		put(buf, off, v, n)
		vals[i] = v
		off += n
	}
	return true
}

// etherValue reads a MAC address literal.
func etherValue(v *ruleset.Value) (u128, error) {
	hw, err := net.ParseMAC(v.Text)
	if err != nil || len(hw) != 6 {
		return u128{}, valueError(v.Pos, "%q is not an ethernet address", v.Text)
	}
	var b [8]byte
	copy(b[2:], hw)
	return u128{lo: binary.BigEndian.Uint64(b[:])}, nil
}

// partInterval reads one component of an element: a value, a prefix or a
// range of type t, as one interval.
func partInterval(x ruleset.Expr, t vtype) (interval, error) {
	if t == tEther {
		v, ok := x.(*ruleset.Value)
		if !ok {
			return interval{}, valueError(x.Position(), "unsupported: %s of ethernet addresses", exprKind(x))
		}
		a, err := etherValue(v)
		return interval{a, a}, err
	}
	if _, ok := x.(*ruleset.SetExpr); ok {
		return interval{}, valueError(x.Position(), "unsupported: a set inside an element")
	}
	ivs, err := elems(x, t, nil)
	if err != nil {
		return interval{}, err
	}
	if len(ivs) != 1 {
		return interval{}, valueError(x.Position(), "unsupported: element")
	}
	return ivs[0], nil
}
