package nfttrace

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// The "packet:" line of `nft monitor trace` (nft 1.0.6, trace_print_packet):
// the input and output interfaces, then the fields nft decodes from the
// network header and from the first 20 bytes of the transport header the
// kernel puts in the trace message (nf_trace_fill_pkt_info,
// NFT_TRACETYPE_TRANSPORT_HSIZE), in the order nft prints them, and the
// bytes of those 20 it has no field for as a raw `@th,OFFSET,BITS 0xHEX`.
// The field lists and order below were read off the kernel oracle's
// nft-trace.txt (checked by TestTracePacketLines). Left out: the link
// layer (the oracle's TUN has none), meta mark (printed by nft only when
// the packet has one), IPv4 options and the fields of protocols other than
// tcp, udp, udplite, sctp, icmp and icmpv6, whose transport bytes are
// printed raw.

// ProtoName prints an inet_proto value as nft does ("tcp", "ipv6-icmp",
// "ip" for 0, a number when it has no name).
func ProtoName(n uint8) string {
	if n == 0 {
		// getprotobynumber(0) is "ip" in /etc/protocols, which the trace
		// printer of nft 1.0.6 uses (seen in the kernel oracle's traces).
		return "ip"
	}
	return nftValue([]string{"ip", "protocol"}, strconv.Itoa(int(n)))
}

// nftValue prints literal text as the right-hand side of a match on the
// selector words, as nft would (symbol names for protocols, ICMP types,
// DSCP classes).
func nftValue(words []string, text string) string {
	s := ruleset.StmtString(&ruleset.Match{X: &ruleset.Selector{Words: words}, Y: &ruleset.Value{Text: text}}, ruleset.FamilyInet)
	return strings.TrimPrefix(s, strings.Join(words, " ")+" ")
}

var ecnNames = [4]string{"not-ect", "ect1", "ect0", "ce"}

// icmpCodeNames and icmpv6CodeNames are nft's icmp_code and icmpv6_code
// symbols (the codes of destination-unreachable; nft prints them for any
// type).
var icmpCodeNames = map[uint8]string{0: "net-unreachable", 1: "host-unreachable", 2: "prot-unreachable", 3: "port-unreachable",
	4: "frag-needed", 9: "net-prohibited", 10: "host-prohibited", 13: "admin-prohibited"}
var icmpv6CodeNames = map[uint8]string{0: "no-route", 1: "admin-prohibited", 3: "addr-unreachable", 4: "port-unreachable",
	5: "policy-fail", 6: "reject-route"}

// traceHSize is NFT_TRACETYPE_TRANSPORT_HSIZE.
const traceHSize = 20

// AppendPacketLine appends the fields of a "packet:" line (after
// "packet: ") for p, arriving on iif and leaving on oif ("" for none), as
// traced in a chain of family fam: in an ip or ip6 table nft leaves out
// the protocol field (ip protocol, ip6 nexthdr) when it decodes the
// transport header by it (it is the dependency of the transport fields
// there; an inet table prints it).
func AppendPacketLine(b []byte, p *packet.Parsed, iif, oif string, fam ruleset.Family) []byte {
	if iif != "" {
		b = fmt.Appendf(b, "iif %q ", iif)
	}
	if oif != "" {
		b = fmt.Appendf(b, "oif %q ", oif)
	}
	ip := p.IP()
	dscp := func(tos uint8) string { return nftValue([]string{"ip", "dscp"}, strconv.Itoa(int(tos>>2))) }
	var proto uint8
	switch {
	case p.IPVersion == 4 && len(ip) >= 20:
		proto = ip[9]
	case p.IPVersion == 6 && len(ip) >= 40:
		proto = ip[6]
	default:
		return b
	}
	// nft knows the transport protocol from the network header's protocol
	// field (IPv4 protocol, the first IPv6 next header): after an IPv6
	// extension header it decodes nothing and prints the bytes raw.
	known := p.HasTransport() && knownTransport(proto)
	protoField := ""
	if !known || fam == ruleset.FamilyInet {
		protoField = ProtoName(proto)
	}
	if p.IPVersion == 4 {
		b = fmt.Appendf(b, "ip saddr %s ip daddr %s ip dscp %s ip ecn %s ip ttl %d ip id %d ", p.Src, p.Dst, dscp(ip[1]), ecnNames[ip[1]&3], ip[8], binary.BigEndian.Uint16(ip[4:]))
		if protoField != "" {
			b = fmt.Appendf(b, "ip protocol %s ", protoField)
		}
		b = fmt.Appendf(b, "ip length %d ", p.L3Len)
	} else {
		tc := uint8(binary.BigEndian.Uint16(ip[0:]) >> 4)
		b = fmt.Appendf(b, "ip6 saddr %s ip6 daddr %s ip6 dscp %s ip6 ecn %s ip6 hoplimit %d ip6 flowlabel %d ",
			p.Src, p.Dst, dscp(tc), ecnNames[tc&3], ip[7], binary.BigEndian.Uint32(ip[0:])&0xfffff)
		if protoField != "" {
			b = fmt.Appendf(b, "ip6 nexthdr %s ", protoField)
		}
		b = fmt.Appendf(b, "ip6 length %d ", binary.BigEndian.Uint16(ip[4:]))
	}
	if !p.HasTransport() {
		return b
	}
	th := p.Transport()
	if len(th) > traceHSize {
		th = th[:traceHSize]
	}
	u16 := func(o int) uint16 { return binary.BigEndian.Uint16(th[o:]) }
	used := 0
	switch {
	case proto == 6 && len(th) >= 16:
		b = fmt.Appendf(b, "tcp sport %d tcp dport %d tcp flags == %s tcp window %d ", u16(0), u16(2), tcpFlagsValue(th[13]), u16(14))
		used = 20
	case proto == 17 && len(th) >= 8:
		b = fmt.Appendf(b, "udp sport %d udp dport %d udp length %d ", u16(0), u16(2), u16(4))
		used = 8
	case proto == 136 && len(th) >= 8:
		b = fmt.Appendf(b, "udplite sport %d udplite dport %d udplite csumcov %d udplite checksum %d ", u16(0), u16(2), u16(4), u16(6))
		used = 8
	case proto == 132 && len(th) >= 12:
		b = fmt.Appendf(b, "sctp sport %d sctp dport %d sctp vtag %d ", u16(0), u16(2), binary.BigEndian.Uint32(th[4:]))
		used = 12
	case proto == 1 && len(th) >= 8:
		b = fmt.Appendf(b, "icmp type %s icmp code %s icmp id %d icmp sequence %d ",
			nftValue([]string{"icmp", "type"}, strconv.Itoa(int(th[0]))), codeName(icmpCodeNames, th[1]), u16(4), u16(6))
		used = 8
	case proto == 58 && len(th) >= 8:
		b = fmt.Appendf(b, "icmpv6 type %s icmpv6 code %s icmpv6 parameter-problem %d ",
			nftValue([]string{"icmpv6", "type"}, strconv.Itoa(int(th[0]))), codeName(icmpv6CodeNames, th[1]), binary.BigEndian.Uint32(th[4:]))
		used = 8
	}
	if used > len(th) {
		used = len(th)
	}
	if rest := th[used:]; len(rest) > 0 {
		b = fmt.Appendf(b, "@th,%d,%d 0x%s ", used*8, len(rest)*8, new(big.Int).SetBytes(rest).Text(16))
	}
	return b
}

func knownTransport(proto uint8) bool {
	switch proto {
	case 6, 17, 136, 132, 1, 58:
		return true
	}
	return false
}

func codeName(names map[uint8]string, c uint8) string {
	if n, ok := names[c]; ok {
		return n
	}
	return strconv.Itoa(int(c))
}

// tcpFlagsValue prints tcp flags as nft's trace does: one flag by name,
// several as a hex number.
func tcpFlagsValue(f uint8) string {
	names := [8]string{"fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr"}
	for i, n := range names {
		if f == 1<<i {
			return n
		}
	}
	return "0x" + strconv.FormatUint(uint64(f), 16)
}
