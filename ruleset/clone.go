package ruleset

import "slices"

// Clone returns a copy of rs that Apply can change without changing rs:
// the tables, chains, sets and objects are new structs, the rule lists are
// new slices, and the slices Apply only appends to or replaces (elements,
// flags) are clipped so an append copies them. Rules and expressions are
// shared: nothing changes them after parsing.
//
// A live firewall applies a command to a clone and swaps it in only when
// every command succeeded (the kernel's nf_tables transaction: a batch
// commits whole or not at all), so the ruleset in force is never half
// changed. Copying pointers is cheap: 10,000 rules are 80 kB of slices.
func (rs *Ruleset) Clone() *Ruleset {
	out := &Ruleset{Tables: make([]*Table, len(rs.Tables)), nextTable: rs.nextTable, srcs: rs.srcs}
	for i, t := range rs.Tables {
		nt := *t
		nt.Flags = slices.Clip(t.Flags)
		nt.Commands = slices.Clip(t.Commands)
		nt.Flowtables = slices.Clip(t.Flowtables)
		nt.Chains = make([]*Chain, len(t.Chains))
		for j, ch := range t.Chains {
			nc := *ch
			nc.Rules = slices.Clone(ch.Rules)
			nc.Devices = slices.Clip(ch.Devices)
			nt.Chains[j] = &nc
		}
		nt.Sets = make([]*Set, len(t.Sets))
		for j, s := range t.Sets {
			ns := *s
			ns.Flags = slices.Clip(s.Flags)
			ns.Elems = slices.Clip(s.Elems)
			nt.Sets[j] = &ns
		}
		nt.Objects = make([]*Object, len(t.Objects))
		for j, o := range t.Objects {
			no := *o
			nt.Objects[j] = &no
		}
		out.Tables[i] = &nt
	}
	return out
}
