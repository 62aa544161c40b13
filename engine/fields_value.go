package engine

import "github.com/hare-fw/hare/ruleset"

// fieldTypeMax is the largest value of a type of fields.go: a literal
// above it is refused, as nft refuses a value wider than its field.
func fieldTypeMax(t vtype) (uint64, bool) {
	switch t {
	case tU1, tPresence:
		return 1, true
	case tU4:
		return 0xf, true
	case tU16, tEtherType, tIfType:
		return 0xffff, true
	case tU20:
		return 0xfffff, true
	case tU64:
		return ^uint64(0), true
	case tDSCP:
		return 0x3f, true
	case tECN:
		return 3, true
	case tPktType, tCtDir, tDCCPType, tFibAddrType:
		return 0xff, true
	case tIfindex:
		return 0xffffffff, true
	}
	return 0, false
}

// Symbol tables of the new types, as nft 1.0.6 names them.
var (
	// ecn_type (RFC 3168 §5).
	ecnNames = map[string]uint64{"not-ect": 0, "ect1": 1, "ect0": 2, "ce": 3}
	// ethertype: the EtherTypes of meta protocol.
	etherTypeNames = map[string]uint64{"ip": 0x0800, "arp": 0x0806, "ip6": 0x86dd, "vlan": 0x8100, "8021ad": 0x88a8}
	// pkt_type (PACKET_HOST…, include/uapi/linux/if_packet.h).
	pktTypeNames = map[string]uint64{"host": 0, "unicast": 0, "broadcast": 1, "multicast": 2, "other": 3}
	// iface_type (ARPHRD_*, include/uapi/linux/if_arp.h).
	ifTypeNames = map[string]uint64{"ether": 1, "ppp": 512, "ipip": 768, "ipip6": 769, "loopback": 772, "sit": 776, "ipgre": 778}
	// ct_dir.
	ctDirNames = map[string]uint64{"original": 0, "reply": 1}
	// dccp_pkttype (RFC 4340 §5.1).
	dccpTypeNames = map[string]uint64{"request": 0, "response": 1, "data": 2, "ack": 3, "dataack": 4,
		"closereq": 5, "close": 6, "reset": 7, "sync": 8, "syncack": 9}
	// exists / missing of exthdr and tcp option presence (NFT_EXTHDR_F_PRESENT).
	presenceNames = map[string]uint64{"missing": 0, "exists": 1}
	// fib_addrtype (RTN_*, include/uapi/linux/rtnetlink.h).
	fibAddrTypeNames = map[string]uint64{"unspec": 0, "unicast": 1, "local": 2, "broadcast": 3, "anycast": 4,
		"multicast": 5, "blackhole": 6, "unreachable": 7, "prohibit": 8, "throw": 9, "nat": 10, "xresolve": 11}
)

// fieldSymbol looks up name as a symbol of a type of fields.go.
func fieldSymbol(t vtype, name string) (uint64, bool) {
	var m map[string]uint64
	switch t {
	case tDSCP:
		v, ok := ruleset.DSCP(name)
		return uint64(v), ok
	case tECN:
		m = ecnNames
	case tEtherType:
		m = etherTypeNames
	case tPktType:
		m = pktTypeNames
	case tIfType:
		m = ifTypeNames
	case tCtDir:
		m = ctDirNames
	case tDCCPType:
		m = dccpTypeNames
	case tPresence:
		m = presenceNames
	case tFibAddrType:
		m = fibAddrTypeNames
	}
	v, ok := m[name]
	return v, ok
}
