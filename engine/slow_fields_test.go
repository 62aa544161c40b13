package engine_test

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// The reference interpreter's reading of the wider selector set
// (fields*.go, exthdr.go, tcpopt.go), written apart from them: every field
// is read from the datagram's bytes at the offset its RFC gives, the
// extension-header chain is walked again here following ipv6_find_hdr, and
// TCP options are scanned as nft_exthdr_tcp_eval does.

// moreField reads the selectors of the wider set; known is false for a
// selector it does not know.
func (sp *slowPacket) moreField(words string) (v slowVal, typ string, ok, known bool) {
	p := sp.p
	ip := p.IP()
	num := func(n uint64, typ string, ok bool) (slowVal, string, bool, bool) {
		return slowVal{typ: "num", num: n}, typ, ok, true
	}
	be := func(b []byte, off, n int) (uint64, bool) {
		if off < 0 || off+n > len(b) {
			return 0, false
		}
		var x uint64
		for _, c := range b[off : off+n] {
			x = x<<8 | uint64(c)
		}
		return x, true
	}
	field := func(b []byte, off, n int, typ string, dep bool) (slowVal, string, bool, bool) {
		x, ok := be(b, off, n)
		return num(x, typ, ok && dep)
	}
	bits := func(b []byte, off, n int, shift uint, mask uint64, typ string, dep bool) (slowVal, string, bool, bool) {
		x, ok := be(b, off, n)
		return num(x>>shift&mask, typ, ok && dep)
	}
	v4, v6 := p.IPVersion == 4 && len(ip) >= 20, p.IPVersion == 6 && len(ip) >= 40
	switch words {
	case "ip version":
		return bits(ip, 0, 1, 4, 0xf, "num", v4)
	case "ip hdrlength":
		return bits(ip, 0, 1, 0, 0xf, "num", v4)
	case "ip dscp":
		return bits(ip, 1, 1, 2, 0x3f, "dscp", v4)
	case "ip ecn":
		return bits(ip, 1, 1, 0, 3, "ecn", v4)
	case "ip length":
		return field(ip, 2, 2, "num", v4)
	case "ip id":
		return field(ip, 4, 2, "num", v4)
	case "ip frag-off":
		return field(ip, 6, 2, "num", v4)
	case "ip checksum":
		return field(ip, 10, 2, "num", v4)
	case "ip6 version":
		return bits(ip, 0, 1, 4, 0xf, "num", v6)
	case "ip6 dscp":
		return bits(ip, 0, 2, 6, 0x3f, "dscp", v6)
	case "ip6 ecn":
		return bits(ip, 0, 2, 4, 3, "ecn", v6)
	case "ip6 flowlabel":
		return bits(ip, 0, 4, 0, 0xfffff, "num", v6)
	case "ip6 length":
		return field(ip, 4, 2, "num", v6)
	case "meta protocol":
		return num(map[uint8]uint64{4: 0x0800, 6: 0x86dd}[p.IPVersion], "ethertype", p.IPVersion != 0)
	case "meta length":
		return num(statedLength(ip), "num", true)
	case "meta pkttype":
		pk := uint64(0)
		if sp.m.Output {
			// made here: host, whatever the destination
		} else if p.Dst == netip.MustParseAddr("255.255.255.255") {
			pk = 1
		} else if p.Dst.IsMulticast() {
			pk = 2
		}
		return num(pk, "pkttype", true)
	case "meta iif", "meta oif", "meta iiftype", "meta oiftype":
		if sp.m.Iif != 0 || sp.m.Oif != 0 {
			return sp.liveDevice(words)
		}
	}
	switch words {
	case "meta iif":
		if sp.m.Output {
			return slowVal{typ: "iif"}, "iif", true, true // no input device: index 0, no name
		}
		return slowVal{typ: "iif", num: 2, name: strings.TrimRight(string(sp.m.Iifname[:]), "\x00")}, "iif", true, true
	case "meta iiftype":
		// Local packets: skb->dev is set (to the output device) only
		// on postrouting.
		return num(65534, "iftype", !sp.m.Output || sp.hook == engine.HookPostrouting)
	case "meta ipsec", "meta secpath":
		return num(0, "presence", true) // nothing is decrypted
	case "meta oif":
		if sp.m.Output && (sp.hook == engine.HookOutput || sp.hook == engine.HookPostrouting) {
			return num(3, "iftype", true) // the route's device
		}
		return num(0, "iftype", true)
	case "meta oiftype":
		if sp.m.Output && (sp.hook == engine.HookOutput || sp.hook == engine.HookPostrouting) {
			return num(65534, "iftype", true)
		}
		return num(0, "iftype", false)
	}
	if strings.HasPrefix(words, "fib ") {
		return sp.fib(strings.Fields(strings.TrimPrefix(words, "fib ")))
	}
	if strings.HasPrefix(words, "ct ") {
		return sp.ctField(strings.TrimPrefix(words, "ct "))
	}
	if strings.HasPrefix(words, "tcp option ") {
		return sp.tcpOpt(strings.Fields(strings.TrimPrefix(words, "tcp option ")))
	}
	hdr, fld, _ := strings.Cut(words, " ")
	if x, ok := extProtos[hdr]; ok || hdr == "exthdr" {
		if hdr == "exthdr" {
			x = extProtos[fld]
		}
		off, found := slowFindHdr(ip, x, v6)
		if hdr == "exthdr" {
			n := uint64(0)
			if found {
				n = 1
			}
			return num(n, "presence", v6)
		}
		loc, ok := extLayout[hdr+" "+fld]
		if !ok {
			return v, "", false, false
		}
		x2, ok2 := be(ip, off+loc[0], loc[1])
		switch hdr + " " + fld {
		case "frag frag-off":
			x2 >>= 3
		case "frag more-fragments":
			x2 &= 1
		case "frag reserved2":
			x2 = x2 >> 1 & 3
		}
		return num(x2, "proto", found && ok2)
	}
	// Transport header fields: the header's protocol, offset and length.
	loc, ok := l4Layout[words]
	if !ok {
		return v, "", false, false
	}
	th := p.Transport()
	dep := p.L4Off != 0 && uint8(p.Proto) == uint8(loc[0]) && p.IPVersion != 0
	if dep && loc[3] >= 0 {
		// nft's type dependency of some ICMP fields.
		dep = len(th) > 0 && icmpTypeDeps[words][th[0]]
	}
	x, ok2 := be(th, loc[1], loc[2])
	typ = "num"
	if strings.HasSuffix(words, "port") {
		typ = "port"
	}
	switch words {
	case "tcp doff":
		x >>= 4
	case "dccp type":
		x = x >> 1 & 0xf
		typ = "dccp_type"
	case "ah nexthdr":
		typ = "proto"
	}
	return num(x, typ, dep && ok2)
}

var extProtos = map[string]int{"hbh": 0, "rt": 43, "frag": 44, "dst": 60, "mh": 135}

// extLayout: offset and length of each extension-header field (RFC 8200
// §4.3-4.5, RFC 6275 §6.1.1).
var extLayout = map[string][2]int{
	"hbh nexthdr": {0, 1}, "hbh hdrlength": {1, 1},
	"rt nexthdr": {0, 1}, "rt hdrlength": {1, 1}, "rt type": {2, 1}, "rt seg-left": {3, 1},
	"frag nexthdr": {0, 1}, "frag reserved": {1, 1}, "frag frag-off": {2, 2}, "frag reserved2": {3, 1},
	"frag more-fragments": {3, 1}, "frag id": {4, 4},
	"dst nexthdr": {0, 1}, "dst hdrlength": {1, 1},
	"mh nexthdr": {0, 1}, "mh hdrlength": {1, 1}, "mh type": {2, 1}, "mh reserved": {3, 1}, "mh checksum": {4, 2},
}

// l4Layout: protocol, offset, length of each transport field, and whether
// an ICMP type dependency applies (>= 0).
var l4Layout = map[string][4]int{
	"tcp sequence": {6, 4, 4, -1}, "tcp ackseq": {6, 8, 4, -1}, "tcp doff": {6, 12, 1, -1},
	"tcp window": {6, 14, 2, -1}, "tcp checksum": {6, 16, 2, -1}, "tcp urgptr": {6, 18, 2, -1},
	"udp length": {17, 4, 2, -1}, "udp checksum": {17, 6, 2, -1},
	"udplite sport": {136, 0, 2, -1}, "udplite dport": {136, 2, 2, -1}, "udplite csumcov": {136, 4, 2, -1}, "udplite checksum": {136, 6, 2, -1},
	"sctp sport": {132, 0, 2, -1}, "sctp dport": {132, 2, 2, -1}, "sctp vtag": {132, 4, 4, -1}, "sctp checksum": {132, 8, 4, -1},
	"dccp sport": {33, 0, 2, -1}, "dccp dport": {33, 2, 2, -1}, "dccp type": {33, 8, 1, -1},
	"ah nexthdr": {51, 0, 1, -1}, "ah hdrlength": {51, 1, 1, -1}, "ah spi": {51, 4, 4, -1}, "ah sequence": {51, 8, 4, -1},
	"esp spi": {50, 0, 4, -1}, "esp sequence": {50, 4, 4, -1},
	"icmp checksum": {1, 2, 2, -1}, "icmp id": {1, 4, 2, 0}, "icmp sequence": {1, 6, 2, 0}, "icmp mtu": {1, 6, 2, 0}, "icmp gateway": {1, 4, 4, 0},
	"icmpv6 checksum": {58, 2, 2, -1}, "icmpv6 id": {58, 4, 2, 0}, "icmpv6 sequence": {58, 6, 2, 0}, "icmpv6 mtu": {58, 4, 4, 0}, "icmpv6 max-delay": {58, 4, 2, 0},
}

// icmpTypeDeps: the types nft 1.0.6 requires for each ICMP field (the
// payload dumps in rules.t: ip/icmp.t.payload.ip, ip6/icmpv6.t.payload.ip6).
var icmpTypeDeps = map[string]map[byte]bool{
	"icmp id": {0: true, 8: true}, "icmp sequence": {0: true, 8: true}, "icmp mtu": {3: true}, "icmp gateway": {5: true},
	"icmpv6 id": {128: true, 129: true}, "icmpv6 sequence": {128: true, 129: true}, "icmpv6 mtu": {2: true}, "icmpv6 max-delay": {130: true},
}

// slowFindHdr is ipv6_find_hdr (net/ipv6/exthdrs_core.c) with no flags:
// the offset of the first header of protocol target on the chain.
func slowFindHdr(ip []byte, target int, v6 bool) (int, bool) {
	if !v6 {
		return 0, false
	}
	start := 40
	nexthdr := int(ip[6])
	for nexthdr != target {
		if nexthdr == 59 || (nexthdr != 0 && nexthdr != 43 && nexthdr != 44 && nexthdr != 51 && nexthdr != 60) {
			return 0, false
		}
		if start+2 > len(ip) {
			return 0, false
		}
		hdrlen := 0
		switch nexthdr {
		case 44:
			if start+4 > len(ip) {
				return 0, false
			}
			if binary.BigEndian.Uint16(ip[start+2:])&^7 != 0 {
				return 0, false
			}
			hdrlen = 8
		case 51:
			hdrlen = (int(ip[start+1]) + 2) << 2
		default:
			hdrlen = (int(ip[start+1]) + 1) << 3
		}
		nexthdr = int(ip[start])
		start += hdrlen
	}
	return start, true
}

// tcpOptKinds: kind of each option name, and the offset and length of its
// fields (RFC 9293 §3.2, RFC 7323, RFC 2018).
var tcpOptKinds = map[string]int{"eol": 0, "nop": 1, "maxseg": 2, "window": 3, "sack-perm": 4, "sack": 5, "sack0": 5,
	"sack1": 5, "sack2": 5, "sack3": 5, "timestamp": 8, "md5sig": 19, "mptcp": 30, "fastopen": 34}

var tcpOptLayout = map[string][2]int{"kind": {0, 1}, "length": {1, 1}, "maxseg size": {2, 2}, "window count": {2, 1},
	"sack left": {2, 4}, "sack right": {6, 4}, "sack0 left": {2, 4}, "sack0 right": {6, 4}, "sack1 left": {10, 4},
	"sack1 right": {14, 4}, "timestamp tsval": {2, 4}, "timestamp tsecr": {6, 4}}

func (sp *slowPacket) tcpOpt(w []string) (slowVal, string, bool, bool) {
	p := sp.p
	kind := tcpOptKinds[w[0]]
	isTCP := p.Proto == packet.ProtoTCP && p.IPVersion != 0
	th := p.Transport()
	var opt []byte
	if isTCP && len(th) >= 20 {
		hl := int(th[12]>>4) * 4
		if hl >= 20 && hl <= len(th) {
			i := 20
			for i < hl-1 {
				l := 1
				if th[i] > 1 && th[i+1] > 0 {
					l = int(th[i+1])
				}
				if int(th[i]) == kind {
					if i+l <= hl {
						opt = th[i : i+l]
					}
					break
				}
				i += l
			}
		}
	}
	if len(w) == 1 {
		n := uint64(0)
		if opt != nil {
			n = 1
		}
		return slowVal{typ: "num", num: n}, "presence", p.IPVersion != 0, true
	}
	loc, ok := tcpOptLayout[w[0]+" "+w[1]]
	if !ok {
		loc = tcpOptLayout[w[1]]
	}
	if opt == nil || loc[0]+loc[1] > len(opt) {
		return slowVal{}, "num", false, true
	}
	var x uint64
	for _, c := range opt[loc[0] : loc[0]+loc[1]] {
		x = x<<8 | uint64(c)
	}
	return slowVal{typ: "num", num: x}, "num", true, true
}

// ctField reads a conntrack key from the interpreter's own table.
func (sp *slowPacket) ctField(key string) (slowVal, string, bool, bool) {
	var e conntrack.Entry
	has := sp.ctr != nil && !sp.untracked && sp.state != "invalid" && sp.state != "untracked" &&
		(sp.ctr.Pending(&e) || sp.ct.Get(sp.ctr.Ref, &e))
	num := func(n uint64, typ string) (slowVal, string, bool, bool) {
		return slowVal{typ: "num", num: n}, typ, has, true
	}
	dir := -1
	if d, rest, ok := strings.Cut(key, " "); ok && (d == "original" || d == "reply") {
		dir, key = map[string]int{"original": 0, "reply": 1}[d], rest
	}
	tu := e.Orig
	if dir == 1 {
		tu = e.Reply
	}
	switch key {
	case "direction":
		if !has {
			return num(0, "ct_dir")
		}
		return num(uint64(sp.ctr.Dir), "ct_dir")
	case "mark":
		return num(uint64(e.Mark), "num")
	case "zone":
		return num(uint64(e.Zone()), "num")
	case "l3proto":
		return num(map[uint8]uint64{4: 2, 6: 10}[tu.Family], "nfproto")
	case "protocol":
		return num(uint64(tu.Proto), "proto")
	case "proto-src":
		return num(uint64(tu.SrcPort), "port")
	case "proto-dst":
		return num(uint64(tu.DstPort), "port")
	case "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr", "saddr", "daddr":
		a := tu.SrcAddr()
		if strings.HasSuffix(key, "daddr") {
			a = tu.DstAddr()
		}
		fam := uint8(0)
		switch {
		case strings.HasPrefix(key, "ip6"):
			fam = 6
		case strings.HasPrefix(key, "ip "):
			fam = 4
		}
		return slowVal{typ: "addr", addr: a}, "addr", has && (fam == 0 || tu.Family == fam), true
	case "packets", "bytes", "avgpkt":
		var pk, by uint64
		for d := range 2 {
			if dir < 0 || dir == d {
				pk += e.Counters[d].Packets
				by += e.Counters[d].Bytes
			}
		}
		switch key {
		case "packets":
			return num(pk, "num")
		case "bytes":
			return num(by, "num")
		}
		if pk == 0 {
			return num(0, "num")
		}
		return num(by/pk, "num")
	}
	return slowVal{}, "", false, false
}

// moreLiteral reads a symbol of the wider set's types.
func moreLiteral(typ, s string) (uint64, bool) {
	switch typ {
	case "dscp":
		d, ok := ruleset.DSCP(s)
		return uint64(d), ok
	}
	v, ok := map[string]map[string]uint64{
		"ecn":          {"not-ect": 0, "ect1": 1, "ect0": 2, "ce": 3},
		"ethertype":    {"ip": 0x800, "ip6": 0x86dd, "arp": 0x806, "vlan": 0x8100},
		"pkttype":      {"host": 0, "broadcast": 1, "multicast": 2, "other": 3},
		"presence":     {"missing": 0, "exists": 1},
		"ct_dir":       {"original": 0, "reply": 1},
		"dccp_type":    {"request": 0, "response": 1, "data": 2, "ack": 3},
		"iftype":       {"ether": 1, "loopback": 772, "ppp": 512},
		"fib_oif":      {"missing": 0, "exists": 2}, // present: a device, whose index is never 0
		"fib_addrtype": {"unicast": 1, "local": 2, "broadcast": 3, "anycast": 4, "multicast": 5},
	}[typ][s]
	return v, ok
}

// fib answers on the kernel oracle's namespace (see fib.go's model):
// every unicast address is local, so a route lookup finds no device;
// IPv6 multicast goes out the input interface (index 2); the kernel's
// shortcuts for 0.0.0.0 to broadcast or 224.0.0.0/24, and for ICMPv6 from
// :: to link-local, answer with the input interface.
func (sp *slowPacket) fib(w []string) (slowVal, string, bool, bool) {
	p := sp.p
	if p.IPVersion == 0 {
		return slowVal{}, "num", false, true
	}
	key := p.Src
	iif := false
	for _, x := range w[:len(w)-1] {
		switch x {
		case "daddr":
			key = p.Dst
		case "iif":
			iif = true
		}
	}
	bcast := netip.MustParseAddr("255.255.255.255")
	if w[len(w)-1] == "type" {
		t := uint64(2) // local
		switch {
		case p.Dst == bcast || p.Dst == netip.IPv4Unspecified():
			t = 3
		case p.Dst.IsMulticast():
			t = 5
		case iif:
			t = 1
		}
		return slowVal{typ: "num", num: t}, "fib_addrtype", true, true
	}
	found := key.Is6() && key.IsMulticast()
	if p.IPVersion == 4 && p.Src == netip.IPv4Unspecified() &&
		(p.Dst == bcast || netip.MustParsePrefix("224.0.0.0/24").Contains(p.Dst)) {
		found = true
	}
	if p.Proto == packet.ProtoICMPv6 && p.Src == netip.IPv6Unspecified() &&
		(netip.MustParsePrefix("fe80::/10").Contains(p.Dst) || netip.MustParsePrefix("ff02::/16").Contains(p.Dst)) {
		found = true
	}
	if !found {
		return slowVal{typ: "iif", num: 0, name: ""}, "fib_oif", true, true
	}
	idx := uint64(2) // the replay's device
	if sp.m.Iif != 0 || sp.m.Oif != 0 {
		idx = uint64(uint32(sp.m.Iif)) // the answer is the input device
	}
	return slowVal{typ: "iif", num: idx, name: strings.TrimRight(string(sp.m.Iifname[:]), "\x00")}, "fib_oif", true, true
}

// liveDevice reads meta iif, oif, iiftype or oiftype from the devices a
// live datapath gave (Meta.Iif, Oif, IifType, OifType). The hook has an
// input device unless the packet was made here, and an output device on
// forward, output and postrouting; a missing device reads as index 0, and
// its type cannot be read at all. iiftype is skb->dev's type, which is
// the output device on postrouting and none on output for a packet made
// here.
func (sp *slowPacket) liveDevice(words string) (slowVal, string, bool, bool) {
	m := sp.m
	hasIn := !m.Output && m.Iif != 0
	hasOut := (sp.hook == engine.HookForward || sp.hook == engine.HookOutput || sp.hook == engine.HookPostrouting) && m.Oif != 0
	idx := func(has bool, i int32) (slowVal, string, bool, bool) {
		v := slowVal{typ: "iif", ifx: sp.ifx}
		if has {
			v.num = uint64(uint32(i))
		}
		return v, "iif", true, true
	}
	switch words {
	case "meta iif":
		return idx(hasIn, m.Iif)
	case "meta oif":
		return idx(hasOut, m.Oif)
	case "meta iiftype":
		if sp.hook == engine.HookPostrouting {
			return slowVal{typ: "num", num: uint64(m.OifType)}, "iftype", hasOut, true
		}
		return slowVal{typ: "num", num: uint64(m.IifType)}, "iftype", hasIn, true
	}
	return slowVal{typ: "num", num: uint64(m.OifType)}, "iftype", hasOut, true
}

// statedLength is skb->len as the hooks see it: the datagram's length as its
// header states it, not what a truncated buffer holds (Linux's ip_rcv and
// ipv6_rcv drop a datagram shorter than its header says before any hook;
// replay still filters what a short snaplen cut). A length field too small
// to be true falls back to the bytes at hand, as the decoder does.
func statedLength(ip []byte) uint64 {
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4:
		if tot := int(ip[2])<<8 | int(ip[3]); tot >= int(ip[0]&0xf)*4 {
			return uint64(tot)
		}
	case len(ip) >= 40 && ip[0]>>4 == 6:
		if plen := int(ip[4])<<8 | int(ip[5]); plen != 0 {
			return uint64(40 + plen)
		}
	}
	return uint64(len(ip))
}
