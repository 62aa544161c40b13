package daemon

import (
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

const rulesInvalidDrop = `table inet fw {
	chain input {
		type filter hook input priority filter; policy drop;
		tcp dport 81 reject with tcp reset
		ct state invalid drop
		tcp dport 80 accept
	}
}
`

// TestWorkerCsumPartial: a SYN whose TCP checksum field does not verify
// is invalid to conntrack (checksum=1, tcp_error) and dropped by `ct state
// invalid drop`, unless the datapath says the checksum is not computed
// yet (Packet.CsumPartial: NFQUEUE's NFQA_SKB_CSUMNOTREADY for a GSO
// super-packet, or a local sender's packet on a veth), which Linux's
// conntrack takes as good (nf_ip_checksum: CHECKSUM_PARTIAL is
// skb_csum_unnecessary). So does reject: Linux sends no RST for a bad
// checksum (nf_reject_verify_csum) but does for a partial one.
func TestWorkerCsumPartial(t *testing.T) {
	h := newHarness(t, "", rulesInvalidDrop)
	pk := func(sport, dport uint16, partial bool) datapath.Packet {
		p := tcpPkt(client, server, sport, dport, 1, 0, packet.TCPSyn)
		p.Data[20+16] ^= 0x5a // the TCP checksum: as a partial one, not the final sum
		p.CsumPartial = partial
		return p
	}
	h.send(pk(42000, 80, false), pk(42001, 80, true), pk(42002, 81, false), pk(42003, 81, true))
	if h.port.verdicts[0] != datapath.Drop {
		t.Errorf("bad checksum, not partial: %v, want drop (invalid)", h.port.verdicts[0])
	}
	if h.port.verdicts[1] != datapath.Accept {
		t.Errorf("checksum partial (CHECKSUM_PARTIAL): %v, want accept", h.port.verdicts[1])
	}
	if len(h.port.injected) != 1 || h.port.injected[0].after != 3 {
		t.Errorf("reject: injected %+v, want one RST, for the partial-checksum SYN (packet 3) only", h.port.injected)
	}
}
