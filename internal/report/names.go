package report

import (
	"fmt"

	"github.com/hare-fw/hare/packet"
)

// etherTypeNames names the EtherTypes seen in everyday captures; the rest
// print as hex. Sources: IEEE Registration Authority EtherType list.
var etherTypeNames = map[uint16]string{
	etherNone:            "none",
	etherLLC:             "802.3",
	packet.EtherTypeIPv4: "IPv4",
	packet.EtherTypeARP:  "ARP",
	0x0842:               "Wake-on-LAN",
	0x22f0:               "AVTP",
	0x22f3:               "TRILL",
	0x6002:               "DEC MOP RC",
	0x6003:               "DECnet",
	0x8035:               "RARP",
	0x809b:               "AppleTalk",
	0x80f3:               "AARP",
	packet.EtherTypeVLAN: "802.1Q",
	0x8137:               "IPX",
	0x8204:               "QNX Qnet",
	packet.EtherTypeIPv6: "IPv6",
	0x8808:               "Ethernet flow control",
	0x8809:               "Slow protocols (LACP)",
	0x8847:               "MPLS",
	0x8848:               "MPLS multicast",
	0x8863:               "PPPoE discovery",
	0x8864:               "PPPoE session",
	0x887b:               "HomePlug",
	0x888e:               "EAPOL",
	0x8892:               "PROFINET",
	0x889a:               "HyperSCSI",
	0x88a2:               "ATA over Ethernet",
	0x88a4:               "EtherCAT",
	packet.EtherTypeQinQ: "802.1ad",
	0x88ab:               "Ethernet Powerlink",
	0x88b8:               "GOOSE",
	0x88cc:               "LLDP",
	0x88cd:               "SERCOS III",
	0x88e1:               "HomePlug AV",
	0x88e3:               "MRP",
	0x88e5:               "MACsec",
	0x88e7:               "PBB",
	0x88f7:               "PTP",
	0x88fb:               "PRP",
	0x8902:               "CFM",
	0x8906:               "FCoE",
	0x8914:               "FIP",
	0x8915:               "RoCE",
	0x891d:               "TTE",
	0x892f:               "HSR",
	0x893a:               "IEEE 1905",
	0x9000:               "Loopback",
}

// etherTypeName returns the name of et, or its hex value.
func etherTypeName(et uint16) string {
	if n, ok := etherTypeNames[et]; ok {
		return n
	}
	return etherTypeHex(et)
}

// etherTypeHex returns et as JSON and the text table show it: 0x86dd. The
// pseudo EtherTypes have none.
func etherTypeHex(et uint16) string {
	if et < etherFirst {
		return ""
	}
	return fmt.Sprintf("0x%04x", et)
}
