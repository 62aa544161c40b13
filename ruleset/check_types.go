package ruleset

import "strings"

// Datatypes of selectors, for Check: how nft 1.0.6 parses a constant
// compared with or assigned to each selector (datatype.c and the
// *_type_parse of each datatype). Widths and symbol lists were read from
// `nft describe SELECTOR` of nft 1.0.6.

// dkind is how a constant of a datatype is parsed.
type dkind uint8

const (
	kInt     dkind = iota + 1 // a number (decimal or 0x hex), at most bits wide
	kSym                      // a symbol of syms, or a number
	kService                  // inet_service: a service name or a port
	kProto                    // inet_proto: a protocol name or number
	kAddr4                    // ipv4_addr
	kAddr6                    // ipv6_addr
	kMark                     // mark: a number (nft's mark_type_parse)
)

// dtype is the datatype of a selector.
type dtype struct {
	kind dkind
	bits int
	// desc is the datatype's description, as in "Could not parse
	// conntrack state".
	desc string
	syms map[string]bool
}

func symbols(s string) map[string]bool { return fields(s) }

// Symbolic datatypes; their symbols are what `nft describe` lists as
// pre-defined.
var (
	tCtState  = dtype{kind: kSym, bits: 32, desc: "conntrack state", syms: symbols("invalid new established related untracked")}
	tCtStatus = dtype{kind: kSym, bits: 32, desc: "conntrack status", syms: symbols("expected seen-reply assured confirmed snat dnat dying")}
	tCtDir    = dtype{kind: kSym, bits: 8, desc: "conntrack direction", syms: symbols("original reply")}
	tCtEvent  = dtype{kind: kSym, bits: 32, desc: "conntrack event bits", syms: symbols("new related destroy reply assured protoinfo helper mark seqadj secmark label")}
	tTCPFlag  = dtype{kind: kSym, bits: 8, desc: "TCP flag", syms: symbols("fin syn rst psh ack urg ecn cwr")}
	tPktType  = dtype{kind: kSym, bits: 8, desc: "packet type", syms: symbols("host unicast broadcast multicast other")}
	tNfproto  = dtype{kind: kSym, bits: 8, desc: "netfilter protocol", syms: symbols("ipv4 ipv6")}
	tEthType  = dtype{kind: kSym, bits: 16, desc: "Ethernet protocol", syms: symbols("ip arp ip6 8021q 8021ad vlan")}
	tIfType   = dtype{kind: kSym, bits: 16, desc: "network interface type", syms: symbols("ether ppp ipip ipip6 loopback sit ipgre")}
	tECN      = dtype{kind: kSym, bits: 2, desc: "Explicit Congestion Notification", syms: symbols("not-ect ect1 ect0 ce")}
	tDSCP     = dtype{kind: kSym, bits: 6, desc: "Differentiated Services Code Point", syms: map[string]bool{}}
	tDCCPType = dtype{kind: kSym, bits: 4, desc: "DCCP packet type", syms: symbols("request response data ack dataack closereq close reset sync syncack")}
	tICMPType = dtype{kind: kSym, bits: 8, desc: "ICMP type", syms: map[string]bool{}}
	tICMP6    = dtype{kind: kSym, bits: 8, desc: "ICMPv6 type", syms: map[string]bool{}}
	tICMPCode = dtype{kind: kSym, bits: 8, desc: "icmp code", syms: map[string]bool{}}
	tICMP6Cod = dtype{kind: kSym, bits: 8, desc: "icmpv6 code", syms: map[string]bool{}}
	tService  = dtype{kind: kService, bits: 16}
	tProto    = dtype{kind: kProto, bits: 8}
	tAddr4    = dtype{kind: kAddr4, bits: 32}
	tAddr6    = dtype{kind: kAddr6, bits: 128}
	tMark     = dtype{kind: kMark, bits: 32, desc: "packet mark"}
)

func init() {
	for n := range dscpValues {
		tDSCP.syms[n] = true
	}
	for n := range icmpTypes {
		tICMPType.syms[n] = true
	}
	for n := range icmpv6Types {
		tICMP6.syms[n] = true
	}
	for n := range icmpCodes["icmp_code"] {
		tICMPCode.syms[n] = true
	}
	for n := range icmpCodes["icmpv6_code"] {
		tICMP6Cod.syms[n] = true
	}
}

func integer(bits int) dtype { return dtype{kind: kInt, bits: bits} }

// payloadTypes maps "HEADER FIELD" to the field's datatype; a field not
// listed is not checked.
var payloadTypes = map[string]dtype{
	"ip version": integer(4), "ip hdrlength": integer(4), "ip dscp": tDSCP, "ip ecn": tECN,
	"ip length": integer(16), "ip id": integer(16), "ip frag-off": integer(16), "ip ttl": integer(8),
	"ip protocol": tProto, "ip checksum": integer(16), "ip saddr": tAddr4, "ip daddr": tAddr4,

	"ip6 version": integer(4), "ip6 dscp": tDSCP, "ip6 ecn": tECN, "ip6 flowlabel": integer(20),
	"ip6 length": integer(16), "ip6 nexthdr": tProto, "ip6 hoplimit": integer(8),
	"ip6 saddr": tAddr6, "ip6 daddr": tAddr6,

	"tcp sport": tService, "tcp dport": tService, "tcp sequence": integer(32), "tcp ackseq": integer(32),
	"tcp doff": integer(4), "tcp reserved": integer(4), "tcp flags": tTCPFlag, "tcp window": integer(16),
	"tcp checksum": integer(16), "tcp urgptr": integer(16),

	"udp sport": tService, "udp dport": tService, "udp length": integer(16), "udp checksum": integer(16),
	"udplite sport": tService, "udplite dport": tService, "udplite csumcov": integer(16), "udplite checksum": integer(16),
	"sctp sport": tService, "sctp dport": tService, "sctp vtag": integer(32), "sctp checksum": integer(32),
	"dccp sport": tService, "dccp dport": tService, "dccp type": tDCCPType,
	"th sport": tService, "th dport": tService,

	"icmp type": tICMPType, "icmp code": tICMPCode, "icmp checksum": integer(16), "icmp id": integer(16),
	"icmp sequence": integer(16), "icmp gateway": integer(32), "icmp mtu": integer(16),
	"icmpv6 type": tICMP6, "icmpv6 code": tICMP6Cod, "icmpv6 checksum": integer(16),
	"icmpv6 parameter-problem": integer(32), "icmpv6 packet-too-big": integer(32), "icmpv6 mtu": integer(32),
	"icmpv6 id": integer(16), "icmpv6 sequence": integer(16), "icmpv6 max-delay": integer(16),
	"icmpv6 taddr": tAddr6, "icmpv6 daddr": tAddr6,

	"ah nexthdr": tProto, "ah hdrlength": integer(8), "ah reserved": integer(16), "ah spi": integer(32),
	"ah sequence": integer(32), "esp spi": integer(32), "esp sequence": integer(32),
	"comp nexthdr": tProto, "comp flags": integer(8), "comp cpi": integer(16),

	"ether type": tEthType, "vlan id": integer(12), "vlan cfi": integer(1), "vlan dei": integer(1),
	"vlan pcp": integer(3), "vlan type": tEthType,
}

// metaTypes maps meta keys to datatypes.
var metaTypes = map[string]dtype{
	"length": integer(32), "protocol": tEthType, "nfproto": tNfproto, "l4proto": tProto, "mark": tMark,
	"iiftype": tIfType, "oiftype": tIfType, "pkttype": tPktType, "cpu": integer(32), "cgroup": integer(32),
	"nftrace": integer(1), "priority": {}, "random": integer(32),
}

// ctTypes maps ct keys (the last word) to datatypes; the address keys
// depend on the family word before them.
var ctTypes = map[string]dtype{
	"state": tCtState, "status": tCtStatus, "direction": tCtDir, "mark": tMark, "zone": integer(16),
	"l3proto": tNfproto, "protocol": tProto,
	"event": tCtEvent, "id": integer(32),
}

// selectorDtype returns the datatype of s, or false when Check does not
// know it (then values compared with it are not checked).
func selectorDtype(s *Selector) (dtype, bool) {
	w := s.Words
	if len(s.Args) > 0 {
		return dtype{}, false
	}
	switch w[0] {
	case "meta":
		if len(w) == 2 {
			d, ok := metaTypes[w[1]]
			return d, ok && d.kind != 0
		}
	case "ct":
		last := w[len(w)-1]
		if last == "saddr" || last == "daddr" {
			switch w[len(w)-2] {
			case "ip":
				return tAddr4, true
			case "ip6":
				return tAddr6, true
			}
			return dtype{}, false
		}
		d, ok := ctTypes[last]
		return d, ok
	default:
		if len(w) == 2 {
			d, ok := payloadTypes[strings.Join(w, " ")]
			return d, ok
		}
	}
	return dtype{}, false
}
