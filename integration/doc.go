// Package integration holds hare's end-to-end tests: real programs send real
// traffic from a client network namespace through a firewall namespace to a
// server namespace, and the tests assert what arrives.
//
// The same tests run against four firewalls:
//
//	kernel-routed   the firewall namespace routes (forwarding=1) and its own
//	                nftables filters the forward hook: the baseline that
//	                validates the tests themselves
//	kernel-bridge   a Linux bridge with br_netfilter, the same ruleset
//	hare-nfqueue    the firewall routes; iptables NFQUEUE hands every
//	                forwarded packet to `hare run` (datapath nfqueue)
//	hare-afpacket   the firewall has no addresses; `hare run` bridges its
//	                two veths (datapath afpacket)
//
// Topology (addresses in topo_test.go):
//
//	client ns ──veth── firewall ns ──veth── server ns ──veth (MTU 1280)── far ns
//
// The server namespace is also a router towards the far namespace through
// a link with a smaller MTU, so a large write from the client to the far
// host draws an ICMPv6 Packet Too Big (ICMP fragmentation needed for IPv4)
// about an existing flow.
//
// TestProof asserts, for each firewall and IP version: allowed flows and
// their replies pass (a 1 MiB HTTP answer, UDP echo, ping); new flows from
// the server are dropped; reject answers with a TCP RST and an ICMP port
// unreachable; a 200 kB POST to the far host succeeds through PMTU
// discovery; a Packet Too Big about an existing flow reaches the client and
// a spoofed one does not; a 4000-byte UDP datagram the client's kernel
// fragments is echoed whole when allowed, and when dropped not one of its
// fragments reaches the server (frag_test.go);
// the table counts ping -c 5 exactly; deleting a
// flow from the table kills it; a UDP stream loses nothing on the
// firewall's path across reloads (every datagram is counted where it
// leaves and reaches the end hosts' IP layers; losses in the end hosts'
// sockets are reported with their /proc/net/snmp counters, see
// reload_test.go).
// For hare also: reload by SIGHUP, by POST /v1/reload and by hare nft -f; a
// restart keeps a connection alive with the state file and kills it
// without; a killed daemon fails closed, and so does a stopped one
// (SIGTERM with fail_open = false: allowed and blocked new flows both
// time out until the next start; for nfqueue `hare run --remove-rules`
// then leaves the namespace's ruleset empty and traffic unfiltered);
// with fail_open = true a stopped nfqueue daemon lets everything pass. TestConntrackListMatchesKernel
// compares hare ct -L with conntrack -L over the same flows.
//
// Programs in namespaces are this test binary run again with
// HARE_INTEG_ROLE set (see roles_test.go), under `ip netns exec`.
//
// The tests need root, iproute2, nft, conntrack, ping and iptables; they
// run only with HARE_INTEGRATION=1 (scripts/test.sh sets it in its own step)
// so that `go test ./...` does not run them twice, and skip with the reason
// otherwise:
//
//	sudo HARE_INTEGRATION=1 go test -v ./integration/
package integration
