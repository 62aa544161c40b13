package control

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/ruleset"
)

// The ruleset's endpoints. Changes are nft source text (what `nft -f`
// reads, or one command as `nft add rule …` would run it): POST
// /v1/ruleset applies it to the running ruleset as one transaction, like
// the kernel's nf_tables batch: it is checked as nft checks it
// (ruleset.Check), compiled, and swapped in only if all of it succeeds
// (engine.Engine.Apply); otherwise the running ruleset stays and the
// answer is nft's error with its file:line:col.

// maxRuleset bounds a posted ruleset (a million-element set is ~30 MB).
const maxRuleset = 256 << 20

// rulesList is `nft list ruleset|table|chain|set`: the running ruleset's
// source as nft prints it, with the rule counters' current values.
// Parameters: family, table, chain, set select a part; handles=1 (nft -a),
// stateless=1 (nft -s), format=json (nft -j).
func (s *Server) rulesList(w http.ResponseWriter, r *http.Request) {
	if s.b.Engine == nil {
		notImplemented(w, "the ruleset")
		return
	}
	q := r.URL.Query()
	c := s.b.Engine.Rules()
	rs := &ruleset.Ruleset{}
	if c != nil && c.Source() != nil {
		rs = withCounters(c.Source(), c.Counters(), c.Quotas(), c.Objects())
	}
	sel, err := selectPart(rs, q.Get("family"), q.Get("table"), q.Get("chain"), q.Get("set"))
	if err != nil {
		httpError(w, http.StatusNotFound, err.Error())
		return
	}
	o := ruleset.PrintOptions{Handles: q.Get("handles") == "1", Stateless: q.Get("stateless") == "1"}
	var b bytes.Buffer
	print := ruleset.Print
	if q.Get("format") == "json" {
		print = ruleset.PrintJSON
	}
	if err := print(&b, sel, o); err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if q.Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Write(b.Bytes())
}

// selectPart returns the part of rs a listing names: everything (of one
// family, if given), one table, or one chain or set inside its table.
func selectPart(rs *ruleset.Ruleset, family, table, chain, set string) (*ruleset.Ruleset, error) {
	fam := ruleset.FamilyUnknown
	if family != "" {
		fam = parseFamily(family)
		if fam == ruleset.FamilyUnknown {
			return nil, fmt.Errorf("unknown family %q", family)
		}
	}
	if table == "" {
		out := &ruleset.Ruleset{}
		for _, t := range rs.Tables {
			if fam == ruleset.FamilyUnknown || t.Family == fam {
				out.Tables = append(out.Tables, t)
			}
		}
		return out, nil
	}
	if fam == ruleset.FamilyUnknown {
		fam = ruleset.FamilyIP // nft's default family
	}
	for _, t := range rs.Tables {
		if t.Family != fam || t.Name != table {
			continue
		}
		if chain == "" && set == "" {
			return &ruleset.Ruleset{Tables: []*ruleset.Table{t}}, nil
		}
		nt := *t
		nt.Chains, nt.Sets, nt.Objects, nt.Flags, nt.Comment = nil, nil, nil, nil, ""
		for _, ch := range t.Chains {
			if chain != "" && ch.Name == chain {
				nt.Chains = append(nt.Chains, ch)
			}
		}
		for _, st := range t.Sets {
			if set != "" && st.Name == set {
				nt.Sets = append(nt.Sets, st)
			}
		}
		if len(nt.Chains)+len(nt.Sets) == 0 {
			return nil, nftErrorf("No such file or directory")
		}
		return &ruleset.Ruleset{Tables: []*ruleset.Table{&nt}}, nil
	}
	return nil, nftErrorf("No such file or directory")
}

func parseFamily(s string) ruleset.Family {
	for f := ruleset.FamilyIP; f <= ruleset.FamilyNetdev; f++ {
		if f.String() == s {
			return f
		}
	}
	return ruleset.FamilyUnknown
}

// withCounters returns a copy of rs for printing in which each rule's
// anonymous counter and quota statements hold the engine's counts, and
// each named counter and quota its state. rs itself is shared with the
// running Compiled and is not changed.
func withCounters(rs *ruleset.Ruleset, cs []engine.CounterValue, qs []engine.QuotaValue, objs []engine.ObjectValue) *ruleset.Ruleset {
	quotas := map[engine.CounterKey][]uint64{}
	for _, q := range qs {
		quotas[q.CounterKey] = append(quotas[q.CounterKey], q.Used)
	}
	type objKey struct {
		fam               ruleset.Family
		table, kind, name string
	}
	byObj := map[objKey]engine.ObjectValue{}
	for _, o := range objs {
		byObj[objKey{o.Family, o.Table, o.Kind, o.Name}] = o
	}
	byRule := map[engine.CounterKey][]engine.CounterValue{}
	for _, c := range cs {
		byRule[c.CounterKey] = append(byRule[c.CounterKey], c)
	}
	out := &ruleset.Ruleset{Tables: make([]*ruleset.Table, len(rs.Tables))}
	for i, t := range rs.Tables {
		nt := *t
		nt.Objects = make([]*ruleset.Object, len(t.Objects))
		for j, ob := range t.Objects {
			no := *ob
			if v, ok := byObj[objKey{t.Family, t.Name, ob.Kind, ob.Name}]; ok {
				no.Packets, no.Bytes, no.Used = v.Packets, v.Bytes, v.Used
			}
			nt.Objects[j] = &no
		}
		nt.Chains = make([]*ruleset.Chain, len(t.Chains))
		for j, ch := range t.Chains {
			nc := *ch
			nc.Rules = make([]*ruleset.Rule, len(ch.Rules))
			for k, rl := range ch.Rules {
				key := engine.CounterKey{Family: t.Family, Table: t.Name, Chain: ch.Name, Handle: rl.Handle}
				vals, used := byRule[key], quotas[key]
				nr := *rl
				if len(vals)+len(used) > 0 {
					nr.Stmts = append([]ruleset.Stmt(nil), rl.Stmts...)
					n, m := 0, 0
					for si, st := range nr.Stmts {
						switch x := st.(type) {
						case *ruleset.CounterStmt:
							if x.Name == nil && n < len(vals) {
								c := *x
								c.Packets, c.Bytes = vals[n].Packets, vals[n].Bytes
								nr.Stmts[si] = &c
								n++
							}
						case *ruleset.QuotaStmt:
							if x.Name == nil && m < len(used) {
								q := *x
								q.Used = used[m]
								nr.Stmts[si] = &q
								m++
							}
						}
					}
				}
				nc.Rules[k] = &nr
			}
			nt.Chains[j] = &nc
		}
		out.Tables[i] = &nt
	}
	return out
}

// errIncludeRefused is why a control-group peer's include is not read.
var errIncludeRefused = errors.New("the daemon reads included files only for root (it would read them as root)")

// includeConfig is how the daemon reads the includes of r's source: from
// its file system for root or its own user, who could read the files
// anyway; for a member of the control group not at all, since the daemon
// would read them with its own rights and its error messages quote what
// it read (nft run by that user reads them with the user's rights).
func includeConfig(r *http.Request) ruleset.Config {
	if p, ok := r.Context().Value(peerKey{}).(peer); ok && (p.uid == 0 || int(p.uid) == os.Geteuid()) {
		return ruleset.OSConfig()
	}
	return ruleset.Config{ReadFile: func(string) ([]byte, error) { return nil, errIncludeRefused }}
}

// rulesApply is `nft -f` and `nft add|insert|delete rule…`: the body is
// nft source; name= is its file name in error messages; check=1 only
// checks it (nft -c).
func (s *Server) rulesApply(w http.ResponseWriter, r *http.Request) {
	if s.b.Engine == nil {
		notImplemented(w, "the ruleset")
		return
	}
	q := r.URL.Query()
	src, err := io.ReadAll(io.LimitReader(r.Body, maxRuleset+1))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(src) > maxRuleset {
		httpError(w, http.StatusRequestEntityTooLarge, "ruleset too large")
		return
	}
	name := q.Get("name")
	if name == "" {
		name = "<cmdline>"
	}
	f, err := ruleset.Parse(name, src, includeConfig(r))
	if err != nil {
		httpErrorPos(w, http.StatusBadRequest, err.Error(), errPos(err, src))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Check first on a copy, as nft does before it sends its batch: the
	// kernel (here Apply) then only sees what nft accepts.
	prev := s.b.Engine.Rules()
	rs := &ruleset.Ruleset{}
	if prev != nil && prev.Source() != nil {
		rs = prev.Source().Clone()
	}
	var failed *ruleset.Command
	for _, cmd := range f.Commands {
		if err = rs.Apply(cmd); err != nil {
			failed = cmd
			break
		}
	}
	if err == nil {
		err = ruleset.Check(rs)
	}
	if err == nil && q.Get("check") == "1" {
		_, err = engine.Update(prev, rs)
	} else if err == nil {
		_, err = s.b.Engine.Apply(f)
		if err == nil {
			s.log.Info("control: ruleset changed", "name", name, "commands", len(f.Commands))
		}
	}
	if err != nil {
		pos := errPos(err, src)
		if failed != nil && pos != nil {
			rulePos(pos, failed)
		}
		httpErrorPos(w, http.StatusBadRequest, err.Error(), pos)
		return
	}
	writeJSON(w, struct{}{})
}

// rulePos words a rule command's failure as nft does when the kernel
// refuses it (netlink_io_error: "Could not process rule: " and strerror)
// and points at what the kernel did not find: the table, the chain, the
// handle's number, or "position N". ruleset.Apply says which in its
// message.
func rulePos(p *ErrorPos, c *ruleset.Command) {
	if c.Kind != "rule" || !strings.HasPrefix(p.Msg, "No such file or directory") && !strings.HasPrefix(p.Msg, "Could not process rule") {
		return
	}
	type word struct {
		text string
		col  int
	}
	var ws []word
	for i := 0; i < len(p.Src); {
		if p.Src[i] == ' ' || p.Src[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(p.Src) && p.Src[j] != ' ' && p.Src[j] != '\t' {
			j++
		}
		ws = append(ws, word{p.Src[i:j], i + 1})
		i = j
	}
	// verb, "rule", [family], table, chain, …
	if len(ws) < 4 || ws[1].text != "rule" || p.Col != ws[0].col {
		return
	}
	k := 2
	if parseFamily(ws[2].text) != ruleset.FamilyUnknown {
		k = 3
	}
	if k+1 >= len(ws) {
		return
	}
	at := func(w word, n int) { p.Col, p.Len = w.col, n }
	switch {
	case strings.Contains(p.Msg, "table '"):
		at(ws[k], len(ws[k].text))
	case strings.Contains(p.Msg, "chain '"):
		at(ws[k+1], len(ws[k+1].text))
	default:
		for i := k + 2; i+1 < len(ws); i++ {
			switch ws[i].text {
			case "handle":
				at(ws[i+1], len(ws[i+1].text))
			case "position":
				at(ws[i], ws[i+1].col+len(ws[i+1].text)-ws[i].col)
			default:
				continue
			}
			break
		}
	}
	p.Msg = "Could not process rule: No such file or directory"
}

// errPos extracts the position of a ruleset or engine error; src is the
// posted source, for the line of an error without one (a position in an
// included file has its own).
func errPos(err error, src []byte) *ErrorPos {
	var re *ruleset.Error
	var ee *engine.Error
	var p ErrorPos
	switch {
	case errors.As(err, &re):
		p = ErrorPos{Msg: re.Msg, File: re.File, Line: re.Line, Col: re.Col, Len: re.Len, Src: re.Src}
	case errors.As(err, &ee):
		p = ErrorPos{Msg: ee.Msg, File: ee.Pos.File, Line: ee.Pos.Line, Col: ee.Pos.Col}
	default:
		return nil
	}
	if p.Src == "" && p.Line > 0 {
		lines := strings.Split(string(src), "\n")
		if p.Line <= len(lines) {
			p.Src = lines[p.Line-1]
		}
	}
	return &p
}

// Counter is one rule counter in GET /v1/counters.
type Counter struct {
	Family  string `json:"family"`
	Table   string `json:"table"`
	Chain   string `json:"chain"`
	Handle  uint64 `json:"handle"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Object is one named counter or quota in GET /v1/counters.
type Object struct {
	Family  string `json:"family"`
	Table   string `json:"table"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Packets uint64 `json:"packets,omitempty"`
	Bytes   uint64 `json:"bytes,omitempty"`
	Quota   uint64 `json:"quota,omitempty"`
	Used    uint64 `json:"used,omitempty"`
	Over    bool   `json:"over,omitempty"`
}

// Counters is the answer of GET /v1/counters.
type Counters struct {
	Rules   []Counter `json:"rules"`
	Objects []Object  `json:"objects"`
}

func (s *Server) rulesCounters(w http.ResponseWriter, r *http.Request) {
	if s.b.Engine == nil {
		notImplemented(w, "the ruleset")
		return
	}
	out := Counters{Rules: []Counter{}, Objects: []Object{}}
	if c := s.b.Engine.Rules(); c != nil {
		for _, v := range c.Counters() {
			out.Rules = append(out.Rules, Counter{v.Family.String(), v.Table, v.Chain, v.Handle, v.Packets, v.Bytes})
		}
		for _, o := range c.Objects() {
			out.Objects = append(out.Objects, Object{o.Family.String(), o.Table, o.Kind, o.Name, o.Packets, o.Bytes, o.Quota, o.Used, o.Over})
		}
	}
	writeJSON(w, out)
}

// nftErrorf makes an error whose text is nft's own message, verbatim.
func nftErrorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
