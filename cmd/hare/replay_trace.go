package main

import (
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/internal/nfttrace"
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
	texts   map[nfttrace.RuleRef]string // the rules' texts, for nfttrace

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
	t := &traceRun{nft: f.trace || f.traceAll, all: f.traceAll, explain: f.explain, json: f.output == "json", rules: map[ruleRef]ruleInfo{},
		texts: nfttrace.RuleTexts(rs)}
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
