package packettest

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers the builders use (IANA).
const (
	ProtoHopByHop = 0
	ProtoICMP     = 1
	ProtoIPIP     = 4
	ProtoTCP      = 6
	ProtoUDP      = 17
	ProtoDCCP     = 33
	ProtoIPv6     = 41
	ProtoRouting  = 43
	ProtoFragment = 44
	ProtoGRE      = 47
	ProtoESP      = 50
	ProtoAH       = 51
	ProtoICMPv6   = 58
	ProtoNoNext   = 59
	ProtoDestOpts = 60
	ProtoSCTP     = 132
	ProtoMobility = 135
	ProtoUDPLite  = 136
)

// IPv4Option changes a field of the header IPv4 builds.
type IPv4Option func(*ipv4Hdr)

type ipv4Hdr struct {
	tos, ttl uint8
	id       uint16
	df, mf   bool
	offset   uint16 // bytes
	options  []byte
	totalLen int // override; 0 means computed
	badCsum  bool
}

// ID sets the Identification field (default 1).
func ID(id uint16) IPv4Option { return func(h *ipv4Hdr) { h.id = id } }

// TTL sets the time to live (default 64).
func TTL(ttl uint8) IPv4Option { return func(h *ipv4Hdr) { h.ttl = ttl } }

// TOS sets the TOS byte (DSCP<<2 | ECN).
func TOS(tos uint8) IPv4Option { return func(h *ipv4Hdr) { h.tos = tos } }

// DF sets the Don't Fragment flag.
func DF() IPv4Option { return func(h *ipv4Hdr) { h.df = true } }

// MF sets the More Fragments flag.
func MF() IPv4Option { return func(h *ipv4Hdr) { h.mf = true } }

// FragOffset sets the fragment offset in bytes; it must be a multiple of 8.
func FragOffset(bytes uint16) IPv4Option {
	if bytes%8 != 0 {
		panic("packettest: fragment offset not a multiple of 8")
	}
	return func(h *ipv4Hdr) { h.offset = bytes }
}

// IPOptions appends raw IPv4 options, padded with End of Options List to a
// multiple of 4 bytes (RFC 791 §3.1).
func IPOptions(opts []byte) IPv4Option { return func(h *ipv4Hdr) { h.options = opts } }

// TotalLength overrides the Total Length field, to build malformed or
// snaplen-cut datagrams. The checksum is computed over the header as given.
func TotalLength(n int) IPv4Option { return func(h *ipv4Hdr) { h.totalLen = n } }

// BadIPChecksum stores the complement of the correct header checksum.
func BadIPChecksum() IPv4Option { return func(h *ipv4Hdr) { h.badCsum = true } }

// IPv4 returns an IPv4 header (RFC 791 §3.1) for protocol proto followed by
// payload, with Total Length and the header checksum computed.
func IPv4(src, dst netip.Addr, proto uint8, payload []byte, opts ...IPv4Option) []byte {
	h := ipv4Hdr{ttl: 64, id: 1}
	for _, o := range opts {
		o(&h)
	}
	optLen := (len(h.options) + 3) &^ 3
	if optLen > 40 {
		panic("packettest: more than 40 bytes of IPv4 options")
	}
	hl := 20 + optLen
	b := make([]byte, hl, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	b[1] = h.tos
	total := h.totalLen
	if total == 0 {
		total = hl + len(payload)
	}
	put16(b[2:], mustFit16(total, "IPv4 total length"))
	put16(b[4:], h.id)
	ff := h.offset >> 3
	if h.df {
		ff |= 0x4000
	}
	if h.mf {
		ff |= 0x2000
	}
	put16(b[6:], ff)
	b[8] = h.ttl
	b[9] = proto
	copy(b[12:16], as4(src))
	copy(b[16:20], as4(dst))
	copy(b[20:], h.options)
	c := checksum(b[:hl], 0)
	if h.badCsum {
		c = ^c
	}
	put16(b[10:], c)
	return append(b, payload...)
}

// IPv4Fragments splits payload, the whole upper-layer packet of protocol
// proto, into IPv4 fragments (RFC 791 §3.2) carrying at most size bytes
// each (size is rounded down to a multiple of 8). opts apply to every
// fragment; MF and the offset are set per fragment.
func IPv4Fragments(src, dst netip.Addr, proto uint8, payload []byte, size int, opts ...IPv4Option) [][]byte {
	size &^= 7
	if size <= 0 {
		panic("packettest: fragment size below 8")
	}
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		o := append(opts[:len(opts):len(opts)], FragOffset(uint16(off)))
		if end < len(payload) {
			o = append(o, MF())
		}
		out = append(out, IPv4(src, dst, proto, payload[off:end], o...))
	}
	return out
}

// IPv6Option changes a field of the header IPv6 builds.
type IPv6Option func(*ipv6Hdr)

type ipv6Hdr struct {
	tc       uint8
	flow     uint32
	hopLimit uint8
	plen     int
	plenSet  bool
}

// HopLimit sets the hop limit (default 64).
func HopLimit(h uint8) IPv6Option { return func(x *ipv6Hdr) { x.hopLimit = h } }

// TrafficClass sets the traffic class.
func TrafficClass(tc uint8) IPv6Option { return func(x *ipv6Hdr) { x.tc = tc } }

// FlowLabel sets the 20-bit flow label.
func FlowLabel(l uint32) IPv6Option { return func(x *ipv6Hdr) { x.flow = l & 0xfffff } }

// PayloadLength overrides the Payload Length field, to build malformed or
// snaplen-cut packets (0 with a Jumbo Payload option is a jumbogram).
func PayloadLength(n int) IPv6Option {
	return func(x *ipv6Hdr) { x.plen, x.plenSet = n, true }
}

// IPv6 returns an IPv6 header (RFC 8200 §3) whose Next Header is nextHdr,
// followed by payload (extension headers and the upper-layer packet).
func IPv6(src, dst netip.Addr, nextHdr uint8, payload []byte, opts ...IPv6Option) []byte {
	h := ipv6Hdr{hopLimit: 64}
	for _, o := range opts {
		o(&h)
	}
	if !h.plenSet {
		h.plen = len(payload)
	}
	b := make([]byte, 40, 40+len(payload))
	binary.BigEndian.PutUint32(b, 6<<28|uint32(h.tc)<<20|h.flow)
	put16(b[4:], mustFit16(h.plen, "IPv6 payload length"))
	b[6] = nextHdr
	b[7] = h.hopLimit
	copy(b[8:24], as16(src))
	copy(b[24:40], as16(dst))
	return append(b, payload...)
}

// Extension-header options (RFC 8200 §4.2) for HopByHop and DestOpts.

// Pad1 is the one-byte padding option.
func Pad1() []byte { return []byte{0} }

// PadN returns a PadN option n bytes long in all (n >= 2), data zero.
func PadN(n int) []byte {
	if n < 2 || n > 257 {
		panic("packettest: PadN length out of range")
	}
	b := make([]byte, n)
	b[0], b[1] = 1, byte(n-2)
	return b
}

// TLV returns an option of type typ with data, for options the package has
// no builder for (or malformed ones).
func TLV(typ uint8, data []byte) []byte {
	if len(data) > 255 {
		panic("packettest: option data longer than 255")
	}
	return append([]byte{typ, byte(len(data))}, data...)
}

// RouterAlert returns the Router Alert option (RFC 2711), value v (0 = MLD).
func RouterAlert(v uint16) []byte { return TLV(0x05, []byte{byte(v >> 8), byte(v)}) }

// HomeAddress returns the Mobile IPv6 Home Address option (RFC 6275 §6.3,
// type 0xC9). Its alignment requirement is 8n+6: put PadN(4) before it at
// the start of a Destination Options header.
func HomeAddress(a netip.Addr) []byte { return TLV(0xC9, as16(a)) }

// JumboPayload returns the Jumbo Payload option (RFC 2675 §2), alignment 4n+2.
func JumboPayload(n uint32) []byte { return TLV(0xC2, binary.BigEndian.AppendUint32(nil, n)) }

// TunnelEncapLimit returns the Tunnel Encapsulation Limit option (RFC 2473 §5.1).
func TunnelEncapLimit(l uint8) []byte { return TLV(0x04, []byte{l}) }

// HopByHop returns a Hop-by-Hop Options header (RFC 8200 §4.3) carrying
// opts, padded to a multiple of 8 bytes with Pad1 or PadN.
func HopByHop(next uint8, opts ...[]byte) []byte { return optionsHeader(next, opts) }

// DestOpts returns a Destination Options header (RFC 8200 §4.6) carrying
// opts, padded like HopByHop.
func DestOpts(next uint8, opts ...[]byte) []byte { return optionsHeader(next, opts) }

func optionsHeader(next uint8, opts [][]byte) []byte {
	b := []byte{next, 0}
	for _, o := range opts {
		b = append(b, o...)
	}
	switch pad := (8 - len(b)%8) % 8; pad {
	case 0:
	case 1:
		b = append(b, Pad1()...)
	default:
		b = append(b, PadN(pad)...)
	}
	if len(b) > 2048 {
		panic("packettest: options header longer than 2048 bytes")
	}
	b[1] = byte(len(b)/8 - 1)
	return b
}

// Routing returns a Routing header (RFC 8200 §4.4) of type typ with Segments
// Left segLeft and the layout of types 0 (RFC 5095) and 2 (RFC 6275 §6.4):
// four reserved bytes, then the addresses.
func Routing(next, typ, segLeft uint8, addrs ...netip.Addr) []byte {
	b := []byte{next, byte(2 * len(addrs)), typ, segLeft, 0, 0, 0, 0}
	for _, a := range addrs {
		b = append(b, as16(a)...)
	}
	return b
}

// Fragment returns a Fragment header (RFC 8200 §4.5): offset is in bytes and
// must be a multiple of 8; more is the M flag.
func Fragment(next uint8, id uint32, offset uint16, more bool) []byte {
	if offset%8 != 0 {
		panic("packettest: fragment offset not a multiple of 8")
	}
	om := offset
	if more {
		om |= 1
	}
	b := []byte{next, 0, byte(om >> 8), byte(om)}
	return binary.BigEndian.AppendUint32(b, id)
}

// AH returns an Authentication Header (RFC 4302 §2) with the given ICV. Its
// Payload Len is in 4-byte units minus 2; an IPv6 AH must be a multiple of 8
// bytes long, so give an ICV of 4, 12, 20… bytes there (12 is HMAC-SHA1-96).
func AH(next uint8, spi, seq uint32, icv []byte) []byte {
	n := 12 + len(icv)
	if n%4 != 0 {
		panic("packettest: AH length not a multiple of 4")
	}
	b := []byte{next, byte(n/4 - 2), 0, 0}
	b = binary.BigEndian.AppendUint32(b, spi)
	b = binary.BigEndian.AppendUint32(b, seq)
	return append(b, icv...)
}

// ESP returns an ESP packet (RFC 4303 §2): SPI, sequence number and the
// opaque rest (encrypted payload, padding, trailer and ICV).
func ESP(spi, seq uint32, opaque []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, spi)
	b = binary.BigEndian.AppendUint32(b, seq)
	return append(b, opaque...)
}

// IPv6Fragments fragments an IPv6 packet (RFC 8200 §4.5): unfrag is the
// per-fragment part of the chain (extension headers up to and including a
// Routing header, possibly empty) whose first header is firstHdr (use
// ProtoFragment when unfrag is empty), fragNext is the Next Header that
// unfrag's last header names (it must be ProtoFragment) or, in the Fragment
// header, the protocol of payload; payload is the fragmentable part. Each
// fragment carries at most size bytes of it (rounded down to a multiple of 8).
func IPv6Fragments(src, dst netip.Addr, firstHdr uint8, unfrag []byte, fragNext uint8, payload []byte, id uint32, size int, opts ...IPv6Option) [][]byte {
	size &^= 7
	if size <= 0 {
		panic("packettest: fragment size below 8")
	}
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		fh := Fragment(fragNext, id, uint16(off), end < len(payload))
		out = append(out, IPv6(src, dst, firstHdr, Cat(unfrag, fh, payload[off:end]), opts...))
	}
	return out
}
