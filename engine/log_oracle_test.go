package engine_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/internal/report"
	"github.com/hare-fw/hare/packet"
)

// The kernel's own log lines: testdata/log-oracle/log.nft logs every
// packet reaching input three ways (plain; flags all, level info, TCP
// only; after a mark set, ICMP only), and the kernel oracle replayed each
// capture through it with the host's net.netfilter.nf_log_all_netns set
// to 1 for the run, so that nf_log_syslog wrote the namespace's lines to
// the kernel log; CAPTURE/kernel-log.txt is what dmesg showed from the
// prefix on, in order, and packets.jsonl the oracle's per-packet record.
// hare's lines (LogEvent.AppendText) must be the same, byte for byte.
func TestKernelLogLines(t *testing.T) {
	dir := "../testdata/log-oracle"
	runs, _ := filepath.Glob(filepath.Join(dir, "*", "kernel-log.txt"))
	if len(runs) == 0 {
		t.Fatal("no kernel log references in " + dir)
	}
	total := 0
	for _, run := range runs {
		capName := filepath.Base(filepath.Dir(run))
		t.Run(capName, func(t *testing.T) {
			total += compareLogRun(t, filepath.Join(dir, "log.nft"), filepath.Dir(run), findCapture(t, capName))
		})
	}
	t.Logf("%d kernel log lines agree", total)
}

func compareLogRun(t *testing.T, rsPath, dir, capPath string) int {
	comp := loadRuleset(t, rsPath)
	kernel := map[uint64]oraclePacket{}
	f, err := os.Open(filepath.Join(dir, "packets.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var k oraclePacket
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			t.Fatal(err)
		}
		kernel[k.N] = k
	}
	f.Close()
	want, err := os.ReadFile(filepath.Join(dir, "kernel-log.txt"))
	if err != nil {
		t.Fatal(err)
	}

	var (
		eng  *engine.Engine
		tab  *conntrack.Table
		cur  oraclePacket
		meta = engine.Meta{Iifname: engine.IfName("kor0")}
		res  engine.Result
		got  []byte
	)
	tr := &report.Tracker{Settings: kernelSettings(t, filepath.Join(dir, "sysctl.txt")), Clock: report.ClockFrozen}
	tr.Skip = func(_ string, n uint64) bool {
		cur = kernel[n]
		return cur.Skipped != "" || cur.RX == 0
	}
	tr.Filter = func(ct *conntrack.Table, p *packet.Parsed, now int64, out *conntrack.Result) {
		if ct != tab {
			tab, eng = ct, engine.New(ct, comp)
			eng.SetLogSink(func(ev *engine.LogEvent) {
				got = append(ev.AppendText(got), '\n')
			})
		}
		meta.NoRoute = cur.DroppedAt == "routing"
		eng.Packet(p, &meta, now, &res)
		*out = res.CT
	}
	s := &report.Summary{Track: tr}
	r, err := capture.Open(capPath)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := s.Replay(r, capPath, 0, nil); err != nil {
		t.Fatal(err)
	}
	g := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	w := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	agree := 0
	for i := range max(len(g), len(w)) {
		switch {
		case i >= len(g):
			t.Errorf("line %d: hare has none, kernel %q", i+1, w[i])
		case i >= len(w):
			t.Errorf("line %d: hare %q, kernel has none", i+1, g[i])
		case g[i] != w[i]:
			t.Errorf("line %d:\n hare   %q\n kernel %q", i+1, g[i], w[i])
		default:
			agree++
		}
	}
	return agree
}
