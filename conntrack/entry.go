package conntrack

// entry is one connection as the table stores it. It holds no pointers, so
// the arrays of entries are invisible to the garbage collector however many
// there are.
type entry struct {
	tuple    [2]Tuple // indexed by Dir: original and reply
	id       uint32   // stable id, as conntrack -o id prints
	gen      uint32   // bumped when the slot is reused, so stale refs fail
	status   Status
	mark     uint32
	start    int64 // ns, table clock (first packet)
	deadline int64 // ns, table clock: the entry expires at this instant
	counters [2]Counters
	labels   [2]uint64
	timeout  int64 // the timeout last set, for display (ns)
	tcp      tcpState
	proto    protoState
}

// Counters are the packet and byte counts of one direction (Linux
// nf_conn_counter). Bytes are layer-3 lengths, after reassembly, as Linux
// nf_ct_acct_update counts them.
type Counters struct {
	Packets, Bytes uint64
}

// protoState is the private state of the trackers other than TCP. (UDP's
// stream_ts is not stored: it is always start + udpStreamDelay.)
type protoState struct {
	sctp sctpState // defined in sctp.go
}

// tcpDir is what the window tracker knows of one direction: struct
// ip_ct_tcp_state of nf_conntrack_proto_tcp.c.
type tcpDir struct {
	end    uint32 // td_end: highest seq+len sent
	maxEnd uint32 // td_maxend: highest ack+window seen from the peer
	maxWin uint32 // td_maxwin: largest window seen (scaled)
	maxAck uint32 // td_maxack: highest ack sent, valid with tcpFlagMaxAckSet
	scale  uint8  // td_scale: window-scale shift
	flags  uint8  // tcpFlag* bits
}

// TCP per-direction flags, Linux IP_CT_TCP_FLAG_*.
const (
	tcpFlagWindowScale      = 0x01
	tcpFlagSACKPerm         = 0x02
	tcpFlagCloseInit        = 0x04
	tcpFlagBeLiberal        = 0x08
	tcpFlagDataUnacked      = 0x10
	tcpFlagMaxAckSet        = 0x20
	tcpFlagExpChallengeAck  = 0x40
	tcpFlagSimultaneousOpen = 0x80
)

// tcpState is the TCP tracker's state: struct ip_ct_tcp.
type tcpState struct {
	seen       [2]tcpDir
	state      TCPState
	lastDir    Dir    // direction of the last packet
	retrans    uint8  // retransmissions of the last segment
	lastIndex  uint8  // tcp_conntracks index (flag class) of the last packet
	lastSeq    uint32 // seq, ack, end, window of the last packet: retransmission detection
	lastAck    uint32
	lastEnd    uint32
	lastWin    uint16
	lastWScale uint8 // window scale of the last SYN seen, for the ignore/resync path
	lastFlags  uint8 // tcp flags (IP_CT_TCP_FLAG_*) of the last ignored SYN
}
