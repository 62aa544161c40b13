package engine

import (
	"encoding/binary"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
)

// load reads field f of the packet or its metadata. ok is false when the
// packet has no such field (another family, another protocol, no transport
// header, no conntrack entry): the match fails, as the kernel's implicit
// protocol dependency or NFT_BREAK makes it.
func (cx *evalCtx) load(f field) (v u128, ok bool) {
	p := cx.p
	switch f {
	case fIP4Saddr, fIP4Daddr, fIP4Proto, fIP4TTL:
		if p.IPVersion != 4 {
			return v, false
		}
		switch f {
		case fIP4Saddr:
			return cx.addrs().src, true
		case fIP4Daddr:
			return cx.addrs().dst, true
		case fIP4Proto:
			return u128{lo: uint64(p.Proto)}, true
		}
		return u128{lo: uint64(p.HopLimit)}, true
	case fIP6Saddr, fIP6Daddr, fIP6Nexthdr, fIP6Hoplimit:
		if p.IPVersion != 6 {
			return v, false
		}
		switch f {
		case fIP6Saddr:
			return cx.addrs().src, true
		case fIP6Daddr:
			return cx.addrs().dst, true
		case fIP6Nexthdr:
			// The Next Header field of the fixed header, not the upper
			// layer after extension headers (that is meta l4proto).
			ip := p.IP()
			if len(ip) < 7 {
				return v, false
			}
			return u128{lo: uint64(ip[6])}, true
		}
		return u128{lo: uint64(p.HopLimit)}, true
	case fL4Proto:
		proto, _ := nftTransport(p)
		return u128{lo: uint64(proto)}, p.IPVersion != 0
	case fNfproto:
		switch p.IPVersion {
		case 4:
			return u128{lo: 2}, true
		case 6:
			return u128{lo: 10}, true
		}
		return v, false
	case fMark:
		return u128{lo: uint64(cx.mark)}, true
	case fIifname:
		// nft_meta_get_eval stores "" when the hook has no input device:
		// a locally generated packet has none on any hook (output.go).
		// A forwarded one keeps its input device on postrouting in both
		// families: ip_output and ip6_output pass the old skb->dev as
		// indev (Linux 6.18: TestDevicesMatchKernel in daemon/).
		if cx.m.Output {
			return v, true
		}
		return ifnameBytes(&cx.m.Iifname), true
	case fOifname:
		// No output device on prerouting and input.
		if cx.hook == HookForward || cx.hook == HookPostrouting || cx.hook == HookOutput {
			return ifnameBytes(&cx.m.Oifname), true
		}
		return v, true
	case fTCPSport, fTCPDport, fTCPFlags:
		if proto, ok := nftTransport(p); !ok || proto != packet.ProtoTCP {
			return v, false
		}
		switch f {
		case fTCPSport:
			return u128{lo: uint64(p.SrcPort)}, true
		case fTCPDport:
			return u128{lo: uint64(p.DstPort)}, true
		}
		return u128{lo: uint64(p.TCP.Flags)}, true
	case fUDPSport, fUDPDport:
		if proto, ok := nftTransport(p); !ok || proto != packet.ProtoUDP {
			return v, false
		}
		if f == fUDPSport {
			return u128{lo: uint64(p.SrcPort)}, true
		}
		return u128{lo: uint64(p.DstPort)}, true
	case fICMPType, fICMPCode:
		if proto, ok := nftTransport(p); !ok || proto != packet.ProtoICMP {
			return v, false
		}
		if f == fICMPType {
			return u128{lo: uint64(p.ICMP.Type)}, true
		}
		return u128{lo: uint64(p.ICMP.Code)}, true
	case fICMPv6Type, fICMPv6Code:
		if proto, ok := nftTransport(p); !ok || proto != packet.ProtoICMPv6 {
			return v, false
		}
		if f == fICMPv6Type {
			return u128{lo: uint64(p.ICMP.Type)}, true
		}
		return u128{lo: uint64(p.ICMP.Code)}, true
	case fCtState:
		return u128{lo: cx.ctState}, true
	case fCtStatus:
		return cx.ctStatus()
	}
	return v, false
}

// nftTransport is the upper-layer protocol nf_tables gives a packet's
// rules (meta l4proto, and the dependency of every tcp/udp/icmp/icmpv6
// match) and whether its header can be read. For IPv6 it is not always the
// protocol conntrack tracks: nft_set_pktinfo_ipv6 calls ipv6_find_hdr with
// IP6_FH_F_AUTH, which stops at an Authentication Header, so behind an AH
// meta l4proto is ah (51) and no transport match applies, while conntrack
// (ipv6_skip_exthdr) walks past the AH to the ICMPv6, TCP or UDP behind it.
func nftTransport(p *packet.Parsed) (packet.IPProto, bool) {
	if p.IPVersion == 6 && p.Ext.Seen.Has(packet.ExtAH) {
		return packet.ProtoAH, false
	}
	return p.Proto, p.L4Off != 0
}

// ctStatus reads the entry's status bits; a packet without an entry has
// none (nft_ct_get_eval breaks).
func (cx *evalCtx) ctStatus() (u128, bool) {
	if cx.statusOK {
		return u128{lo: cx.status}, true
	}
	if !cx.tracked || cx.untracked {
		return u128{}, false
	}
	r := cx.r
	switch r.CT.State {
	case conntrack.StateInvalid, conntrack.StateUntracked:
		return u128{}, false
	}
	if r.CT.New && !r.CT.Ref.IsValid() {
		cx.status, cx.statusOK = 0, true // pending: not confirmed yet
		return u128{}, true
	}
	if !cx.e.ct.Get(r.CT.Ref, &r.entry) {
		return u128{}, false
	}
	cx.status, cx.statusOK = uint64(r.entry.Status), true
	return u128{lo: cx.status}, true
}

func ifnameBytes(b *[16]byte) u128 {
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

// pktAddrs are the packet's addresses as match values, loaded at most once
// per packet: a 200-rule chain may test them in many rules.
type pktAddrs struct {
	src, dst u128
	ok       bool
}

// addrs loads the packet's addresses on first use.
func (cx *evalCtx) addrs() *pktAddrs {
	a := &cx.addr
	if !a.ok {
		a.src, a.dst, a.ok = addrValue(cx.p.Src), addrValue(cx.p.Dst), true
	}
	return a
}
