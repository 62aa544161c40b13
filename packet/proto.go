package packet

import "strconv"

// IPProto is an IP protocol number (IPv4 Protocol, IPv6 Next Header), as
// assigned by IANA.
type IPProto uint8

// Protocol numbers hare decodes or names.
const (
	ProtoHopByHop IPProto = 0
	ProtoICMP     IPProto = 1
	ProtoIPIP     IPProto = 4 // IPv4 encapsulation
	ProtoTCP      IPProto = 6
	ProtoUDP      IPProto = 17
	ProtoIPv6     IPProto = 41 // IPv6 encapsulation
	ProtoRouting  IPProto = 43
	ProtoFragment IPProto = 44
	ProtoGRE      IPProto = 47
	ProtoESP      IPProto = 50
	ProtoAH       IPProto = 51
	ProtoICMPv6   IPProto = 58
	ProtoNoNext   IPProto = 59
	ProtoDestOpts IPProto = 60
	ProtoDCCP     IPProto = 33
	ProtoSCTP     IPProto = 132
	ProtoMobility IPProto = 135
	ProtoUDPLite  IPProto = 136
	ProtoHIP      IPProto = 139
	ProtoShim6    IPProto = 140
	ProtoExp1     IPProto = 253
	ProtoExp2     IPProto = 254
)

// String returns the protocol's name as nft and conntrack print it
// (/etc/protocols), or the number.
func (p IPProto) String() string {
	switch p {
	case ProtoHopByHop:
		return "hopopts"
	case ProtoICMP:
		return "icmp"
	case ProtoIPIP:
		return "ipencap"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoDCCP:
		return "dccp"
	case ProtoIPv6:
		return "ipv6"
	case ProtoRouting:
		return "ipv6-route"
	case ProtoFragment:
		return "ipv6-frag"
	case ProtoGRE:
		return "gre"
	case ProtoESP:
		return "esp"
	case ProtoAH:
		return "ah"
	case ProtoICMPv6:
		return "ipv6-icmp"
	case ProtoNoNext:
		return "ipv6-nonxt"
	case ProtoDestOpts:
		return "ipv6-opts"
	case ProtoSCTP:
		return "sctp"
	case ProtoMobility:
		return "mobility-header"
	case ProtoUDPLite:
		return "udplite"
	case ProtoHIP:
		return "hip"
	case ProtoShim6:
		return "shim6"
	}
	return strconv.Itoa(int(p))
}

// HasPorts reports whether the protocol's header starts with 16-bit source
// and destination ports (TCP, UDP, UDP-Lite, SCTP, DCCP).
func (p IPProto) HasPorts() bool {
	switch p {
	case ProtoTCP, ProtoUDP, ProtoUDPLite, ProtoSCTP, ProtoDCCP:
		return true
	}
	return false
}
