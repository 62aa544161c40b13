package daemon

import (
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

const rulesInvalidDrop = `table inet fw {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state invalid drop
		tcp dport 80 accept
	}
}
`

// TestWorkerCsumPartial: a SYN whose TCP checksum field does not verify
// is invalid to conntrack (checksum=1, tcp_error) and dropped by `ct state
// invalid drop`, unless the datapath says the checksum is not computed
// yet (Packet.CsumPartial: NFQUEUE's NFQA_SKB_CSUMNOTREADY for a GSO
// super-packet), which Linux's conntrack takes as good
// (nf_ip_checksum: CHECKSUM_PARTIAL is skb_csum_unnecessary).
func TestWorkerCsumPartial(t *testing.T) {
	h := newHarness(t, "", rulesInvalidDrop)
	pk := func(sport uint16, partial bool) datapath.Packet {
		p := tcpPkt(client, server, sport, 80, 1, 0, packet.TCPSyn)
		p.Data[20+16] ^= 0x5a // the TCP checksum: as a partial one, not the final sum
		p.CsumPartial = partial
		return p
	}
	h.send(pk(42000, false), pk(42001, true))
	if h.port.verdicts[0] != datapath.Drop {
		t.Errorf("bad checksum, not partial: %v, want drop (invalid)", h.port.verdicts[0])
	}
	if h.port.verdicts[1] != datapath.Accept {
		t.Errorf("checksum partial (CHECKSUM_PARTIAL): %v, want accept", h.port.verdicts[1])
	}
}
