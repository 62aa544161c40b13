package metrics

import (
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
)

// fillRandom sets every counter of s to a random value, through
// reflection, so that a field Publish or Snapshot forgets shows.
func fillRandom(rng *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillRandom(rng, v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			fillRandom(rng, v.Index(i))
		}
	case reflect.Uint64:
		v.SetUint(rng.Uint64())
	default:
		panic("WorkerStats holds a " + v.Kind().String() + ": Publish and Snapshot handle uint64 counters only")
	}
}

// TestPublishSnapshotEveryField: Snapshot returns exactly what the worker
// counted, every field, as of the last Publish, and sum adds every field.
func TestPublishSnapshotEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := NewCounters()
	fillRandom(rng, reflect.ValueOf(&c.local).Elem())
	want := c.local
	var got WorkerStats
	c.Snapshot(&got)
	if got != (WorkerStats{}) {
		t.Fatal("Snapshot saw counts before Publish")
	}
	c.Publish()
	c.Snapshot(&got)
	if got != want {
		t.Fatalf("Snapshot after Publish:\n got %+v\nwant %+v", got, want)
	}
	var sum WorkerStats
	sum.add(&got)
	sum.add(&got)
	a, b := reflect.ValueOf(sum), reflect.ValueOf(got)
	var walk func(a, b reflect.Value)
	walk = func(a, b reflect.Value) {
		switch a.Kind() {
		case reflect.Struct:
			for i := range a.NumField() {
				walk(a.Field(i), b.Field(i))
			}
		case reflect.Array:
			for i := range a.Len() {
				walk(a.Index(i), b.Index(i))
			}
		default:
			if a.Uint() != 2*b.Uint() {
				t.Fatalf("add missed a field: %d, want %d", a.Uint(), 2*b.Uint())
			}
		}
	}
	walk(a, b)
}

// TestCountersConcurrent runs a worker that counts and publishes while
// another goroutine snapshots (run it with -race): snapshots only grow, and
// the last one has every packet.
func TestCountersConcurrent(t *testing.T) {
	c := NewCounters()
	var res engine.Result
	res.Verdict = engine.Accept
	const batches, per = 200, 64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range batches {
			for range per {
				c.Decided(&res, 100)
			}
			c.Batch()
			c.Publish()
		}
	}()
	var last uint64
	for {
		var s WorkerStats
		c.Snapshot(&s)
		if s.Packets[VerdictAccept] < last {
			t.Fatalf("the count went back from %d to %d", last, s.Packets[VerdictAccept])
		}
		last = s.Packets[VerdictAccept]
		if s.Batches == batches {
			if last != batches*per || s.Bytes[VerdictAccept] != 100*batches*per {
				t.Fatalf("final snapshot %d packets %d bytes", last, s.Bytes[VerdictAccept])
			}
			break
		}
	}
	wg.Wait()
}

// TestCountersAllocate nothing per packet or per batch.
func TestCountersAllocate(t *testing.T) {
	c := NewCounters()
	var res engine.Result
	res.Verdict, res.By = engine.Drop, engine.DecidedRule
	res.CT.State, res.CT.Reason = conntrack.StateInvalid, conntrack.ReasonTCPSeqOver
	if n := testing.AllocsPerRun(1000, func() {
		c.Decided(&res, 1500)
		c.Packet(VerdictDrop, 40)
		c.Drop(DropNotIP)
		c.Batch()
		c.Publish()
	}); n != 0 {
		t.Fatalf("%v allocations per packet and batch", n)
	}
}

// TestReasonNames: every conntrack reason has a distinct label value.
func TestReasonNames(t *testing.T) {
	seen := map[string]conntrack.Reason{}
	for r := range conntrack.Reason(conntrack.NumReasons) {
		n := CTReasonName(r)
		if n == "" {
			t.Errorf("reason %d (%v) has no label value", r, r)
		}
		if o, dup := seen[n]; dup {
			t.Errorf("reasons %v and %v share the label %q", o, r, n)
		}
		seen[n] = r
	}
}

// BenchmarkDecided is the per-packet cost of counting (Counters.Decided);
// BenchmarkPublish the per-batch cost.
func BenchmarkDecided(b *testing.B) {
	c := NewCounters()
	var res engine.Result
	res.Verdict = engine.Accept
	b.ReportAllocs()
	for b.Loop() {
		c.Decided(&res, 1500)
	}
}

func BenchmarkPublish(b *testing.B) {
	c := NewCounters()
	var res engine.Result
	res.Verdict = engine.Accept
	b.ReportAllocs()
	for b.Loop() {
		c.Decided(&res, 1500)
		c.Publish()
	}
}

// TestNamesOutOfRange: a verdict or reason past the known ones has a
// label instead of panicking.
func TestNamesOutOfRange(t *testing.T) {
	if got := Verdict(NumVerdicts).String(); got != "unknown" {
		t.Errorf("Verdict(%d) = %q", NumVerdicts, got)
	}
	if got := DropReason(255).String(); got != "unknown" {
		t.Errorf("DropReason(255) = %q", got)
	}
	if VerdictReject.String() != "reject" || DropNotIP.String() != "not_ip" {
		t.Errorf("known names changed: %s %s", VerdictReject, DropNotIP)
	}
}
