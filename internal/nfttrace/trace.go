// Package nfttrace prints what `nft monitor trace` (nft 1.0.6) prints for a
// packet, from the steps the engine reports (engine.Tracer): the replay's
// --trace and the daemon's trace stream (hare nft monitor trace) share it.
package nfttrace

import (
	"fmt"
	"strings"

	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// RuleRef names a rule of a ruleset.
type RuleRef struct {
	Family ruleset.Family
	Table  string
	Chain  string
	Handle uint64
}

// RuleTexts returns every rule of rs as `nft list ruleset` prints it, the
// text a trace line shows.
func RuleTexts(rs *ruleset.Ruleset) map[RuleRef]string {
	m := map[RuleRef]string{}
	for _, tb := range rs.Tables {
		for _, ch := range tb.Chains {
			for _, r := range ch.Rules {
				m[RuleRef{tb.Family, tb.Name, ch.Name, r.Handle}] = ruleset.RuleString(r, tb.Family, ruleset.PrintOptions{})
			}
		}
	}
	return m
}

// Append appends the datagram's `nft monitor trace` lines (nft 1.0.6):
// one per trace message the kernel sends while the packet's nftrace flag
// is set (nft_trace_packet, nft_trace_verdict): a rule that ran to its
// end ("rule TEXT (verdict V)") and a base chain's policy ("policy P");
// the first message of each base chain run also carries the packet
// (info->packet_dumped), which nft prints first as a "packet:" line. A
// failed match and the implicit return at the end of a regular chain send
// nothing. events are the datagram's steps, p the datagram and m its
// metadata; rules gives the rules' texts (RuleTexts).
func Append(b []byte, id uint32, events []engine.TraceEvent, p *packet.Parsed, m *engine.Meta, rules map[RuleRef]string) []byte {
	var cur *engine.TraceEvent // the base chain running
	dumped := false
	for i := range events {
		ev := &events[i]
		switch ev.Kind {
		case engine.TraceChain:
			cur, dumped = ev, false
			continue
		case engine.TraceRule, engine.TracePolicy:
		default:
			continue
		}
		if !ev.Nftrace || cur == nil {
			continue
		}
		if !dumped {
			iif, oif := IfNames(m, cur.Hook, p.IPVersion)
			b = fmt.Appendf(b, "trace id %08x %s %s %s packet: ", id, cur.Family, cur.Table, cur.Chain)
			b = AppendPacketLine(b, p, iif, oif, cur.Family)
			b = append(b, '\n')
			dumped = true
		}
		b = fmt.Appendf(b, "trace id %08x %s %s %s ", id, ev.Family, ev.Table, ev.Chain)
		if ev.Kind == engine.TracePolicy {
			b = fmt.Appendf(b, "policy %s \n", ev.Policy)
			continue
		}
		text := rules[RuleRef{ev.Family, ev.Table, ev.Chain, ev.Handle}]
		b = fmt.Appendf(b, "rule %s (verdict %s)\n", text, VerdictText(ev))
	}
	return b
}

// Traced reports whether any of the steps is traced (the packet's nftrace
// flag was set at some point), that is whether Append prints anything.
func Traced(events []engine.TraceEvent) bool {
	for i := range events {
		if events[i].Nftrace && (events[i].Kind == engine.TraceRule || events[i].Kind == engine.TracePolicy) {
			return true
		}
	}
	return false
}

// ID mixes n into a 32-bit trace id (a multiplicative hash: distinct for
// consecutive n, stable between runs; the kernel's ids are a siphash of
// the skb, random from run to run).
func ID(n uint32) uint32 {
	x := n * 0x9e3779b1
	return x ^ x>>15
}

// IfNames returns the interfaces a trace message of hook h carries (the
// hook's state->in and state->out): the input interface on prerouting,
// input and forward, the output interface on forward and postrouting;
// postrouting has the forwarded packet's input device too, in both
// families (ip_output and ip6_output pass it: daemon/TestDevicesMatchKernel).
func IfNames(m *engine.Meta, h engine.Hook, _ uint8) (iif, oif string) {
	name := func(b [16]byte) string { return strings.TrimRight(string(b[:]), "\x00") }
	switch h {
	case engine.HookForward:
		return name(m.Iifname), name(m.Oifname)
	case engine.HookPostrouting:
		if !m.Output {
			iif = name(m.Iifname)
		}
		return iif, name(m.Oifname)
	}
	return name(m.Iifname), ""
}

// VerdictText is a trace line's "(verdict ...)": reject is a drop for the
// kernel (its expression sets NF_DROP).
func VerdictText(ev *engine.TraceEvent) string {
	switch ev.Action {
	case engine.ActionReject:
		return "drop"
	case engine.ActionJump, engine.ActionGoto:
		return fmt.Sprintf("%s %s", ev.Action, ev.Target)
	}
	return ev.Action.String()
}
