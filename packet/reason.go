package packet

// Reason says why a packet could not be decoded completely, or, after
// VerifyChecksums, which checksum is wrong. The zero value ReasonNone means
// no problem. Reasons are constants so the packet path can count them
// without allocating.
type Reason uint8

const (
	ReasonNone Reason = iota

	// Link layer.
	ReasonUnsupportedLink // the link type is not one Decode knows
	ReasonLinkTruncated   // the frame is shorter than its link-layer header
	ReasonNFLOGMalformed  // an NFLOG TLV runs past the frame, or there is no NFULA_PAYLOAD

	// IP.
	ReasonIPVersion      // the version nibble disagrees with the link layer, or is neither 4 nor 6
	ReasonIPv4Truncated  // fewer than 20 bytes, or fewer than IHL, were captured
	ReasonIPv4BadIHL     // IHL below 5 (RFC 791 §3.1)
	ReasonIPv4BadLength  // total length below the header length
	ReasonIPv6Truncated  // fewer than 40 bytes were captured
	ReasonIPTruncated    // the capture holds fewer bytes than the IP header states (snaplen); decoding went on with what is there
	ReasonExtTruncated   // an extension header runs past the datagram (RFC 8200 §4: lengths must be honoured)
	ReasonExtBadOption   // an option TLV runs past its header (RFC 8200 §4.2)
	ReasonFragIncomplete // a first fragment without the whole header chain and the transport header (RFC 7112 §5; Linux ipv6frag_thdr_truncated)
	ReasonFragBadLength  // a fragment with M=1 whose length is not a multiple of 8 (RFC 8200 §4.5)
	ReasonFragTooBig     // fragment offset plus length exceeds 65535 (RFC 8200 §4.5)
	ReasonBadJumbo       // Jumbo Payload option and Payload Length disagree, or the jumbo length is below 65536 (RFC 2675 §3)
	ReasonAHBadLength    // an AH whose Payload Len gives fewer than 12 bytes (RFC 4302 §2.2)

	// Transport.
	ReasonTCPTruncated
	ReasonTCPBadDataOffset // data offset below 5 or past the segment
	ReasonTCPBadOption     // an option length of 0 or 1, or one that runs past the header
	ReasonUDPTruncated
	ReasonUDPBadLength       // the UDP length field is below 8 or above the datagram
	ReasonUDPLiteBadCoverage // checksum coverage 1..7 or above the datagram (RFC 3828 §3.1)
	ReasonSCTPTruncated
	ReasonSCTPBadChunk // a chunk length below 4 or past the packet (RFC 9260 §3.2)
	ReasonDCCPTruncated
	ReasonDCCPBadOffset // data offset below the generic header size (RFC 4340 §5.1)
	ReasonGRETruncated
	ReasonGREBadVersion // GRE version other than 0 or 1
	ReasonICMPTruncated
	ReasonICMPBadQuote // an ICMP error without a decodable quoted IP header
	ReasonESPTruncated
	ReasonAHTruncated

	// Checksums (set by VerifyChecksums, never by Decode).
	ReasonBadIPv4Checksum
	ReasonBadTCPChecksum
	ReasonBadUDPChecksum
	ReasonBadUDPLiteChecksum
	ReasonBadICMPChecksum
	ReasonBadICMPv6Checksum
	ReasonUDPZeroChecksum6 // UDP over IPv6 with checksum 0 (RFC 8200 §8.1)
	ReasonBadSCTPChecksum  // SCTP CRC32c mismatch (RFC 9260 §6.8)

	numReasons
)

var reasonText = [numReasons]string{
	ReasonNone:               "ok",
	ReasonUnsupportedLink:    "unsupported link type",
	ReasonLinkTruncated:      "link header truncated",
	ReasonNFLOGMalformed:     "malformed NFLOG TLVs",
	ReasonIPVersion:          "bad IP version",
	ReasonIPv4Truncated:      "IPv4 header truncated",
	ReasonIPv4BadIHL:         "IPv4 IHL below 5",
	ReasonIPv4BadLength:      "IPv4 total length below header length",
	ReasonIPv6Truncated:      "IPv6 header truncated",
	ReasonIPTruncated:        "datagram longer than captured",
	ReasonExtTruncated:       "extension header truncated",
	ReasonExtBadOption:       "option runs past its extension header",
	ReasonFragIncomplete:     "first fragment without the whole header chain",
	ReasonFragBadLength:      "non-last fragment length not a multiple of 8",
	ReasonFragTooBig:         "fragment ends past 65535",
	ReasonBadJumbo:           "bad jumbo payload length",
	ReasonTCPTruncated:       "TCP header truncated",
	ReasonTCPBadDataOffset:   "bad TCP data offset",
	ReasonTCPBadOption:       "malformed TCP option",
	ReasonUDPTruncated:       "UDP header truncated",
	ReasonUDPBadLength:       "bad UDP length",
	ReasonUDPLiteBadCoverage: "bad UDP-Lite checksum coverage",
	ReasonSCTPTruncated:      "SCTP header truncated",
	ReasonSCTPBadChunk:       "malformed SCTP chunk",
	ReasonDCCPTruncated:      "DCCP header truncated",
	ReasonDCCPBadOffset:      "bad DCCP data offset",
	ReasonGRETruncated:       "GRE header truncated",
	ReasonGREBadVersion:      "unknown GRE version",
	ReasonICMPTruncated:      "ICMP header truncated",
	ReasonICMPBadQuote:       "ICMP error without a decodable quoted packet",
	ReasonESPTruncated:       "ESP header truncated",
	ReasonAHTruncated:        "AH header truncated",
	ReasonBadIPv4Checksum:    "bad IPv4 header checksum",
	ReasonBadTCPChecksum:     "bad TCP checksum",
	ReasonBadUDPChecksum:     "bad UDP checksum",
	ReasonBadUDPLiteChecksum: "bad UDP-Lite checksum",
	ReasonBadICMPChecksum:    "bad ICMP checksum",
	ReasonBadICMPv6Checksum:  "bad ICMPv6 checksum",
	ReasonUDPZeroChecksum6:   "UDP over IPv6 with zero checksum",
	ReasonBadSCTPChecksum:    "bad SCTP checksum",
}

// String returns a short human explanation of the reason.
func (r Reason) String() string {
	if r < numReasons {
		return reasonText[r]
	}
	return "unknown reason"
}

// IsChecksum reports whether r is a checksum failure.
func (r Reason) IsChecksum() bool { return r >= ReasonBadIPv4Checksum && r <= ReasonBadSCTPChecksum }

// NumReasons is the number of Reason values, for arrays of counters indexed
// by Reason.
const NumReasons = int(numReasons)

// Anomaly is a set of oddities in a packet that do not stop decoding. The
// ruleset or tracker decides what to do about them.
type Anomaly uint16

const (
	// AnomalyExtRepeated: an extension header occurs more often than RFC
	// 8200 §4.1 allows (each once, Destination Options twice).
	AnomalyExtRepeated Anomaly = 1 << iota
	// AnomalyExtOrder: extension headers out of the RFC 8200 §4.1 order.
	AnomalyExtOrder
	// AnomalyHBHNotFirst: a Hop-by-Hop header anywhere but right after the
	// IPv6 header (RFC 8200 §4.3).
	AnomalyHBHNotFirst
	// AnomalyHomeAddress: a Destination Options header carries the Mobile
	// IPv6 Home Address option (RFC 6275 §6.3).
	AnomalyHomeAddress
	// AnomalyChainOversized: more than MaxExtRecorded extension headers, or
	// a header chain longer than MaxChainBytes (RFC 7112 §5).
	AnomalyChainOversized
	// AnomalyRH0: a type 0 Routing header, deprecated by RFC 5095 §3.
	AnomalyRH0
	// AnomalyExtAfterNoNext: bytes follow a No Next Header (RFC 8200 §4.7
	// says ignore them; covert channels use them).
	AnomalyExtAfterNoNext
	// AnomalyIPv4Options: the IPv4 header carries options.
	AnomalyIPv4Options
	// AnomalyTrailingBytes: the frame holds bytes past the end of the IP
	// datagram (beyond Ethernet minimum-frame padding).
	AnomalyTrailingBytes
	// AnomalyAHShort: an IPv6 AH shorter than the 12 bytes RFC 4302 §2.2
	// requires. Linux ipv6_skip_exthdr walks past it all the same, and so
	// does Decode.
	AnomalyAHShort

	numAnomalies = iota
)

var anomalyText = [numAnomalies]string{
	"extension header repeated",
	"extension headers out of order",
	"hop-by-hop header not first",
	"home address option",
	"oversized header chain",
	"routing header type 0",
	"bytes after no next header",
	"IPv4 options",
	"trailing bytes after datagram",
	"short AH",
}

// NumAnomalies is the number of Anomaly bits.
const NumAnomalies = numAnomalies

// Has reports whether a contains every bit of b.
func (a Anomaly) Has(b Anomaly) bool { return a&b == b }

// Name returns the text of bit i (0 <= i < NumAnomalies).
func AnomalyName(i int) string { return anomalyText[i] }

// String lists the set bits, comma-separated. It allocates; it is for
// humans and tests, not the packet path.
func (a Anomaly) String() string {
	s := ""
	for i := 0; i < numAnomalies; i++ {
		if a&(1<<i) != 0 {
			if s != "" {
				s += ","
			}
			s += anomalyText[i]
		}
	}
	return s
}
