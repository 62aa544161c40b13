// Package engine evaluates nftables rulesets on packets the way Linux
// netfilter does: Compile turns a parsed and applied ruleset
// (package ruleset) into an immutable Compiled form, base chains grouped by
// hook and sorted by priority with rules as small matchers, and an Engine
// runs each decoded, reassembled packet through the hooks around
// conntrack (package conntrack), giving a Verdict and the rule or policy
// that decided it.
//
// This first slice supports families ip, ip6 and inet, filter chains, and
// the common matches (addresses, protocols, ports, tcp flags, ct state and
// status, meta iifname/oifname/nfproto/l4proto/mark, icmp and icmpv6
// types), sets and maps (set.go, map.go, concat.go, dynset.go): anonymous
// and named sets of ipv4_addr, ipv6_addr, ether_addr (declared only: the
// engine sees no link header, so `ether saddr` is refused), inet_service,
// inet_proto, ifname, mark, ct_state, ct_status, icmp(v6)_type and
// icmp(v6)_code, or typeof keys; flags constant, interval, timeout,
// dynamic; concatenations (`ip saddr . tcp dport`, `meta l4proto . th
// dport`, ranges and prefixes per component with flags interval); verdict
// maps (`KEY vmap { k : verdict }`, `vmap @m`: a hit gives the element's
// verdict, jumps included in the loop check; a miss ends the rule, as
// nft_lookup's NFT_BREAK); data maps for statements; and dynamic sets
// (`add`, `update`, `delete @s { KEY [timeout T] }`, element and set
// timeouts on the packet's clock, `size`: an add to a full set ends the
// rule). Exact keys are one hash lookup (hashTab over the key's 32-bit
// registers, as the kernel lays concatenations out), intervals a binary
// search, interval concatenations a scan of their ranges; dynamic sets
// live in a sharded table (dynTab), the one mutable part of a Compiled
// besides counters, safe for concurrent packets and allocation-free.
//
// Data maps for statements: a statement compiles `KEY map { k : v }` or
// `KEY map @m` with compileMapLookup(expr, sets, destType), which checks
// the values against the destination's type (tU32 for meta mark and ct
// mark, for instance), and at run time calls cx.mapLookup(l) for the u128
// value; ok false means no element matched or a key component is missing,
// and the statement must end the rule (NFT_BREAK). Neither allocates. And
// statements (accept, drop, reject as a verdict, jump, goto, return,
// continue, counter, notrack), and the stateful statements of stmt.go:
// limit (nft_limit's token bucket on the caller's clock, limit.go), quota
// (quota.go), named counter, quota and limit objects (objects.go), log
// (to a sink the caller installs, with the kernel's nf_log line:
// log.go, log_format.go) and the set statements meta mark, ct mark, ct
// label, ct zone (before conntrack) and meta priority. ct helper set and
// ct timeout set are refused: conntrack models neither helpers nor
// per-connection timeout policies. Beyond those matches, the selectors of
// fields.go: the ip and ip6 header fields (version, hdrlength, dscp, ecn,
// length, id, frag-off, checksum, flowlabel), meta protocol, length,
// pkttype, iif, oif, iiftype and oiftype (Meta's devices, or the
// replay's: fields_load.go; CompileWith resolves interface names), the transport fields of tcp, udp, udplite, sctp, dccp,
// ah, esp, icmp and icmpv6 (with nft's ICMP type dependencies), TCP options
// (tcpopt.go, nft_exthdr_tcp_eval), IPv6 extension headers (exthdr.go,
// ipv6_find_hdr over the decoder's recorded chain: `exthdr rt exists`,
// `rt type 0`, frag, hbh, dst, mh fields), conntrack keys (fields_ct.go:
// direction, mark, zone, l3proto, protocol, tuple addresses and ports,
// packets, bytes, avgpkt; a new connection's pending entry counts), and fib
// (fib.go: oif, oifname and type, on a model of the kernel oracle's
// namespace). Each rule carries a family/protocol guard,
// and each chain an index by packet class and destination port or ICMP type
// (index.go), so a packet visits only the rules that can match it, in
// order. Anything else fails Compile
// with an *Error naming the construct and its file:line:col: never a silent
// mis-evaluation.
//
// Two oracles check it: the kernel (TestKernelOracle, outputs of the kernel
// oracle with -f in testdata/rules-oracle, and TestKernelLogLines, the
// kernel's own log lines in testdata/log-oracle) and a slow interpreter over the
// AST on random rulesets and packets (diff_test.go).
//
// The topology is the kernel oracle's: every packet arrives on one
// interface and is delivered locally (prerouting, then input); see eval.go.
//
// The packet path allocates nothing; Compiled is read without locks, its
// counters and quotas are atomics and each limit has its own small lock.
package engine
