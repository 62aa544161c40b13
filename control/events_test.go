package control

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	pt "github.com/hare-fw/hare/packet/packettest"
)

// follow opens an event stream and returns its records as they come.
func (r *rig) follow(ctx context.Context, f Filter, o EventOptions) <-chan Record {
	ch := make(chan Record, 1024)
	ready := make(chan struct{})
	o.Ready = func() { close(ready) }
	go func() {
		defer close(ch)
		r.c.Events(ctx, &f, o, func(rec Record) error { ch <- rec; return nil })
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		r.t.Fatal("event stream did not open")
	}
	return ch
}

func next(t *testing.T, ch <-chan Record) Record {
	t.Helper()
	select {
	case rec, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return rec
	case <-time.After(10 * time.Second):
		t.Fatal("no record")
	}
	return Record{}
}

func TestEvents(t *testing.T) {
	r := newRig(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, _ := ParseFilter(url.Values{"proto": {"1"}})
	all := r.follow(ctx, Filter{}, EventOptions{TextOptions: TextOptions{Extended: true}})
	icmp := r.follow(ctx, f, EventOptions{Types: "DESTROY", TextOptions: TextOptions{JSON: true}})
	r.flows()
	var types []string
	for i := 0; i < 9; i++ {
		rec := next(t, all)
		types = append(types, strings.Fields(rec.Line)[0])
		if rec.Lost != 0 {
			t.Fatalf("lost %d", rec.Lost)
		}
	}
	// tcp4: NEW, UPDATE (SYN_RECV), UPDATE (ESTABLISHED); udp6: NEW;
	// icmp4: NEW, UPDATE (reply); tcp6 as tcp4
	want := "[NEW] [UPDATE] [UPDATE] [NEW] [NEW] [UPDATE] [NEW] [UPDATE] [UPDATE]"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events %s, want %s", got, want)
	}
	r.srv.b.Table.Flush(r.now)
	rec := next(t, icmp)
	if rec.Event == nil || rec.Event.Event != "DESTROY" || rec.Event.CT.Proto != "icmp" {
		t.Fatalf("icmp destroy: %+v", rec)
	}
}

// TestEventsLost: a stream that cannot keep up says how many it lost.
func TestEventsLost(t *testing.T) {
	r := newRig(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A queue of one, and 50 events made faster than the stream
	// drains: it must report what it lost, and lose nothing silently.
	ch := r.follow(ctx, Filter{}, EventOptions{Queue: 1})
	for i := 0; i < 50; i++ {
		r.packet(pt.IPv4(c4, s4, 17, pt.UDP(c4, s4, uint16(1000+i), 53, nil)))
	}
	var lost, got uint64
	for got+lost < 50 {
		rec := next(t, ch)
		lost += rec.Lost
		if rec.Line != "" {
			got++
		}
	}
	if lost == 0 {
		t.Errorf("no loss reported with a queue of 1 (%d received)", got)
	}
}

func TestTraceStream(t *testing.T) {
	r := newRig(t, "")
	if r.trace.Active() {
		t.Fatal("active without a stream")
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan Record, 16)
	ready := make(chan struct{})
	go func() {
		r.c.Trace(ctx, func() { close(ready) }, func(rec Record) error { ch <- rec; return nil })
		close(ch)
	}()
	<-ready
	if !r.trace.Active() {
		t.Fatal("not active with a stream")
	}
	r.trace.Publish([]byte("trace id 1 ip t c packet: iif \"lo\"\ntrace id 1 ip t c policy accept \n"))
	rec := next(t, ch)
	if rec.Line != "trace id 1 ip t c packet: iif \"lo\"\ntrace id 1 ip t c policy accept \n" {
		t.Fatalf("%+v", rec)
	}
	cancel()
	for range ch {
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.trace.Active() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if r.trace.Active() {
		t.Fatal("still active after the stream closed")
	}
}

// TestEventsQueueBound: a queue the daemon could not allocate (or a bad
// one) is refused with 400 before anything is subscribed.
func TestEventsQueueBound(t *testing.T) {
	r := newRig(t, "")
	for _, n := range []int{maxEventQueue + 1, 1 << 40} {
		err := r.c.Events(context.Background(), &Filter{}, EventOptions{Queue: n}, func(Record) error { return nil })
		var ce *Error
		if !errors.As(err, &ce) || ce.Status != 400 {
			t.Errorf("queue=%d: %v, want a 400", n, err)
		}
	}
}
