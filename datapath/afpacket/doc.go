// Package afpacket is hare's bridging datapath: a transparent "bump in the
// wire" between two interfaces A and B. Frames are read from each with a
// memory-mapped receive ring (TPACKET_V3 or TPACKET_V2, Config.Ring), IP
// frames are decided by the workers, and
// the accepted ones are transmitted on the other interface; frames that
// are not IP (ARP, LLDP, ...) are passed or dropped by configuration
// without reaching a worker.
//
//	br, err := afpacket.Open(afpacket.DefaultConfig("eth0", "eth1"))
//	for _, port := range br.Ports() { go worker(port) } // see package datapath
//	...
//	br.Close()
//
// # Design
//
// Each worker owns one Port: one socket on A and one on B, each in its
// interface's PACKET_FANOUT_HASH group (fanout_demux_hash), so workers
// never share a receive path. A Port's Read returns frames of both
// sockets; Done transmits the accepted ones with one sendmmsg per
// interface, straight from the receive ring, and only then gives the ring
// blocks or slots back to the kernel (TP_STATUS_KERNEL), since
// Packet.Data points into them.
//
// The two ring kinds differ only in how the kernel hands frames over
// (rxRing): a TPACKET_V3 ring in blocks, when a block is full or its timer
// expires (prb_retire_rx_blk_timer_expired; at least 1 ms, the latency
// added at low rates), a TPACKET_V2 ring frame by frame, each frame's slot
// marked TP_STATUS_USER and the reader woken as tpacket_rcv writes it.
// V3 packs frames tightly and wakes the worker once per block
// (throughput); V2 gives each frame a 68 KiB slot and a wakeup of its own
// (latency).
//
// The sockets use PACKET_VNET_HDR: every frame in the ring comes with the
// kernel's virtio_net_hdr (tpacket_rcv → virtio_net_hdr_from_skb), and
// every frame sent starts with one (packet_snd). That is how GRO frames
// (up to 64 KiB, one "packet" for many TCP segments) and frames whose
// checksum a local sender left to the hardware (CHECKSUM_PARTIAL,
// TP_STATUS_CSUMNOTREADY) are forwarded correctly: the checksum is
// completed in place before the worker sees the frame (skb_checksum_help),
// and the GSO description goes back to the kernel, which segments the
// frame again on transmission (skb_gso_segment) or lets the device do it.
// A frame the ring had to truncate (tpacket_rcv's "packet too big") is
// counted in Errors and dropped.
//
// The receive path takes a VLAN tag out of the frame (skb_vlan_untag);
// Read puts it back, so a frame is decided and transmitted as it was on
// the wire: Packet.L3 is 18 for a frame with one 802.1Q or 802.1ad tag.
// A frame with two tags counts as not IP.
//
// Frames a Port transmits on an interface are not read back from it: a
// fanout group skips what its own members send (match_fanout_group in
// dev_queue_xmit_nit). PACKET_FANOUT_FLAG_IGNORE_OUTGOING (and
// PACKET_IGNORE_OUTGOING on each socket, which a fanout member's own hook
// no longer uses) keeps out every other frame sent on the interface, such
// as the bridge host's own, which a bridge must not forward.
//
// With Config.Defrag (PACKET_FANOUT_FLAG_DEFRAG) the kernel reassembles
// IPv4 fragments before fanout (ip_check_defrag), as a br_netfilter
// bridge does before its hooks; a reassembled datagram longer than the
// egress MTU is fragmented again (fragment4, after ip_do_fragment as
// br_nf_dev_queue_xmit calls it), and one with DF set is dropped.
//
// This package uses golang.org/x/sys/unix directly rather than
// gopacket/afpacket: a batch here spans several ring blocks and stays in
// the ring until Done, which gopacket's one-frame-at-a-time
// ZeroCopyReadPacketData (it gives a block back when moving to the next)
// cannot express, and the transmit side (vnet headers, sendmmsg from the
// ring) is not part of it. The whole package is a few hundred lines.
//
// Operating notes: both interfaces are put in promiscuous mode while the
// bridge runs (PACKET_MR_PROMISC memberships, dropped with the sockets);
// LRO is turned off (Config.DisableLRO; or ethtool -K IF lro off). The
// interfaces should carry no addresses and not be enslaved to a kernel
// bridge. The egress MTU is read once at Open.
package afpacket
