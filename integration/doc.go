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
