package capture_test

import (
	"io"
	"testing"

	"github.com/hare-fw/hare/capture"
)

// loopReader serves head once, then body over and over: an endless capture
// file in memory, so that allocation tests and benchmarks never hit EOF.
// body must hold whole records.
type loopReader struct {
	head, body []byte
	pos        int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if len(l.head) > 0 {
		n := copy(p, l.head)
		l.head = l.head[n:]
		return n, nil
	}
	n := copy(p, l.body[l.pos:])
	l.pos = (l.pos + n) % len(l.body)
	return n, nil
}

// endless returns a Reader of an endless file: head, then body repeated.
func endless(tb testing.TB, head, body []byte) *capture.Reader {
	tb.Helper()
	r, err := capture.NewReader(&loopReader{head: head, body: body}, "endless")
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// mixedSizes are the captured lengths of the looped records: minimum
// frames, MTU-sized ones and one jumbo frame, in the proportions of a mixed
// trace.
var mixedSizes = []int{60, 60, 66, 1514, 60, 1514, 1514, 590, 9014, 74, 1514, 60}

func loopPcap() (head, body []byte) {
	head = pcapHeader(le, false, 65535, 1)
	for i, n := range mixedSizes {
		body = append(body, pcapRecord(le, uint32(i), 0, seq(byte(i), n), uint32(n))...)
	}
	return head, body
}

func loopPcapng() (head, body []byte) {
	head = cat(ngSHB(le), ngIDB(le, 1, 0), ngIDB(le, 101, 0, ngOpt(le, 9, []byte{9}), ngEnd(le)))
	for i, n := range mixedSizes {
		body = append(body, ngEPB(le, uint32(i%2), uint64(i), seq(byte(i), n), uint32(n))...)
	}
	body = append(body, ngBlock(le, 5, make([]byte, 12))...) // an ISB to skip
	return head, body
}

func TestNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping allocation counts in short mode")
	}
	readers := []struct {
		name string
		src  func() ([]byte, []byte)
	}{
		{"ReadBatch/pcap", loopPcap},
		{"ReadBatch/pcapng", loopPcapng},
	}
	for _, tt := range readers {
		t.Run(tt.name, func(t *testing.T) {
			head, body := tt.src()
			r := endless(t, head, body)
			pkts := make([]capture.Packet, 64)
			// Warm up: the arena grows to its steady size.
			for range 8 {
				if _, err := r.ReadBatch(pkts); err != nil {
					t.Fatal(err)
				}
			}
			if n := testing.AllocsPerRun(100, func() {
				if _, err := r.ReadBatch(pkts); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("%v allocations per ReadBatch, want 0", n)
			}
		})
	}
	t.Run("WritePacket", func(t *testing.T) {
		w, err := capture.NewWriter(io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.AddInterface(1, 0, "eth0"); err != nil {
			t.Fatal(err)
		}
		data := seq(0, 1514)
		if n := testing.AllocsPerRun(100, func() {
			if err := w.WritePacket(0, 1, data, len(data)); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%v allocations per WritePacket, want 0", n)
		}
	})
}

// sinkN keeps the benchmark's packet count alive, so the compiler cannot
// drop the loop.
var sinkN int

func BenchmarkReadBatch(b *testing.B) {
	for _, bb := range []struct {
		name string
		src  func() ([]byte, []byte)
	}{
		{"pcap", loopPcap},
		{"pcapng", loopPcapng},
	} {
		b.Run(bb.name, func(b *testing.B) {
			head, body := bb.src()
			r := endless(b, head, body)
			pkts := make([]capture.Packet, 64)
			// Bytes per batch: the body holds len(mixedSizes) packets.
			b.SetBytes(int64(len(body) * len(pkts) / len(mixedSizes)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				n, err := r.ReadBatch(pkts)
				if err != nil {
					b.Fatal(err)
				}
				sinkN += n
			}
		})
	}
}
