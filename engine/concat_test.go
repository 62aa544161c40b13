package engine_test

import (
	"testing"

	"github.com/hare-fw/hare/engine"
)

func TestConcatExact(t *testing.T) {
	r := newRig(t, `table inet t {
	set s6 { type ipv6_addr . inet_service; elements = { 2001:db8::1 . 22, 2001:db8::2 . 443 } }
	set tp { typeof meta l4proto . th dport; elements = { tcp . 22, udp . 53 } }
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr . tcp dport { 10.0.0.1 . 22, 10.0.0.2 . 80 } counter drop
		ip6 saddr . tcp dport @s6 counter drop
		ip saddr . tcp dport != { 10.0.0.3 . 25 } ip saddr 10.0.0.3 counter drop
		meta l4proto . th dport @tp counter accept
		icmp type . icmp code { echo-request . 0 } counter reject
	}
}`)
	r.want("v4 pair", tcp("10.0.0.1", "10.0.0.9", 1, 22, syn), 1, engine.Drop, r.h("in", 1))
	r.want("v4 other pair", tcp("10.0.0.2", "10.0.0.9", 1, 80, syn), 1, engine.Drop, r.h("in", 1))
	r.want("v4 crossed pair", tcp("10.0.0.2", "10.0.0.9", 1, 22, syn), 1, engine.Accept, r.h("in", 4))
	r.want("v6 pair", tcp("2001:db8::2", "2001:db8::9", 1, 443, syn), 1, engine.Drop, r.h("in", 2))
	r.want("v6 other port", tcp("2001:db8::2", "2001:db8::9", 2, 22, syn), 1, engine.Accept, r.h("in", 4))
	r.want("!= concatenation holds", tcp("10.0.0.3", "10.0.0.9", 1, 26, syn), 1, engine.Drop, r.h("in", 3))
	r.want("!= concatenation fails", tcp("10.0.0.3", "10.0.0.9", 3, 25, syn), 1, engine.Accept, 0)
	r.want("udp . th dport", udp("10.0.0.4", "10.0.0.9", 1, 53), 1, engine.Accept, r.h("in", 4))
	r.want("udp . th dport 22 is not tcp . 22", udp("10.0.0.4", "10.0.0.9", 1, 22), 1, engine.Accept, 0)
	r.want("icmp type . code", ping("10.0.0.4", "10.0.0.9"), 1, engine.Reject, r.h("in", 5))
	r.want("icmpv6: no icmp type (NFT_BREAK)", ping("2001:db8::4", "2001:db8::9"), 1, engine.Accept, 0)
	r.noAllocs(tcp("10.0.0.2", "10.0.0.9", 1, 22, syn), tcp("2001:db8::2", "2001:db8::9", 1, 443, syn), udp("10.0.0.4", "10.0.0.9", 1, 53))
}

func TestConcatInterval(t *testing.T) {
	r := newRig(t, `table inet t {
	set s {
		type ipv4_addr . inet_service
		flags interval
		elements = { 10.0.0.0/24 . 1000-2000, 192.168.0.1 . 22, 172.16.0.1-172.16.0.9 . 80 }
	}
	map m {
		type ipv6_addr . inet_service : verdict
		flags interval
		elements = { 2001:db8::/64 . 0-1023 : drop, 2001:db8:1::1 . 22 : accept }
	}
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr . tcp dport @s counter drop
		ip6 saddr . tcp dport vmap @m
	}
}`)
	r.want("prefix . range", tcp("10.0.0.200", "10.0.0.9", 1, 1500, syn), 1, engine.Drop, r.h("in", 1))
	r.want("prefix . below range", tcp("10.0.0.200", "10.0.0.9", 2, 999, syn), 1, engine.Accept, 0)
	r.want("outside prefix", tcp("10.0.1.1", "10.0.0.9", 1, 1500, syn), 1, engine.Accept, 0)
	r.want("exact element", tcp("192.168.0.1", "10.0.0.9", 1, 22, syn), 1, engine.Drop, r.h("in", 1))
	r.want("range . exact", tcp("172.16.0.9", "10.0.0.9", 1, 80, syn), 1, engine.Drop, r.h("in", 1))
	r.want("range . other", tcp("172.16.0.9", "10.0.0.9", 2, 81, syn), 1, engine.Accept, 0)
	r.want("v6 prefix . range", tcp("2001:db8::77", "2001:db8::9", 1, 1000, syn), 1, engine.Drop, r.h("in", 2))
	r.want("v6 prefix . above", tcp("2001:db8::77", "2001:db8::9", 1, 1024, syn), 1, engine.Accept, 0)
	r.want("v6 exact", tcp("2001:db8:1::1", "2001:db8::9", 1, 22, syn), 1, engine.Accept, r.h("in", 2))
	r.noAllocs(tcp("10.0.0.200", "10.0.0.9", 1, 1500, syn), tcp("2001:db8::77", "2001:db8::9", 1, 1024, syn))
}
