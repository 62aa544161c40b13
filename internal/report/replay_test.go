package report_test

import (
	"bytes"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/internal/report"
	"github.com/hare-fw/hare/packet/packettest"
)

// sampleCapture returns packettest.Sample repeated n times as a pcapng file.
func sampleCapture(tb testing.TB, n int) []byte {
	tb.Helper()
	var frames []packettest.Frame
	for range n {
		frames = append(frames, packettest.Sample()...)
	}
	return writeFrames(tb, frames)
}

// TestReplayAllocsPerPacket checks that Replay's allocations do not grow
// with the number of packets: the per-capture setup may allocate, the
// per-packet loop must not.
func TestReplayAllocsPerPacket(t *testing.T) {
	allocs := func(b []byte) float64 {
		return testing.AllocsPerRun(5, func() {
			r, err := capture.NewReader(bytes.NewReader(b), "mem")
			if err != nil {
				t.Fatal(err)
			}
			s := &report.Summary{Checksums: true}
			if err := s.Replay(r, "mem", 0, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := sampleCapture(t, 1), sampleCapture(t, 50)
	a1, a50 := allocs(small), allocs(large)
	perPacket := (a50 - a1) / float64(49*len(packettest.Sample()))
	if perPacket > 0.001 {
		t.Errorf("Replay allocates %.3f times per packet (%v allocations for 1 copy of the sample, %v for 50); want 0", perPacket, a1, a50)
	}
}

func TestReplayCounts(t *testing.T) {
	b := sampleCapture(t, 3)
	r, err := capture.NewReader(bytes.NewReader(b), "mem")
	if err != nil {
		t.Fatal(err)
	}
	var s report.Summary
	var calls int
	var last int64
	if err := s.Replay(r, "mem", 7, func(off int64) { calls++; last = off }); err != nil {
		t.Fatal(err)
	}
	n := uint64(3 * len(packettest.Sample()))
	if s.Packets != n || len(s.Files) != 1 || s.Files[0].Packets != n || s.Files[0].Format != "pcapng" || s.Files[0].Err != nil {
		t.Errorf("packets %d, files %+v; want %d packets in one pcapng file without error", s.Packets, s.Files, n)
	}
	if calls < int(n)/7 || last != int64(len(b)) {
		t.Errorf("progress called %d times, last at %d; want at least %d calls, the last at %d", calls, last, n/7, len(b))
	}
}
