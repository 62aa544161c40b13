#!/bin/sh
# What Linux's nf_tables sees of locally generated packets on the output
# and postrouting hooks (engine/output.go relies on it): a namespace sends
# UDP to port 7000 by unicast, multicast and broadcast over IPv4 and by
# unicast over IPv6, out of a veth device, and counters show which
# matches held on each hook. Run as root: sh kernel.sh > kernel.txt
# (Postrouting counts one packet more than output: the looped-back copy
# of the multicast datagram passes postrouting too, ip_mc_output.)
# Recorded on Linux 6.18, nft 1.0.6.
set -eu
cleanup() { ip netns del hso 2>/dev/null || true; ip netns del hsp 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add hso; ip netns add hsp
ip link add hsov netns hso type veth peer name hspv netns hsp
ip -n hso addr add 10.78.0.1/24 dev hsov; ip -n hsp addr add 10.78.0.2/24 dev hspv
ip -n hso addr add fd78::1/64 dev hsov nodad; ip -n hsp addr add fd78::2/64 dev hspv nodad
ip -n hso link set hsov up; ip -n hsp link set hspv up; ip -n hso link set lo up
ip -n hso route add 224.0.0.0/4 dev hsov
ip netns exec hso nft -f - <<'NFT'
table inet t {
	chain o {
		type filter hook output priority filter; policy accept;
		udp dport 7000 meta pkttype host counter
		udp dport 7000 meta pkttype multicast counter
		udp dport 7000 meta pkttype broadcast counter
		udp dport 7000 iifname "hsov" counter
		udp dport 7000 iifname "lo" counter
		udp dport 7000 meta iif 0 counter
		udp dport 7000 oifname "hsov" counter
		udp dport 7000 meta iiftype ether counter
		udp dport 7000 meta oiftype ether counter
		udp dport 7000 ct state new counter
	}
	chain p {
		type filter hook postrouting priority filter; policy accept;
		udp dport 7000 meta pkttype host counter
		udp dport 7000 meta pkttype multicast counter
		udp dport 7000 meta pkttype broadcast counter
		udp dport 7000 iifname "hsov" counter
		udp dport 7000 iifname "lo" counter
		udp dport 7000 meta iif 0 counter
		udp dport 7000 oifname "hsov" counter
		udp dport 7000 meta iiftype ether counter
		udp dport 7000 meta oiftype ether counter
		udp dport 7000 ct state new counter
	}
}
NFT
ip netns exec hso python3 -c "
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b'a', ('10.78.0.2', 7000))
u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('10.78.0.1'))
u.sendto(b'b', ('224.0.0.251', 7000))
u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
u.sendto(b'c', ('10.78.0.255', 7000))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6.sendto(b'd', ('fd78::2', 7000))
"
ip netns exec hso nft list ruleset
