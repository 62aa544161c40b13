package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet"
)

// Sources are where a scrape reads its values: the daemon fills them in.
// Every field may be nil (its metrics are then left out). The functions are
// called at scrape time only, from the scraping goroutine.
type Sources struct {
	// Table is the connection table: entries, limit and statistics.
	Table *conntrack.Table
	// EventsLost returns the conntrack events lost so far, summed over
	// subscribers (conntrack.Subscription.Lost).
	EventsLost func() uint64
	// Ports returns the datapath's ports' counters, one per worker, in
	// worker order (datapath.Port.Stats).
	Ports func() []datapath.PortStats
	// Workers returns each worker's counters (NewCounters), in worker
	// order.
	Workers func() []*Counters
	// Ruleset returns the ruleset's generation (1 for the first ruleset
	// loaded, one more per successful reload) and how many reloads were
	// refused.
	Ruleset func() (generation, reloadFailures uint64)
}

// Collector is a prometheus.Collector of hare's metrics. It reads every
// value when scraped and does no work per packet.
type Collector struct {
	src Sources
}

// NewCollector returns a collector reading src.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

// Handler returns an http.Handler serving the metrics of src, with the Go
// runtime's and the process's, in the Prometheus exposition format.
func Handler(src Sources) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(src), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// node_exporter's conntrack collector (collector/conntrack_linux.go) names,
// all gauges as it exports them, so dashboards and alerts made for it work
// unchanged. The values are hare's table's.
var (
	nodeEntries = desc("node_nf_conntrack_entries", "Number of currently allocated flow entries for connection tracking.")
	nodeLimit   = desc("node_nf_conntrack_entries_limit", "Maximum size of connection tracking table.")
	nodeStats   = []struct {
		d   *prometheus.Desc
		get func(*conntrack.Stats) uint64
	}{
		{desc("node_nf_conntrack_stat_found", "Number of searched entries which were successful."), func(s *conntrack.Stats) uint64 { return s.Found }},
		{desc("node_nf_conntrack_stat_invalid", "Number of packets seen which can not be tracked."), func(s *conntrack.Stats) uint64 { return s.Invalid }},
		{desc("node_nf_conntrack_stat_ignore", "Number of packets seen which are already connected to a conntrack entry."), func(s *conntrack.Stats) uint64 { return s.Ignore }},
		{desc("node_nf_conntrack_stat_insert", "Number of entries inserted into the list."), func(s *conntrack.Stats) uint64 { return s.Insert }},
		{desc("node_nf_conntrack_stat_insert_failed", "Number of entries for which list insertion was attempted but failed."), func(s *conntrack.Stats) uint64 { return s.InsertFailed }},
		{desc("node_nf_conntrack_stat_drop", "Number of packets dropped due to conntrack failure."), func(s *conntrack.Stats) uint64 { return s.Drop }},
		{desc("node_nf_conntrack_stat_early_drop", "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached."), func(s *conntrack.Stats) uint64 { return s.EarlyDrop }},
		{desc("node_nf_conntrack_stat_search_restart", "Number of conntrack table lookups which had to be restarted due to hashtable resizes."), func(s *conntrack.Stats) uint64 { return s.SearchRestart }},
	}
)

// hare's own conntrack metrics: the same values as true counters, and the
// ones node_exporter has no name for.
var (
	ctEntries = desc("hare_conntrack_entries", "Connections in the table.")
	ctLimit   = desc("hare_conntrack_entries_limit", "Connections the table holds at most (setting max; 0: no limit).")
	ctStats   = []struct {
		d   *prometheus.Desc
		get func(*conntrack.Stats) uint64
	}{
		{desc("hare_conntrack_found_total", "Lookups that found an entry."), func(s *conntrack.Stats) uint64 { return s.Found }},
		{desc("hare_conntrack_invalid_total", "Packets conntrack found invalid."), func(s *conntrack.Stats) uint64 { return s.Invalid }},
		{desc("hare_conntrack_ignored_total", "Packets passed without a state change (TCP ignore)."), func(s *conntrack.Stats) uint64 { return s.Ignore }},
		{desc("hare_conntrack_inserted_total", "Entries confirmed into the table."), func(s *conntrack.Stats) uint64 { return s.Insert }},
		{desc("hare_conntrack_insert_failed_total", "Confirmations refused because the reply tuple belonged to another entry."), func(s *conntrack.Stats) uint64 { return s.InsertFailed }},
		{desc("hare_conntrack_clash_resolved_total", "Confirmations that found the same connection confirmed by another worker, and joined it."), func(s *conntrack.Stats) uint64 { return s.ClashResolve }},
		{desc("hare_conntrack_table_full_drops_total", "Packets dropped because the table was full and nothing could be early-dropped."), func(s *conntrack.Stats) uint64 { return s.Drop }},
		{desc("hare_conntrack_early_drops_total", "Entries evicted to make room for new ones (early drop)."), func(s *conntrack.Stats) uint64 { return s.EarlyDrop }},
		{desc("hare_conntrack_errors_total", "ICMP errors matching no connection, and other errors."), func(s *conntrack.Stats) uint64 { return s.Error }},
		{desc("hare_conntrack_search_restarts_total", "Lookups redone after a TCP connection was reopened."), func(s *conntrack.Stats) uint64 { return s.SearchRestart }},
		{desc("hare_conntrack_expired_total", "Entries removed by their timeout."), func(s *conntrack.Stats) uint64 { return s.Expired }},
		{desc("hare_conntrack_related_total", "ICMP errors matched to a connection."), func(s *conntrack.Stats) uint64 { return s.Related }},
		{desc("hare_conntrack_untracked_total", "Packets exempt from tracking (notrack, ND, MLD)."), func(s *conntrack.Stats) uint64 { return s.Untracked }},
		{desc("hare_conntrack_new_packets_total", "Packets in state new."), func(s *conntrack.Stats) uint64 { return s.New }},
		{desc("hare_conntrack_established_packets_total", "Packets in state established."), func(s *conntrack.Stats) uint64 { return s.Established }},
	}
	ctEventsLost = desc("hare_conntrack_events_lost_total", "Conntrack events lost because a subscriber's queue was full.")
)

// Packet path, datapath and ruleset metrics.
var (
	packetsDesc     = desc("hare_packets_total", "Packets decided, by verdict.", "verdict")
	bytesDesc       = desc("hare_bytes_total", "Bytes (layer 3) of the packets decided, by verdict.", "verdict")
	dropsDesc       = desc("hare_dropped_packets_total", "Packets dropped or rejected, by reason.", "reason")
	ctInvalidDesc   = desc("hare_conntrack_invalid_packets_total", "Packets conntrack found invalid, by reason, whatever the ruleset then did.", "reason")
	undecodableDesc = desc("hare_undecodable_packets_total", "IP packets the decoder refused, by reason.", "reason")
	fragDropDesc    = desc("hare_fragments_dropped_total", "Fragments defrag refused, or held and dropped with a queue defrag discarded, by reason.", "reason")
	workerPackets   = desc("hare_worker_packets_total", "Packets each worker decided.", "worker")
	workerBatches   = desc("hare_worker_batches_total", "Batches each worker read.", "worker")

	portReceived    = desc("hare_datapath_received_packets_total", "Packets a port read.", "port")
	portKernelDrops = desc("hare_datapath_kernel_drops_total", "Packets the kernel dropped before hare saw them (a full queue or ring).", "port")
	portInjected    = desc("hare_datapath_injected_packets_total", "Packets hare sent (reject replies).", "port")
	portPassed      = desc("hare_datapath_passed_packets_total", "Frames passed without a verdict (non-IP frames a bridge passes).", "port")
	portStolen      = desc("hare_datapath_held_packets_total", "Packets a worker kept to decide later (fragments held until their datagram is whole).", "port")
	portForwarded   = desc("hare_datapath_forwarded_packets_total", "Held packets sent later (the fragments of an accepted datagram, as they came).", "port")
	portErrors      = desc("hare_datapath_errors_total", "Failed reads, verdicts or transmissions.", "port")

	rulesetGen      = desc("hare_ruleset_generation", "Generation of the ruleset in force: 1 for the first, one more per successful reload.")
	rulesetFailures = desc("hare_ruleset_reload_failures_total", "Reloads refused (the ruleset or configuration in force stayed).")
)

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{nodeEntries, nodeLimit, ctEntries, ctLimit, ctEventsLost,
		packetsDesc, bytesDesc, dropsDesc, ctInvalidDesc, undecodableDesc, fragDropDesc, workerPackets, workerBatches,
		portReceived, portKernelDrops, portInjected, portPassed, portErrors, rulesetGen, rulesetFailures} {
		ch <- d
	}
	for _, s := range nodeStats {
		ch <- s.d
	}
	for _, s := range ctStats {
		ch <- s.d
	}
}

// Collect reads the sources and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	if t := c.src.Table; t != nil {
		n := float64(t.Len())
		limit, _ := t.Settings().Get("max")
		st := t.Stats()
		gauge(nodeEntries, n)
		gauge(nodeLimit, float64(limit))
		gauge(ctEntries, n)
		gauge(ctLimit, float64(limit))
		for _, s := range nodeStats {
			gauge(s.d, float64(s.get(&st)))
		}
		for _, s := range ctStats {
			counter(s.d, s.get(&st))
		}
	}
	if f := c.src.EventsLost; f != nil {
		counter(ctEventsLost, f())
	}
	if f := c.src.Workers; f != nil {
		var sum, w WorkerStats
		for i, wc := range f() {
			wc.Snapshot(&w)
			sum.add(&w)
			id := strconv.Itoa(i)
			var pk uint64
			for _, n := range w.Packets {
				pk += n
			}
			counter(workerPackets, pk, id)
			counter(workerBatches, w.Batches, id)
		}
		for v := range NumVerdicts {
			counter(packetsDesc, sum.Packets[v], v.String())
			counter(bytesDesc, sum.Bytes[v], v.String())
		}
		for r := range NumDropReasons {
			counter(dropsDesc, sum.Drops[r], r.String())
		}
		// Reasons that never happened are left out: their label sets
		// would be dozens of zero series.
		for r, n := range sum.CTInvalid {
			if n != 0 {
				counter(ctInvalidDesc, n, CTReasonName(conntrack.Reason(r)))
			}
		}
		for r, n := range sum.Undecodable {
			if n != 0 {
				counter(undecodableDesc, n, packet.Reason(r).String())
			}
		}
		for r, n := range sum.FragDropped {
			if n != 0 {
				counter(fragDropDesc, n, defrag.Reason(r).String())
			}
		}
	}
	if f := c.src.Ports; f != nil {
		for i, p := range f() {
			id := strconv.Itoa(i)
			counter(portReceived, p.Received, id)
			counter(portKernelDrops, p.KernelDrops, id)
			counter(portInjected, p.Injected, id)
			counter(portPassed, p.Passed, id)
			counter(portStolen, p.Stolen, id)
			counter(portForwarded, p.Forwarded, id)
			counter(portErrors, p.Errors, id)
		}
	}
	if f := c.src.Ruleset; f != nil {
		gen, fails := f()
		gauge(rulesetGen, float64(gen))
		counter(rulesetFailures, fails)
	}
}
