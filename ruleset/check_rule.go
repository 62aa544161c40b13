package ruleset

// rule checks the statements of one rule.
func (c *checker) rule(r *Rule) {
	c.stmts(r.Stmts)
}

func (c *checker) stmts(ss []Stmt) {
	for _, s := range ss {
		c.stmt(s)
	}
}

func (c *checker) stmt(s Stmt) {
	switch s := s.(type) {
	case *Match:
		c.rhs(s.Y, exprTypes(s.X))
	case *VmapStmt:
		if m, ok := s.Map.(*SetExpr); ok {
			c.rhs(m, exprTypes(s.X))
		}
	case *SetStmt:
		if s.Key != nil {
			c.rhs(s.Val, exprTypes(s.Key))
		}
	case *DynsetStmt:
		c.stmts(s.Stmts)
	case *MeterStmt:
		c.stmts(s.Stmts)
	}
}

// exprTypes returns the datatype of each part of x (one for a plain
// selector, one per element of a concatenation); an unknown part is nil.
func exprTypes(x Expr) []*dtype {
	switch x := x.(type) {
	case *Selector:
		if d, ok := selectorDtype(x); ok {
			return []*dtype{&d}
		}
	case *Concat:
		out := make([]*dtype, len(x.Xs))
		for i, y := range x.Xs {
			if ts := exprTypes(y); len(ts) == 1 {
				out[i] = ts[0]
			}
		}
		return out
	case *Binop:
		if x.Op == "&" || x.Op == "|" || x.Op == "^" {
			return exprTypes(x.X)
		}
	}
	return []*dtype{nil}
}

// rhs checks the constants of y against the datatypes ts of the
// expression they are compared with or assigned to.
func (c *checker) rhs(y Expr, ts []*dtype) {
	switch y := y.(type) {
	case *Value:
		if len(ts) == 1 && ts[0] != nil {
			c.value(y, *ts[0])
		}
	case *Range:
		lv, lok := y.Lo.(*Value)
		hv, hok := y.Hi.(*Value)
		if !lok || !hok || len(ts) != 1 || ts[0] == nil {
			c.rhs(y.Lo, ts)
			c.rhs(y.Hi, ts)
			return
		}
		n0 := len(c.errs)
		lo, lnum := c.value(lv, *ts[0])
		hi, hnum := c.value(hv, *ts[0])
		// range_expr_value_high < low: expr_evaluate_range
		if len(c.errs) == n0 && lnum && hnum && lo.Cmp(hi) > 0 {
			c.errAt(y.Pos, "Error: Range has zero or negative size")
		}
	case *Prefix:
		c.rhs(y.X, ts)
	case *SetExpr:
		for _, e := range y.Elems {
			c.rhs(e, ts)
		}
	case *Elem:
		c.rhs(y.X, ts)
	case *List:
		for _, e := range y.Xs {
			c.rhs(e, ts)
		}
	case *Concat:
		if len(ts) == len(y.Xs) {
			for i, e := range y.Xs {
				c.rhs(e, ts[i:i+1])
			}
		}
	case *MapElem:
		c.rhs(y.Key, ts)
	case *Binop:
		if y.Op == "|" || y.Op == "&" || y.Op == "^" {
			c.rhs(y.X, ts)
			c.rhs(y.Y, ts)
		}
	}
}
