package engine_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	pt "github.com/hare-fw/hare/packet/packettest"
)

// The differential generator's share of the wider selector set: matches
// on them, and packets that carry what they read (TOS and flow labels,
// TCP options, IPv6 extension headers, SCTP).

func genFieldMatch(r *rand.Rand) string {
	n := func(max int) string { return fmt.Sprint(r.IntN(max)) }
	ms := []func() string{
		func() string {
			return "ip dscp " + genOp(r) + pick(r, []string{"cs0", "af41", "ef", "0-10", "{ cs1, af11, 3 }"})
		},
		func() string { return "ip ecn " + genOp(r) + pick(r, []string{"not-ect", "ect1", "ect0", "ce"}) },
		func() string { return "ip6 dscp " + genOp(r) + pick(r, []string{"cs0", "af41", "ef", "0-10"}) },
		func() string { return "ip6 ecn " + genOp(r) + pick(r, []string{"not-ect", "ce"}) },
		func() string { return "ip6 flowlabel " + genOp(r) + n(3) },
		func() string { return "ip id " + genOp(r) + n(3) },
		func() string { return "ip frag-off & 0x4000 " + pick(r, []string{"== 0x4000", "!= 0"}) },
		func() string { return "ip frag-off & 0x1fff != 0" },
		func() string { return pick(r, []string{"ip", "ip6"}) + " version " + pick(r, []string{"4", "6"}) },
		func() string { return "ip hdrlength " + pick(r, []string{"5", "6"}) },
		func() string {
			return fmt.Sprintf("%s length %s%d", pick(r, []string{"ip", "ip6", "meta"}), pick(r, []string{"< ", "> ", ""}), 20+r.IntN(80))
		},
		func() string { return "meta protocol " + genOp(r) + pick(r, []string{"ip", "ip6", "{ ip, arp }"}) },
		func() string { return "meta pkttype " + pick(r, []string{"host", "multicast", "broadcast"}) },
		func() string { return "meta iif " + pick(r, []string{"2", "1", `"eth0"`, `"lo"`}) },
		func() string { return "meta iiftype " + pick(r, []string{"65534", "ether"}) },
		func() string { return "tcp sequence " + pick(r, []string{"1000", "999", "1000-2000"}) },
		func() string { return "tcp ackseq " + n(3) },
		func() string { return "tcp doff " + pick(r, []string{"5", "> 5", "8"}) },
		func() string { return "tcp window 65535" },
		func() string {
			return "tcp flags " + pick(r, []string{"syn", "ack", "syn,ack", "fin"}) + " / " + pick(r, []string{"syn,ack", "fin,syn,rst,ack", "syn"})
		},
		func() string { return "tcp urgptr " + n(2) },
		func() string { return "tcp flags & (fin|syn|rst|ack) == " + pick(r, []string{"syn", "ack", "syn|ack"}) },
		func() string {
			return "tcp option " + pick(r, []string{"maxseg", "window", "sack-perm", "timestamp", "sack", "eol", "nop"}) + " " + pick(r, []string{"exists", "missing"})
		},
		func() string { return "tcp option maxseg size " + pick(r, []string{"1460", "1400-1500", "536"}) },
		func() string { return "tcp option window count " + n(9) },
		func() string { return "tcp option timestamp tsval " + pick(r, []string{"7", "> 3"}) },
		func() string { return "udp length " + pick(r, []string{"9", "> 8"}) },
		func() string { return "sctp vtag " + n(3) },
		func() string { return "sctp " + pick(r, []string{"sport", "dport"}) + " " + genValues(r, ports) },
		func() string { return "icmp id " + n(9) },
		func() string { return "icmp sequence " + n(3) },
		func() string { return "icmpv6 id " + genOp(r) + n(9) },
		func() string { return "icmpv6 sequence " + n(3) },
		func() string {
			return "exthdr " + pick(r, []string{"hbh", "rt", "frag", "dst", "mh"}) + " " + pick(r, []string{"exists", "missing"})
		},
		func() string { return "rt type " + genOp(r) + pick(r, []string{"0", "2", "{ 0, 2 }"}) },
		func() string { return "rt seg-left " + pick(r, []string{"0", "> 0", "1"}) },
		func() string { return "rt nexthdr " + pick(r, []string{"tcp", "60", "udp"}) },
		func() string { return "hbh nexthdr " + pick(r, []string{"43", "tcp", "60"}) },
		func() string { return "dst nexthdr " + pick(r, []string{"tcp", "udp", "43"}) },
		func() string {
			return "frag " + pick(r, []string{"more-fragments 0", "frag-off 0", "id 5", "nexthdr tcp"})
		},
		func() string { return "ct direction " + pick(r, []string{"original", "reply"}) },
		func() string { return "ct l3proto " + pick(r, []string{"ipv4", "ipv6"}) },
		func() string { return "ct protocol " + pick(r, []string{"tcp", "udp", "icmp", "sctp"}) },
		func() string {
			return fmt.Sprintf("ct %s%s %s%d", pick(r, []string{"", "original ", "reply "}), pick(r, []string{"packets", "bytes", "avgpkt"}), pick(r, []string{"> ", "< ", ""}), 1+r.IntN(4)*r.IntN(40))
		},
		func() string { return "ct original ip saddr " + genValues(r, pool4) },
		func() string { return "ct reply ip6 daddr " + genValues(r, pool6) },
		func() string { return "ct original saddr " + genValues(r, pool4) },
		func() string {
			return "ct " + pick(r, []string{"original", "reply"}) + " proto-dst " + genValues(r, ports)
		},
	}
	ms = append(ms,
		func() string {
			return "fib " + pick(r, []string{"saddr", "daddr", "saddr . iif", "daddr . iif"}) + " oif " + pick(r, []string{"exists", "missing", "2", `"eth0"`})
		},
		func() string {
			return "fib " + pick(r, []string{"daddr", "daddr . iif"}) + " type " + genOp(r) + pick(r, []string{"local", "unicast", "multicast", "{ broadcast, multicast }"})
		},
	)
	return pick(r, ms)()
}

// genTCPOptions draws a TCP option list, sometimes none.
func genTCPOptions(r *rand.Rand) []byte {
	var o []byte
	for range r.IntN(4) {
		switch r.IntN(6) {
		case 0:
			o = append(o, pt.MSS(pick(r, []uint16{1460, 536}))...)
		case 1:
			o = append(o, pt.WScale(uint8(r.IntN(9)))...)
		case 2:
			o = append(o, pt.SACKPermitted()...)
		case 3:
			o = append(o, pt.Timestamps(uint32(r.IntN(9)), 0)...)
		case 4:
			o = append(o, pt.NOP()...)
		case 5:
			o = append(o, 0) // EOL: the scan goes on past it
		}
	}
	return o
}

// genExtHeaders puts a random IPv6 extension-header chain before the
// upper-layer packet l4 of protocol proto.
func genExtHeaders(r *rand.Rand, proto uint8, l4 []byte) (uint8, []byte) {
	if r.IntN(2) == 0 {
		return proto, l4
	}
	kinds := []uint8{0, 43, 60, 44}
	var chain []uint8
	for range 1 + r.IntN(3) {
		chain = append(chain, pick(r, kinds))
	}
	payload := l4
	next := proto
	for i := len(chain) - 1; i >= 0; i-- {
		var h []byte
		switch chain[i] {
		case 0:
			h = pt.HopByHop(next, pt.PadN(6))
		case 60:
			h = pt.DestOpts(next, pt.PadN(6))
		case 43:
			h = pt.Routing(next, pick(r, []uint8{0, 2}), uint8(r.IntN(2)), netip.MustParseAddr("2001:db8::9"))
		case 44:
			h = pt.Fragment(next, 5, 0, false) // atomic: the packet is whole
		}
		payload = append(h, payload...)
		next = chain[i]
	}
	return next, payload
}
