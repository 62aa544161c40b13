package engine

import (
	"strconv"

	"github.com/hare-fw/hare/ruleset"
)

// Options adapt Compile to the system the ruleset runs on.
type Options struct {
	// Ifindex resolves an interface name to its index. nft resolves the
	// names of `iif "eth0"` and `oif "eth0"` when the rule is added
	// (ifindex_type_parse, nft_if_nametoindex) and the kernel compares
	// indexes; a name no interface has is refused at load ("Interface
	// does not exist"). With Ifindex nil (the replay, which has one
	// device) such a match compiles to the name comparison iifname or
	// oifname, the same test on the replay's single device.
	Ifindex func(name string) (int32, bool)
}

// CompileWith is Compile with opts; the result keeps them for Update.
func CompileWith(rs *ruleset.Ruleset, opts Options) (*Compiled, error) {
	return compile(rs, opts)
}

// resolveIfnames turns the interface names of the right-hand side y of
// an iif or oif match into their indexes, as nft does at load. A value
// that is no interface's name is kept if it is a number (nft tries the
// name first, then the number) and refused otherwise. The source ruleset
// is not changed: the names are rewritten in copies.
func resolveIfnames(y ruleset.Expr, ifx func(string) (int32, bool)) (ruleset.Expr, error) {
	switch y := y.(type) {
	case *ruleset.Value:
		if i, ok := ifx(y.Text); ok {
			return &ruleset.Value{Pos: y.Pos, Text: strconv.FormatUint(uint64(uint32(i)), 10)}, nil
		}
		if n, err := strconv.ParseUint(y.Text, 10, 32); err == nil && n <= 1<<31-1 {
			return y, nil
		}
		return nil, &Error{y.Pos, "Interface does not exist"}
	case *ruleset.Elem:
		x, err := resolveIfnames(y.X, ifx)
		if err != nil {
			return nil, err
		}
		e := *y
		e.X = x
		return &e, nil
	case *ruleset.SetExpr:
		s := &ruleset.SetExpr{Pos: y.Pos, Elems: make([]ruleset.Expr, len(y.Elems))}
		for i, x := range y.Elems {
			var err error
			if s.Elems[i], err = resolveIfnames(x, ifx); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	return y, nil
}
