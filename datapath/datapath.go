// Package datapath is how packets reach hare on a live system and how its
// verdicts leave it: NFQUEUE (package datapath/nfqueue), where the kernel
// queues packets to hare and applies its verdicts, and an AF_PACKET bridge
// (package datapath/afpacket), where hare reads frames from one interface
// and transmits the accepted ones on the other.
//
// Both split their work into Ports, one per worker goroutine (one queue of a
// queue range, one socket of a fanout group), so that workers never share a
// receive path; they share only the connection table, which is safe for
// concurrent use. A worker reads a batch, decides every packet in it, and
// hands the batch back:
//
//	for {
//		if err := port.Read(&b); err != nil { ... }
//		now := clock()                  // once per batch
//		for i := range b.Pkts { decide(&b.Pkts[i], now) }
//		if err := port.Done(&b); err != nil { ... }
//	}
package datapath

import "errors"

// ErrClosed is returned by Read once the datapath is closed.
var ErrClosed = errors.New("datapath closed")

// Verdict is what becomes of a packet.
type Verdict uint8

const (
	// Drop discards the packet (NF_DROP; not transmitted).
	Drop Verdict = iota
	// Accept lets the packet go on (NF_ACCEPT; transmitted on the peer
	// interface of a bridge).
	Accept
	// Stolen says the worker kept a copy of the packet, to send it later
	// through a Forwarder or to drop it (NF_STOLEN: nf_ct_frag6_gather
	// keeps a fragment so). The datapath frees it, neither sending it nor
	// counting it dropped. A datapath that is not a Forwarder takes it as
	// Drop.
	Stolen
)

func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Stolen:
		return "stolen"
	}
	return "drop"
}

// Hook is the netfilter hook a packet was taken from. A bridge takes
// every packet on the forward path.
type Hook uint8

const (
	HookPrerouting Hook = iota
	HookInput
	HookForward
	HookOutput
	HookPostrouting
)

// Link says what Packet.Data starts with.
type Link uint8

const (
	LinkIP       Link = iota // the IPv4 or IPv6 header (NFQUEUE)
	LinkEthernet             // an Ethernet header (AF_PACKET)
)

// Packet is one packet of a batch. Data points into the datapath's own
// buffers (a netlink receive buffer, a ring block) and is valid only until
// the batch is handed back with Done or the next Read.
type Packet struct {
	Data []byte
	// L3 is the offset of the IP header in Data (0 for LinkIP; 14 or 18,
	// with a VLAN tag, for Ethernet). Negative for a frame that is not IP.
	L3        int
	Link      Link
	EtherType uint16 // for LinkEthernet: the frame's (inner) EtherType
	Hook      Hook
	InIf      int    // input interface index (0: none, e.g. locally generated)
	OutIf     int    // output interface index (0: not known yet)
	Mark      uint32 // the packet's mark on arrival (skb->mark), if the datapath knows it
	// CsumPartial says the transport checksum is not computed yet
	// (CHECKSUM_PARTIAL: a GSO super-packet or a packet this host made,
	// whose checksum field holds the pseudo-header sum and is finished
	// when the packet is segmented or sent). NFQUEUE with GSO reads it
	// from NFQA_SKB_INFO (NFQA_SKB_CSUMNOTREADY); an AF_PACKET bridge
	// completes such checksums itself and leaves it false. The checksum
	// of such a packet counts as verified, as Linux's conntrack counts it
	// (nf_ip_checksum, nf_ip6_checksum: skb_csum_unnecessary).
	CsumPartial bool

	// Set by the worker before Done.
	Verdict Verdict
	// SetMark asks the datapath to give the packet mark NewMark on its way
	// (NFQUEUE: NFQA_MARK with the verdict; ignored by a bridge).
	SetMark bool
	NewMark uint32

	// Handle is the datapath's own reference to the packet (the NFQUEUE
	// packet id, a ring slot). Workers leave it alone.
	Handle uint64
}

// Batch is a worker's reusable batch. Pkts has the packets of the last
// Read; its capacity is the largest batch a Read returns.
type Batch struct {
	Pkts []Packet
}

// Port is one worker's share of a datapath. A Port is used by one
// goroutine at a time.
type Port interface {
	// Read waits until at least one packet is there and puts the packets
	// that are (up to cap(b.Pkts)) in b.Pkts. It returns ErrClosed once the
	// datapath is closed.
	Read(b *Batch) error
	// Done applies the verdicts of the packets of b. Afterwards their Data
	// may be overwritten.
	Done(b *Batch) error
	// Inject sends ip, an IP packet hare made (a reject's TCP RST or ICMP
	// error), back toward the sender of the packet `to` of the current
	// batch: NFQUEUE hands it to the kernel to route, a bridge transmits it
	// out of the interface `to` arrived on, in an Ethernet frame addressed
	// to its source.
	Inject(to *Packet, ip []byte) error
	// Stats returns the port's counters so far.
	Stats() PortStats
}

// Forwarder is a Port that can send, during a later batch, a packet it
// handed out earlier and the worker kept (Verdict Stolen): the worker
// holds the fragments of a datagram until the datagram is whole and
// decided (daemon/fraghold.go; Linux's nf_ct_frag6_gather holds them so,
// NF_STOLEN). An AF_PACKET bridge sends the worker's copy; NFQUEUE, where
// the packet waits in the kernel's queue, gives its verdict late.
type Forwarder interface {
	// Forward sends pk as Done sends an accepted packet (with NewMark
	// when SetMark says so, on a datapath that sets marks), before the
	// accepted packets of the current batch. pk is a packet an earlier
	// Read returned, with every field as Read set it but Data, which points
	// at the worker's copy of the bytes Read gave (the frame as it came),
	// and the datagram's SetMark and NewMark.
	// The port copies what it keeps: Data may be reused once Forward
	// returns. Call it between Read and Done.
	Forward(pk *Packet) error
	// Forget drops pk, a packet kept with Verdict Stolen that will not be
	// sent (its datagram was dropped or never completed). Call it between
	// Read and Done.
	Forget(pk *Packet)
	// HoldMax is how many packets a worker may keep at a time (negative:
	// as many as it has memory for; 0: none, the worker then keeps
	// nothing): NFQUEUE's kept packets take slots of the kernel's queue,
	// which must stay open to new traffic.
	HoldMax() int
}

// PortStats counts a port's traffic.
type PortStats struct {
	Received uint64 // packets read
	Accepted uint64
	Dropped  uint64
	Injected uint64 // packets sent by Inject
	Passed   uint64 // frames passed without a verdict (non-IP frames a bridge is told to pass)
	// KernelDrops are packets the kernel dropped before hare saw them: an
	// NFQUEUE queue that was full (or, failing open, accepted unseen), or
	// a ring with no free block (tp_drops).
	KernelDrops uint64
	Errors      uint64 // failed reads, verdicts or transmissions
	// Stolen are packets a worker kept with Verdict Stolen; Forwarded,
	// packets sent by Forward (also counted in Accepted).
	Stolen, Forwarded uint64
}

// Datapath is an opened datapath.
type Datapath interface {
	// Name says what it is, e.g. "nfqueue 0-3" or "afpacket eth0<->eth1".
	Name() string
	// Ports returns one Port per worker.
	Ports() []Port
	// Close stops the datapath: blocked Reads return ErrClosed, and what
	// it installed in the kernel (queue rules, fanout groups) is removed,
	// unless it was told to keep its queue rules so that traffic stays
	// blocked until the next Open (nfqueue.Config.KeepRules: fail-closed
	// across a stop).
	Close() error
}
