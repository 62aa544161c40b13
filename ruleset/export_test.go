package ruleset

// RuleString prints one rule of a table of family fam, as Print would.
func RuleString(r *Rule, fam Family, o PrintOptions) string {
	return ruleString(r, ctx{family: fam, opts: o})
}
