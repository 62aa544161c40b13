package conntrack

import (
	"sync"
	"sync/atomic"
)

// Event is one conntrack event, as ctnetlink delivers them to conntrack -E:
// the entry as it was when the event happened.
type Event struct {
	Type  EventType
	Mask  EventMask // what changed (for updates)
	Entry Entry
	Time  int64 // table clock, ns
}

// EventType is NEW, UPDATE or DESTROY (conntrack -E's [NEW], [UPDATE], [DESTROY]).
type EventType uint8

const (
	EventTypeNew EventType = iota + 1
	EventTypeUpdate
	EventTypeDestroy
)

func (e EventType) String() string {
	switch e {
	case EventTypeNew:
		return "NEW"
	case EventTypeUpdate:
		return "UPDATE"
	case EventTypeDestroy:
		return "DESTROY"
	}
	return "UNKNOWN"
}

// Events delivers events to any number of subscribers through bounded
// queues. A subscriber that does not keep up loses events; every loss is
// counted (Subscription.Lost) and never hidden. The zero value is not
// usable; use NewEvents. Safe for concurrent use.
type Events struct {
	mu   sync.Mutex
	subs []*Subscription // guarded by mu
	lost atomic.Uint64   // events lost by any subscriber, ever
}

// Lost returns how many events subscribers lost because their queue was
// full, summed over every subscriber there has been (the daemon's
// events-lost metric; Subscription.Lost is one subscriber's).
func (b *Events) Lost() uint64 { return b.lost.Load() }

// NewEvents returns an event bus without subscribers.
func NewEvents() *Events { return &Events{} }

// Subscription is one subscriber's queue.
type Subscription struct {
	mu   sync.Mutex
	ring []Event // guarded by mu
	head int     // guarded by mu: next to read
	n    int     // guarded by mu: queued
	lost uint64  // guarded by mu
	wake chan struct{}
	bus  *Events
}

// Subscribe adds a subscriber whose queue holds up to size events.
func (b *Events) Subscribe(size int) *Subscription {
	s := &Subscription{ring: make([]Event, max(size, 1)), wake: make(chan struct{}, 1), bus: b}
	b.mu.Lock()
	b.subs = append(b.subs, s)
	b.mu.Unlock()
	return s
}

// Close removes the subscription from its bus.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.subs {
		if x == s {
			b.subs = append(b.subs[:i], b.subs[i+1:]...)
			return
		}
	}
}

// publish queues ev for every subscriber, dropping it (and counting the
// loss) for those whose queue is full. It does not allocate.
func (b *Events) publish(ev *Event) {
	b.mu.Lock()
	for _, s := range b.subs {
		s.mu.Lock()
		if s.n == len(s.ring) {
			s.lost++
			b.lost.Add(1)
		} else {
			s.ring[(s.head+s.n)%len(s.ring)] = *ev
			s.n++
		}
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()
}

// Read moves up to len(dst) queued events into dst and returns how many.
func (s *Subscription) Read(dst []Event) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(len(dst), s.n)
	for i := 0; i < n; i++ {
		dst[i] = s.ring[s.head]
		s.head = (s.head + 1) % len(s.ring)
	}
	s.n -= n
	return n
}

// Wait returns a channel that receives a value when events may be queued.
func (s *Subscription) Wait() <-chan struct{} { return s.wake }

// Lost returns how many events this subscriber lost because its queue was
// full.
func (s *Subscription) Lost() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}
