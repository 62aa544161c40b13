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
// # Cost
//
// go-nfqueue opens the sockets, but its callback reader allocates per
// packet, so the Ports read and write the netlink socket themselves:
// nothing is allocated per packet in the steady state (see
// TestReadDoneAllocs). Verdicts are one message per run of packets with
// the same verdict (NFQNL_MSG_VERDICT_BATCH), plus one per packet given a
// new mark, all in one write.
package nfqueue
