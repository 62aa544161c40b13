package daemon

import (
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/metrics"
)

// TestWorkerNoAllocs: the worker loop (Read, decode, defrag, engine with
// conntrack, reject replies, Done) allocates nothing per batch once the
// connection table and the interface names are warm.
func TestWorkerNoAllocs(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "testdata", "pcaps")
	for _, tc := range []struct{ rules, capture string }{
		{"strict_host", "mixed_wikipedia_http-dns-mdns_ipv4-ipv6.pcap"},
		{"reject", "tcp_handshake-reordered-synack-first.pcap"},
		{"sets_vmaps", "ipv4_frag_icmp-echo.pcap"},
		{"rate_limits", "icmpv6_echo.pcap"},
	} {
		t.Run(tc.rules, func(t *testing.T) {
			cp := filepath.Join(dir, tc.capture)
			if !fileExists(cp) {
				t.Skipf("skipping: %s not found", cp)
			}
			c := DefaultConfig()
			c.Ruleset.File = filepath.Join("..", "testdata", "rules-oracle", tc.rules+".nft")
			d, err := New(c, Options{LogOutput: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			pkts, times := readCapture(t, cp)
			port := newMemPort(pkts, times, 32)
			port.loop = true
			var pols = newPolicy(c)
			w := newWorker(port, workerConfig{eng: d.Engine(), now: port.clock.Load, batch: 32,
				defrag: defrag.ConfigFrom(c.Conntrack), ifDev: testDev("kor0"), pol: pols})
			for range 2 * (len(pkts)/32 + 1) {
				if err := w.step(); err != nil {
					t.Fatal(err)
				}
			}
			if a := testing.AllocsPerRun(200, func() { w.step() }); a != 0 {
				t.Errorf("%.1f allocations per batch, want 0", a)
			}
			if tc.rules == "reject" && w.Extras().Injected == 0 {
				t.Error("no reject reply was built: the reject path went untested")
			}
			var ms metrics.WorkerStats
			w.Counters().Snapshot(&ms)
			var packets, drops uint64
			for v := range ms.Packets {
				packets += ms.Packets[v]
			}
			for r := range ms.Drops {
				drops += ms.Drops[r]
			}
			// Every packet has a verdict, every drop a reason.
			if packets == 0 || drops != ms.Packets[metrics.VerdictDrop]+ms.Packets[metrics.VerdictReject] {
				t.Errorf("counters: %+v", ms)
			}
		})
	}
}

func newPolicy(c *Config) *atomic.Pointer[policy] {
	p := new(atomic.Pointer[policy])
	p.Store(policyOf(c))
	return p
}

// BenchmarkWorker is the worker loop's cost per packet (decode, defrag,
// conntrack, the ruleset, verdicts) over a real mixed capture replayed in
// a loop through a memPort, in batches of 64: packets per second per
// worker, without the datapath's own cost.
//
//	go test ./daemon -run '^$' -bench Worker -benchtime 1s
func BenchmarkWorker(b *testing.B) {
	cp := filepath.Join("..", "..", "shared", "testdata", "pcaps", "mixed_wikipedia_http-dns-mdns_ipv4-ipv6.pcap")
	if !fileExists(cp) {
		b.Skipf("skipping: %s not found", cp)
	}
	for _, rules := range []string{"strict_host", "sets_vmaps"} {
		b.Run(rules, func(b *testing.B) {
			c := DefaultConfig()
			c.Ruleset.File = filepath.Join("..", "testdata", "rules-oracle", rules+".nft")
			d, err := New(c, Options{LogOutput: io.Discard})
			if err != nil {
				b.Fatal(err)
			}
			pkts, times := readCapture(b, cp)
			port := newMemPort(pkts, times, 64)
			port.loop = true
			w := newWorker(port, workerConfig{eng: d.Engine(), now: port.clock.Load, batch: 64,
				defrag: defrag.ConfigFrom(c.Conntrack), ifDev: testDev("kor0"), pol: newPolicy(c)})
			b.ReportAllocs()
			b.ResetTimer()
			var n uint64
			for b.Loop() {
				w.step()
			}
			var ms metrics.WorkerStats
			w.Counters().Snapshot(&ms)
			n = ms.Packets[0] + ms.Packets[1] + ms.Packets[2]
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pkts/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/pkt")
		})
	}
}
