package daemon

import (
	"bytes"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/metrics"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

var (
	client = netip.MustParseAddr("192.0.2.1")
	server = netip.MustParseAddr("198.51.100.7")
)

func tcpPkt(src, dst netip.Addr, sport, dport uint16, seq, ack uint32, flags packet.TCPFlags) datapath.Packet {
	seg := packettest.TCP(src, dst, packettest.TCPHeader{SrcPort: sport, DstPort: dport, Seq: seq, Ack: ack, Flags: flags, Window: 65535}, nil)
	return datapath.Packet{Data: packettest.IPv4(src, dst, 6, seg), Link: datapath.LinkIP, Hook: datapath.HookInput, InIf: 1}
}

// harness is a daemon whose one worker the test drives batch by batch.
type harness struct {
	t    *testing.T
	d    *Daemon
	port *memPort
	w    *Worker
	dir  string
	now  atomic.Int64
	logs bytes.Buffer // the daemon's log
}

func newHarness(t *testing.T, config, rules string) *harness {
	h := &harness{t: t, dir: t.TempDir()}
	h.write("rules.nft", rules)
	h.write("hare.toml", "[ruleset]\nfile = \""+filepath.Join(h.dir, "rules.nft")+"\"\n"+config)
	c, err := LoadConfig(filepath.Join(h.dir, "hare.toml"))
	if err != nil {
		t.Fatal(err)
	}
	h.now.Store(1_700_000_000e9)
	if h.d, err = New(c, Options{LogOutput: &h.logs, Now: h.now.Load}); err != nil {
		t.Fatal(err)
	}
	h.port = newMemPort(nil, nil, 64)
	h.w = newWorker(h.port, workerConfig{eng: h.d.eng, now: h.d.now, batch: 64, defrag: defrag.ConfigFrom(c.Conntrack),
		ifDev: testDev("eth0"), ifGen: &h.d.ifGen, pol: &h.d.pol,
		log: h.d.log, table: h.d.table})
	return h
}

func (h *harness) write(name, text string) {
	if err := os.WriteFile(filepath.Join(h.dir, name), []byte(text), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// send decides pkts as one batch and returns their verdicts.
func (h *harness) send(pkts ...datapath.Packet) []datapath.Verdict {
	h.t.Helper()
	h.now.Add(1e6)
	h.port.pkts, h.port.next = pkts, 0
	h.port.verdicts = make([]datapath.Verdict, len(pkts))
	h.port.marks = make([]int64, len(pkts))
	for i := range h.port.marks {
		h.port.marks[i] = -1
	}
	if err := h.w.step(); err != nil {
		h.t.Fatal(err)
	}
	return h.port.verdicts
}

func (h *harness) expect(what string, pk datapath.Packet, want datapath.Verdict) {
	h.t.Helper()
	if got := h.send(pk)[0]; got != want {
		h.t.Errorf("%s: %v, want %v", what, got, want)
	}
}

const rulesWeb = `table inet fw {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established accept
		tcp dport 80 accept
	}
}
`

const rulesSSH = `table inet fw {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established accept
		tcp dport 22 accept
	}
}
`

// TestReloadKeepsConnections: a reload puts the new ruleset in force at
// once, established connections go on (their state is in the table, which
// a reload keeps), and a bad ruleset or configuration is refused with its
// location while the running ruleset stays.
func TestReloadKeepsConnections(t *testing.T) {
	h := newHarness(t, "", rulesWeb)
	syn, ack := packet.TCPSyn, packet.TCPAck
	h.expect("SYN to 80", tcpPkt(client, server, 40000, 80, 100, 0, syn), datapath.Accept)
	h.expect("SYN-ACK", tcpPkt(server, client, 80, 40000, 500, 101, syn|ack), datapath.Accept)
	h.expect("ACK", tcpPkt(client, server, 40000, 80, 101, 501, ack), datapath.Accept)
	h.expect("SYN to 22 before reload", tcpPkt(client, server, 40001, 22, 100, 0, syn), datapath.Drop)
	conns := h.d.Table().Len()

	h.write("rules.nft", rulesSSH)
	if err := h.d.Reload(); err != nil {
		t.Fatal(err)
	}
	if g := h.d.Generation.Load(); g != 2 {
		t.Errorf("generation %d after one reload, want 2", g)
	}
	if n := h.d.Table().Len(); n != conns {
		t.Errorf("%d connections after reload, %d before", n, conns)
	}
	h.expect("established data after reload", tcpPkt(client, server, 40000, 80, 101, 501, ack|packet.TCPPsh), datapath.Accept)
	h.expect("its reply", tcpPkt(server, client, 80, 40000, 501, 101, ack), datapath.Accept)
	h.expect("new SYN to 80 after reload", tcpPkt(client, server, 40002, 80, 100, 0, syn), datapath.Drop)
	h.expect("SYN to 22 after reload", tcpPkt(client, server, 40003, 22, 100, 0, syn), datapath.Accept)

	// A ruleset nft would refuse: the error names its line; nothing
	// changes.
	h.write("rules.nft", "table inet fw {\n\tchain input {\n\t\ttcp dport 80 acept\n\t}\n}\n")
	err := h.d.Reload()
	if err == nil || !strings.Contains(err.Error(), "rules.nft:3:") {
		t.Errorf("bad ruleset: %v, want an error at rules.nft:3", err)
	}
	// A configuration with an unknown key.
	h.write("rules.nft", rulesWeb)
	h.write("hare.toml", "[ruleset]\nfile = \""+filepath.Join(h.dir, "rules.nft")+"\"\n[workers]\nbatch_size = 3\n")
	err = h.d.Reload()
	if err == nil || !strings.Contains(err.Error(), "hare.toml:4: unknown key workers.batch_size") {
		t.Errorf("bad config: %v, want hare.toml:4: unknown key workers.batch_size", err)
	}
	if f, g := h.d.ReloadFailures.Load(), h.d.Generation.Load(); f != 2 || g != 2 {
		t.Errorf("after two refused reloads: %d failures, generation %d; want 2, 2", f, g)
	}
	h.expect("SYN to 80 after refused reloads", tcpPkt(client, server, 40004, 80, 100, 0, syn), datapath.Drop)
	h.expect("SYN to 22 after refused reloads", tcpPkt(client, server, 40005, 22, 100, 0, syn), datapath.Accept)
	h.expect("established after refused reloads", tcpPkt(client, server, 40000, 80, 101, 501, ack), datapath.Accept)

	// Conntrack settings apply at once (Table.SetSettings), the invalid
	// packet policy too; a datapath change waits for a restart.
	h.write("hare.toml", "[ruleset]\nfile = \""+filepath.Join(h.dir, "rules.nft")+"\"\n"+
		"[datapath]\nqueues = \"0-3\"\n[workers]\ninvalid = \"accept\"\n[conntrack]\ntcp_loose = 0\n")
	if err := h.d.Reload(); err != nil {
		t.Fatal(err)
	}
	if v, _ := h.d.Table().Settings().Get("tcp_loose"); v != 0 {
		t.Errorf("tcp_loose %d after reload, want 0", v)
	}
	if q := h.d.Config().Datapath.Queues; q != "0" {
		t.Errorf("queues %q in force after reload; a datapath change needs a restart", q)
	}
	// tcp_loose 0: a mid-stream ACK no longer picks up a connection
	// (nf_conntrack_tcp_loose): ct state invalid. rulesWeb is back, so
	// SYN to 80 passes again.
	h.send(tcpPkt(client, server, 41000, 443, 7, 9, ack))
	if st := h.w.res.CT.State; st != conntrack.StateInvalid {
		t.Errorf("mid-stream ACK with tcp_loose 0: ct state %v, want invalid", st)
	}
	h.expect("SYN to 80 with the first ruleset back", tcpPkt(client, server, 40006, 80, 100, 0, syn), datapath.Accept)
	h.expect("garbage with invalid = accept", datapath.Packet{Data: []byte{0x45, 0, 0}, Link: datapath.LinkIP}, datapath.Accept)
	var ms metrics.WorkerStats
	h.w.Counters().Snapshot(&ms)
	if ms.Undecodable[packet.ReasonNone] != 0 || ms.Undecodable[packet.ReasonIPv4Truncated] != 1 {
		t.Errorf("the undecodable packet was not counted by its reason: %v", ms.Undecodable)
	}
}

// TestReloadPass: a datapath that can change what it passes unjudged
// (afpacket.Bridge.SetPass) gets pass_arp and pass_non_ip at a reload;
// other datapath keys wait for a restart, and the log says so.
func TestReloadPass(t *testing.T) {
	h := &harness{t: t, dir: t.TempDir()}
	h.write("rules.nft", rulesWeb)
	conf := func(extra string) {
		h.write("hare.toml", "[ruleset]\nfile = \""+filepath.Join(h.dir, "rules.nft")+"\"\n[control]\nsocket = \"\"\n[datapath]\n"+extra)
	}
	conf("pass_non_ip = false\n")
	c, err := LoadConfig(filepath.Join(h.dir, "hare.toml"))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	port := newMemPort(nil, nil, 1)
	dp := &memDatapath{ports: []*memPort{port}}
	d, err := New(c, Options{Open: dp.opener(), LogOutput: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	conf("pass_non_ip = true\npass_arp = false\nqueues = \"0-3\"\n")
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if len(dp.pass) != 1 || dp.pass[0] != "arp=false nonip=true" {
		t.Errorf("SetPass calls %q, want one with arp=false nonip=true", dp.pass)
	}
	dc := d.Config().Datapath
	if !dc.PassNonIP || dc.PassARP || dc.Queues != "0" {
		t.Errorf("datapath in force after reload: %+v; want the pass keys new and the queues old", dc)
	}
	if !strings.Contains(log.String(), "setting=datapath") {
		t.Errorf("the queue change is not logged as waiting for a restart:\n%s", log.String())
	}
	if d.pol.Load().passNonIP != true {
		t.Error("the workers' non-IP policy did not change")
	}
}

// TestWorkerReadErrors: a port whose Read fails is retried (counted,
// logged at most once a second, with a back-off) rather than stopping the
// worker; ErrClosed ends it.
func TestWorkerReadErrors(t *testing.T) {
	c := DefaultConfig()
	c.Ruleset.File = filepath.Join("..", "testdata", "rules-oracle", "strict_host.nft")
	d, err := New(c, Options{LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	port := newMemPort([]datapath.Packet{tcpPkt(client, server, 1, 22, 1, 0, packet.TCPSyn)}, nil, 1)
	port.failN = 5
	w := newWorker(port, workerConfig{eng: d.Engine(), now: d.Now, batch: 8, defrag: defrag.ConfigFrom(c.Conntrack),
		ifDev: testDev("eth0"), pol: newPolicy(c), log: NewLogger(&log, "text", new(slog.LevelVar))})
	var stop atomic.Bool
	done := make(chan error)
	go func() { done <- w.Run(&stop) }()
	<-port.drained
	port.close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if e := w.Extras().Errors; e != 5 {
		t.Errorf("%d errors counted, want 5", e)
	}
	if port.verdicts[0] != datapath.Accept {
		t.Errorf("the packet after the failures: %v", port.verdicts[0])
	}
	if n := strings.Count(log.String(), "datapath port"); n != 1 {
		t.Errorf("%d log lines for 5 failures in a row, want 1:\n%s", n, log.String())
	}
}
