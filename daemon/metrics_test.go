package daemon

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMetricsEndpoint scrapes [metrics] listen after a capture went
// through the daemon: the packets by verdict are the replay's verdicts
// (hare replay --rules, as in TestWorkerMatchesReplay; held fragments are
// accepted live), and node_exporter's conntrack gauges are the table's.
func TestMetricsEndpoint(t *testing.T) {
	rules := filepath.Join("..", "testdata", "rules-oracle", "strict_host.nft")
	cp := filepath.Join("..", "..", "shared", "testdata", "pcaps", "mixed_wikipedia_http-dns-mdns_ipv4-ipv6.pcap")
	if !fileExists(cp) {
		t.Skipf("skipping: %s not found", cp)
	}
	verdicts, _, _ := replay(t, rules, cp)
	want := map[string]uint64{}
	for _, v := range verdicts {
		if v == "held" {
			v = "accept"
		}
		want[v]++
	}
	if len(want) < 2 {
		t.Fatalf("replay verdicts %v: the test needs two kinds at least", want)
	}

	c := DefaultConfig()
	c.Ruleset.File = rules
	c.Control.Socket = ""
	c.Metrics.Listen = "127.0.0.1:0"
	pkts, times := readCapture(t, cp)
	port := newMemPort(pkts, times, 1)
	dp := &memDatapath{ports: []*memPort{port}}
	d, err := New(c, Options{Open: dp.opener(), LogOutput: io.Discard,
		IfName: func(int) (string, bool) { return "kor0", true }, Now: port.clock.Load})
	if err != nil {
		t.Fatal(err)
	}
	// A subscriber that never reads, with room for one event: it loses
	// the others.
	sub := d.Events().Subscribe(1)
	defer sub.Close()
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	<-port.drained
	resp, err := http.Get("http://" + d.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if k, v, ok := strings.Cut(l, " "); ok && !strings.HasPrefix(l, "#") {
			got[k] = v
		}
	}
	for v, n := range want {
		key := `hare_packets_total{verdict="` + v + `"}`
		if got[key] != strconv.FormatUint(n, 10) {
			t.Errorf("%s = %q, the replay has %d", key, got[key], n)
		}
	}
	if e := got["node_nf_conntrack_entries"]; e != strconv.Itoa(d.Table().Len()) {
		t.Errorf("node_nf_conntrack_entries = %q, the table has %d", e, d.Table().Len())
	}
	if l := got["hare_conntrack_events_lost_total"]; sub.Lost() == 0 || l != strconv.FormatUint(sub.Lost(), 10) {
		t.Errorf("hare_conntrack_events_lost_total = %q, the one-event subscriber lost %d", l, sub.Lost())
	}
	if l := got["node_nf_conntrack_entries_limit"]; l != "262144" {
		t.Errorf("node_nf_conntrack_entries_limit = %q, want 262144 (max)", l)
	}
}

// TestStartFailure: an endpoint that cannot listen fails Start with the
// reason, closes the datapath it opened (removing its kernel rules), and
// leaves a daemon that Stop handles.
func TestStartFailure(t *testing.T) {
	c := DefaultConfig()
	c.Ruleset.File = filepath.Join("..", "testdata", "rules-oracle", "strict_host.nft")
	c.Control.Socket = filepath.Join(t.TempDir(), "control.sock")
	c.Metrics.Listen = "256.0.0.1:1"
	dp := &memDatapath{ports: []*memPort{newMemPort(nil, nil, 1)}}
	d, err := New(c, Options{Open: dp.opener(), LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err == nil || !strings.Contains(err.Error(), "metrics endpoint") {
		t.Fatalf("Start: %v, want a metrics endpoint error", err)
	}
	if !dp.closed {
		t.Error("the datapath was left open")
	}
	if _, err := os.Stat(c.Control.Socket); err == nil {
		t.Error("the control socket was left behind")
	}
	if err := d.Stop(); err != nil {
		t.Errorf("Stop after a failed Start: %v", err)
	}
}
