// Package daemon is `hare run`: the live firewall that puts the engine
// and connection table of `hare replay` in the path of real traffic.
//
// # Pieces
//
//   - Config (config.go): the TOML file, with Linux's defaults; every
//     mistake is a ConfigError with the file and line. Check validates a
//     file and compiles its ruleset (hare run --check).
//   - Daemon (daemon.go): one conntrack.Table, one engine.Engine, and one
//     Worker per port of the datapath an Opener opened (NFQUEUE queues,
//     AF_PACKET fanout sockets). New compiles; Start restores the table
//     from [state] file, opens the datapath, the control socket and the
//     metrics endpoint, and starts the workers and the reaper; Stop
//     undoes it in the other order and saves the table.
//   - Worker (worker.go): Read a batch, read the table clock once, decide
//     every packet (decode, reassemble, engine.Engine.Packet, reject
//     replies through Port.Inject, marks), Done. It allocates nothing per
//     packet and takes no lock of its own; it counts into a
//     metrics.Counters published once per batch.
//   - Reload (reload.go): SIGHUP or POST /v1/reload; the new file and
//     ruleset are checked whole, then swapped in (engine.Update and Swap,
//     Table.SetSettings, the workers' policy); a refused one is logged
//     with its position and counted. Connections are kept.
//   - Logs (logsink.go): slog for the daemon, and the ruleset's log
//     statements as the kernel's log lines; `log group N` also to
//     rotating pcapng files. Trace (trace.go): the nft monitor trace
//     stream of the control API, fed only while someone follows it.
//
// # While hare is down
//
// [datapath] fail_open says what happens to traffic while no hare is
// running, a graceful stop included. NFQUEUE with install_rules: failing
// closed (fail_open = false, the default) a stop keeps the queue rules
// and the notrack table (nfqueue.Config.KeepRules), and with no listener
// and no --queue-bypass the kernel drops whatever the hooks queue until
// the next start replaces the rules and binds; a crash leaves them to the
// same effect. `hare run --remove-rules -c FILE` lifts them on purpose
// (nfqueue.RemoveRules; refused while a queue is bound). Failing open
// (fail_open = true) a stop removes them, and a crash leaves them with
// --queue-bypass: either way traffic passes unfiltered by hare until the
// next start. The AF_PACKET bridge always fails closed: with nobody
// reading the rings nothing crosses between the two interfaces, and
// fail_open is refused for it.
//
// # Clock
//
// Connection times are in the table clock (clock.go): the wall clock at
// start plus monotonic time since, so entries print as wall-clock times
// and no clock step expires or immortalises them.
//
// # Fragments
//
// Behind NFQUEUE the kernel has reassembled only when something in the
// namespace uses conntrack (nf_defrag then runs before the queue); with
// hare's notrack table alone, forwarded datagrams and IPv6 input arrive
// in fragments (datapath/nfqueue/doc.go). An AF_PACKET bridge has the
// kernel reassemble IPv4 (PACKET_FANOUT_FLAG_DEFRAG). Fragments go
// through the worker's own defrag.Reassembler. A fragment of an
// incomplete datagram is held (datapath.Forwarder: the bridge keeps the
// worker's copy in a bounded pool, NFQUEUE leaves the packet in the
// kernel's queue) and the datagram's fragments leave, unchanged, with its
// verdict (fraghold.go, DIFFERENCES.md). On a port that cannot send later
// a fragment passes while its datagram is incomplete and the datagram's
// verdict falls on the fragment that completes it; a refused datagram is
// remembered so that its fragments stay refused (fragmem.go).
package daemon
