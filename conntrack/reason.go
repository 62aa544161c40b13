package conntrack

// Reason explains a packet conntrack found invalid, or an accepted packet it
// did not take into account (TCP's "ignored" segments). Linux often says
// nothing; hare always says why. Where Linux logs a reason
// (nf_conntrack_log_invalid) the text is Linux's.
type Reason uint8

const (
	ReasonNone Reason = iota

	ReasonNoTuple     // no trackable layer-4 header (No Next Header, non-first fragment, truncated transport)
	ReasonMalformed   // the decoder found the packet malformed (see the packet reason)
	ReasonBadChecksum // checksum verification failed (checksum=1)
	ReasonNoInvert    // a type with no reply direction cannot start a connection (Linux "Can't invert tuple")
	ReasonTableFull   // the table is full and nothing could be early-dropped (Linux NF_DROP "table full, dropping packet")

	ReasonTCPTruncated        // Linux tcp_error "truncated packet"
	ReasonTCPFlags            // Linux tcp_error "invalid tcp flag combination"
	ReasonTCPInvalidNew       // a segment that may not open a connection (no SYN with tcp_loose=0, SYN+ACK…)
	ReasonTCPInvalidState     // the state table has no transition for this segment
	ReasonTCPIgnored          // passed without changing state (an out-of-sync SYN, SYN/ACK or ACK: Linux TCP_CONNTRACK_IGNORE)
	ReasonTCPSeqOver          // TW-I failed
	ReasonTCPSeqUnder         // TW-II failed
	ReasonTCPAckOver          // TW-III failed
	ReasonTCPAckUnder         // TW-IV failed
	ReasonTCPOverUpperIgnored // seq past the window, but acceptable as a retransmission: ignored (TW-I)
	ReasonTCPInvalidRST       // RST sequence number out of window (TW-10)
	ReasonTCPChallengeAck     // a RST in range but not at the expected sequence: state kept for a challenge ACK

	ReasonUDPMalformed // Linux udp_error "truncated/malformed packet"

	ReasonICMPTruncated  // "short packet"
	ReasonICMPBadType    // an ICMP type Linux does not know (above NR_ICMP_TYPES)
	ReasonICMPInvalidNew // an ICMP message that may not start a connection (an unsolicited reply, K-13/K-16)
	ReasonICMPNoTuple    // an error whose quoted packet yields no tuple ("failed to get tuple")
	ReasonICMPNoMatch    // an error about no tracked connection (K-12, RFC 6092 REC-10)
	ReasonICMPOuterDst   // an error whose outer destination is not the quoted packet's source (K-12 anti-spoof)
	ReasonICMPRedirect   // an ICMPv6 redirect with code 0 but hop limit below 255 or a non-link-local source (K-15)

	ReasonSCTPMalformed // bad chunk layout or verification tag
	ReasonSCTPInvalid   // no transition for this chunk in this state
	ReasonSCTPIgnored   // passed without refreshing the entry (an INIT repeated while CLOSED, a HEARTBEAT with a tag not yet known)

	numReasons
)

var reasonText = [numReasons]string{
	ReasonNone:                "",
	ReasonNoTuple:             "no layer-4 header to track",
	ReasonMalformed:           "malformed packet",
	ReasonBadChecksum:         "bad checksum",
	ReasonNoInvert:            "can't invert tuple",
	ReasonTableFull:           "table full, dropping packet",
	ReasonTCPTruncated:        "truncated packet",
	ReasonTCPFlags:            "invalid tcp flag combination",
	ReasonTCPInvalidNew:       "invalid new",
	ReasonTCPInvalidState:     "invalid in this state",
	ReasonTCPIgnored:          "ignored in this state",
	ReasonTCPSeqOver:          "SEQ is over upper bound (over the window of the receiver)",
	ReasonTCPSeqUnder:         "SEQ is under lower bound (already ACKed data retransmitted)",
	ReasonTCPAckOver:          "ACK is over upper bound (ACKed data not seen yet)",
	ReasonTCPAckUnder:         "ACK is under lower bound (possible overly delayed ACK)",
	ReasonTCPOverUpperIgnored: "SEQ over upper bound but a retransmission: ignored",
	ReasonTCPInvalidRST:       "invalid rst",
	ReasonTCPChallengeAck:     "rst in window but not at the expected sequence: challenge ACK expected",
	ReasonUDPMalformed:        "truncated/malformed packet",
	ReasonICMPTruncated:       "short packet",
	ReasonICMPBadType:         "invalid icmp type",
	ReasonICMPInvalidNew:      "invalid new",
	ReasonICMPNoTuple:         "icmp error: failed to get tuple",
	ReasonICMPNoMatch:         "icmp error: no matching connection",
	ReasonICMPOuterDst:        "icmp error: outer daddr != inner saddr",
	ReasonICMPRedirect:        "icmpv6 redirect: bad hop limit or source",
	ReasonSCTPMalformed:       "malformed sctp packet",
	ReasonSCTPInvalid:         "invalid sctp chunk for this state",
	ReasonSCTPIgnored:         "sctp chunk ignored in this state",
}

// String returns the explanation.
func (r Reason) String() string {
	if r < numReasons {
		return reasonText[r]
	}
	return "unknown reason"
}

// NumReasons is the number of Reason values, for counter arrays.
const NumReasons = int(numReasons)
