package ruleset

// Single-rule printing for tools that name one rule or one statement
// outside a whole listing: hare's packet trace, which prints the rule as
// `nft monitor trace` does (nft prints the rule from its cache, the way
// `nft list ruleset` lists it), and its explanation of why a rule did not
// match.

// RuleString returns r, a rule of a table of family fam, as `nft list
// ruleset` prints it on one line with options o (as Print would, without
// "# handle").
func RuleString(r *Rule, fam Family, o PrintOptions) string {
	return ruleString(r, ctx{family: fam, opts: o})
}

// StmtString returns one statement of a rule of family fam as nft prints
// it inside the rule (a match such as `tcp dport { 22, 80 }`).
func StmtString(s Stmt, fam Family) string {
	return stmtString(s, ctx{family: fam})
}
