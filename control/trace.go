package control

import (
	"sync"
	"sync/atomic"
)

// TraceHub hands packet trace lines from the daemon's workers to the
// clients following `nft monitor trace` (GET /v1/trace). The daemon's side
// is two calls:
//
//	if hub.Active() { m.Trace = tracer }  // per packet: one atomic load
//	...
//	hub.Publish(lines)                     // after the packet: its lines
//
// Active reports whether anyone listens, so workers trace (set
// engine.Meta.Trace) only then; the lines are those nft monitor trace
// prints for packets whose nftrace flag is set (engine.TraceEvent.Nftrace;
// Linux nft_trace_packet sends nothing for others), each ending in a
// newline. Publish never blocks: a subscriber that does not keep up loses
// lines, counted and reported on its stream, as conntrack -E reports
// ENOBUFS. The zero value is not usable; use NewTraceHub. Safe for
// concurrent use.
type TraceHub struct {
	n    atomic.Int32 // subscribers, read without the lock by Active
	mu   sync.Mutex
	subs map[*traceSub]struct{} // guarded by mu
}

// traceSub is one stream's queue of published chunks.
type traceSub struct {
	ch   chan []byte
	lost atomic.Uint64
}

// NewTraceHub returns a hub without subscribers.
func NewTraceHub() *TraceHub { return &TraceHub{subs: map[*traceSub]struct{}{}} }

// Active reports whether a trace stream is open. It does not allocate.
func (h *TraceHub) Active() bool { return h.n.Load() > 0 }

// Publish sends lines (one packet's trace lines, newline-terminated) to
// every stream. It copies lines once, and only when someone listens.
func (h *TraceHub) Publish(lines []byte) {
	if !h.Active() || len(lines) == 0 {
		return
	}
	c := append([]byte(nil), lines...)
	h.mu.Lock()
	for s := range h.subs {
		select {
		case s.ch <- c:
		default:
			s.lost.Add(1)
		}
	}
	h.mu.Unlock()
}

func (h *TraceHub) subscribe(size int) *traceSub {
	s := &traceSub{ch: make(chan []byte, size)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	h.n.Add(1)
	return s
}

func (h *TraceHub) unsubscribe(s *traceSub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	h.n.Add(-1)
}
