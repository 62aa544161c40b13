package packettest

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strings"
)

// Cat returns the concatenation of parts in a new slice. It is the glue
// between builders: Cat(Ether(...), IPv4(...)).
func Cat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// MustParseHex decodes a commented hex literal: on each line everything from
// "//" or "#" on is a comment, and spaces, tabs, newlines, ':' and '.' between
// digits are ignored, so fixtures can be written one header field per line.
// It panics on odd or invalid digits; it is for test literals only.
func MustParseHex(s string) []byte {
	var digits strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		for _, r := range line {
			switch r {
			case ' ', '\t', '\r', ':', '.':
			default:
				digits.WriteRune(r)
			}
		}
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		panic("packettest: MustParseHex: " + err.Error())
	}
	return b
}

// checksum returns the Internet checksum (RFC 1071) of b, starting from the
// partial sum initial (a pseudo-header sum, or 0).
func checksum(b []byte, initial uint32) uint16 {
	s := initial
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// pseudoSum is the partial sum of the IPv4 (RFC 9293 §3.1) or IPv6 (RFC 8200
// §8.1) pseudo-header for an upper-layer packet of length n.
func pseudoSum(src, dst netip.Addr, proto uint8, n int) uint32 {
	if src.Is4() != dst.Is4() {
		panic("packettest: source and destination of different families")
	}
	var s uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	add(src.AsSlice())
	add(dst.AsSlice())
	s += uint32(proto)
	s += uint32(n) >> 16
	s += uint32(n) & 0xffff
	return s
}

// Checksum returns the Internet checksum (RFC 1071) of b. Tests use it to
// patch a header after editing it.
func Checksum(b []byte) uint16 { return checksum(b, 0) }

// TransportChecksum returns the checksum of an upper-layer packet seg of
// protocol proto between src and dst: seg's checksum field must be zero.
func TransportChecksum(src, dst netip.Addr, proto uint8, seg []byte) uint16 {
	return checksum(seg, pseudoSum(src, dst, proto, len(seg)))
}

// Example link-layer addresses (locally administered).
var (
	MAC1 = [6]byte{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}
	MAC2 = [6]byte{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}
	// MACBroadcast is ff:ff:ff:ff:ff:ff.
	MACBroadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// EtherTypes for the link builders.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeVLAN = 0x8100 // IEEE 802.1Q C-tag
	EtherTypeQinQ = 0x88A8 // IEEE 802.1ad S-tag
	EtherTypeIPv6 = 0x86DD
)

// Ether returns an Ethernet II header (no FCS) whose type is etherType,
// preceded by one 4-byte tag per entry of vlans (the tag control
// information: PCP<<13 | DEI<<12 | VID), outermost first. With one tag it is
// an 802.1Q C-tag (TPID 0x8100); with more, the outermost is an 802.1ad
// S-tag (TPID 0x88A8) and the rest C-tags, as QinQ is sent.
func Ether(dst, src [6]byte, etherType uint16, vlans ...uint16) []byte {
	b := make([]byte, 0, 14+4*len(vlans))
	b = append(b, dst[:]...)
	b = append(b, src[:]...)
	for i, tci := range vlans {
		tpid := uint16(EtherTypeVLAN)
		if i == 0 && len(vlans) > 1 {
			tpid = EtherTypeQinQ
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, tci)
	}
	return binary.BigEndian.AppendUint16(b, etherType)
}

// PadEthernet pads frame with zeros to the 60-byte Ethernet minimum (IEEE
// 802.3 §3.2.8, without FCS), as a NIC sends it.
func PadEthernet(frame []byte) []byte {
	if len(frame) >= 60 {
		return frame
	}
	return append(frame, make([]byte, 60-len(frame))...)
}

// ARP returns an Ethernet/IPv4 ARP message (RFC 826): op 1 request, 2 reply.
func ARP(op uint16, senderMAC [6]byte, senderIP netip.Addr, targetMAC [6]byte, targetIP netip.Addr) []byte {
	b := []byte{0, 1, 0x08, 0x00, 6, 4} // hardware Ethernet, protocol IPv4, lengths 6 and 4
	b = binary.BigEndian.AppendUint16(b, op)
	b = append(b, senderMAC[:]...)
	b = append(b, as4(senderIP)...)
	b = append(b, targetMAC[:]...)
	return append(b, as4(targetIP)...)
}

// Linux cooked-capture packet types (pcap-linktype(7) LINUX_SLL).
const (
	SLLHost      = 0 // to us
	SLLBroadcast = 1
	SLLMulticast = 2
	SLLOtherHost = 3
	SLLOutgoing  = 4 // sent by us
)

// SLL returns a Linux cooked capture v1 header (LINKTYPE_LINUX_SLL, 16
// bytes) for an Ethernet (ARPHRD_ETHER) interface.
func SLL(pktType uint16, addr [6]byte, protocol uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, pktType)
	b = binary.BigEndian.AppendUint16(b, 1) // ARPHRD_ETHER
	b = binary.BigEndian.AppendUint16(b, 6) // address length
	b = append(b, addr[:]...)
	b = append(b, 0, 0) // address padded to 8 bytes
	return binary.BigEndian.AppendUint16(b, protocol)
}

// SLL2 returns a Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2, 20
// bytes) for an Ethernet interface with index ifindex.
func SLL2(protocol uint16, ifindex uint32, pktType uint8, addr [6]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, protocol)
	b = append(b, 0, 0) // reserved
	b = binary.BigEndian.AppendUint32(b, ifindex)
	b = binary.BigEndian.AppendUint16(b, 1) // ARPHRD_ETHER
	b = append(b, pktType, 6)
	b = append(b, addr[:]...)
	return append(b, 0, 0)
}

// Address families in BSD and Linux loopback and NFLOG headers.
const (
	AFInet         = 2
	AFInet6Linux   = 10
	AFInet6NetBSD  = 24 // also OpenBSD
	AFInet6FreeBSD = 28
	AFInet6Darwin  = 30
)

// Null returns a LINKTYPE_NULL header: the address family as a 4-byte
// integer in the capturing host's byte order.
func Null(family uint32, order binary.AppendByteOrder) []byte {
	return order.AppendUint32(nil, family)
}

// Loop returns a LINKTYPE_LOOP (OpenBSD) header: the family in network byte
// order.
func Loop(family uint32) []byte { return binary.BigEndian.AppendUint32(nil, family) }

// NFLOG returns a LINKTYPE_NFLOG record carrying payload: struct nfgenmsg
// (family, version 0, group 0 in network order), then netlink attributes in
// the logging host's byte order order: NFULA_PACKET_HDR (hardware protocol
// and hook), NFULA_PREFIX "hare" and NFULA_PAYLOAD, each padded to 4 bytes.
func NFLOG(family uint8, order binary.AppendByteOrder, payload []byte) []byte {
	b := []byte{family, 0, 0, 0}
	tlv := func(typ uint16, v []byte) {
		b = order.AppendUint16(b, uint16(4+len(v)))
		b = order.AppendUint16(b, typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	proto := uint16(EtherTypeIPv4)
	if family == AFInet6Linux {
		proto = EtherTypeIPv6
	}
	tlv(1, []byte{byte(proto >> 8), byte(proto), 0, 0}) // NFULA_PACKET_HDR: hw_protocol, hook PRE_ROUTING, pad
	tlv(10, []byte("hare\x00"))                         // NFULA_PREFIX
	tlv(9, payload)                                     // NFULA_PAYLOAD
	return b
}

func as4(a netip.Addr) []byte {
	if !a.Is4() {
		panic("packettest: want an IPv4 address, have " + a.String())
	}
	b := a.As4()
	return b[:]
}

func as16(a netip.Addr) []byte {
	if !a.Is6() {
		panic("packettest: want an IPv6 address, have " + a.String())
	}
	b := a.As16()
	return b[:]
}

func put16(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }

func mustFit16(n int, what string) uint16 {
	if n < 0 || n > 0xffff {
		panic("packettest: " + what + " does not fit 16 bits")
	}
	return uint16(n)
}
