package metrics

import "github.com/hare-fw/hare/conntrack"

// ctReasonNames are the reason label values of
// hare_conntrack_invalid_packets_total: short, stable identifiers of
// conntrack.Reason (whose String is a sentence). A new Reason without a
// name here fails TestReasonNames.
var ctReasonNames = [conntrack.NumReasons]string{
	conntrack.ReasonNone:                "none",
	conntrack.ReasonNoTuple:             "no_tuple",
	conntrack.ReasonMalformed:           "malformed",
	conntrack.ReasonBadChecksum:         "bad_checksum",
	conntrack.ReasonNoInvert:            "no_invert",
	conntrack.ReasonTableFull:           "table_full",
	conntrack.ReasonTCPTruncated:        "tcp_truncated",
	conntrack.ReasonTCPFlags:            "tcp_flags",
	conntrack.ReasonTCPInvalidNew:       "tcp_invalid_new",
	conntrack.ReasonTCPInvalidState:     "tcp_invalid_state",
	conntrack.ReasonTCPIgnored:          "tcp_ignored",
	conntrack.ReasonTCPSeqOver:          "tcp_seq_over",
	conntrack.ReasonTCPSeqUnder:         "tcp_seq_under",
	conntrack.ReasonTCPAckOver:          "tcp_ack_over",
	conntrack.ReasonTCPAckUnder:         "tcp_ack_under",
	conntrack.ReasonTCPOverUpperIgnored: "tcp_over_upper_ignored",
	conntrack.ReasonTCPInvalidRST:       "tcp_invalid_rst",
	conntrack.ReasonTCPChallengeAck:     "tcp_challenge_ack",
	conntrack.ReasonUDPMalformed:        "udp_malformed",
	conntrack.ReasonICMPTruncated:       "icmp_truncated",
	conntrack.ReasonICMPBadType:         "icmp_bad_type",
	conntrack.ReasonICMPInvalidNew:      "icmp_invalid_new",
	conntrack.ReasonICMPNoTuple:         "icmp_no_tuple",
	conntrack.ReasonICMPNoMatch:         "icmp_no_match",
	conntrack.ReasonICMPOuterDst:        "icmp_outer_dst",
	conntrack.ReasonICMPRedirect:        "icmp_redirect",
	conntrack.ReasonSCTPMalformed:       "sctp_malformed",
	conntrack.ReasonSCTPInvalid:         "sctp_invalid",
	conntrack.ReasonSCTPIgnored:         "sctp_ignored",
}

// CTReasonName returns the label value of a conntrack reason.
func CTReasonName(r conntrack.Reason) string {
	if int(r) < len(ctReasonNames) {
		return ctReasonNames[r]
	}
	return "unknown"
}
