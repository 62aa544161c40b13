package engine_test

import (
	"strings"
	"testing"

	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

func TestVmapAnonymous(t *testing.T) {
	r := newRig(t, `table inet t {
	chain in {
		type filter hook input priority 0; policy accept;
		tcp dport vmap { 22 : accept, 80 : jump web, 1000-2000 : drop, 3000 : continue }
		udp dport vmap { 53 : goto web }
		drop
	}
	chain web {
		tcp flags syn drop
		udp dport 53 accept
	}
}`)
	r.want("port 22", tcp("10.0.0.1", "10.0.0.9", 5000, 22, syn), 1, engine.Accept, r.h("in", 1))
	r.want("port 80 syn: jump web, dropped there", tcp("10.0.0.1", "10.0.0.9", 5001, 80, syn), 1, engine.Drop, r.h("web", 1))
	r.want("port 80 ack: web returns, next rule", tcp("10.0.0.1", "10.0.0.9", 5002, 80, ack), 1, engine.Drop, r.h("in", 3))
	r.want("port 1500 in the range", tcp("10.0.0.1", "10.0.0.9", 5003, 1500, syn), 1, engine.Drop, r.h("in", 1))
	r.want("port 3000: continue", tcp("10.0.0.1", "10.0.0.9", 5004, 3000, syn), 1, engine.Drop, r.h("in", 3))
	r.want("port 9 misses (NFT_BREAK)", tcp("10.0.0.1", "10.0.0.9", 5005, 9, syn), 1, engine.Drop, r.h("in", 3))
	r.want("udp 53 goto web", udp("10.0.0.1", "10.0.0.9", 5006, 53), 1, engine.Accept, r.h("web", 2))
	r.want("ipv6 port 22", tcp("2001:db8::1", "2001:db8::9", 5000, 22, syn), 1, engine.Accept, r.h("in", 1))
	r.noAllocs(tcp("10.0.0.1", "10.0.0.9", 5000, 22, ack), tcp("10.0.0.1", "10.0.0.9", 5001, 80, ack), udp("10.0.0.1", "10.0.0.9", 5006, 53))
}

func TestVmapSelectors(t *testing.T) {
	r := newRig(t, `table inet t {
	chain in {
		type filter hook input priority 0; policy drop;
		ct state vmap { established : accept, related : accept, invalid : drop }
		iifname vmap { "lo" : accept, "eth*" : jump eth }
		meta l4proto vmap { icmp : accept, ipv6-icmp : accept }
	}
	chain eth {
		tcp dport 22 accept
	}
}`)
	r.want("new ssh via eth0", tcp("10.0.0.1", "10.0.0.9", 4000, 22, syn), 1, engine.Accept, r.h("eth", 1))
	r.want("reply: established", tcp("10.0.0.9", "10.0.0.1", 22, 4000, syn|ack), 2, engine.Accept, r.h("in", 1))
	r.want("ping: l4proto", ping("10.0.0.1", "10.0.0.9"), 3, engine.Accept, r.h("in", 3))
	r.want("ping6: l4proto", ping("2001:db8::1", "2001:db8::9"), 3, engine.Accept, r.h("in", 3))
	r.want("new http: policy", tcp("10.0.0.1", "10.0.0.9", 4001, 80, syn), 4, engine.Drop, 0)
	r.want("out-of-window ack: invalid", tcp("10.0.0.7", "10.0.0.9", 4002, 80, ack|packet.TCPFin), 5, engine.Drop, r.h("in", 1))
	r.m = engine.Meta{Iifname: engine.IfName("lo")}
	r.want("lo", tcp("10.0.0.1", "10.0.0.9", 4003, 80, syn), 6, engine.Accept, r.h("in", 2))
	r.noAllocs(tcp("10.0.0.1", "10.0.0.9", 4003, 80, ack), ping("10.0.0.1", "10.0.0.9"))
}

func TestVmapNamed(t *testing.T) {
	r := newRig(t, `table ip t {
	map m {
		type ipv4_addr : verdict
		flags interval
		elements = { 10.0.0.1 : accept, 10.0.1.0/24 : jump c, 10.0.2.0-10.0.2.9 : drop }
	}
	map pm {
		type ipv4_addr . inet_service : verdict
		elements = { 10.0.0.5 . 22 : accept, 10.0.0.5 . 80 : drop }
	}
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr vmap @m
		ip saddr . tcp dport vmap @pm
		ip saddr . tcp dport vmap { 10.0.0.6 . 443 : drop }
	}
	chain c {
		tcp dport 25 drop
	}
}`)
	r.want("exact", tcp("10.0.0.1", "10.0.0.9", 1, 2, syn), 1, engine.Accept, r.h("in", 1))
	r.want("prefix, jump, drop there", tcp("10.0.1.77", "10.0.0.9", 1, 25, syn), 1, engine.Drop, r.h("c", 1))
	r.want("prefix, jump, return", tcp("10.0.1.77", "10.0.0.9", 1, 26, syn), 1, engine.Accept, 0)
	r.want("range", tcp("10.0.2.9", "10.0.0.9", 1, 2, syn), 1, engine.Drop, r.h("in", 1))
	r.want("after the range", tcp("10.0.2.10", "10.0.0.9", 1, 2, syn), 1, engine.Accept, 0)
	r.want("concatenation", tcp("10.0.0.5", "10.0.0.9", 1, 80, syn), 1, engine.Drop, r.h("in", 2))
	r.want("concatenation other port", tcp("10.0.0.5", "10.0.0.9", 1, 81, syn), 1, engine.Accept, 0)
	r.want("anonymous concatenation", tcp("10.0.0.6", "10.0.0.9", 1, 443, syn), 1, engine.Drop, r.h("in", 3))
	r.noAllocs(tcp("10.0.1.77", "10.0.0.9", 1, 26, syn), tcp("10.0.0.5", "10.0.0.9", 1, 80, syn))
}

// TestVmapErrors checks what Compile refuses in verdict maps, as nft and
// the kernel do.
func TestVmapErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`table ip t { chain in { type filter hook input priority 0; tcp dport vmap { 1 : jump a } }
			chain a { tcp dport vmap { 2 : jump b } }
chain b { ip saddr vmap @m }
			map m { type ipv4_addr : verdict; elements = { 1.1.1.1 : goto a } }
}`, "loop through chain"},
		{`table ip t { chain in { type filter hook input priority 0; tcp dport vmap { 1 : jump nowhere } }
}`, "unknown chain nowhere"},
		{`table ip t { chain in { type filter hook input priority 0; tcp dport vmap { 1 : jump in } }
}`, "base chain"},
		{`table ip t { chain in { type filter hook input priority 0; tcp dport vmap { 1-10 : accept, 5-20 : drop } }
}`, "conflicting intervals"},
		{`table ip t { map m { type ipv4_addr : verdict; }
chain in { type filter hook input priority 0; tcp dport vmap @m }
}`, "does not hold keys of this type"},
		{`table ip t { set s { type ipv4_addr; }
chain in { type filter hook input priority 0; ip saddr vmap @s }
}`, "not a verdict map"},
		{`table ip t { chain in { type filter hook input priority 0; tcp dport vmap { 1 : accept } counter }
}`, "statement after a verdict"},
	} {
		_, err := compileString(tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q\n%s", err, tc.want, tc.src)
		}
	}
}

// TestSetTypes covers the element types of named sets, and typeof keys.
func TestSetTypes(t *testing.T) {
	r := newRig(t, `table inet t {
	set ifs { type ifname; elements = { "eth0", "wlan0" } }
	set marks { type mark; elements = { 0x10, 0x20-0x2f } }
	set states { type ct_state; elements = { new } }
	set it { type icmp_type; elements = { echo-request } }
	set i6t { type icmpv6_type; elements = { echo-request } }
	set ports { typeof tcp dport; flags interval; elements = { 22, 8000-8100 } }
	set nets { typeof ip saddr; flags interval; auto-merge; elements = { 10.0.0.0/8, 10.1.0.0/16, 192.168.0.1-192.168.0.9 } }
	set macs { type ether_addr; elements = { 00:11:22:33:44:55 } }
	chain in {
		type filter hook input priority 0; policy accept;
		meta mark @marks counter drop
		icmp type @it counter accept
		icmpv6 type @i6t counter accept
		tcp dport @ports ip saddr @nets iifname @ifs ct state @states drop
	}
}`)
	r.want("nets, ports, ifname, new", tcp("10.200.0.1", "10.0.0.9", 1, 8050, syn), 1, engine.Drop, r.h("in", 4))
	r.want("outside nets", tcp("192.168.0.10", "10.0.0.9", 1, 8050, syn), 1, engine.Accept, 0)
	r.want("in the range", tcp("192.168.0.5", "10.0.0.9", 2, 22, syn), 1, engine.Drop, r.h("in", 4))
	r.want("icmp", ping("10.0.0.1", "10.0.0.9"), 1, engine.Accept, r.h("in", 2))
	r.want("icmpv6", ping("2001:db8::1", "2001:db8::9"), 1, engine.Accept, r.h("in", 3))
	r.m.Mark = 0x25
	r.want("mark range", ping("10.0.0.1", "10.0.0.9"), 1, engine.Drop, r.h("in", 1))
	r.m.Mark = 0
	r.m.Iifname = engine.IfName("eth1")
	r.want("other interface", tcp("10.200.0.1", "10.0.0.9", 3, 8050, syn), 1, engine.Accept, 0)
	_, err := compileString(`table inet t { set macs { type ether_addr; }
chain in { type filter hook input priority 0; ether saddr @macs }
}`)
	if err == nil || !strings.Contains(err.Error(), "link-layer header") {
		t.Errorf("ether saddr: %v, want a refusal naming the link-layer header", err)
	}
}
