package ruleset

// Dep is a match nft adds to a rule on its own because a statement needs
// it: `reject with tcp reset` only makes sense for TCP, so nft puts `meta
// l4proto tcp` in front of a rule that does not already say TCP; in an
// inet table `reject with icmp` and `reject with icmpv6` get `meta nfproto
// ipv4|ipv6` (nft's stmt_evaluate_reject and its dependency handling,
// seen in `nft --debug=netlink list ruleset`). The kernel evaluates these
// matches like any other, first in the rule; `nft list ruleset` shows
// some of them (Listed) and not others.
type Dep struct {
	Match  *Match
	Listed bool
}

// ImplicitDeps returns the matches nft 1.0.6 adds in front of a rule with
// these statements in a table of family fam, in order.
func ImplicitDeps(stmts []Stmt, fam Family) []Dep {
	var deps []Dep
	tcp, v4, v6 := false, false, false
	for _, s := range stmts {
		switch s := s.(type) {
		case *Match:
			for _, h := range matchHeaders(s.X) {
				switch h {
				case "tcp":
					tcp = true
				case "ip", "icmp":
					v4 = true
				case "ip6", "icmpv6":
					v6 = true
				}
			}
			sel, ok := s.X.(*Selector)
			v, okv := s.Y.(*Value)
			if !ok || !okv || s.Op != "" && s.Op != "==" {
				continue
			}
			switch key := joinWords(sel.Words); key {
			case "meta l4proto", "ip protocol", "ip6 nexthdr":
				if v.Text == "tcp" || v.Text == "6" {
					tcp = true
				}
			case "meta nfproto":
				v4 = v4 || v.Text == "ipv4"
				v6 = v6 || v.Text == "ipv6"
			}
		case *RejectStmt:
			switch {
			case s.With == "tcp" && !tcp:
				// Listed only in inet tables: in ip and ip6 the
				// listing drops it (the kernel still runs it).
				deps = append(deps, Dep{depMatch(s.Pos, "meta", "l4proto", "tcp"), fam == FamilyInet})
			case s.With == "icmp" && fam == FamilyInet && !v4:
				deps = append(deps, Dep{depMatch(s.Pos, "meta", "nfproto", "ipv4"), false})
			case s.With == "icmpv6" && fam == FamilyInet && !v6:
				deps = append(deps, Dep{depMatch(s.Pos, "meta", "nfproto", "ipv6"), false})
			}
		}
	}
	return deps
}

func depMatch(pos Pos, w1, w2, val string) *Match {
	return &Match{Pos: pos, X: &Selector{Pos: pos, Words: []string{w1, w2}}, Y: &Value{Pos: pos, Text: val}}
}

func joinWords(ws []string) string {
	s := ""
	for i, w := range ws {
		if i > 0 {
			s += " "
		}
		s += w
	}
	return s
}

// listedDeps returns the statements the listing shows for a rule: its
// own, after the implicit matches nft lists.
func listedDeps(stmts []Stmt, fam Family) []Stmt {
	var out []Stmt
	for _, d := range ImplicitDeps(stmts, fam) {
		if d.Listed {
			out = append(out, d.Match)
		}
	}
	if out == nil {
		return stmts
	}
	return append(out, stmts...)
}
