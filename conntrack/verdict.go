package conntrack

// verdict is what a protocol tracker decides about a packet of an entry
// (the return values of Linux's nf_conntrack_*_packet functions).
type verdict uint8

const (
	// vAccept: the packet belongs to the connection; count it and set the
	// timeout the tracker returned (nf_ct_refresh_acct, NF_ACCEPT).
	vAccept verdict = iota
	// vIgnore: pass the packet with the entry attached, but neither count
	// it nor change the timeout (TCP_CONNTRACK_IGNORE, window IGNORE).
	vIgnore
	// vInvalid: the packet does not fit; it gets no entry and ct state
	// invalid (-NF_ACCEPT).
	vInvalid
	// vKill: count the packet, then destroy the entry (nf_ct_kill_acct: a
	// RST answering an unreplied SYN).
	vKill
	// vRepeat: destroy the entry and look the packet up again, so it opens
	// a new connection (-NF_REPEAT: a SYN reopening a closed tuple).
	vRepeat
)

// EventMask is the set of changes an event reports, numbered as Linux's
// enum ip_conntrack_events (IPCT_*).
type EventMask uint16

const (
	EventNew       EventMask = 1 << 0 // IPCT_NEW
	EventRelated   EventMask = 1 << 1 // IPCT_RELATED
	EventDestroy   EventMask = 1 << 2 // IPCT_DESTROY
	EventReply     EventMask = 1 << 3 // IPCT_REPLY: first packet in the reply direction
	EventAssured   EventMask = 1 << 4 // IPCT_ASSURED
	EventProtoInfo EventMask = 1 << 5 // IPCT_PROTOINFO: protocol state changed
	EventHelper    EventMask = 1 << 6 // IPCT_HELPER
	EventMark      EventMask = 1 << 7 // IPCT_MARK
	EventSeqAdj    EventMask = 1 << 8 // IPCT_SEQADJ
	EventSecMark   EventMask = 1 << 9 // IPCT_SECMARK
	EventLabel     EventMask = 1 << 10
)
