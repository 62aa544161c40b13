// Package packet decodes captured frames and IP datagrams into a Parsed: the
// addresses, protocols, ports, flags and header chain that connection
// tracking and filtering need.
//
// Decoding is the hot path, so it follows three rules:
//
//   - Views, not copies. Parsed keeps the frame and records offsets and the
//     few fields the tracker needs; addresses are netip.Addr values made
//     without allocating. Decode allocates nothing (TestNoAllocs).
//   - Caller-owned memory. One Parsed is reused packet after packet; Decode
//     overwrites all of it.
//   - Reasons, not errors. A frame that cannot be decoded completely yields
//     the fields decoded so far and a Reason saying what is wrong; oddities
//     that do not stop decoding (extension headers out of order, a Home
//     Address option…) are Anomalies. What to do about either is the
//     tracker's and the ruleset's business, never the decoder's.
//
// IPv6 extension headers are walked strictly in order, honouring every
// length field (RFC 8200 §4), with the skip rules of Linux
// ipv6_skip_exthdr: Hop-by-Hop, Routing, Fragment (offset 0 only), AH and
// Destination Options are walked past; ESP, Mobility, HIP, Shim6, the
// experimental values and unknown values end the walk and become Proto
// (requirements rows K-01, K-02). A non-first fragment has no transport
// header (K-04); a first fragment without the whole chain and the start of
// the transport header is ReasonFragIncomplete (RFC 7112 §5, K-09).
//
// ICMP and ICMPv6 errors carry the packet they report on; Decode reads its
// IP header, extension headers and first 8 transport bytes into Quote so a
// tracker can find the flow (K-12). Tunnels (IP-in-IP, 6in4, GRE, Teredo)
// are recognised but followed only on request, with DecodeInner.
//
// Checksums are verified only on request (VerifyChecksums), since a capture
// taken on a host with checksum offload holds partial sums that mean
// nothing.
package packet
