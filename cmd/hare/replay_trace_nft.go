package main

import (
	"fmt"

	"github.com/hare-fw/hare/engine"
)

// appendNft appends the datagram's `nft monitor trace` lines (nft 1.0.6):
// one per trace message the kernel sends while the packet's nftrace flag
// is set (nft_trace_packet, nft_trace_verdict): a rule that ran to its
// end ("rule TEXT (verdict V)") and a base chain's policy ("policy P");
// the first message of each base chain run also carries the packet
// (info->packet_dumped), which nft prints first as a "packet:" line. A
// failed match and the implicit return at the end of a regular chain send
// nothing. Ids are a hash of the datagram's sequence number (the kernel's
// are a siphash of the skb: random from run to run).
func (t *traceRun) appendNft(b []byte) []byte {
	id := traceID(t.seq)
	var cur *engine.TraceEvent // the base chain running
	dumped := false
	for i := range t.events {
		ev := &t.events[i]
		switch ev.Kind {
		case engine.TraceChain:
			cur, dumped = ev, false
			continue
		case engine.TraceRule, engine.TracePolicy:
		default:
			continue
		}
		if !ev.Nftrace || cur == nil {
			continue
		}
		if !dumped {
			iif, oif := ifnames(&t.meta, cur.Hook, t.pkt.IPVersion)
			b = fmt.Appendf(b, "trace id %08x %s %s %s packet: ", id, cur.Family, cur.Table, cur.Chain)
			b = appendPacketLine(b, &t.pkt, iif, oif, cur.Family)
			b = append(b, '\n')
			dumped = true
		}
		b = fmt.Appendf(b, "trace id %08x %s %s %s ", id, ev.Family, ev.Table, ev.Chain)
		if ev.Kind == engine.TracePolicy {
			b = fmt.Appendf(b, "policy %s \n", ev.Policy)
			continue
		}
		text := t.rules[ruleRef{ev.Family, ev.Table, ev.Chain, ev.Handle}].text
		b = fmt.Appendf(b, "rule %s (verdict %s)\n", text, verdictText(ev))
	}
	return b
}

// traceID mixes n into a 32-bit id (a multiplicative hash: distinct for
// the datagrams of a replay, stable between runs).
func traceID(n uint32) uint32 {
	x := n * 0x9e3779b1
	return x ^ x>>15
}
