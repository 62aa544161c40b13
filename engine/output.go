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
// The packet has no input device on either hook (the socket's skb has no
// skb->dev before ip_output sets the output one): meta iifname is "",
// meta iif 0, meta iiftype does not match; its output device is the
// route's, Meta.Oifname. meta pkttype is host: a locally generated skb
// keeps the PACKET_HOST (0) it was allocated with until a device sends it.

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
