package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/metrics"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

var (
	cli = netip.MustParseAddr("192.0.2.10")
	srv = netip.MustParseAddr("198.51.100.20")
)

// busyTable returns a table some traffic went through: UDP flows with and
// without replies, an invalid TCP segment, and a table of max 3 that is
// full, so that found, invalid, insert, drop and early drop all count.
func busyTable(t *testing.T) *conntrack.Table {
	s := conntrack.DefaultSettings().Clone()
	if err := s.Set("max", "3"); err != nil {
		t.Fatal(err)
	}
	tab := conntrack.NewTable(s, nil)
	var p packet.Parsed
	var res conntrack.Result
	send := func(src, dst netip.Addr, l4 []byte, proto uint8, now int64) {
		p.DecodeIP(packettest.IPv4(src, dst, proto, l4))
		tab.Process(&p, 0, now, &res)
	}
	udp := func(src, dst netip.Addr, sp, dp uint16, now int64) {
		send(src, dst, packettest.UDP(src, dst, sp, dp, []byte("x")), 17, now)
	}
	udp(cli, srv, 1000, 53, 1)
	udp(srv, cli, 53, 1000, 2) // found
	for i := range 5 {
		udp(cli, srv, uint16(2000+i), 53, 3) // fill the table, then early drop unreplied ones
	}
	// A bare ACK with tcp_loose picks up; a segment with SYN+FIN is invalid.
	send(cli, srv, packettest.TCP(cli, srv, packettest.TCPHeader{SrcPort: 5, DstPort: 80, Flags: packet.TCPSyn | packet.TCPFin}, nil), 6, 4)
	return tab
}

// scrape serves src's metrics over HTTP and parses them with the
// Prometheus text parser.
func scrape(t *testing.T, src metrics.Sources) map[string]*dto.MetricFamily {
	t.Helper()
	ts := httptest.NewServer(metrics.Handler(src))
	defer ts.Close()
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value returns the value of the series of family name whose labels are
// the given name/value pairs, checking the family's type.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, typ dto.MetricType, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	if f.GetType() != typ {
		t.Fatalf("%s is a %v, want a %v", name, f.GetType(), typ)
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		for i, l := range m.GetLabel() {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				continue next
			}
		}
		if typ == dto.MetricType_COUNTER {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// TestScrapeConntrack: node_exporter's names are gauges with the table's
// values, hare's own conntrack metrics counters with the same.
func TestScrapeConntrack(t *testing.T) {
	tab := busyTable(t)
	st := tab.Stats()
	if st.Found == 0 || st.Invalid == 0 || st.Insert == 0 || st.EarlyDrop == 0 {
		t.Fatalf("the test traffic did not move the counters: %+v", st)
	}
	fams := scrape(t, metrics.Sources{Table: tab, EventsLost: func() uint64 { return 7 }})
	G, C := dto.MetricType_GAUGE, dto.MetricType_COUNTER
	for name, want := range map[string]uint64{
		"node_nf_conntrack_entries":             uint64(tab.Len()),
		"node_nf_conntrack_entries_limit":       3,
		"node_nf_conntrack_stat_found":          st.Found,
		"node_nf_conntrack_stat_invalid":        st.Invalid,
		"node_nf_conntrack_stat_ignore":         st.Ignore,
		"node_nf_conntrack_stat_insert":         st.Insert,
		"node_nf_conntrack_stat_insert_failed":  st.InsertFailed,
		"node_nf_conntrack_stat_drop":           st.Drop,
		"node_nf_conntrack_stat_early_drop":     st.EarlyDrop,
		"node_nf_conntrack_stat_search_restart": st.SearchRestart,
		"hare_conntrack_entries":                uint64(tab.Len()),
		"hare_conntrack_entries_limit":          3,
	} {
		if got := value(t, fams, name, G); got != float64(want) {
			t.Errorf("%s = %v, want %d", name, got, want)
		}
	}
	for name, want := range map[string]uint64{
		"hare_conntrack_found_total":               st.Found,
		"hare_conntrack_invalid_total":             st.Invalid,
		"hare_conntrack_ignored_total":             st.Ignore,
		"hare_conntrack_inserted_total":            st.Insert,
		"hare_conntrack_insert_failed_total":       st.InsertFailed,
		"hare_conntrack_clash_resolved_total":      st.ClashResolve,
		"hare_conntrack_table_full_drops_total":    st.Drop,
		"hare_conntrack_early_drops_total":         st.EarlyDrop,
		"hare_conntrack_errors_total":              st.Error,
		"hare_conntrack_search_restarts_total":     st.SearchRestart,
		"hare_conntrack_expired_total":             st.Expired,
		"hare_conntrack_related_total":             st.Related,
		"hare_conntrack_untracked_total":           st.Untracked,
		"hare_conntrack_new_packets_total":         st.New,
		"hare_conntrack_established_packets_total": st.Established,
		"hare_conntrack_events_lost_total":         7,
	} {
		if got := value(t, fams, name, C); got != float64(want) {
			t.Errorf("%s = %v, want %d", name, got, want)
		}
	}
	// Sources left nil leave their metrics out.
	for _, name := range []string{"hare_packets_total", "hare_datapath_kernel_drops_total", "hare_ruleset_generation"} {
		if _, ok := fams[name]; ok {
			t.Errorf("%s exported without its source", name)
		}
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// TestScrapeWorkersPortsRuleset: the per-worker counters are summed by
// verdict and reason, kept apart per worker for the load, and the ports'
// and ruleset's values come through. The expected numbers are tallied here
// independently of Counters.
func TestScrapeWorkersPortsRuleset(t *testing.T) {
	ws := []*metrics.Counters{metrics.NewCounters(), metrics.NewCounters()}
	var res engine.Result
	type tally struct{ packets, bytes map[string]float64 }
	want := tally{map[string]float64{}, map[string]float64{}}
	drops := map[string]float64{}
	decide := func(w int, v engine.Verdict, by engine.Decider, ctState conntrack.State, why conntrack.Reason, n int) {
		res.Verdict, res.By, res.CT.State, res.CT.Reason = v, by, ctState, why
		ws[w].Decided(&res, n)
		name := v.String()
		want.packets[name]++
		want.bytes[name] += float64(n)
		switch {
		case v == engine.Reject:
			drops["reject"]++
		case v == engine.Drop && by == engine.DecidedPolicy:
			drops["policy"]++
		case v == engine.Drop && by == engine.DecidedConntrack:
			drops["table_full"]++
		case v == engine.Drop:
			drops["rule"]++
		}
	}
	for range 10 {
		decide(0, engine.Accept, engine.DecidedRule, conntrack.StateEstablished, 0, 100)
	}
	decide(1, engine.Accept, engine.DecidedNone, conntrack.StateNew, 0, 60)
	decide(1, engine.Drop, engine.DecidedRule, conntrack.StateInvalid, conntrack.ReasonTCPSeqOver, 40)
	decide(1, engine.Drop, engine.DecidedRule, conntrack.StateInvalid, conntrack.ReasonTCPSeqOver, 40)
	decide(0, engine.Drop, engine.DecidedPolicy, conntrack.StateNew, 0, 52)
	decide(0, engine.Reject, engine.DecidedRule, conntrack.StateNew, 0, 60)
	decide(1, engine.Drop, engine.DecidedConntrack, conntrack.StateInvalid, conntrack.ReasonTableFull, 80)
	ws[1].Packet(metrics.VerdictDrop, 20)
	ws[1].Drop(metrics.DropUndecodable)
	ws[1].Undecodable(packet.ReasonBadIPv4Checksum)
	ws[0].Packet(metrics.VerdictDrop, 28)
	ws[0].Drop(metrics.DropFragment)
	ws[0].FragmentDropped(defrag.ReasonOverlap)
	want.packets["drop"] += 2
	want.bytes["drop"] += 48
	drops["undecodable"]++
	drops["fragment"]++
	for _, w := range ws {
		w.Batch()
	}
	ws[0].Batch()
	// Counted but not yet published: a scrape must not see it.
	ws[0].Publish()
	ws[1].Publish()
	ws[1].Packet(metrics.VerdictAccept, 1000)

	ports := []datapath.PortStats{{Received: 15, KernelDrops: 3, Injected: 1, Errors: 2}, {Received: 6, Passed: 4}}
	fams := scrape(t, metrics.Sources{
		Workers: func() []*metrics.Counters { return ws },
		Ports:   func() []datapath.PortStats { return ports },
		Ruleset: func() (uint64, uint64) { return 4, 2 },
	})
	C, G := dto.MetricType_COUNTER, dto.MetricType_GAUGE
	for _, v := range []string{"accept", "drop", "reject"} {
		if got := value(t, fams, "hare_packets_total", C, "verdict", v); got != want.packets[v] {
			t.Errorf("hare_packets_total{verdict=%q} = %v, want %v", v, got, want.packets[v])
		}
		if got := value(t, fams, "hare_bytes_total", C, "verdict", v); got != want.bytes[v] {
			t.Errorf("hare_bytes_total{verdict=%q} = %v, want %v", v, got, want.bytes[v])
		}
	}
	for _, r := range []string{"rule", "reject", "policy", "table_full", "no_route", "undecodable", "fragment", "not_ip"} {
		if got := value(t, fams, "hare_dropped_packets_total", C, "reason", r); got != drops[r] {
			t.Errorf("hare_dropped_packets_total{reason=%q} = %v, want %v", r, got, drops[r])
		}
	}
	for labels, want := range map[[2]string]float64{
		{"hare_conntrack_invalid_packets_total", "tcp_seq_over"}:                  2,
		{"hare_conntrack_invalid_packets_total", "table_full"}:                    1,
		{"hare_undecodable_packets_total", packet.ReasonBadIPv4Checksum.String()}: 1,
		{"hare_fragments_dropped_total", defrag.ReasonOverlap.String()}:           1,
	} {
		if got := value(t, fams, labels[0], C, "reason", labels[1]); got != want {
			t.Errorf("%s{reason=%q} = %v, want %v", labels[0], labels[1], got, want)
		}
	}
	if n := len(fams["hare_conntrack_invalid_packets_total"].GetMetric()); n != 2 {
		t.Errorf("%d invalid reasons exported, want the 2 that happened", n)
	}
	for w, want := range []float64{13, 5} {
		if got := value(t, fams, "hare_worker_packets_total", C, "worker", string(rune('0'+w))); got != want {
			t.Errorf("worker %d: %v packets, want %v", w, got, want)
		}
	}
	if got := value(t, fams, "hare_worker_batches_total", C, "worker", "0"); got != 2 {
		t.Errorf("worker 0: %v batches, want 2", got)
	}
	for name, want := range map[string][2]float64{
		"hare_datapath_received_packets_total": {15, 6},
		"hare_datapath_kernel_drops_total":     {3, 0},
		"hare_datapath_injected_packets_total": {1, 0},
		"hare_datapath_passed_packets_total":   {0, 4},
		"hare_datapath_errors_total":           {2, 0},
	} {
		for port, w := range want {
			if got := value(t, fams, name, C, "port", string(rune('0'+port))); got != w {
				t.Errorf("%s{port=%d} = %v, want %v", name, port, got, w)
			}
		}
	}
	if got := value(t, fams, "hare_ruleset_generation", G); got != 4 {
		t.Errorf("generation %v", got)
	}
	if got := value(t, fams, "hare_ruleset_reload_failures_total", C); got != 2 {
		t.Errorf("reload failures %v", got)
	}
}
