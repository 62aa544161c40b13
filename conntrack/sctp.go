package conntrack

import "github.com/hare-fw/hare/packet"

// sctpState is the SCTP tracker's state (struct ip_ct_sctp).
//
// Placeholder: until the SCTP state machine is written, SCTP is tracked as
// a generic protocol (generic_timeout, no state).
type sctpState struct {
	state uint8
}

// sctpError mirrors Linux sctp_error: checks that need no entry.
func sctpError(p *packet.Parsed, csumBad bool, s *Settings) Reason {
	if !p.HasTransport() || p.Reason == packet.ReasonSCTPBadChunk {
		return ReasonSCTPMalformed
	}
	if csumBad {
		return ReasonBadChecksum
	}
	return ReasonNone
}

// sctpNew mirrors Linux sctp_new.
func sctpNew(e *entry, p *packet.Parsed, s *Settings) Reason { return ReasonNone }

// sctpPacket mirrors Linux nf_conntrack_sctp_packet.
func sctpPacket(e *entry, p *packet.Parsed, dir Dir, s *Settings) (verdict, int64, EventMask, Reason) {
	return vAccept, s.timeout(setGeneric), 0, ReasonNone
}
