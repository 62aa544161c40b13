package integration

import (
	"fmt"
	"strings"
)

// rulesetText is the ruleset every firewall under test enforces, in nft
// syntax, for the client addresses of tp: default-drop forwarding, return
// traffic by connection state, the client may open HTTP (80), the
// heartbeat (82), UDP echo (7), iperf3 (5201) and ping towards anything, and what it
// sends to port 8081 is rejected (TCP: RST, UDP: port unreachable).
//
// New TCP flows must start with a SYN: otherwise the kernel's loose
// pickup (nf_conntrack_tcp_loose) would let a mid-stream ACK from the
// client re-create a deleted flow, and the tests that kill a flow (ct -D,
// restart without state) could not see it die.
func rulesetText(tp *topo) string {
	c4, c6 := tp.clientIP[4], tp.clientIP[6]
	var b strings.Builder
	b.WriteString("table inet filter {\n\tchain forward {\n")
	b.WriteString("\t\ttype filter hook forward priority filter; policy drop;\n")
	b.WriteString("\t\tct state established,related accept\n")
	b.WriteString("\t\tct state invalid drop\n")
	// Neighbour discovery crosses a bridge (RFC 4890 §4.4.1 is about the
	// firewall's own; a bridge forwards the hosts').
	b.WriteString("\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n")
	for _, s := range []string{"ip saddr " + c4.String(), "ip6 saddr " + c6.String()} {
		fmt.Fprintf(&b, "\t\t%s tcp dport %d reject with tcp reset\n", s, portReject)
		fmt.Fprintf(&b, "\t\t%s udp dport %d reject\n", s, portReject)
		fmt.Fprintf(&b, "\t\t%s tcp dport { %d, %d } tcp flags & (fin | syn | rst | ack) == syn accept\n", s, portHTTP, portHeartbeat)
		fmt.Fprintf(&b, "\t\t%s udp dport %d accept\n", s, portEcho)
		fmt.Fprintf(&b, "\t\t%s tcp dport %d tcp flags & (fin | syn | rst | ack) == syn accept\n", s, portIperf)
		fmt.Fprintf(&b, "\t\t%s udp dport %d accept\n", s, portIperf)
	}
	fmt.Fprintf(&b, "\t\tip saddr %s icmp type echo-request accept\n", c4)
	fmt.Fprintf(&b, "\t\tip6 saddr %s icmpv6 type echo-request accept\n", c6)
	b.WriteString("\t}\n}\n")
	return b.String()
}
