package engine

// The path of a locally generated packet (Meta.Output), as Linux sends it
// (ip_local_out / ip6_local_out, then ip_output / ip6_output):
//
//  1. output base chains with priority below conntrack's (raw; notrack is
//     valid here, nft_notrack_validate);
//  2. conntrack at NF_INET_LOCAL_OUT (ipv4_conntrack_local,
//     ipv6_conntrack_local: nf_conntrack_in, as on prerouting);
//  3. the remaining output chains (mangle, dstnat, filter…);
//  4. routing was done by the socket before the output hook: there is no
//     routing step;
//  5. the postrouting base chains (ip_output's NF_INET_POST_ROUTING);
//  6. conntrack Confirm for an accepted packet (nf_conntrack_confirm at
//     NF_IP_PRI_CONNTRACK_CONFIRM on postrouting).
//
// The packet has no input device on either hook: meta iifname is "",
// meta iif 0. meta iiftype, which nft reads from skb->dev, does not match
// on output (unset) and is the output device's type on postrouting
// (ip_output sets skb->dev first). The output device is the route's,
// Meta.Oifname. meta pkttype is host, multicast and broadcast
// destinations included: a socket's skb keeps the PACKET_HOST it was
// allocated with. testdata/output/kernel.sh checks these on Linux 6.18
// (its counters are in kernel.txt).

// output runs a locally generated packet.
func (e *Engine) output(c *Compiled, cx *evalCtx, now int64) {
	if !e.trackAt(c, cx, HookOutput, now) {
		return
	}
	if !c.runHook(cx, HookPostrouting) {
		return
	}
	if cx.tracked {
		e.ct.Confirm(&cx.r.CT, now)
	}
}
