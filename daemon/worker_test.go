package daemon

import (
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
