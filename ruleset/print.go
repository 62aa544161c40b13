package ruleset

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// PrintOptions controls Print.
type PrintOptions struct {
	Handles      bool // "# handle N" after tables, chains, sets, objects, rules (nft -a)
	Stateless    bool // omit counter values and quota usage (nft -s)
	NumericProto bool // print layer 4 protocols as numbers (nft -p)
}

// Print writes rs as `nft list ruleset` (nft 1.0.6) prints it.
func Print(w io.Writer, rs *Ruleset, o PrintOptions) error {
	var b strings.Builder
	for _, t := range rs.Tables {
		printTable(&b, t, o)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func handle(b *strings.Builder, o PrintOptions, h uint64) {
	if o.Handles {
		fmt.Fprintf(b, " # handle %d", h)
	}
}

// printTable prints a table: objects, then sets and maps, then chains,
// separated by blank lines (nft 1.0.6 order).
func printTable(b *strings.Builder, t *Table, o PrintOptions) {
	fmt.Fprintf(b, "table %s %s {", t.Family, t.Name)
	handle(b, o, t.Handle)
	b.WriteByte('\n')
	first := true
	sep := func() {
		if !first {
			b.WriteByte('\n')
		}
		first = false
	}
	if len(t.Flags) > 0 {
		fmt.Fprintf(b, "\tflags %s\n", strings.Join(t.Flags, ","))
		first = false
	}
	if t.Comment != "" {
		fmt.Fprintf(b, "\tcomment \"%s\"\n", t.Comment)
		first = false
	}
	for _, ob := range t.Objects {
		sep()
		printObject(b, ob, o)
	}
	for _, s := range t.Sets {
		sep()
		printSet(b, t, s, o)
	}
	for _, c := range t.Chains {
		sep()
		printChain(b, t, c, o)
	}
	b.WriteString("}\n")
}

func printObject(b *strings.Builder, ob *Object, o PrintOptions) {
	fmt.Fprintf(b, "\t%s %s {", ob.Kind, ob.Name)
	handle(b, o, ob.Handle)
	b.WriteByte('\n')
	if ob.Comment != "" {
		fmt.Fprintf(b, "\t\tcomment \"%s\"\n", ob.Comment)
	}
	switch ob.Kind {
	case "counter":
		// nft -s leaves the body empty.
		if !o.Stateless {
			fmt.Fprintf(b, "\t\tpackets %d bytes %d\n", ob.Packets, ob.Bytes)
		}
	default:
		for _, f := range ob.Fields {
			line := strings.ReplaceAll(strings.Join(f, " "), " , ", ", ")
			// A quota's usage follows its limit, as for the statement
			// (nft's obj_print_data), unless stateless.
			if ob.Kind == "quota" && ob.Used != 0 && !o.Stateless && len(f) > 0 && f[0] != "comment" && !slices.Contains(f, "used") {
				line += " used " + bytesString(ob.Used)
			}
			fmt.Fprintf(b, "\t\t%s\n", line)
		}
	}
	b.WriteString("\t}\n")
}

func printSet(b *strings.Builder, t *Table, s *Set, o PrintOptions) {
	kw := "set"
	if s.IsMap {
		kw = "map"
	}
	fmt.Fprintf(b, "\t%s %s {", kw, s.Name)
	handle(b, o, s.Handle)
	b.WriteByte('\n')
	typ := strings.Join(s.Key, " . ")
	switch {
	case s.KeyTypeof != nil:
		fmt.Fprintf(b, "\t\ttypeof %s", exprString(s.KeyTypeof, ctx{opts: o}))
	default:
		fmt.Fprintf(b, "\t\ttype %s", typ)
	}
	if s.IsMap {
		b.WriteString(" : ")
		if s.DataIsInterval {
			b.WriteString("interval ")
		}
		if s.DataTypeof != nil {
			b.WriteString(exprString(s.DataTypeof, ctx{opts: o}))
		} else {
			b.WriteString(s.Data)
		}
	}
	b.WriteByte('\n')
	if s.Policy != "" {
		fmt.Fprintf(b, "\t\tpolicy %s\n", s.Policy)
	}
	if s.Size != 0 {
		fmt.Fprintf(b, "\t\tsize %d\n", s.Size)
	}
	if flags := setFlags(s); len(flags) > 0 {
		fmt.Fprintf(b, "\t\tflags %s\n", setFlagList(flags))
	}
	if s.Timeout != "" {
		fmt.Fprintf(b, "\t\ttimeout %s\n", timeString(s.Timeout))
	}
	if s.GCInterval != "" {
		fmt.Fprintf(b, "\t\tgc-interval %s\n", timeString(s.GCInterval))
	}
	if s.AutoMerge {
		b.WriteString("\t\tauto-merge\n")
	}
	if s.Counter {
		b.WriteString("\t\tcounter\n")
	}
	if s.Comment != "" {
		fmt.Fprintf(b, "\t\tcomment \"%s\"\n", s.Comment)
	}
	if len(s.Elems) > 0 {
		c := setCtx(s, t.Family, o)
		elems := normaliseElems(setElemList(s), c, setSorted(s, c))
		per := elemsPerLine(c.typ, s.IsMap || s.Counter || len(s.Key) > 1 || s.KeyTypeof != nil && strings.Contains(c.typ, "."))
		b.WriteString("\t\telements = { ")
		for i, e := range elems {
			if i > 0 {
				if i%per == 0 {
					b.WriteString(",\n\t\t\t     ")
				} else {
					b.WriteString(", ")
				}
			}
			b.WriteString(e)
		}
		b.WriteString(" }\n")
	}
	b.WriteString("\t}\n")
}

// setElemList is the elements of s as the kernel holds them: with the
// counter flag, each carries a counter.
func setElemList(s *Set) []Expr {
	if s.Counter {
		return withCounters(flattenElems(s.Elems))
	}
	return s.Elems
}

// setSorted reports whether nft lists the elements of s sorted by value:
// concatenations with intervals live in a pipapo set, which lists in
// insertion order.
func setSorted(s *Set, c ctx) bool {
	return !(len(s.Key) > 1 || strings.Contains(c.typ, ".")) || !hasFlag(s.Flags, "interval")
}

// setCtx is the printing context of the elements of s.
func setCtx(s *Set, fam Family, o PrintOptions) ctx {
	c := ctx{typ: strings.Join(s.Key, " . "), family: fam, opts: o}
	if s.KeyTypeof != nil {
		c.typ = typeOfExpr(s.KeyTypeof)
	}
	return c
}

// withCounters gives every element of a set with the counter flag its
// counter statement (nft lists "a counter packets 0 bytes 0"), keeping
// elements that carry statements of their own.
func withCounters(xs []Expr) []Expr {
	out := make([]Expr, len(xs))
	for i, x := range xs {
		add := func(k Expr) Expr {
			if e, ok := k.(*Elem); ok {
				if len(e.Stmts) > 0 {
					return e
				}
				ne := *e
				ne.Stmts = []Stmt{&CounterStmt{Pos: e.Pos}}
				return &ne
			}
			return &Elem{Pos: k.Position(), X: k, Stmts: []Stmt{&CounterStmt{Pos: k.Position()}}}
		}
		if m, ok := x.(*MapElem); ok {
			nm := *m
			nm.Key = add(m.Key)
			out[i] = &nm
			continue
		}
		out[i] = add(x)
	}
	return out
}

// elemsPerLine is how many elements nft 1.0.6 puts on one line of a named
// set listing, learnt from its output: one for maps, concatenations and
// 128-bit types, two for 32-bit types (ipv4_addr, mark), five for 16-bit
// ones (inet_service), and more for smaller ones.
func elemsPerLine(typ string, multi bool) int {
	// nft 1.0.6 keeps two ipv4_addr keys per line in maps and counter
	// sets too (learnt from its listings).
	if multi && typ != "ipv4_addr" {
		return 1
	}
	switch typ {
	case "ipv4_addr", "mark", "ether_addr":
		return 2
	case "inet_service":
		return 5
	case "inet_proto", "icmp_type", "icmpv6_type":
		return 8
	}
	return 1
}

func printChain(b *strings.Builder, t *Table, c *Chain, o PrintOptions) {
	fmt.Fprintf(b, "\tchain %s {", c.Name)
	handle(b, o, c.Handle)
	b.WriteByte('\n')
	if c.Comment != "" || c.HasComment {
		fmt.Fprintf(b, "\t\tcomment \"%s\"\n", c.Comment)
	}
	if c.IsBase() {
		fmt.Fprintf(b, "\t\ttype %s hook %s", c.Type, c.Hook)
		if len(c.Devices) == 1 {
			fmt.Fprintf(b, " device \"%s\"", quoteName(c.Devices[0]))
		} else if len(c.Devices) > 1 {
			var d []string
			for _, x := range c.Devices {
				d = append(d, quoteName(x))
			}
			fmt.Fprintf(b, " devices = { %s }", strings.Join(d, ", "))
		}
		pol := c.Policy
		if pol == "" {
			pol = "accept"
		}
		fmt.Fprintf(b, " priority %s; policy %s;\n", priorityString(t.Family, c), pol)
	}
	for _, r := range c.Rules {
		b.WriteString("\t\t")
		b.WriteString(ruleString(r, ctx{family: t.Family, opts: o}))
		handle(b, o, r.Handle)
		b.WriteByte('\n')
	}
	b.WriteString("\t}\n")
}

// nftQuote quotes s as nft writes a quoted string: verbatim between double
// quotes. nft's scanner knows no escapes inside quotes, so Go's quoting
// (\xf7, \") would change the string on the way back in.
// A string holding a double quote can only have come in single quotes, so
// it goes out in them.
func nftQuote(s string) string {
	if strings.Contains(s, `"`) {
		return "'" + s + "'"
	}
	return `"` + s + `"`
}

func quoteName(x Expr) string {
	if v, ok := x.(*Value); ok {
		return v.Text
	}
	return exprString(x, ctx{})
}

// stdPriorities are the named priorities of the ip, ip6 and inet families.
var stdPriorities = []struct {
	name string
	val  int
}{{"raw", -300}, {"mangle", -150}, {"dstnat", -100}, {"filter", 0}, {"security", 50}, {"srcnat", 100}}

// bridgePriorities are the named priorities of the bridge family.
var bridgePriorities = []struct {
	name string
	val  int
}{{"dstnat", -300}, {"filter", -200}, {"out", 100}, {"srcnat", 300}}

func bridgePrioValue(name string) int {
	for _, p := range bridgePriorities {
		if p.name == name {
			return p.val
		}
	}
	return prioNames[name]
}

// priorityString prints a priority as nft 1.0.6 does: the kernel keeps a
// number; nft names it when it lies within 10 of a standard priority
// ("filter - 5", "raw + 10"), else prints the number (65535, 20).
func priorityString(fam Family, c *Chain) string {
	v := c.Priority.Offset
	if c.Priority.Name != "" {
		v += prioNames[c.Priority.Name]
	}
	std := stdPriorities
	switch fam {
	case FamilyBridge:
		std = bridgePriorities
		if c.Priority.Name != "" {
			v = c.Priority.Offset + bridgePrioValue(c.Priority.Name)
		}
	case FamilyNetdev, FamilyARP:
		std = std[3:4] // filter only
	}
	for _, sp := range std {
		// dstnat names a priority only on prerouting, srcnat only on
		// postrouting (nft 1.0.6 lists 100 on a nat input chain).
		if sp.name == "dstnat" && c.Hook != "prerouting" || sp.name == "srcnat" && c.Hook != "postrouting" {
			continue
		}
		d := v - sp.val
		switch {
		case d == 0:
			return sp.name
		case d > 0 && d <= 10:
			return fmt.Sprintf("%s + %d", sp.name, d)
		case d < 0 && d >= -10:
			return fmt.Sprintf("%s - %d", sp.name, -d)
		}
	}
	return fmt.Sprint(v)
}

// setFlagOrder is the order nft 1.0.6 lists set flags in, whatever the
// order written.
var setFlagOrder = map[string]int{"constant": 1, "interval": 2, "dynamic": 3, "timeout": 4}

// setFlagList returns the set flags comma separated, in nft's order,
// without repeats.
func setFlagList(flags []string) string {
	fs := append([]string(nil), flags...)
	sort.SliceStable(fs, func(i, j int) bool { return setFlagOrder[fs[i]] < setFlagOrder[fs[j]] })
	out := fs[:0]
	for i, f := range fs {
		if i == 0 || f != fs[i-1] {
			out = append(out, f)
		}
	}
	return strings.Join(out, ",")
}

// setFlags returns the flags the kernel holds for s: a dynamic set with a
// default timeout also carries the timeout flag (nft 1.0.6 lists
// "flags dynamic; timeout 1m" as "flags dynamic,timeout").
func setFlags(s *Set) []string {
	has := func(f string) bool {
		for _, g := range s.Flags {
			if g == f {
				return true
			}
		}
		return false
	}
	if s.Timeout != "" && has("dynamic") && !has("timeout") {
		return append(append([]string(nil), s.Flags...), "timeout")
	}
	return s.Flags
}

func hasFlag(flags []string, f string) bool {
	for _, g := range flags {
		if g == f {
			return true
		}
	}
	return false
}
