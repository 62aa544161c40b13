package nfqueue

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hare-fw/hare/datapath"
)

// TestReopenNoGap: between two fail-closed hares nothing passes, also
// while the second one replaces the rules the first kept. c sends a
// datagram through f to s every millisecond from before the first hare
// closes until after the second has opened; the second hare decides
// nothing (no worker reads its queue), so any datagram s receives went
// through a moment in which the hooks did not queue.
func TestReopenNoGap(t *testing.T) {
	tp := newTopo(t)
	c := Config{Queues: "5", Hooks: []datapath.Hook{datapath.HookForward}, InstallRules: true, Notrack: true, KeepRules: true}
	d := tp.openIn(t, tp.f, c)
	srv := tp.udpServer(t, tp.s, "10.77.2.1:8200")
	var conn net.Conn
	tp.inNS(t, tp.c, func() {
		var err error
		if conn, err = net.Dial("udp", "10.77.2.1:8200"); err != nil {
			t.Error(err)
		}
	})
	if conn == nil {
		t.FailNow()
	}
	defer conn.Close()
	var stop atomic.Bool
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			if _, err := conn.Write([]byte("x")); err == nil {
				sent.Add(1)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	tp.inNS(t, tp.f, func() { d.Close() })
	d2 := tp.openIn(t, tp.f, c)
	// The second hare's queue has no reader, so what is sent now is held
	// too: keep sending until at least 10 went, however little of the
	// swap a loaded machine let the sender see (a count of sends, not a
	// span of time, makes the test).
	waitFor(func() bool { return sent.Load() >= 10 })
	stop.Store(true)
	<-done
	defer tp.inNS(t, tp.f, func() { d2.Close() })
	// What was sent last may still be on its way (a bound, not a
	// measurement).
	time.Sleep(200 * time.Millisecond)
	if got := srv.received(); len(got) != 0 || sent.Load() < 10 {
		t.Errorf("%d of %d datagrams passed while the rules were replaced (want 0 of at least 10)", len(got), sent.Load())
	}
}
