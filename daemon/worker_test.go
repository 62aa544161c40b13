package daemon

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

const rulesMark = `table inet fw {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		tcp dport 22 meta mark set 0x42
		tcp dport 23 meta mark set meta mark
	}
}
`

// TestWorkerMarks: a packet whose mark the ruleset changed leaves with
// SetMark and the new mark (NFQUEUE's NFQA_MARK with the verdict); one
// whose mark is unchanged, even when a rule set it to its own value,
// leaves without, and the mark on arrival is what `meta mark` reads.
func TestWorkerMarks(t *testing.T) {
	h := newHarness(t, "", rulesMark)
	syn := packet.TCPSyn
	pk := func(dport uint16, mark uint32) datapath.Packet {
		p := tcpPkt(client, server, 40000+dport, dport, 1, 0, syn)
		p.Mark = mark
		return p
	}
	h.send(pk(22, 7), pk(23, 9), pk(80, 5))
	want := []int64{0x42, -1, -1}
	for i, w := range want {
		if h.port.marks[i] != w {
			t.Errorf("packet %d: mark %d, want %d (-1: none set)", i, h.port.marks[i], w)
		}
		if h.port.verdicts[i] != datapath.Accept {
			t.Errorf("packet %d: %v", i, h.port.verdicts[i])
		}
	}
}

// TestLogInvalid: with [conntrack] log_invalid naming a protocol (255: all),
// packets conntrack finds invalid are logged as Linux logs them
// ("nf_ct_proto_6: REASON " and the packet); other protocols and a zero
// log_invalid log nothing. A reload changes it at once.
func TestLogInvalid(t *testing.T) {
	h := newHarness(t, "[conntrack]\ntcp_loose = 0\nlog_invalid = 6\n", rulesWeb)
	ack := packet.TCPAck
	h.send(tcpPkt(client, server, 41000, 443, 7, 9, ack))
	if !strings.Contains(h.logs.String(), `line="nf_ct_proto_6: `) || !strings.Contains(h.logs.String(), "SRC=192.0.2.1 DST=198.51.100.7 ") {
		t.Errorf("invalid TCP packet with log_invalid 6 not logged as Linux does:\n%s", h.logs.String())
	}
	h.logs.Reset()
	h.write("hare.toml", "[ruleset]\nfile = \""+filepath.Join(h.dir, "rules.nft")+"\"\n[conntrack]\ntcp_loose = 0\nlog_invalid = 17\n")
	if err := h.d.Reload(); err != nil {
		t.Fatal(err)
	}
	h.logs.Reset()
	h.send(tcpPkt(client, server, 41001, 443, 7, 9, ack))
	if strings.Contains(h.logs.String(), "nf_ct_proto") {
		t.Errorf("invalid TCP packet logged with log_invalid 17 (UDP):\n%s", h.logs.String())
	}
}
