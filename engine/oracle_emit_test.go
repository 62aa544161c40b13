package engine_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// summarizeIP describes an IP packet in the words of the kernel oracle's
// per-packet summaries (replay.py: dissect and summarize), so that what
// hare's reject sends can be compared with what the kernel sent: addresses,
// ports, TCP flags, sequence and acknowledgement numbers, ICMP type and
// code, the quoted packet's own summary, and the lengths (which say how
// much of the offending packet an error quotes). Written from the oracle's
// documented output, not from hare's packet decoder, which it checks.
func summarizeIP(b []byte, depth int) string {
	if len(b) == 0 {
		return "empty"
	}
	var (
		fam          string
		l3len        int
		src, dst     netip.Addr
		proto        byte
		l4           []byte
		l4len        int
		frag         string
		fragNonFirst bool
	)
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return "truncated IPv4 header"
		}
		fam, l3len = "IPv4", int(binary.BigEndian.Uint16(b[2:]))
		src, dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		proto = b[9]
		ihl := int(b[0]&15) * 4
		ff := binary.BigEndian.Uint16(b[6:])
		off := int(ff&0x1fff) * 8
		if ff&0x2000 != 0 || off != 0 {
			frag = fragString(uint32(binary.BigEndian.Uint16(b[4:])), off, ff&0x2000 != 0)
		}
		if off == 0 && ihl <= len(b) {
			l4 = b[ihl:]
		}
		l4len = l3len - ihl
	case 6:
		if len(b) < 40 {
			return "truncated IPv6 header"
		}
		fam, l3len = "IPv6", 40+int(binary.BigEndian.Uint16(b[4:]))
		src, dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		nh, off := b[6], 40
		for (nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60) && len(b) >= off+8 {
			switch nh {
			case 44:
				fo := int(binary.BigEndian.Uint16(b[off+2:]))
				frag = fragString(binary.BigEndian.Uint32(b[off+4:]), fo&0xfff8, fo&1 != 0)
				fragNonFirst = fo&0xfff8 != 0
				nh, off = b[off], off+8
			case 51:
				nh, off = b[off], off+(int(b[off+1])+2)*4
			default:
				nh, off = b[off], off+(int(b[off+1])+1)*8
			}
			if fragNonFirst {
				break
			}
		}
		proto = nh
		if !fragNonFirst && off <= len(b) {
			l4 = b[off:]
		}
		l4len = l3len - off
	default:
		return "not IPv4/IPv6"
	}
	names := map[byte]string{1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 33: "dccp", 41: "ipv6",
		47: "gre", 50: "esp", 51: "ah", 58: "icmpv6", 132: "sctp", 136: "udplite"}
	pn, ok := names[proto]
	if !ok {
		pn = fmt.Sprintf("proto%d", proto)
	}
	var s strings.Builder
	ports := proto == 6 || proto == 17 || proto == 132 || proto == 136 || proto == 33
	if l4 != nil && ports && len(l4) >= 4 {
		fmt.Fprintf(&s, "%s %s %s:%d > %s:%d", fam, strings.ToUpper(pn), src, binary.BigEndian.Uint16(l4), dst, binary.BigEndian.Uint16(l4[2:]))
	} else {
		fmt.Fprintf(&s, "%s %s %s > %s", fam, strings.ToUpper(pn), src, dst)
	}
	if l4 != nil && proto == 6 && len(l4) >= 14 {
		fmt.Fprintf(&s, " [%s] seq=%d ack=%d data=%d", tcpFlags(l4[13]), binary.BigEndian.Uint32(l4[4:]),
			binary.BigEndian.Uint32(l4[8:]), max(0, l4len-int(l4[12]>>4)*4))
	}
	if l4 != nil && (proto == 1 || proto == 58) && len(l4) >= 4 {
		fmt.Fprintf(&s, " type=%d code=%d", l4[0], l4[1])
		echo := l4[0] == 8 || l4[0] == 0
		isErr := l4[0] == 3 || l4[0] == 4 || l4[0] == 5 || l4[0] == 11 || l4[0] == 12
		if proto == 58 {
			echo, isErr = l4[0] == 128 || l4[0] == 129, l4[0] >= 1 && l4[0] <= 4
		}
		if echo && len(l4) >= 8 {
			fmt.Fprintf(&s, " id=%d seq=%d", binary.BigEndian.Uint16(l4[4:]), binary.BigEndian.Uint16(l4[6:]))
		}
		if isErr && len(l4) > 8 && depth == 0 {
			fmt.Fprintf(&s, " {inner: %s}", summarizeIP(l4[8:], depth+1))
		}
	}
	s.WriteString(frag)
	fmt.Fprintf(&s, " len=%d", l3len)
	return s.String()
}

func fragString(id uint32, off int, mf bool) string {
	m := ""
	if mf {
		m = " MF"
	}
	return fmt.Sprintf(" frag(id=%d off=%d%s)", id, off, m)
}

func tcpFlags(f byte) string {
	var s strings.Builder
	for i, c := range "FSRP.UEW" {
		if f&(1<<i) != 0 && c != '.' {
			s.WriteRune(c)
		}
	}
	if f&0x10 != 0 {
		s.WriteByte('.')
	}
	if s.Len() == 0 {
		return "none"
	}
	return s.String()
}
