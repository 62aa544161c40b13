package ruleset_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hare-fw/hare/ruleset"
)

// TestBinopPrecedence checks that bit operators bind as in nft's grammar
// (parser_bison.y: shift_expr inside and_expr inside exclusive_or_expr
// inside inclusive_or_expr, each left-recursive). The expected groupings
// are read off that grammar, and the first two agree with what nft 1.0.6
// lists after loading them: "ip saddr ^ 1.2.3.4 & 1.2.3.4 == 0" lists as
// "ip saddr 1.2.3.4" (saddr ^ (1.2.3.4 & 1.2.3.4) == 0), and
// "(ip saddr ^ 1.2.3.4) & 1.2.3.4 == 0" as "ip saddr & 1.2.3.4 ^ 1.2.3.4
// == 0.0.0.0".
func TestBinopPrecedence(t *testing.T) {
	tests := []struct{ rule, want string }{
		{"ip saddr ^ 1.2.3.4 & 1.2.3.4 == 0", "(ip saddr ^ (1.2.3.4 & 1.2.3.4))"},
		{"(ip saddr ^ 1.2.3.4) & 1.2.3.4 == 0", "((ip saddr ^ 1.2.3.4) & 1.2.3.4)"},
		{"meta mark & 0xff | 0x10 == 0x11", "((meta mark & 0xff) | 0x10)"},
		{"meta mark | 0x10 & 0xff == 0x11", "(meta mark | (0x10 & 0xff))"},
		{"meta mark | 0x1 ^ 0x2 & 0x3 == 1", "(meta mark | (0x1 ^ (0x2 & 0x3)))"},
		{"meta mark & 0xf0 >> 4 == 1", "(meta mark & (0xf0 >> 4))"},
		{"meta mark >> 4 & 0xf == 1", "((meta mark >> 4) & 0xf)"},
		{"meta mark & 0xf & 0x3 == 1", "((meta mark & 0xf) & 0x3)"},
		{"meta mark and 0xff or 0x10 == 0x11", "((meta mark & 0xff) | 0x10)"},
		{"meta mark & (0x1 | 0x2) == 1", "(meta mark & (0x1 | 0x2))"},
	}
	for _, tt := range tests {
		src := "table ip t {\n\tchain c {\n\t\t" + tt.rule + "\n\t}\n}\n"
		m, err := firstMatch(src)
		if err != nil {
			t.Errorf("%s: %v", tt.rule, err)
			continue
		}
		if got := grouped(m.X); got != tt.want {
			t.Errorf("%s: parsed as %s, want %s", tt.rule, got, tt.want)
		}
		// The printed form must read back as the same tree.
		out, ok, _ := roundTrip(src)
		if !ok {
			t.Errorf("%s: does not build", tt.rule)
			continue
		}
		m2, err := firstMatch(out)
		if err != nil {
			t.Errorf("%s: printed form %q: %v", tt.rule, out, err)
			continue
		}
		if got, want := shape(m2.X), shape(m.X); got != want {
			t.Errorf("%s: printed as %q, which reads back as %s, not %s", tt.rule, out, got, want)
		}
	}
}

// grouped writes an expression with every operation parenthesised.
func grouped(x ruleset.Expr) string {
	switch x := x.(type) {
	case *ruleset.Binop:
		return "(" + grouped(x.X) + " " + x.Op + " " + grouped(x.Y) + ")"
	case *ruleset.Selector:
		return strings.Join(x.Words, " ")
	case *ruleset.Value:
		return x.Text
	}
	return "?"
}

// firstMatch builds src and returns its first rule's first statement.
func firstMatch(src string) (*ruleset.Match, error) {
	f, err := ruleset.Parse("t.nft", []byte(src), ruleset.Config{})
	if err != nil {
		return nil, err
	}
	rs, err := ruleset.Build(f)
	if err != nil {
		return nil, err
	}
	m, ok := rs.Tables[0].Chains[0].Rules[0].Stmts[0].(*ruleset.Match)
	if !ok {
		return nil, fmt.Errorf("not a match: %T", rs.Tables[0].Chains[0].Rules[0].Stmts[0])
	}
	return m, nil
}

// shape is grouped with the constants blanked (the printer writes them in
// the type's canonical form: 0x10 as 0x00000010).
func shape(x ruleset.Expr) string {
	if b, ok := x.(*ruleset.Binop); ok {
		return "(" + shape(b.X) + " " + b.Op + " " + shape(b.Y) + ")"
	}
	if _, ok := x.(*ruleset.Value); ok {
		return "_"
	}
	return grouped(x)
}
