package engine

import "github.com/hare-fw/hare/packet"

// IPv6 extension headers (nft_exthdr with NFT_EXTHDR_OP_IPV6): `exthdr rt
// exists`, `rt type 0`, `frag more-fragments 1`… nft_exthdr_ipv6_eval finds
// the header with ipv6_find_hdr: the first header of that protocol on the
// chain from the fixed header through Hop-by-Hop, Routing, Fragment (only
// one at offset 0 is walked past), AH and Destination Options, or the
// first header that is not one of those (so Mobility is found as the
// upper layer). It then copies the field, or says whether the header is
// there (NFT_EXTHDR_F_PRESENT). The packet decoder walks the same chain
// in the same order and records it (packet.ExtChain), so a lookup is a
// scan of at most MaxExtRecorded entries; only a longer chain is walked
// again here. A datagram reassembled by defrag has no Fragment header (as
// after nf_ct_frag6_reasm).
//
// RH0 deny rules (`rt type 0 drop`, RFC 5095 §3) are the main use.

// Post-processing of an extension-header field (the mask and shift nft
// puts after the load).
const (
	extRaw      = iota
	extFragOff  // frag frag-off: the 13-bit offset in 8-byte units (& 0xfff8, >> 3)
	extReserved // frag reserved2: bits 1-2 of byte 3
	extMore     // frag more-fragments: bit 0 of byte 3
)

type extFieldDef struct {
	name     string
	off, len uint8
	post     uint8
	t        vtype
}

var extHeaders = []struct {
	name   string
	proto  uint8
	fields []extFieldDef
}{
	{"hbh", 0, []extFieldDef{{"nexthdr", 0, 1, extRaw, tProto}, {"hdrlength", 1, 1, extRaw, tU8}}},
	{"rt", 43, []extFieldDef{{"nexthdr", 0, 1, extRaw, tProto}, {"hdrlength", 1, 1, extRaw, tU8},
		{"type", 2, 1, extRaw, tU8}, {"seg-left", 3, 1, extRaw, tU8}}},
	{"frag", 44, []extFieldDef{{"nexthdr", 0, 1, extRaw, tProto}, {"reserved", 1, 1, extRaw, tU8},
		{"frag-off", 2, 2, extFragOff, tU16}, {"reserved2", 3, 1, extReserved, tU8},
		{"more-fragments", 3, 1, extMore, tU1}, {"id", 4, 4, extRaw, tU32}}},
	{"dst", 60, []extFieldDef{{"nexthdr", 0, 1, extRaw, tProto}, {"hdrlength", 1, 1, extRaw, tU8}}},
	{"mh", 135, []extFieldDef{{"nexthdr", 0, 1, extRaw, tProto}, {"hdrlength", 1, 1, extRaw, tU8},
		{"type", 2, 1, extRaw, tU8}, {"reserved", 3, 1, extRaw, tU8}, {"checksum", 4, 2, extRaw, tU16}}},
}

func extSelectors() map[string]selector {
	m := map[string]selector{}
	for _, h := range extHeaders {
		m["exthdr "+h.name] = selector{fExtPresent, tPresence, uint32(h.proto)}
		for _, f := range h.fields {
			m[h.name+" "+f.name] = selector{fExtField, f.t, uint32(h.proto) | uint32(f.off)<<8 | uint32(f.len)<<16 | uint32(f.post)<<24}
		}
	}
	return m
}

// extProto is the protocol number of a recorded header kind.
func extProto(k packet.ExtKind) int {
	switch k {
	case packet.ExtHopByHop:
		return 0
	case packet.ExtDestOpts, packet.ExtDestOptsPreRH:
		return 60
	case packet.ExtRouting:
		return 43
	case packet.ExtFragment:
		return 44
	case packet.ExtAH:
		return 51
	case packet.ExtMobility:
		return 135
	}
	return -1
}

// extFind returns the offset in p.IP() of the header with protocol proto,
// as ipv6_find_hdr finds it.
func extFind(p *packet.Parsed, proto uint8) (int, bool) {
	c := &p.Ext
	if int(c.N) == c.Count {
		for _, h := range c.Hdrs[:c.N] {
			if extProto(h.Kind) == int(proto) {
				return int(h.Off) - p.L3Off, true
			}
		}
		return 0, false
	}
	return findHdr(p.IP(), proto)
}

// findHdr is ipv6_find_hdr over the datagram ip, for a chain longer than
// the decoder records.
func findHdr(ip []byte, target uint8) (int, bool) {
	if len(ip) < 40 {
		return 0, false
	}
	nh, start := ip[6], 40
	for nh != target {
		switch nh {
		case 0, 43, 44, 51, 60:
		default:
			return 0, false // not an extension header (ipv6_ext_hdr), or No Next Header
		}
		if start+2 > len(ip) {
			return 0, false
		}
		var hl int
		switch nh {
		case 44:
			if start+4 > len(ip) {
				return 0, false
			}
			if (uint16(ip[start+2])<<8|uint16(ip[start+3]))&^7 != 0 {
				return 0, false // a later fragment: what follows is not a header
			}
			hl = 8
		case 51:
			hl = (int(ip[start+1]) + 2) << 2
		default:
			hl = (int(ip[start+1]) + 1) << 3
		}
		nh = ip[start]
		start += hl
	}
	return start, true
}

// loadExt loads an extension-header field or presence for arg.
func (cx *evalCtx) loadExt(f field, arg uint32) (u128, bool) {
	p := cx.p
	if p.IPVersion != 6 {
		return u128{}, false
	}
	off, found := extFind(p, uint8(arg))
	if f == fExtPresent {
		if found {
			return u128{lo: 1}, true
		}
		return u128{}, true
	}
	if !found {
		return u128{}, false
	}
	ip := p.IP()
	o, n := off+int(arg>>8&0xff), int(arg>>16&0xff)
	if o+n > len(ip) {
		return u128{}, false
	}
	v := beN(ip[o : o+n])
	switch arg >> 24 {
	case extFragOff:
		v = (v & 0xfff8) >> 3
	case extReserved:
		v = v >> 1 & 3
	case extMore:
		v &= 1
	}
	return u128{lo: v}, true
}

// beN reads up to 8 bytes big-endian.
func beN(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}
