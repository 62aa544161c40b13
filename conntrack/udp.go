package conntrack

import (
	"time"

	"github.com/hare-fw/hare/packet"
)

// udpStreamDelay: a replied UDP flow still active this long after its first
// packet becomes a stream (Linux sets ct->proto.udp.stream_ts = jiffies + 2*HZ).
const udpStreamDelay = int64(2 * time.Second)

// udpError mirrors Linux udp_error and udplite_error: malformed headers and
// bad checksums make the packet invalid before any lookup.
func udpError(p *packet.Parsed, csumBad bool) Reason {
	switch p.Reason {
	case packet.ReasonUDPTruncated, packet.ReasonUDPBadLength, packet.ReasonUDPLiteBadCoverage:
		return ReasonUDPMalformed
	}
	if !p.HasTransport() {
		return ReasonUDPMalformed
	}
	if csumBad {
		return ReasonBadChecksum
	}
	return ReasonNone
}

// udpPacket mirrors Linux nf_conntrack_udp_packet (6.x): unreplied flows get
// udp_timeout; once a reply was seen, a packet more than 2 s after the first
// makes the flow a stream: udp_timeout_stream and ASSURED.
func udpPacket(e *entry, s *Settings, now int64) (verdict, int64, EventMask) {
	if e.status&StatusSeenReply == 0 {
		return vAccept, s.timeout(setUDP), 0
	}
	if now <= e.start+udpStreamDelay {
		return vAccept, s.timeout(setUDP), 0
	}
	var ev EventMask
	if e.status&(StatusAssured|StatusNATClash) == 0 {
		e.status |= StatusAssured
		ev = EventAssured
	}
	return vAccept, s.timeout(setUDPStream), ev
}

// udplitePacket mirrors Linux nf_conntrack_udplite_packet, which kept the
// older UDP rule: any packet after a reply makes the flow ASSURED with
// udp_timeout_stream, with no 2-second wait (the kernel reference's
// udplite_vs_udp scenario shows it).
func udplitePacket(e *entry, s *Settings) (verdict, int64, EventMask) {
	return repliedStream(e, s.timeout(setUDP), s.timeout(setUDPStream))
}

// grePacket mirrors Linux gre_packet: gre_timeout until a reply, then
// gre_timeout_stream and ASSURED.
func grePacket(e *entry, s *Settings) (verdict, int64, EventMask) {
	return repliedStream(e, s.timeout(setGRE), s.timeout(setGREStream))
}

// repliedStream is the rule UDP-Lite and GRE share: the unreplied timeout
// until a reply has been seen, then the stream timeout and ASSURED (never
// for a NAT clash entry, which is meant to time out soon).
func repliedStream(e *entry, unreplied, stream int64) (verdict, int64, EventMask) {
	if e.status&StatusSeenReply == 0 {
		return vAccept, unreplied, 0
	}
	var ev EventMask
	if e.status&(StatusAssured|StatusNATClash) == 0 {
		e.status |= StatusAssured
		ev = EventAssured
	}
	return vAccept, stream, ev
}
