package ruleset

// Check validates a built ruleset as nft 1.0.6 does before it sends a
// batch to the kernel (its evaluation step, evaluate.c, and the checks
// the kernel makes when it receives the rules): symbols of each
// datatype, value ranges of each field, the protocol family of each
// selector, statements allowed in each chain type and hook. Each error
// names the position of the offending expression with nft's wording.
//
// Check accepts everything nft 1.0.6 accepts (TestCheckNft compares the
// two on rules.t and on mutations of it).
func Check(rs *Ruleset) error {
	c := &checker{rs: rs}
	for _, t := range rs.Tables {
		c.table(t)
	}
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// checker walks a ruleset collecting errors.
type checker struct {
	rs   *Ruleset
	errs ErrorList

	t   *Table
	ch  *Chain
	raw bool // the rule being checked holds a RawStmt
}

// errAt records an error at p, underlining the token there.
func (c *checker) errAt(p Pos, format string, args ...any) {
	e := &Error{File: p.File, Line: p.Line, Col: p.Col, Msg: sprintf(format, args...)}
	if src, ok := c.rs.srcs[p.File]; ok && p.Line > 0 {
		e.Src = srcLine(src, p.Line)
		e.Len = tokenLen(e.Src, p.Col)
	}
	c.errs = append(c.errs, e)
}

// tokenLen is the length of the word starting at byte col (1-based) of
// line, at least 1.
func tokenLen(line string, col int) int {
	n := 0
	for i := col - 1; i >= 0 && i < len(line) && line[i] != ' ' && line[i] != '\t' && line[i] != ';' && line[i] != ','; i++ {
		n++
	}
	return max(n, 1)
}

func (c *checker) table(t *Table) {
	c.t = t
	for _, ch := range t.Chains {
		c.ch = ch
		for _, r := range ch.Rules {
			c.rule(r)
		}
	}
}
