package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/internal/nfttrace"
	"github.com/hare-fw/hare/internal/report"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// --explain N: packet N's whole path, from the engine's trace events:
// what it is, what conntrack said, where routing sent it, every base chain
// it visited in hook and priority order, every rule evaluated there
// (matched, or the match that failed and the packet's value), jumps,
// returns and policies, and the final verdict with what decided it.

// explainStep is one line of an explanation (and one object of its JSON).
type explainStep struct {
	Event    string `json:"event"` // chain, rule, return, policy, conntrack, route
	Hook     string `json:"hook,omitempty"`
	Family   string `json:"family,omitempty"`
	Table    string `json:"table,omitempty"`
	Chain    string `json:"chain,omitempty"`
	Priority *int   `json:"priority,omitempty"`
	Handle   uint64 `json:"handle,omitempty"`
	Rule     string `json:"rule,omitempty"`
	Matched  *bool  `json:"matched,omitempty"`
	Verdict  string `json:"verdict,omitempty"`
	Failed   string `json:"failed,omitempty"` // the match that failed, as nft prints it
	Value    string `json:"value,omitempty"`  // the packet's value for it
	Policy   string `json:"policy,omitempty"`
	Route    string `json:"route,omitempty"`
	Depth    int    `json:"depth"` // jump depth below the base chain
	Nftrace  bool   `json:"nftrace,omitempty"`
}

// explanation is the JSON object of --explain -o json.
type explanation struct {
	Packet    uint64        `json:"packet"`
	Summary   string        `json:"summary"`
	Conntrack explainCT     `json:"conntrack"`
	Steps     []explainStep `json:"steps"`
	Verdict   string        `json:"verdict"`
	DecidedBy string        `json:"decided_by"`
	Hook      string        `json:"hook,omitempty"`
	Table     string        `json:"table,omitempty"`
	Chain     string        `json:"chain,omitempty"`
	Handle    uint64        `json:"handle,omitempty"`
	Rule      string        `json:"rule,omitempty"`
}

type explainCT struct {
	State  string `json:"state"`
	Dir    string `json:"dir,omitempty"`
	ID     uint32 `json:"id,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// explainOf builds the explanation of the datagram packet r completed.
func (t *traceRun) explainOf(r *report.PacketResult) explanation {
	ex := explanation{Packet: r.N, Summary: packetSummary(&t.pkt)}
	ex.Conntrack.State = r.StateText()
	if r.HasDir() {
		ex.Conntrack.Dir, ex.Conntrack.ID = r.Dir.String(), r.ID
	}
	ex.Conntrack.Reason = r.ReasonText()
	depth := 0
	for i := range t.events {
		ev := &t.events[i]
		st := explainStep{Hook: ev.Hook.String(), Family: ev.Family.String(), Table: ev.Table, Chain: ev.Chain, Depth: depth, Nftrace: ev.Nftrace}
		switch ev.Kind {
		case engine.TraceChain:
			depth = 0
			prio := ev.Prio
			st.Event, st.Priority, st.Depth = "chain", &prio, 0
		case engine.TraceRule, engine.TraceNoMatch:
			st.Event, st.Handle = "rule", ev.Handle
			info := t.rules[ruleRef{ev.Family, ev.Table, ev.Chain, ev.Handle}]
			st.Rule = info.text
			matched := ev.Kind == engine.TraceRule
			st.Matched = &matched
			if matched {
				st.Verdict = verdictWord(ev)
				switch ev.Action {
				case engine.ActionJump:
					depth++
				case engine.ActionReturn:
					depth = max(depth-1, 0)
				}
			} else if info.rule != nil && ev.Stmt < len(info.rule.Stmts) {
				st.Failed = ruleset.StmtString(info.rule.Stmts[ev.Stmt], ev.Family)
				st.Value = ev.Value()
			}
		case engine.TraceReturn:
			st.Event = "return"
			depth = max(depth-1, 0)
		case engine.TracePolicy:
			st.Event, st.Policy, st.Depth = "policy", ev.Policy.String(), 0
		case engine.TraceConntrack:
			st = explainStep{Event: "conntrack", Hook: ev.Hook.String()}
		case engine.TraceRoute:
			st = explainStep{Event: "route", Hook: ev.Hook.String(), Route: ev.Route.String()}
		default:
			continue
		}
		ex.Steps = append(ex.Steps, st)
	}
	res := &t.res
	ex.Verdict = res.Verdict.String()
	ex.DecidedBy = res.By.String()
	if res.By != engine.DecidedNone {
		ex.Hook = res.Hook.String()
	}
	ex.Table, ex.Chain = res.Table, res.Chain
	if res.By == engine.DecidedRule {
		ex.Handle = res.Rule
		for ref, info := range t.rules {
			if ref.table == res.Table && ref.chain == res.Chain && ref.handle == res.Rule {
				ex.Rule = info.text
			}
		}
	}
	return ex
}

// verdictWord is what a matched rule did, in nft's words (reject is
// named as such here: the explanation is not a kernel trace).
func verdictWord(ev *engine.TraceEvent) string {
	switch ev.Action {
	case engine.ActionJump, engine.ActionGoto:
		return fmt.Sprintf("%s %s", ev.Action, ev.Target)
	}
	return ev.Action.String()
}

func (t *traceRun) appendExplainJSON(b []byte, r *report.PacketResult) []byte {
	j, err := json.Marshal(t.explainOf(r))
	if err != nil {
		return b
	}
	return append(append(b, j...), '\n')
}

func (t *traceRun) appendExplain(b []byte, r *report.PacketResult) []byte {
	ex := t.explainOf(r)
	b = fmt.Appendf(b, "packet %d: %s\n", ex.Packet, ex.Summary)
	ct := ex.Conntrack.State
	if ex.Conntrack.Dir != "" {
		ct += fmt.Sprintf(" %s (entry %d)", ex.Conntrack.Dir, ex.Conntrack.ID)
	}
	if ex.Conntrack.Reason != "" {
		ct += ": " + ex.Conntrack.Reason
	}
	for _, st := range ex.Steps {
		ind := strings.Repeat("  ", st.Depth+1)
		switch st.Event {
		case "conntrack":
			b = fmt.Appendf(b, "conntrack: %s\n", ct)
		case "route":
			b = fmt.Appendf(b, "routing: %s\n", routeText(st.Route, &t.meta))
		case "chain":
			b = fmt.Appendf(b, "%s: %s %s %s (priority %d)\n", st.Hook, st.Family, st.Table, st.Chain, *st.Priority)
		case "rule":
			b = fmt.Appendf(b, "%s%s handle %d: %s: ", ind, st.Chain, st.Handle, st.Rule)
			if *st.Matched {
				b = fmt.Appendf(b, "matched (verdict %s)\n", st.Verdict)
			} else {
				v := "packet has " + st.Value
				if st.Value == "none" {
					v = "the packet has no such field"
				}
				b = fmt.Appendf(b, "did not match: %s (%s)\n", st.Failed, v)
			}
		case "return":
			b = fmt.Appendf(b, "%send of chain %s: return\n", ind, st.Chain)
		case "policy":
			b = fmt.Appendf(b, "  end of base chain %s: policy %s\n", st.Chain, st.Policy)
		}
	}
	if !hasStep(ex.Steps, "conntrack") {
		b = fmt.Appendf(b, "conntrack: %s\n", ct)
	}
	b = fmt.Appendf(b, "verdict: %s", ex.Verdict)
	switch t.res.By {
	case engine.DecidedRule:
		b = fmt.Appendf(b, " by rule %s %s %s handle %d (%s): %s", familyOf(t, ex.Table, ex.Chain), ex.Table, ex.Chain, ex.Handle, ex.Hook, ex.Rule)
	case engine.DecidedPolicy:
		b = fmt.Appendf(b, " by the policy of %s %s (%s)", ex.Table, ex.Chain, ex.Hook)
	case engine.DecidedNone:
		b = append(b, " (no base chain decided)"...)
	default:
		b = fmt.Appendf(b, " by %s (%s)", ex.DecidedBy, ex.Hook)
	}
	return append(b, '\n')
}

func hasStep(sts []explainStep, ev string) bool {
	for _, s := range sts {
		if s.Event == ev {
			return true
		}
	}
	return false
}

func familyOf(t *traceRun, table, chain string) string {
	for ref := range t.rules {
		if ref.table == table && ref.chain == chain {
			return ref.family.String()
		}
	}
	return ""
}

func routeText(r string, m *engine.Meta) string {
	iif, oif := nfttrace.IfNames(m, engine.HookForward, 4)
	switch r {
	case "forward":
		return fmt.Sprintf("forward from %q to %q (forward, postrouting)", iif, oif)
	case "none":
		return "no route: dropped after prerouting"
	}
	return fmt.Sprintf("local delivery from %q (input)", iif)
}

// packetSummary is a one-line decode of p: version, protocol, addresses
// and ports, TCP flags or ICMP type/code, length.
func packetSummary(p *packet.Parsed) string {
	var b strings.Builder
	fmt.Fprintf(&b, "IPv%d %s ", p.IPVersion, nfttrace.ProtoName(uint8(p.Proto)))
	switch {
	case p.HasTransport() && p.SrcPort|p.DstPort != 0:
		fmt.Fprintf(&b, "%s > %s", addrPort(p.Src, p.SrcPort), addrPort(p.Dst, p.DstPort))
	default:
		fmt.Fprintf(&b, "%s > %s", p.Src, p.Dst)
	}
	if p.HasTransport() {
		switch p.Proto {
		case packet.ProtoTCP:
			fmt.Fprintf(&b, " flags %s", tcpFlagNames(uint8(p.TCP.Flags)))
		case packet.ProtoICMP, packet.ProtoICMPv6:
			fmt.Fprintf(&b, " type %d code %d", p.ICMP.Type, p.ICMP.Code)
		}
	}
	fmt.Fprintf(&b, " len %d", p.L3Len)
	return b.String()
}

func addrPort(a interface{ String() string }, port uint16) string {
	s := a.String()
	if strings.Contains(s, ":") {
		s = "[" + s + "]"
	}
	return fmt.Sprintf("%s:%d", s, port)
}

func tcpFlagNames(f uint8) string {
	names := [8]string{"fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr"}
	var out []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}
