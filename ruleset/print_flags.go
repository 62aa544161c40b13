package ruleset

import (
	"sort"
	"strconv"
	"strings"
)

// flagBits holds the bit values of the bitmask datatypes, which nft
// prints in bit order (ct state invalid,established,related,new) whatever
// the order written.
var flagBits = map[string]map[string]uint64{
	"tcp_flag": {"fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20, "ecn": 0x40, "cwr": 0x80},
	"ct_state": {"invalid": 0x01, "established": 0x02, "related": 0x04, "new": 0x08, "untracked": 0x40},
	"ct_status": {"expected": 0x01, "seen-reply": 0x02, "assured": 0x04, "confirmed": 0x08, "snat": 0x10, "dnat": 0x20,
		"dying": 0x200},
}

// flagNames returns the flag words of x (a value, a comma list or an |
// of values) if every part is a flag name of type typ.
func flagNames(x Expr, typ string) ([]string, bool) {
	bits := flagBits[typ]
	if bits == nil {
		return nil, false
	}
	var out []string
	var walk func(Expr) bool
	walk = func(x Expr) bool {
		switch x := x.(type) {
		case *Value:
			if _, ok := bits[x.Text]; !ok {
				return false
			}
			out = append(out, x.Text)
			return true
		case *List:
			for _, y := range x.Xs {
				if !walk(y) {
					return false
				}
			}
			return true
		case *Binop:
			return x.Op == "|" && walk(x.X) && walk(x.Y)
		}
		return false
	}
	if !walk(x) {
		return nil, false
	}
	return out, true
}

// flagList prints flag names in bit order, comma separated, without
// repeats.
func flagList(names []string, typ string) string {
	bits := flagBits[typ]
	ns := append([]string(nil), names...)
	sort.SliceStable(ns, func(i, j int) bool { return bits[ns[i]] < bits[ns[j]] })
	out := ns[:0]
	for i, n := range ns {
		if i == 0 || n != ns[i-1] {
			out = append(out, n)
		}
	}
	return strings.Join(out, ",")
}

func isZero(x Expr) bool {
	v, ok := x.(*Value)
	if !ok {
		return false
	}
	n, err := strconv.ParseUint(v.Text, 0, 64)
	return err == nil && n == 0
}

// flagMatch prints `sel & mask OP value` on a bitmask type as nft 1.0.6
// does: `sel value / mask` (and `sel != value / mask`), `sel ! mask` for
// == 0, `sel mask` for != 0, and `sel & f == f` (or !=) kept for a single flag.
// ok is false when the match is not of that shape.
func flagMatch(m *Match, b *Binop) (string, bool) {
	sel, isSel := b.X.(*Selector)
	if !isSel || b.Op != "&" {
		return "", false
	}
	typ := selectorType(sel)
	mask, ok := flagNames(b.Y, typ)
	if !ok {
		return "", false
	}
	s := selectorString(sel)
	op := m.Op
	if op == "" {
		op = "=="
	}
	if op != "==" && op != "!=" {
		return "", false
	}
	if isZero(m.Y) {
		if op == "==" {
			return s + " ! " + flagList(mask, typ), true
		}
		return s + " " + flagList(mask, typ), true
	}
	val, ok := flagNames(m.Y, typ)
	if !ok {
		return "", false
	}
	ms, vs := flagList(mask, typ), flagList(val, typ)
	if ms == vs && !strings.Contains(ms, ",") {
		return s + " & " + ms + " " + op + " " + vs, true
	}
	if op == "!=" {
		return s + " != " + vs + " / " + ms, true
	}
	return s + " " + vs + " / " + ms, true
}

// isNumber reports whether x is a numeric literal.
func isNumber(x Expr) bool {
	v, ok := x.(*Value)
	if !ok {
		return false
	}
	_, err := strconv.ParseUint(v.Text, 0, 64)
	return err == nil
}
