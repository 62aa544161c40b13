// Package packettest builds packets for tests: hand-written header builders
// with correct lengths and checksums, hex literals with comments, and Sample,
// a small deterministic mixed trace.
//
// The builders are deliberately independent of the decoder in package
// packet: they share no code with it (only the LinkType and TCPFlags
// values), and they do not use gopacket, so a test can hold the decoder to
// packets it did not help to build and the sample-capture generator needs no
// third-party module.
//
// Each builder returns a freshly allocated []byte holding its header followed
// by the payload it was given, so builders nest from the inside out:
//
//	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.7")
//	seg := packettest.TCP(src, dst, packettest.TCPHeader{
//		SrcPort: 40000, DstPort: 443, Seq: 1, Flags: packet.TCPSyn, Window: 64240,
//		Options: packettest.Cat(packettest.MSS(1460), packettest.SACKPermitted()),
//	}, nil)
//	frame := packettest.Cat(packettest.Ether(packettest.MAC1, packettest.MAC2, 0x0800),
//		packettest.IPv4(src, dst, 6, seg))
//
// Transport builders take the addresses of the enclosing IP header because
// their checksums cover a pseudo-header (RFC 9293 §3.1, RFC 768, RFC 8200
// §8.1); the address family chooses the IPv4 or IPv6 pseudo-header. For an
// IPv6 packet with a Routing header RFC 8200 §8.1 says the pseudo-header
// holds the final destination; the builders use whatever dst they are
// given, so pass the final destination to get an RFC checksum, or the
// header destination to get what Linux nf_ip6_checksum verifies.
//
// Builders panic on arguments that cannot be encoded (a payload too long for
// a length field, an IPv4 address given to an IPv6 builder); they are for
// tests and tools, not for input from the network. Nothing in the package
// keeps state, so it is safe for concurrent use. Tests must import it from an
// external test package (package packet_test): it imports packet.
package packettest
