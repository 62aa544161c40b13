package packet

import "strconv"

// LinkType is a capture link-layer type, numbered as the LINKTYPE_* values of
// https://www.tcpdump.org/linktypes.html (the numbers pcap and pcapng files carry).
// The zero value is LinkNull (BSD loopback), which is a real link type; use
// IsSupported to ask whether Decode understands a value.
type LinkType uint16

// Link types that Decode understands.
const (
	LinkNull      LinkType = 0   // BSD loopback: 4-byte address family in the writer's byte order
	LinkEthernet  LinkType = 1   // Ethernet II, with 802.1Q / 802.1ad (QinQ) tags
	LinkRawBSD    LinkType = 12  // DLT_RAW as some BSD-era writers stored it; same as LinkRaw
	LinkRawOBSD   LinkType = 14  // DLT_RAW on OpenBSD; same as LinkRaw
	LinkRaw       LinkType = 101 // raw IP, version taken from the first nibble
	LinkLoop      LinkType = 108 // OpenBSD loopback: 4-byte address family in network byte order
	LinkLinuxSLL  LinkType = 113 // Linux "cooked" capture v1 (16-byte header)
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkNFLOG     LinkType = 239 // Linux NFLOG: nfgenmsg header then TLVs, payload in NFULA_PAYLOAD
	LinkLinuxSLL2 LinkType = 276 // Linux "cooked" capture v2 (20-byte header)
)

// IsSupported reports whether Decode can decode frames of link type l.
func (l LinkType) IsSupported() bool {
	switch l {
	case LinkNull, LinkEthernet, LinkRawBSD, LinkRawOBSD, LinkRaw, LinkLoop,
		LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkNFLOG, LinkLinuxSLL2:
		return true
	}
	return false
}

// String returns the LINKTYPE_ name without its prefix, or the number for
// link types hare does not know by name.
func (l LinkType) String() string {
	switch l {
	case LinkNull:
		return "NULL"
	case LinkEthernet:
		return "ETHERNET"
	case LinkRawBSD, LinkRawOBSD, LinkRaw:
		return "RAW"
	case LinkLoop:
		return "LOOP"
	case LinkLinuxSLL:
		return "LINUX_SLL"
	case LinkIPv4:
		return "IPV4"
	case LinkIPv6:
		return "IPV6"
	case LinkNFLOG:
		return "NFLOG"
	case LinkLinuxSLL2:
		return "LINUX_SLL2"
	case 9:
		return "PPP"
	case 105:
		return "IEEE802_11"
	case 127:
		return "IEEE802_11_RADIOTAP"
	case 147:
		return "USER0"
	}
	return "LINKTYPE_" + strconv.Itoa(int(l))
}
