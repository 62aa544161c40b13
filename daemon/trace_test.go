package daemon

import (
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hare-fw/hare/control"
)

// TestTraceMatchesReplay: the trace stream of the control API (hare nft
// monitor trace) carries, for a capture fed through a daemon, the lines
// `hare replay --trace` prints for it (which cmd/hare's trace tests check
// against the kernel's own nft monitor trace): same packets, same lines,
// same ids (both number the judged datagrams from 1; the daemon puts the
// worker's number in the top byte, 0 here).
func TestTraceMatchesReplay(t *testing.T) {
	bin := hareBinary(t)
	rules := filepath.Join("..", "testdata", "rules-oracle", "trace.nft")
	dir := filepath.Join("..", "..", "shared", "testdata", "pcaps")
	total := 0
	for _, name := range []string{"tcp_handshake-reordered-synack-first.pcap", "icmpv6_echo.pcap", "udp_dns_query-response.pcap",
		"mixed_wikipedia_http-dns-mdns_ipv4-ipv6.pcap", "icmpv6_nd-ns-na-ra-mldv2.pcap"} {
		cp := filepath.Join(dir, name)
		if !fileExists(cp) {
			t.Skipf("skipping: %s not found", cp)
		}
		out, err := exec.Command(bin, "replay", "--trace", "--rules", rules, cp).Output()
		if err != nil {
			t.Fatalf("hare replay: %v", err)
		}
		var want []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "trace id ") {
				want = append(want, l)
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s: the replay traced nothing: the test would prove nothing", name)
		}
		got := liveTrace(t, rules, cp, len(want))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: trace stream differs from hare replay --trace\n--- live\n%s\n--- replay\n%s",
				name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		total += len(want)
	}
	t.Logf("%d trace lines agree", total)
}

// liveTrace feeds the capture through a daemon while following its trace
// stream and returns the lines, once n have come (or the stream went
// quiet for long).
func liveTrace(t *testing.T, rules, cp string, n int) []string {
	c := DefaultConfig()
	c.Ruleset.File = rules
	c.Control.Socket = filepath.Join(t.TempDir(), "control.sock")
	pkts, times := readCapture(t, cp)
	port := newMemPort(pkts, times, 1)
	port.gate = make(chan struct{})
	dp := &memDatapath{ports: []*memPort{port}}
	d, err := New(c, Options{Open: dp.opener(), LogOutput: io.Discard,
		IfName: func(int) (string, bool) { return "kor0", true }, Now: port.clock.Load})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var lines []string
	enough := make(chan struct{})
	go control.NewClient(c.Control.Socket).Trace(ctx, func() { close(port.gate) }, func(r control.Record) error {
		if r.Lost != 0 {
			t.Errorf("%d trace records lost", r.Lost)
		}
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, strings.Split(strings.TrimSuffix(r.Line, "\n"), "\n")...)
		if len(lines) >= n {
			select {
			case <-enough:
			default:
				close(enough)
			}
		}
		return nil
	})
	<-port.drained
	select {
	case <-enough:
	case <-time.After(10 * time.Second): // a deadline for a missing line, not a measurement
	}
	cancel()
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), lines...)
}
