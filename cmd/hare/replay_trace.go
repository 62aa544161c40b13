package main

import (
	"fmt"
	"strings"

	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/internal/report"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// --trace, --trace-all and --explain: the engine reports every step of a
// packet's evaluation (engine.Tracer); traceRun keeps the steps of the
// packet being judged and, when the replay hands over the packet's result
// (report.Tracker.OnPacket, which knows its number), prints them: as the
// lines `nft monitor trace` prints for a packet with nftrace set
// (replay_trace_nft.go), or as the explanation of one packet
// (replay_trace_explain.go).

// ruleRef names a rule of the ruleset.
type ruleRef struct {
	family ruleset.Family
	table  string
	chain  string
	handle uint64
}

// ruleInfo is a rule as the trace prints it.
type ruleInfo struct {
	rule *ruleset.Rule
	text string // as `nft list ruleset` prints it
}

// traceRun is the tracing state of a replay with --rules.
type traceRun struct {
	nft     bool   // --trace or --trace-all: nft monitor trace lines
	all     bool   // --trace-all: every packet has nftrace set on arrival
	explain uint64 // --explain N; 0 when off
	json    bool
	rules   map[ruleRef]ruleInfo

	seq    uint32              // datagrams judged, for the trace ids
	events []engine.TraceEvent // the current datagram's steps
	// What the current datagram's steps need to be printed: a copy of
	// the packet (for the packet: line and the summary), the metadata
	// and the engine's result.
	pkt    packet.Parsed
	frame  []byte
	meta   engine.Meta
	res    engine.Result
	judged bool // a datagram was judged since the last OnPacket
	buf    []byte
}

// Trace implements engine.Tracer.
func (t *traceRun) Trace(ev engine.TraceEvent) { t.events = append(t.events, ev) }

// newTraceRun returns the tracing state for the flags, nil when no
// tracing flag is set.
func newTraceRun(f *replayFlags, rs *ruleset.Ruleset) *traceRun {
	if !f.trace && !f.traceAll && f.explain == 0 {
		return nil
	}
	t := &traceRun{nft: f.trace || f.traceAll, all: f.traceAll, explain: f.explain, json: f.output == "json", rules: map[ruleRef]ruleInfo{}}
	for _, tb := range rs.Tables {
		for _, ch := range tb.Chains {
			for _, r := range ch.Rules {
				t.rules[ruleRef{tb.Family, tb.Name, ch.Name, r.Handle}] = ruleInfo{r, ruleset.RuleString(r, tb.Family, ruleset.PrintOptions{})}
			}
		}
	}
	return t
}

// before prepares m for the next datagram.
func (t *traceRun) before(m *engine.Meta) {
	t.events = t.events[:0]
	m.Trace, m.Nftrace = t, t.all
}

// after keeps what printing the datagram's steps needs.
func (t *traceRun) after(p *packet.Parsed, m *engine.Meta, r *engine.Result) {
	t.seq++
	t.frame = append(t.frame[:0], p.IP()...)
	t.pkt.DecodeIP(t.frame)
	t.meta, t.res, t.judged = *m, *r, true
	t.meta.Trace = nil
}

// packet prints the steps of the datagram the replay's packet r completed
// (nothing for a packet that was not judged: a held fragment, not IP).
func (t *traceRun) packet(r *report.PacketResult, write func([]byte)) {
	if !t.judged {
		return
	}
	t.judged = false
	if t.nft {
		t.buf = t.appendNft(t.buf[:0])
		write(t.buf)
	}
	if t.explain != 0 && r.N == t.explain {
		if t.json {
			t.buf = t.appendExplainJSON(t.buf[:0], r)
		} else {
			t.buf = t.appendExplain(t.buf[:0], r)
		}
		write(t.buf)
	}
}

// ifnames returns the interfaces a trace message of hook h carries (the
// hook's state->in and state->out): the input interface on prerouting,
// input and forward, the output interface on forward and postrouting;
// IPv4 postrouting has no input device (ip_output), IPv6 postrouting has
// the forwarded packet's (ip6_output).
func ifnames(m *engine.Meta, h engine.Hook, ver uint8) (iif, oif string) {
	name := func(b [16]byte) string { return strings.TrimRight(string(b[:]), "\x00") }
	switch h {
	case engine.HookForward:
		return name(m.Iifname), name(m.Oifname)
	case engine.HookPostrouting:
		if ver == 6 {
			iif = name(m.Iifname)
		}
		return iif, name(m.Oifname)
	}
	return name(m.Iifname), ""
}

// verdictText is a trace line's "(verdict ...)": reject is a drop for the
// kernel (its expression sets NF_DROP).
func verdictText(ev *engine.TraceEvent) string {
	switch ev.Action {
	case engine.ActionReject:
		return "drop"
	case engine.ActionJump, engine.ActionGoto:
		return fmt.Sprintf("%s %s", ev.Action, ev.Target)
	}
	return ev.Action.String()
}
