// Package nfqueue is the NFQUEUE datapath: netfilter hooks queue packets to
// hare (nf_queue → nfqnl_enqueue_packet), a Port per queue reads them in
// batches over nfnetlink, and the verdicts go back in one write per batch
// (nfqnl_recv_verdict_batch / nfqnl_recv_verdict).
//
// # Rules
//
// Packets reach a queue only through a rule. nft's own queue statement
// needs nft_queue (CONFIG_NFT_QUEUE), which many kernels lack, so hare uses
// the xtables NFQUEUE target through iptables/ip6tables (which, with the
// nf_tables backend, puts it in the ip/ip6 filter tables). With
// Config.InstallRules and Config.Notrack, Open installs, and Close removes,
// exactly what Rules returns; for queues 0-3, input and forward,
// fail-closed:
//
//	nft 'add table inet hare_raw { chain prerouting { type filter hook prerouting priority raw; policy accept; notrack; }; chain output { type filter hook output priority raw; policy accept; notrack; }; }'
//	iptables -w -N HARE
//	iptables -w -A HARE -m mark --mark 0x68617265 -j RETURN
//	iptables -w -A HARE -j NFQUEUE --queue-balance 0:3
//	iptables -w -I INPUT 1 -j HARE
//	iptables -w -I FORWARD 1 -j HARE
//	(the same four with ip6tables)
//
// Users who write their own rules must keep the mark exemption (hare's
// injected RSTs and ICMP errors carry Config.InjectMark and leave through
// output) and, to fail open while hare is not running, add --queue-bypass.
// `hare run --print-rules` prints these lines for the configured queues.
//
// The notrack table keeps the kernel's conntrack away (hare keeps its own
// table): without it nf_conntrack_in would track every packet as well, and
// its table-full drops and INVALID handling would apply underneath hare's.
//
// # Failing open or closed
//
// Config.FailOpen sets NFQA_CFG_F_FAIL_OPEN: packets that do not fit the
// queue (Config.MaxQueueLen) or hare's socket buffer are accepted unseen
// instead of dropped; and the installed rule gets --queue-bypass, so the
// hooks let packets pass while no hare is bound to the queue (stopped,
// restarting). Fail-closed (the default) drops in all those cases.
// Packets hare has read but not yet decided when it closes are dropped by
// the kernel (instance_destroy → nfqnl_flush with NF_DROP) either way.
//
// A Close that removes the rules ends the failure mode too: the hooks no
// longer queue, and traffic passes unfiltered by hare. For a restart or
// an upgrade, Config.KeepRules leaves the rules in place, so packets keep
// being dropped (or, with FailOpen, bypass the queue) until the next Open
// binds again and replaces the rules in place: the queue chain refilled
// in one iptables-restore transaction, the notrack table in one nft
// transaction, the jumps left where they are, so that the hooks queue
// at every moment (TestKeepRules, TestReopenNoGap). A crash leaves the
// rules too, to the same effect. RemoveRules takes them out on purpose
// (the jumps, the chain, the notrack table, and the filter table's base
// chains and table when iptables-nft left them empty with policy accept),
// refusing while a queue is bound (TestRemoveRules). `hare run` keeps the
// rules when it fails closed and removes them when it fails open.
//
// # What hare sees
//
// Data is the IP packet from its IP header (Link LinkIP, L3 0), whole
// with the default copy range. Hook, InIf, OutIf and Mark come from
// NFQA_PACKET_HDR's hook, NFQA_IFINDEX_INDEV/OUTDEV and NFQA_MARK; a
// verdict with SetMark carries NFQA_MARK back (nfqnl_recv_verdict sets
// skb->mark). Without Config.GSO the kernel segments GSO packets before
// queueing them (nfqnl_enqueue_packet → skb_gso_segment), and finishes
// partial checksums (skb_checksum_help), so hare sees packets no
// longer than the MTU with their checksums done. With Config.GSO, a
// forwarded TCP stream arrives as super-packets of up to 64 KiB whose
// transport checksum is not yet computed: the kernel says so in
// NFQA_SKB_INFO (NFQA_SKB_CSUMNOTREADY), which becomes
// datapath.Packet.CsumPartial, and a worker's checksum check must take it
// as good, as Linux's conntrack does (hare run's does). About 30 times
// fewer packets for hare (TestGSO: 1 MiB through veth is 725 packets
// without GSO, 23 with).
//
// Fragments (checked by TestFragments): notrack does not stop the
// kernel's defragmentation, which runs at priority -400 (before raw)
// whenever anything in the namespace uses conntrack (a ct expression in
// any table registers nf_defrag_ipv4/6 through nf_ct_netns_get). What
// hare is handed, with hare's notrack table in place:
//
//	                     nothing else uses conntrack    something does
//	IPv4 input           the reassembled datagram        the reassembled datagram
//	IPv4 forward         the fragments                   the reassembled datagram
//	IPv6 input           the fragments                   the reassembled datagram
//	IPv6 forward         the fragments                   the reassembled datagram
//
// (IPv4 local delivery defragments in ip_local_deliver before the input
// hook; IPv6 reassembles in ipv6_frag_rcv, after it.) A reassembled
// forwarded datagram that hare accepts is fragmented again on output. So
// the worker must reassemble fragments itself (package defrag) and accept
// or drop each fragment by the datagram's verdict. A worker may keep a
// packet (Verdict Stolen: the fragments of an incomplete datagram)
// and give its verdict in a later batch (Forward, Forget: forward.go);
// while it keeps any, every verdict is a message of its own, since a
// batch verdict would decide the kept packets below its id too
// (nfqnl_recv_verdict_batch).
//
// # Injected packets
//
// Inject sends a reject's reply through a raw socket (IPPROTO_RAW, the
// header included) in the namespace Open ran in, with SO_MARK
// Config.InjectMark; the kernel routes it as it routes its own rejects
// (nf_send_reset → ip_local_out), through output and postrouting, where
// the mark exemption keeps it away from hare's queue. A link-local IPv6
// destination goes out of the interface the rejected packet came in on.
//
// # Namespaces
//
// A Datapath belongs to the network namespace of the thread that called
// Open: its sockets were made there, and Close removes the rules there
// whichever thread calls it.
//
// # Cost
//
// go-nfqueue opens the sockets, but its callback reader allocates per
// packet, so the Ports read and write the netlink socket themselves:
// nothing is allocated per packet in the steady state (see
// TestReadDoneAllocs). A Read is one recvmmsg (a slot of CopyRange+512
// bytes per packet of the batch: Batch × 66 KiB of address space per
// queue by default, resident only as far as packets fill it). Verdicts are
// one message per run of packets with the same verdict
// (NFQNL_MSG_VERDICT_BATCH), plus one per packet given a new mark, all in
// one write. A worker must hand each batch back with Done, unchanged in
// length and order, before its next Read: a batch verdict covers every
// queued packet up to its id.
package nfqueue
