package engine

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// AppendText appends the line Linux's syslog logger writes for the event
// (nf_log_syslog.c: nf_log_dump_packet_common, dump_mac_header,
// dump_ipv4_packet / dump_ipv6_packet and the TCP/UDP dumpers), without
// the kernel's "<level>" marker and the newline: the prefix, then
// "IN=kor0 OUT= MAC= SRC=… DST=… LEN=…". It reads the datagram's bytes
// itself, as the kernel does with skb_header_pointer, so a header cut
// short prints TRUNCATED or INCOMPLETE as there. Appending to a buffer
// with room allocates nothing.
//
// The replay's topology is the kernel oracle's: packets arrive on a TUN
// device (no link header, so "MAC= "), and no packet has a socket (no
// UID=). The line ends with a space, as the kernel's does.
func (ev *LogEvent) AppendText(b []byte) []byte {
	b = append(b, ev.Params.Prefix...)
	b = append(b, "IN="...)
	for _, c := range ev.Iifname {
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	b = append(b, " OUT="...)
	for _, c := range ev.Oifname {
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	if ev.Local {
		// No input device, so no MAC= either (nf_log_ip_packet dumps
		// the MAC header only with one).
		b = append(b, ' ')
	} else {
		b = append(b, " MAC= "...)
	}
	ip := ev.Packet.IP()
	if n := ev.Packet.L3Len; n > 0 && n < len(ip) {
		ip = ip[:n]
	}
	lg := logger{b: b, flags: ev.Params.Flags, mark: ev.Mark}
	if ev.Packet.IPVersion == 6 {
		lg.ipv6(ip, 0, true)
	} else {
		lg.ipv4(ip, 0)
	}
	return lg.b
}

type logger struct {
	b     []byte
	flags uint8
	mark  uint32
}

func (l *logger) s(x string) { l.b = append(l.b, x...) }
func (l *logger) u(n uint64) { l.b = strconv.AppendUint(l.b, n, 10) }
func (l *logger) kv(k string, n uint64) {
	l.s(k)
	l.u(n)
	l.b = append(l.b, ' ')
}

const hexDigits = "0123456789abcdef"
const hexUpper = "0123456789ABCDEF"

func (l *logger) hex2(c byte, digits string) { l.b = append(l.b, digits[c>>4], digits[c&15]) }

// incomplete is "INCOMPLETE [N bytes] ".
func (l *logger) incomplete(n int) {
	l.s("INCOMPLETE [")
	l.u(uint64(max(n, 0)))
	l.s(" bytes] ")
}

// ipv4 is dump_ipv4_packet for the header at off of skb.
func (l *logger) ipv4(skb []byte, off int) {
	if len(skb) < off+20 {
		l.s("TRUNCATED")
		return
	}
	ih := skb[off:]
	l.s("SRC=")
	l.b = netip.AddrFrom4([4]byte(ih[12:16])).AppendTo(l.b)
	l.s(" DST=")
	l.b = netip.AddrFrom4([4]byte(ih[16:20])).AppendTo(l.b)
	l.s(" ")
	tos := ih[1]
	l.kv("LEN=", uint64(binary.BigEndian.Uint16(ih[2:])))
	l.s("TOS=0x")
	l.hex2(tos&0x1e, hexUpper) // IPTOS_TOS_MASK
	l.s(" PREC=0x")
	l.hex2(tos&0xe0, hexUpper) // IPTOS_PREC_MASK
	l.s(" ")
	l.kv("TTL=", uint64(ih[8]))
	l.kv("ID=", uint64(binary.BigEndian.Uint16(ih[4:])))
	fo := binary.BigEndian.Uint16(ih[6:])
	if fo&0x8000 != 0 { // IP_CE
		l.s("CE ")
	}
	if fo&0x4000 != 0 {
		l.s("DF ")
	}
	if fo&0x2000 != 0 {
		l.s("MF ")
	}
	frag := fo & 0x1fff
	if frag != 0 {
		l.kv("FRAG:", uint64(frag))
	}
	ihl := int(ih[0]&15) * 4
	if l.flags&LogIPOpt != 0 && ihl > 20 {
		if len(skb) < off+ihl {
			l.s("TRUNCATED")
			return
		}
		l.s("OPT (")
		for _, c := range ih[20:ihl] {
			l.hex2(c, hexUpper)
		}
		l.s(") ")
	}
	l4 := off + ihl
	switch proto := ih[9]; proto {
	case 6:
		if l.tcp(skb, frag != 0, l4) {
			return
		}
	case 17, 136:
		if l.udp(skb, proto, frag != 0, l4) {
			return
		}
	case 1:
		l.s("PROTO=ICMP ")
		if frag != 0 {
			break
		}
		if len(skb) < l4+8 { // sizeof(struct icmphdr)
			l.incomplete(len(skb) - l4)
			break
		}
		typ, code := skb[l4], skb[l4+1]
		l.kv("TYPE=", uint64(typ))
		l.kv("CODE=", uint64(code))
		if need := icmpRequired(typ); need != 0 && len(skb)-l4 < need {
			l.incomplete(len(skb) - l4)
			break
		}
		ic := skb[l4:]
		switch typ {
		case 0, 8: // echo reply, echo request
			l.kv("ID=", uint64(binary.BigEndian.Uint16(ic[4:])))
			l.kv("SEQ=", uint64(binary.BigEndian.Uint16(ic[6:])))
		case 12: // parameter problem
			l.kv("PARAMETER=", uint64(ic[4]))
		case 5, 3, 4, 11: // redirect, unreachable, source quench, time exceeded
			if typ == 5 {
				l.s("GATEWAY=")
				l.b = netip.AddrFrom4([4]byte(ic[4:8])).AppendTo(l.b)
				l.s(" ")
			}
			if off == 0 { // only recurse once
				l.s("[")
				l.ipv4(skb, l4+8)
				l.s("] ")
			}
			if typ == 3 && code == 4 { // ICMP_FRAG_NEEDED
				l.kv("MTU=", uint64(binary.BigEndian.Uint16(ic[6:])))
			}
		}
	case 51: // AH
		l.s("PROTO=AH ")
		if frag != 0 {
			break
		}
		if len(skb) < l4+12 { // sizeof(struct ip_auth_hdr)
			l.incomplete(len(skb) - l4)
			break
		}
		l.spi(binary.BigEndian.Uint32(skb[l4+4:]))
	case 50: // ESP
		l.s("PROTO=ESP ")
		if frag != 0 {
			break
		}
		if len(skb) < l4+8 { // sizeof(struct ip_esp_hdr)
			l.incomplete(len(skb) - l4)
			break
		}
		l.spi(binary.BigEndian.Uint32(skb[l4:]))
	default:
		l.kv("PROTO=", uint64(proto))
	}
	if off == 0 && l.mark != 0 {
		l.s("MARK=0x")
		l.b = strconv.AppendUint(l.b, uint64(l.mark), 16)
		l.s(" ")
	}
}

func (l *logger) spi(v uint32) {
	l.s("SPI=0x")
	l.b = strconv.AppendUint(l.b, uint64(v), 16)
	l.s(" ")
}

// icmpRequired is dump_ipv4_packet's required_len: the bytes an ICMP
// message of the type must have for its fields to be printed.
func icmpRequired(typ uint8) int {
	switch typ {
	case 0, 8:
		return 4
	case 3, 4, 5, 11, 12:
		return 8 + 20
	case 13, 14:
		return 20
	case 17, 18:
		return 12
	}
	return 0
}

// tcp is nf_log_dump_tcp_header; true means stop (the header is cut).
func (l *logger) tcp(skb []byte, fragment bool, off int) bool {
	l.s("PROTO=TCP ")
	if fragment {
		return false
	}
	if len(skb) < off+20 {
		l.incomplete(len(skb) - off)
		return true
	}
	th := skb[off:]
	l.kv("SPT=", uint64(binary.BigEndian.Uint16(th[0:])))
	l.kv("DPT=", uint64(binary.BigEndian.Uint16(th[2:])))
	if l.flags&LogTCPSeq != 0 {
		l.kv("SEQ=", uint64(binary.BigEndian.Uint32(th[4:])))
		l.kv("ACK=", uint64(binary.BigEndian.Uint32(th[8:])))
	}
	l.kv("WINDOW=", uint64(binary.BigEndian.Uint16(th[14:])))
	// TCP_RESERVED_BITS (0x0F000000 of the flag word) >> 22.
	l.s("RES=0x")
	l.hex2((th[12]&0x0f)<<2, hexDigits)
	l.s(" ")
	fl := th[13]
	for i, name := range [...]string{"CWR ", "ECE ", "URG ", "ACK ", "PSH ", "RST ", "SYN ", "FIN "} {
		if fl&(0x80>>i) != 0 {
			l.s(name)
		}
	}
	l.kv("URGP=", uint64(binary.BigEndian.Uint16(th[18:])))
	doff := int(th[12]>>4) * 4
	if l.flags&LogTCPOpt != 0 && doff > 20 {
		if len(skb) < off+doff {
			l.s("OPT (TRUNCATED)")
			return true
		}
		l.s("OPT (")
		for _, c := range th[20:doff] {
			l.hex2(c, hexUpper)
		}
		l.s(") ")
	}
	return false
}

// udp is nf_log_dump_udp_header.
func (l *logger) udp(skb []byte, proto uint8, fragment bool, off int) bool {
	if proto == 17 {
		l.s("PROTO=UDP ")
	} else {
		l.s("PROTO=UDPLITE ")
	}
	if fragment {
		return false
	}
	if len(skb) < off+8 {
		l.incomplete(len(skb) - off)
		return true
	}
	uh := skb[off:]
	l.kv("SPT=", uint64(binary.BigEndian.Uint16(uh[0:])))
	l.kv("DPT=", uint64(binary.BigEndian.Uint16(uh[2:])))
	l.kv("LEN=", uint64(binary.BigEndian.Uint16(uh[4:])))
	return false
}

// ip6 prints an IPv6 address as the kernel's %pI6 does: eight groups of
// four hex digits, never shortened (2001:0db8:0000:…).
func (l *logger) ip6(a []byte) {
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			l.b = append(l.b, ':')
		}
		l.hex2(a[i], hexDigits)
		l.hex2(a[i+1], hexDigits)
	}
}

// isIP6Ext is nf_ip6_ext_hdr: hop-by-hop, routing, fragment, ESP, AH,
// destination options (No Next Header ends the walk before).
func isIP6Ext(h uint8) bool {
	switch h {
	case 0, 43, 44, 50, 51, 60:
		return true
	}
	return false
}

// ipv6 is dump_ipv6_packet for the header at off of skb.
func (l *logger) ipv6(skb []byte, off int, recurse bool) {
	if len(skb) < off+40 {
		l.s("TRUNCATED")
		return
	}
	ih := skb[off:]
	l.s("SRC=")
	l.ip6(ih[8:24])
	l.s(" DST=")
	l.ip6(ih[24:40])
	l.s(" ")
	w := binary.BigEndian.Uint32(ih)
	l.kv("LEN=", uint64(binary.BigEndian.Uint16(ih[4:]))+40)
	l.kv("TC=", uint64(w&0x0ff00000>>20))
	l.kv("HOPLIMIT=", uint64(ih[7]))
	l.kv("FLOWLBL=", uint64(w&0x000fffff))
	fragment := false
	ptr := off + 40
	cur := ih[6]
	opt := l.flags&LogIPOpt != 0
	for cur != 59 && isIP6Ext(cur) {
		if len(skb) < ptr+2 {
			l.s("TRUNCATED")
			return
		}
		hp := skb[ptr:]
		if opt {
			l.s("OPT ( ")
		}
		var hdrlen int
		switch cur {
		case 44:
			l.s("FRAG:")
			if len(skb) < ptr+8 {
				l.s("TRUNCATED ")
				return
			}
			fo := binary.BigEndian.Uint16(hp[2:])
			l.u(uint64(fo & 0xfff8))
			l.s(" ")
			if fo&1 != 0 {
				l.s("INCOMPLETE ")
			}
			l.s("ID:")
			id := binary.BigEndian.Uint32(hp[4:])
			for i := 28; i >= 0; i -= 4 {
				l.b = append(l.b, hexDigits[id>>uint(i)&15])
			}
			l.s(" ")
			if fo&0xfff8 != 0 {
				fragment = true
			}
			hdrlen = 8
		case 60, 43, 0:
			if fragment {
				if opt {
					l.s(")")
				}
				return
			}
			hdrlen = (int(hp[1]) + 1) << 3 // ipv6_optlen
		case 51:
			if opt {
				l.s("AH ")
				if fragment {
					l.s(")")
					return
				}
				if len(skb) < ptr+12 {
					l.s("INCOMPLETE [")
					l.u(uint64(max(len(skb)-ptr, 0)))
					l.s(" bytes] )")
					return
				}
				l.spi(binary.BigEndian.Uint32(hp[4:]))
			}
			hdrlen = (int(hp[1]) + 2) << 2 // ipv6_authlen
		case 50:
			if opt {
				l.s("ESP ")
				if fragment {
					l.s(")")
					return
				}
				if len(skb) < ptr+8 {
					l.s("INCOMPLETE [")
					l.u(uint64(max(len(skb)-ptr, 0)))
					l.s(" bytes] )")
					return
				}
				l.s("SPI=0x")
				l.b = strconv.AppendUint(l.b, uint64(binary.BigEndian.Uint32(hp[0:])), 16)
				l.s(" )")
			}
			return
		}
		if opt {
			l.s(") ")
		}
		cur = hp[0]
		ptr += hdrlen
	}
	switch cur {
	case 6:
		if l.tcp(skb, fragment, ptr) {
			return
		}
	case 17, 136:
		if l.udp(skb, cur, fragment, ptr) {
			return
		}
	case 58:
		l.s("PROTO=ICMPv6 ")
		if fragment {
			break
		}
		if len(skb) < ptr+8 { // sizeof(struct icmp6hdr)
			l.incomplete(len(skb) - ptr)
			return
		}
		ic := skb[ptr:]
		typ := ic[0]
		l.kv("TYPE=", uint64(typ))
		l.kv("CODE=", uint64(ic[1]))
		switch typ {
		case 128, 129:
			l.kv("ID=", uint64(binary.BigEndian.Uint16(ic[4:])))
			l.kv("SEQ=", uint64(binary.BigEndian.Uint16(ic[6:])))
		case 4, 1, 2, 3: // parameter problem, unreachable, too big, time exceeded
			if typ == 4 {
				l.s("POINTER=")
				p := binary.BigEndian.Uint32(ic[4:])
				for i := 28; i >= 0; i -= 4 {
					l.b = append(l.b, hexDigits[p>>uint(i)&15])
				}
				l.s(" ")
			}
			if recurse {
				l.s("[")
				l.ipv6(skb, ptr+8, false)
				l.s("] ")
			}
			if typ == 2 {
				l.kv("MTU=", uint64(binary.BigEndian.Uint32(ic[4:])))
			}
		}
	default:
		l.kv("PROTO=", uint64(cur))
	}
	if recurse && l.mark != 0 {
		l.s("MARK=0x")
		l.b = strconv.AppendUint(l.b, uint64(l.mark), 16)
		l.s(" ")
	}
}
