package engine

import (
	"encoding/binary"

	"github.com/hare-fw/hare/packet"
)

// The replay's interface (the kernel oracle's namespace: lo is 1, the TUN
// device kor0 that every packet arrives on is 2). `meta iif 2` and `meta
// iiftype` compare with these; see DIFFERENCES.md.
const (
	ReplayIfindex = 2
	// ReplayIftype is ARPHRD_NONE, the type of a TUN device (the kernel
	// oracle's); a capture taken on Ethernet had ARPHRD_ETHER (1).
	ReplayIftype = 0xfffe
	// ReplayOifindex is the output interface of a forwarded packet
	// (Meta.Forward), the next index.
	ReplayOifindex = 3
)

// loadCond loads the field of cd, with its argument.
func (cx *evalCtx) loadCond(cd *cond) (u128, bool) {
	if cd.f < fIPVersion {
		return cx.load(cd.f)
	}
	return cx.loadField(cd.f, cd.arg)
}

// be16at and be32at read the big-endian field at off of b; ok is false
// when b is too short (skb_copy_bits fails: NFT_BREAK).
func be16at(b []byte, off int) (u128, bool) {
	if off+2 > len(b) {
		return u128{}, false
	}
	return u128{lo: uint64(binary.BigEndian.Uint16(b[off:]))}, true
}

func be32at(b []byte, off int) (u128, bool) {
	if off+4 > len(b) {
		return u128{}, false
	}
	return u128{lo: uint64(binary.BigEndian.Uint32(b[off:]))}, true
}

// l4 returns the transport header of protocol proto, nil if p has none
// (nft's implicit `meta l4proto` dependency, and no header to load from).
func l4(p *packet.Parsed, proto packet.IPProto) []byte {
	if got, ok := nftTransport(p); !ok || got != proto || p.IPVersion == 0 {
		return nil
	}
	return p.Transport()
}

// loadField reads a field of fields.go (nft_payload_eval, nft_meta_get_eval,
// nft_exthdr_*_eval, nft_ct_get_eval, nft_fib_eval).
func (cx *evalCtx) loadField(f field, arg uint32) (v u128, ok bool) {
	p := cx.p
	switch {
	case f <= fIPChecksum:
		if p.IPVersion != 4 {
			return v, false
		}
		ip := p.IP()
		if len(ip) < 20 {
			return v, false
		}
		switch f {
		case fIPVersion:
			return u128{lo: uint64(ip[0] >> 4)}, true
		case fIPHdrLength:
			return u128{lo: uint64(ip[0] & 0xf)}, true
		case fIPDSCP:
			return u128{lo: uint64(ip[1] >> 2)}, true
		case fIPECN:
			return u128{lo: uint64(ip[1] & 3)}, true
		case fIPLength:
			return be16at(ip, 2)
		case fIPID:
			return be16at(ip, 4)
		case fIPFragOff:
			// The whole 16 bits, flags included, as nft loads them:
			// `ip frag-off & 0x1fff != 0` is a fragment.
			return be16at(ip, 6)
		}
		return be16at(ip, 10)
	case f <= fIP6Length:
		if p.IPVersion != 6 {
			return v, false
		}
		ip := p.IP()
		if len(ip) < 40 {
			return v, false
		}
		switch f {
		case fIP6Version:
			return u128{lo: uint64(ip[0] >> 4)}, true
		case fIP6DSCP:
			return u128{lo: uint64(binary.BigEndian.Uint16(ip) >> 6 & 0x3f)}, true
		case fIP6ECN:
			return u128{lo: uint64(ip[1] >> 4 & 3)}, true
		case fIP6Flowlabel:
			return u128{lo: uint64(binary.BigEndian.Uint32(ip) & 0xfffff)}, true
		}
		return be16at(ip, 4)
	case f <= fOiftype:
		return cx.loadMeta(f)
	case f <= fICMPv6MaxDelay:
		return loadTransport(p, f, arg)
	case f <= fExtField:
		return cx.loadExt(f, arg)
	case f <= fCtAvgpkt:
		return cx.loadCt(f, arg)
	}
	return cx.loadFib(f, arg)
}

// loadMeta reads a meta key (nft_meta_get_eval).
func (cx *evalCtx) loadMeta(f field) (u128, bool) {
	p := cx.p
	switch f {
	case fMetaProtocol:
		// skb->protocol: the EtherType the packet arrived with.
		switch p.IPVersion {
		case 4:
			return u128{lo: 0x0800}, true
		case 6:
			return u128{lo: 0x86dd}, true
		}
		return u128{}, false
	case fMetaLength:
		// skb->len: the datagram, as the IP header states it (the
		// receive path trims padding before the hooks).
		return u128{lo: uint64(p.L3Len)}, true
	case fMetaPkttype:
		if cx.m.Output {
			return u128{}, true // PACKET_HOST (output.go)
		}
		return u128{lo: pktType(p)}, true
	case fMetaSecpath:
		// secpath_exists: only a packet IPsec decrypted on this host has
		// one, and the replay decrypts nothing.
		return u128{}, true
	}
	// The hook's devices (nf_hook_state in and out): a packet made here
	// has no input device (as for iifname, load.go); the output device
	// exists on forward, output and postrouting only.
	in := !cx.m.Output
	out := cx.hook == HookForward || cx.hook == HookPostrouting || cx.hook == HookOutput
	live := cx.m.devices()
	switch f {
	case fIif:
		// nft_meta_store_ifindex stores 0 for no device.
		switch {
		case !in:
			return u128{}, true
		case live:
			return u128{lo: uint64(uint32(cx.m.Iif))}, true
		}
		return u128{lo: ReplayIfindex}, true
	case fOif:
		switch {
		case !out:
			return u128{}, true
		case live:
			return u128{lo: uint64(uint32(cx.m.Oif))}, true
		}
		return u128{lo: ReplayOifindex}, true
	case fIiftype:
		// nft_meta_store_iftype fails for no device: NFT_BREAK. The
		// device is skb->dev, not the hook's input device: the output
		// device on postrouting (ip_output and ip6_output set it before
		// the hook; for a forwarded packet too: daemon/
		// TestDevicesMatchKernel), unset on output for a locally
		// generated packet (engine/testdata/output/kernel.txt), the
		// input device elsewhere. A live device that is gone (index 0)
		// is no device.
		if cx.hook == HookPostrouting {
			return cx.devType(cx.m.OifType), !live || cx.m.Oif != 0
		}
		return cx.devType(cx.m.IifType), in && (!live || cx.m.Iif != 0)
	}
	return cx.devType(cx.m.OifType), out && (!live || cx.m.Oif != 0)
}

// devType is t, a live device's type, or in the replay the replay's
// device type.
func (cx *evalCtx) devType(t uint16) u128 {
	if cx.m.devices() {
		return u128{lo: uint64(t)}
	}
	return u128{lo: ReplayIftype}
}

// pktType is the replay's skb->pkt_type: eth_type_trans derives it from
// the destination MAC address, which follows the destination IP address
// class (RFC 1112 §6.4, RFC 2464 §7), so the replay derives it from the
// address: IPv4 limited broadcast is broadcast, IPv4 224/4 and IPv6 ff00::/8
// multicast, anything else host. A subnet broadcast, which needs the
// interface's prefix, is host here (see DIFFERENCES.md).
func pktType(p *packet.Parsed) uint64 {
	d := p.Dst
	switch {
	case d.Is4() && d.As4() == [4]byte{255, 255, 255, 255}:
		return 1
	case d.IsMulticast():
		return 2
	}
	return 0
}

// loadTransport reads a transport header field (nft_payload_eval at
// NFT_PAYLOAD_TRANSPORT_HEADER, after nft's `meta l4proto` dependency).
func loadTransport(p *packet.Parsed, f field, arg uint32) (u128, bool) {
	switch f {
	case fTCPSeq, fTCPAckseq, fTCPDoff, fTCPWindow, fTCPChecksum, fTCPUrgptr:
		th := l4(p, packet.ProtoTCP)
		switch f {
		case fTCPSeq:
			return be32at(th, 4)
		case fTCPAckseq:
			return be32at(th, 8)
		case fTCPDoff:
			if len(th) < 13 {
				return u128{}, false
			}
			return u128{lo: uint64(th[12] >> 4)}, true
		case fTCPWindow:
			return be16at(th, 14)
		case fTCPChecksum:
			return be16at(th, 16)
		}
		return be16at(th, 18)
	case fTCPOptPresent:
		// nft adds no `meta l4proto tcp` dependency to TCP options
		// (rules.t any/tcpopt.t.payload), and with
		// NFT_EXTHDR_F_PRESENT nft_exthdr_tcp_eval says missing for
		// any packet whose TCP header it cannot read: a UDP packet has
		// no option maxseg.
		// Only IP packets reach the hooks: for anything else (which
		// Packet may still be given) the field is absent, like every
		// other packet field.
		_, ok := tcpOption(p, uint8(arg), 1)
		if ok {
			return u128{lo: 1}, true
		}
		return u128{}, p.IPVersion != 0
	case fTCPOptField:
		off, n := int(arg>>8&0xff), int(arg>>16&0xff)
		opt, ok := tcpOption(p, uint8(arg), off+n)
		if !ok {
			return u128{}, false
		}
		return u128{lo: beN(opt[off : off+n])}, true
	case fUDPLength, fUDPChecksum:
		uh := l4(p, packet.ProtoUDP)
		if f == fUDPLength {
			return be16at(uh, 4)
		}
		return be16at(uh, 6)
	case fUDPLiteSport, fUDPLiteDport, fUDPLiteCsumcov, fUDPLiteChecksum:
		return be16at(l4(p, packet.ProtoUDPLite), 2*int(f-fUDPLiteSport))
	case fSCTPSport, fSCTPDport:
		return be16at(l4(p, packet.ProtoSCTP), 2*int(f-fSCTPSport))
	case fSCTPVtag, fSCTPChecksum:
		return be32at(l4(p, packet.ProtoSCTP), 4+4*int(f-fSCTPVtag))
	case fDCCPSport, fDCCPDport:
		return be16at(l4(p, packet.ProtoDCCP), 2*int(f-fDCCPSport))
	case fDCCPType:
		// Bits 1-4 of byte 8 (RFC 4340 §5.1: Res 3 bits, Type 4, X 1).
		dh := l4(p, packet.ProtoDCCP)
		if len(dh) < 9 {
			return u128{}, false
		}
		return u128{lo: uint64(dh[8] >> 1 & 0xf)}, true
	case fAHNexthdr, fAHHdrlength:
		ah := l4(p, packet.ProtoAH)
		n := int(f - fAHNexthdr)
		if len(ah) < n+1 {
			return u128{}, false
		}
		return u128{lo: uint64(ah[n])}, true
	case fAHSPI, fAHSequence:
		return be32at(l4(p, packet.ProtoAH), 4+4*int(f-fAHSPI))
	case fESPSPI, fESPSequence:
		return be32at(l4(p, packet.ProtoESP), 4*int(f-fESPSPI))
	case fICMPChecksum, fICMPID, fICMPSequence, fICMPMTU, fICMPGateway:
		ih := l4(p, packet.ProtoICMP)
		if f == fICMPChecksum {
			return be16at(ih, 2)
		}
		if len(ih) < 1 || !icmpDep(f, ih[0]) {
			return u128{}, false
		}
		switch f {
		case fICMPID:
			return be16at(ih, 4)
		case fICMPSequence, fICMPMTU:
			return be16at(ih, 6)
		}
		return be32at(ih, 4)
	case fICMPv6Checksum, fICMPv6ID, fICMPv6Sequence, fICMPv6MTU, fICMPv6MaxDelay:
		ih := l4(p, packet.ProtoICMPv6)
		if f == fICMPv6Checksum {
			return be16at(ih, 2)
		}
		if len(ih) < 1 || !icmpDep(f, ih[0]) {
			return u128{}, false
		}
		switch f {
		case fICMPv6ID, fICMPv6MaxDelay:
			return be16at(ih, 4)
		case fICMPv6Sequence:
			return be16at(ih, 6)
		}
		return be32at(ih, 4)
	}
	return u128{}, false
}

// icmpDep is the type dependency nft 1.0.6 adds before an ICMP field that
// only some messages have (proto.c icmp_dep): id and sequence need an echo
// request or reply, mtu a destination unreachable (ICMPv6: packet too
// big), gateway a redirect, max-delay an MLD query.
func icmpDep(f field, typ uint8) bool {
	switch f {
	case fICMPID, fICMPSequence:
		return typ == 0 || typ == 8
	case fICMPMTU:
		return typ == 3
	case fICMPGateway:
		return typ == 5
	case fICMPv6ID, fICMPv6Sequence:
		return typ == 128 || typ == 129
	case fICMPv6MTU:
		return typ == 2
	case fICMPv6MaxDelay:
		return typ == 130
	}
	return true
}
