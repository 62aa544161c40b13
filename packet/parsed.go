package packet

import "net/netip"

// Limits of the IPv6 extension-header walk.
const (
	// MaxExtRecorded is how many extension headers Parsed.Ext records in
	// order. The walk itself goes on past it (RFC 8200 §4.1 says a node must
	// accept any number), so the upper-layer header is still found; the
	// excess only sets AnomalyChainOversized.
	MaxExtRecorded = 12

	// MaxChainBytes is the longest header chain (IPv6 header plus extension
	// headers) that is not flagged AnomalyChainOversized: the 1280-byte IPv6
	// minimum MTU, the limit RFC 7112 §5 sets for hosts that do not do PMTUD.
	MaxChainBytes = 1280
)

// Parsed is one decoded packet: the fields a firewall and connection tracker
// need, taken from views over the frame without copying it.
//
// The zero value is an empty packet (IPVersion 0, no transport). Decode
// overwrites every field, so one Parsed is reused across packets (take one
// per batch, not one per packet). A Parsed is not safe for concurrent use.
//
// Decode retains the frame it was given until the next Decode; the byte
// slices returned by methods (Payload, InnerIP, Frame) alias it.
type Parsed struct {
	b []byte // the frame given to Decode

	// capEnd and dgramEnd are where the IP datagram ends in b: as captured,
	// and as its header states. Headers that run past dgramEnd are
	// malformed; headers that run only past capEnd were cut by the capture.
	capEnd, dgramEnd int

	// Link layer.
	Link LinkType // link type the frame was decoded as
	// EtherType is the protocol after the link header and any VLAN tags
	// (0x0800, 0x86DD, 0x0806…); for link types that carry a bare IP
	// datagram (raw, loopback, NFLOG) it is the EtherType of its IP version.
	EtherType uint16
	VLAN      [2]uint16
	NumVLAN   uint8 // VLAN tags seen; only the first two (outer first) are kept in VLAN
	L3Off     int   // offset of the IP header in the frame

	// Network layer. IPVersion is 4 or 6; 0 when the frame carries no IP
	// (ARP, LLDP…) or the IP header could not be decoded (see Reason).
	IPVersion uint8
	Src, Dst  netip.Addr
	TOS       uint8  // IPv4 TOS byte or IPv6 traffic class (DSCP<<2 | ECN)
	HopLimit  uint8  // IPv4 TTL or IPv6 hop limit
	FlowLabel uint32 // IPv6 only
	IHL       uint8  // IPv4 header length in bytes (options = IHL-20)
	// L3Len is the datagram length the IP header states (IPv4 total length,
	// IPv6 40+payload length), which is what Linux counts as bytes in
	// nf_conntrack_acct. It can exceed the captured length (snaplen); then
	// Reason is ReasonIPTruncated.
	L3Len int
	Frag  Frag     // fragmentation fields (IPv4 header or IPv6 Fragment header)
	Ext   ExtChain // IPv6 extension headers, in order

	// Transport layer. Proto is the upper-layer protocol: the IPv4 protocol
	// field or, for IPv6, the first Next Header value the extension-header
	// walk does not skip (see ExtChain). L4Off is the offset of its header in
	// the frame, 0 when there is none to decode (a non-first fragment, No
	// Next Header, or a header too short for its fixed fields). A header
	// whose fixed fields are there but whose length fields are wrong (a bad
	// TCP data offset, a bad UDP length) keeps L4Off, and Reason says what
	// is wrong.
	Proto            IPProto
	L4Off            int
	L4Len            int // bytes of the upper-layer header and payload inside the datagram and the capture
	SrcPort, DstPort uint16
	TCP              TCP
	UDPLen           uint16 // UDP length field; for UDP-Lite, the checksum coverage
	SCTP             SCTP
	DCCPType         uint8
	GRE              GRE
	SPI              uint32 // ESP SPI when Proto is ESP; AH SPI when an AH was seen (IPv4 AH or an IPv6 AH extension header)
	ICMP             ICMP
	// Quote is the packet an ICMP or ICMPv6 error carries (ICMP.IsError), so
	// a tracker can look up the flow the error reports on.
	Quote Quote

	// Tunnel is the kind of tunnel this packet carries, if any; InnerOff is
	// the offset of the inner IP header. DecodeInner decodes it on request.
	Tunnel   Tunnel
	InnerOff int

	// Reason is the first problem that stopped or limited the decode;
	// ReasonNone when the packet decoded cleanly. Fields up to the faulty
	// header are valid. VerifyChecksums may set a checksum reason.
	Reason Reason
	// Anomalies are oddities that do not stop decoding: extension headers
	// out of order or repeated, a Home Address option, an oversized chain.
	Anomalies Anomaly

	// CsumUnnecessary is set by the caller, after Decode (which clears
	// it), for a packet whose transport checksum is known good or not yet
	// computed: a live datapath's CHECKSUM_PARTIAL packet (a GSO
	// super-packet, whose checksum field holds the pseudo-header sum
	// until segmentation). VerifyChecksums then checks only the IPv4
	// header checksum, as Linux's nf_ip_checksum and nf_ip6_checksum skip
	// what skb_csum_unnecessary vouches for.
	CsumUnnecessary bool
}

// Frag holds the fragmentation fields of the packet.
type Frag struct {
	Kind   FragKind
	ID     uint32 // IPv4 Identification (16 bits) or IPv6 Fragment Identification
	Offset uint16 // fragment offset in bytes
	More   bool   // MF / M flag
	DF     bool   // IPv4 Don't Fragment
	// HdrOff is the offset of the IPv6 Fragment header in the frame; 0 for
	// IPv4 and unfragmented IPv6.
	HdrOff int
}

// FragKind classifies a packet by fragmentation.
type FragKind uint8

const (
	NotFragment FragKind = iota // no fragmentation (IPv4 MF=0 offset=0; IPv6 without Fragment header)
	FragFirst                   // offset 0, more fragments follow
	FragLater                   // offset > 0: a middle or last fragment, no transport header
	FragAtomic                  // IPv6 Fragment header with offset 0 and M=0 (RFC 6946): a whole packet
)

func (k FragKind) String() string {
	switch k {
	case NotFragment:
		return "none"
	case FragFirst:
		return "first"
	case FragLater:
		return "later"
	case FragAtomic:
		return "atomic"
	}
	return "unknown"
}

// IsFragment reports whether the packet is part of a fragmented datagram
// (first or later fragment; an atomic fragment is not).
func (f Frag) IsFragment() bool { return f.Kind == FragFirst || f.Kind == FragLater }

// ExtChain records the IPv6 extension-header chain.
type ExtChain struct {
	Hdrs  [MaxExtRecorded]ExtHeader // the first N headers, in order
	N     uint8                     // headers recorded in Hdrs
	Count int                       // headers walked (may exceed N)
	Len   int                       // bytes of extension headers walked
	Seen  ExtSet                    // kinds present anywhere in the walk

	RoutingType  uint8 // type of the (first) Routing header, when Seen has ExtRouting
	SegmentsLeft uint8 // its Segments Left
	MobilityType uint8 // MH Type when Proto is the Mobility Header (RFC 6275 §6.1.1)
}

// ExtHeader is one extension header of the chain.
type ExtHeader struct {
	Kind ExtKind
	Off  uint16 // offset in the frame
	Len  uint16 // length in bytes
}

// Headers returns the recorded headers in order. It does not allocate.
func (c *ExtChain) Headers() []ExtHeader { return c.Hdrs[:c.N] }

// TCP holds the TCP header fields and the options a tracker needs.
type TCP struct {
	Seq, Ack uint32
	Flags    TCPFlags
	Window   uint16 // raw window field (unscaled)
	DataOff  uint8  // header length in bytes
	Opts     TCPOpts
	MSS      uint16
	WScale   uint8 // shift count as sent (may exceed 14; RFC 7323 §2.3 says clamp, the tracker decides)
	TSVal    uint32
	TSEcr    uint32
	SACK     [4]SACKBlock
	NumSACK  uint8
}

// TCPOpts is the set of TCP options present.
type TCPOpts uint8

const (
	OptMSS       TCPOpts = 1 << iota // kind 2
	OptWScale                        // kind 3
	OptSACKPerm                      // kind 4
	OptSACK                          // kind 5
	OptTimestamp                     // kind 8
	OptFastOpen                      // kind 34 (RFC 7413)
)

// SACKBlock is one SACK block: the left and right edges (RFC 2018 §3).
type SACKBlock struct{ Left, Right uint32 }

// TCPFlags are the TCP flag bits, in header order (FIN = bit 0). AE is the
// AccECN flag (RFC 9768), formerly NS.
type TCPFlags uint16

const (
	TCPFin TCPFlags = 1 << iota
	TCPSyn
	TCPRst
	TCPPsh
	TCPAck
	TCPUrg
	TCPEce
	TCPCwr
	TCPAe
)

// SCTP holds the SCTP common header and the chunk types present.
type SCTP struct {
	VTag       uint32
	FirstChunk uint8  // type of the first chunk (INIT, DATA…)
	Chunks     uint32 // bit n set when a chunk of type n (< 32) is present
	// OtherChunks is set when a chunk of type >= 32 is present (ASCONF,
	// FORWARD-TSN…).
	OtherChunks bool
	NumChunks   int
}

// GRE holds the GRE header fields (RFC 2784/2890 version 0, RFC 2637 version 1).
type GRE struct {
	Version  uint8
	Flags    uint16 // the first 16 bits: C, K, S… and the version
	Protocol uint16 // EtherType of the payload
	Key      uint32 // version 0 key, when HasKey
	HasKey   bool
	CallID   uint16 // version 1 (PPTP) call ID
}

// ICMP holds ICMPv4 or ICMPv6 fields.
type ICMP struct {
	Type, Code uint8
	// ID and Seq are the query identifier and sequence number of echo,
	// timestamp, information, address mask and node information messages.
	ID, Seq uint16
	IsError bool // an error message quoting an invoking packet (see Quote)
	// MTU is the next-hop MTU of an IPv4 fragmentation-needed or an ICMPv6
	// Packet Too Big; Pointer the Parameter Problem pointer.
	MTU     uint32
	Pointer uint32
}

// Quote is the invoking packet an ICMP error carries: its IP header,
// extension headers and the first 8 bytes of its transport header, which is
// all RFC 792 guarantees. Fields are as in Parsed.
type Quote struct {
	IPVersion        uint8
	Src, Dst         netip.Addr
	Proto            IPProto
	L3Len            int // datagram length the quoted header states (usually more than was quoted)
	Frag             Frag
	ExtSeen          ExtSet
	HasL4            bool // the first 8 bytes of the transport header were quoted
	SrcPort, DstPort uint16
	TCPSeq           uint32
	ICMPType         uint8
	ICMPCode         uint8
	ICMPID           uint16
	SPI              uint32 // ESP
	GREKey           uint32
	Off              int // offset of the quoted IP header in the frame
	// Reason says why the quote could not be decoded up to the transport
	// header; ReasonNone when it was.
	Reason Reason
}
