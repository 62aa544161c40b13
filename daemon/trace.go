package daemon

import (
	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/internal/nfttrace"
	"github.com/hare-fw/hare/packet"
)

// tracer is a worker's side of the trace stream (`hare nft monitor
// trace`, GET /v1/trace). While nobody follows the stream it costs one
// atomic load per packet and the engine is not asked for its steps; while
// someone does, the engine reports every step of every packet, and the
// packets whose nftrace flag was set (`meta nftrace set 1`, as in Linux)
// have their `nft monitor trace` lines published. Tracing allocates (the
// lines, the rule texts of a new ruleset); only while someone listens.
type tracer struct {
	hub    *control.TraceHub
	events []engine.TraceEvent
	seq    uint32 // datagrams judged while tracing, for the trace ids
	idBase uint32 // the worker's number in the top byte: ids differ between workers
	rules  *engine.Compiled
	texts  map[nfttrace.RuleRef]string
	buf    []byte
}

// Trace implements engine.Tracer.
func (t *tracer) Trace(ev engine.TraceEvent) { t.events = append(t.events, ev) }

// start sets m up for the next datagram and reports whether it is traced.
func (t *tracer) start(m *engine.Meta) bool {
	if t.hub == nil || !t.hub.Active() {
		m.Trace = nil
		return false
	}
	t.events = t.events[:0]
	m.Trace = t
	return true
}

// publish sends the datagram's trace lines, if its nftrace flag was set.
func (t *tracer) publish(e *engine.Engine, p *packet.Parsed, m *engine.Meta) {
	t.seq++
	if !nfttrace.Traced(t.events) {
		return
	}
	if c := e.Rules(); c != t.rules {
		t.rules, t.texts = c, nfttrace.RuleTexts(c.Source())
	}
	t.buf = nfttrace.Append(t.buf[:0], nfttrace.ID(t.idBase|t.seq), t.events, p, m, t.texts)
	t.hub.Publish(t.buf)
}
