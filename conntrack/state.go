package conntrack

// State is what conntrack concluded about a packet: the `ct state` of
// nftables (Linux enum ip_conntrack_info, folded to its five states).
type State uint8

const (
	StateInvalid     State = iota // no entry: the packet fits no connection the tracker accepts
	StateNew                      // the first packet of a connection (or a repeat before any reply)
	StateEstablished              // a packet of a connection that has seen traffic both ways, or a reply
	StateRelated                  // an ICMP error about a connection, or an expected connection
	StateUntracked                // exempt: notrack, or ND/MLD (Linux IP_CT_UNTRACKED)
)

var stateNames = [...]string{"invalid", "new", "established", "related", "untracked"}

// String returns the nft spelling.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Dir is the direction of a packet relative to the connection's first
// packet (Linux enum ip_conntrack_dir).
type Dir uint8

const (
	DirOriginal Dir = iota
	DirReply
)

func (d Dir) String() string {
	if d == DirReply {
		return "reply"
	}
	return "original"
}

// Status is the set of status bits of an entry, numbered as Linux's enum
// ip_conntrack_status so they print and export the same.
type Status uint32

const (
	StatusExpected     Status = 1 << 0  // IPS_EXPECTED: the connection was expected (helper)
	StatusSeenReply    Status = 1 << 1  // IPS_SEEN_REPLY: packets seen both ways
	StatusAssured      Status = 1 << 2  // IPS_ASSURED: never early-dropped
	StatusConfirmed    Status = 1 << 3  // IPS_CONFIRMED: in the table
	StatusSrcNAT       Status = 1 << 4  // IPS_SRC_NAT
	StatusDstNAT       Status = 1 << 5  // IPS_DST_NAT
	StatusSeqAdjust    Status = 1 << 6  // IPS_SEQ_ADJUST
	StatusSrcNATDone   Status = 1 << 7  // IPS_SRC_NAT_DONE
	StatusDstNATDone   Status = 1 << 8  // IPS_DST_NAT_DONE
	StatusDying        Status = 1 << 9  // IPS_DYING: being destroyed
	StatusFixedTimeout Status = 1 << 10 // IPS_FIXED_TIMEOUT: protocols do not change the timeout
	StatusTemplate     Status = 1 << 11 // IPS_TEMPLATE
	StatusNATClash     Status = 1 << 12 // IPS_NAT_CLASH
	StatusHelper       Status = 1 << 13 // IPS_HELPER
	StatusOffload      Status = 1 << 14 // IPS_OFFLOAD
	StatusHWOffload    Status = 1 << 15 // IPS_HW_OFFLOAD
)

var statusNames = [...]string{
	"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT", "DST_NAT", "SEQ_ADJUST",
	"SRC_NAT_DONE", "DST_NAT_DONE", "DYING", "FIXED_TIMEOUT", "TEMPLATE", "NAT_CLASH",
	"HELPER", "OFFLOAD", "HW_OFFLOAD",
}

// Has reports whether s has every bit of b.
func (s Status) Has(b Status) bool { return s&b == b }

// String lists the set bits by their Linux names, comma-separated.
func (s Status) String() string {
	out := ""
	for i, n := range statusNames {
		if s&(1<<i) != 0 {
			if out != "" {
				out += ","
			}
			out += n
		}
	}
	return out
}

// TCPState is the TCP connection state of Linux's tcp_conntracks table
// (enum tcp_conntrack), in the same order.
type TCPState uint8

const (
	TCPNone TCPState = iota
	TCPSynSent
	TCPSynRecv
	TCPEstablished
	TCPFinWait
	TCPCloseWait
	TCPLastAck
	TCPTimeWait
	TCPClose
	TCPSynSent2 // simultaneous open (Linux TCP_CONNTRACK_SYN_SENT2)
	tcpMax
	tcpIgnore // pseudo-state of the table: pass the packet, change nothing
	tcpRetrans
	tcpUnack
)

var tcpStateNames = [...]string{
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK",
	"TIME_WAIT", "CLOSE", "SYN_SENT2",
}

// String returns the name conntrack -L prints.
func (s TCPState) String() string {
	if int(s) < len(tcpStateNames) {
		return tcpStateNames[s]
	}
	return "UNKNOWN"
}
