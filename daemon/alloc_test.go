package daemon

import (
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
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
				defrag: defragConfig(c.Conntrack), ifName: func(int) (string, bool) { return "kor0", true }, pol: pols})
			for range 2 * (len(pkts)/32 + 1) {
				if err := w.step(); err != nil {
					t.Fatal(err)
				}
			}
			if a := testing.AllocsPerRun(200, func() { w.step() }); a != 0 {
				t.Errorf("%.1f allocations per batch, want 0", a)
			}
			if tc.rules == "reject" && w.Stats.Injected.Load() == 0 {
				t.Error("no reject reply was built: the reject path went untested")
			}
			if w.Stats.Packets.Load() == 0 || w.Stats.Accepted.Load()+w.Stats.Dropped.Load() != w.Stats.Packets.Load() {
				t.Errorf("counters: %d packets, %d accepted, %d dropped", w.Stats.Packets.Load(), w.Stats.Accepted.Load(), w.Stats.Dropped.Load())
			}
		})
	}
}

func newPolicy(c *Config) *atomic.Pointer[policy] {
	p := new(atomic.Pointer[policy])
	p.Store(policyOf(c))
	return p
}
