// Package metrics exposes hare's counters to Prometheus: node_exporter's
// conntrack metric names (node_nf_conntrack_entries,
// node_nf_conntrack_entries_limit, node_nf_conntrack_stat_*, gauges as
// node_exporter exports them), so existing dashboards and alerts work, and
// hare's own hare_* metrics: the conntrack statistics as true counters,
// packets and bytes by verdict, drops and invalid packets by reason, events
// lost, the datapath's kernel drops, per-worker load, and the ruleset's
// generation and refused reloads.
//
// Fragments: hare_fragments_dropped_total{reason} counts fragments defrag
// refused (overlap, duplicate, too big...) and the fragments a worker
// held and dropped when their reassembly queue was discarded
// ("reassembly timeout", "evicted under memory pressure", "overlapping
// fragment"); each also counts in hare_dropped_packets_total
// {reason="fragment"}. A held fragment is counted under hare_packets_total
// when its datagram's fate is known, with the datagram's verdict.
// A worker whose pool of ipfrag_high_thresh + frag6_high_thresh bytes is
// full, or that reached NFQUEUE's bound on the packets kept in its queue,
// evicts the oldest other datagram held ("evicted under memory
// pressure"); hare_dropped_packets_total{reason="fragment_pool_full"}
// counts the fragments it could not hold even so (nothing else held to
// evict); hare_datapath_held_packets_total and
// hare_datapath_forwarded_packets_total count, per port, the fragments
// held and those sent later.
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
