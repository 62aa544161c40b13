// Package metrics exposes hare's counters to Prometheus: node_exporter's
// conntrack metric names (node_nf_conntrack_entries,
// node_nf_conntrack_entries_limit, node_nf_conntrack_stat_*, gauges as
// node_exporter exports them), so existing dashboards and alerts work, and
// hare's own hare_* metrics: the conntrack statistics as true counters,
// packets and bytes by verdict, drops and invalid packets by reason, events
// lost, the datapath's kernel drops, per-worker load, and the ruleset's
// generation and refused reloads.
//
// A Collector reads every value when it is scraped (Sources); nothing is
// done per packet but the workers' own counting, into a Counters each: plain
// increments on memory no other worker writes, published once per batch.
//
// Wiring, in the daemon:
//
//	counters := make([]*metrics.Counters, nworkers) // one per worker: metrics.NewCounters()
//	src := metrics.Sources{
//		Table:      table,
//		EventsLost: func() uint64 { return sub.Lost() },
//		Ports:      func() []datapath.PortStats { ... port.Stats() of each port ... },
//		Workers:    func() []*metrics.Counters { return counters },
//		Ruleset:    func() (gen, failures uint64) { ... },
//	}
//	http.Handle("/metrics", metrics.Handler(src))
//
// and in each worker, per packet c.Decided(&res, len) (or c.Packet and
// c.Drop for packets the engine never saw), per batch c.Batch() and
// c.Publish().
package metrics
