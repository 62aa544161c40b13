package engine_test

import (
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

// TestNatCompileErrors: the placements the kernel refuses
// (nft_nat_validate, nft_chain_nat_init, nf_nat_register_fn).
func TestNatCompileErrors(t *testing.T) {
	for _, tc := range []struct{ chain, rule, want string }{
		{"type nat hook prerouting priority dstnat;", "snat to 10.0.0.1", "snat is not valid on the prerouting hook"},
		{"type nat hook postrouting priority srcnat;", "dnat to 10.0.0.1", "dnat is not valid on the postrouting hook"},
		{"type filter hook prerouting priority 0;", "dnat to 10.0.0.1", "only valid in a nat chain"},
		{"type nat hook forward priority 0;", "accept", "not valid on the forward hook"},
		{"type nat hook prerouting priority -300;", "accept", "must be above conntrack's"},
		{"type route hook input priority 0;", "accept", "only valid on the output hook"},
	} {
		_, err := compileString("table ip t {\n\tchain c {\n\t\t" + tc.chain + "\n\t\t" + tc.rule + "\n\t}\n}\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: error %v, want %q", tc.chain, tc.rule, err, tc.want)
		}
	}
}

// TestNatFirstPacketOnly: a dnat in prerouting decides the first packet of
// each connection (Result.NAT, the chain ends with accept, a second nat
// chain on the hook does not run), and no later packet of the connection
// reaches the nat chains.
func TestNatFirstPacketOnly(t *testing.T) {
	c, err := compileString(`table ip a {
	chain pre {
		type nat hook prerouting priority dstnat;
		tcp dport 21 counter dnat to 192.0.2.1
		counter
	}
}
table ip b {
	chain pre {
		type nat hook prerouting priority 10;
		counter
	}
}
`)
	if err != nil {
		t.Fatal(err)
	}
	frames := readCapture(t, "../../shared/testdata/pcaps/ftp_ipv4_passive-pasv_download.pcap")
	eng := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
	var (
		p       packet.Parsed
		res     engine.Result
		m       = engine.Meta{Iifname: engine.IfName("eth0")}
		natted  int
		newFlow int
	)
	for _, f := range frames {
		p.DecodeIP(f)
		eng.Packet(&p, &m, 1, &res)
		if res.CT.New {
			newFlow++
		}
		if res.NAT != engine.NATNone {
			natted++
			if res.NAT != engine.NATDnat || p.DstPort != 21 || !res.CT.New {
				t.Errorf("NAT %v on a packet to port %d (new %v)", res.NAT, p.DstPort, res.CT.New)
			}
		}
	}
	cv := eng.Rules().Counters()
	// Rule 1 saw the control connection's first packet; the data
	// connections' first packets went on to rule 2 and to table b,
	// which the dnat's packet never reached.
	if newFlow < 2 || natted != 1 || cv[0].Packets != 1 || cv[1].Packets != uint64(newFlow-1) || cv[2].Packets != uint64(newFlow-1) {
		t.Errorf("natted %d, new flows %d, counters %+v", natted, newFlow, cv)
	}
}
