package daemon

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

// A ruleset under which only the state of a connection lets its replies
// in: a reply from port 80 is "new" to a table that does not know the
// connection (tcp_loose picks it up) and is dropped.
const rulesStateful = `table inet fw {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established accept
		tcp dport 80 ct state new accept
	}
}
`

// runDaemon starts a daemon on config, feeds pkts through it (one per
// batch), stops it, and returns the verdicts and the log.
func runDaemon(t *testing.T, cfgPath string, now *atomic.Int64, pkts ...datapath.Packet) ([]datapath.Verdict, string) {
	t.Helper()
	c, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	port := newMemPort(pkts, nil, 1)
	dp := &memDatapath{ports: []*memPort{port}}
	d, err := New(c, Options{Open: dp.opener(), LogOutput: &log, Now: now.Load,
		IfName: func(int) (string, bool) { return "eth0", true }})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	<-port.drained
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if !dp.closed {
		t.Error("Stop left the datapath open")
	}
	return port.verdicts, log.String()
}

// TestRestartKeepsConnections: Stop saves the table to [state] file and
// Start restores it, so the replies of a connection opened before a
// restart are still established after it.
func TestRestartKeepsConnections(t *testing.T) {
	h := &harness{t: t, dir: t.TempDir()}
	state := filepath.Join(h.dir, "state", "ct.state") // its directory is created by Start
	h.write("rules.nft", rulesStateful)
	h.write("hare.toml", "[ruleset]\nfile = \""+filepath.Join(h.dir, "rules.nft")+"\"\n[state]\nfile = \""+state+"\"\n[control]\nsocket = \"\"\n")
	cfg := filepath.Join(h.dir, "hare.toml")
	h.now.Store(1_700_000_000e9)
	syn, ack := packet.TCPSyn, packet.TCPAck

	v, log := runDaemon(t, cfg, &h.now,
		tcpPkt(client, server, 40000, 80, 100, 0, syn),
		tcpPkt(server, client, 80, 40000, 500, 101, syn|ack),
		tcpPkt(client, server, 40000, 80, 101, 501, ack))
	for i, x := range v {
		if x != datapath.Accept {
			t.Errorf("handshake packet %d: %v", i+1, x)
		}
	}
	if !strings.Contains(log, "no saved connection table") || !strings.Contains(log, "entries=1") {
		t.Errorf("first run's log does not say it started empty and saved 1 entry:\n%s", log)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatal(err)
	}

	// Ten minutes down; the established timeout is five days.
	h.now.Add(600e9)
	reply := tcpPkt(server, client, 80, 40000, 501, 101, ack|packet.TCPPsh)
	v, log = runDaemon(t, cfg, &h.now, reply)
	if v[0] != datapath.Accept {
		t.Errorf("reply after restart: %v, want accept (established)\n%s", v[0], log)
	}
	if !strings.Contains(log, "connection table restored") {
		t.Errorf("second run's log does not say it restored:\n%s", log)
	}

	// The same reply without the saved state is new, and dropped: the
	// accept above came from the restored entry.
	os.Remove(state)
	v, _ = runDaemon(t, cfg, &h.now, reply)
	if v[0] != datapath.Drop {
		t.Errorf("reply with no saved state: %v, want drop", v[0])
	}

	// A corrupt file is refused whole, logged, and moved aside; the
	// daemon starts empty.
	h.write(filepath.Join("state", "ct.state"), "HARE-CT\x00garbage")
	v, log = runDaemon(t, cfg, &h.now, reply)
	if v[0] != datapath.Drop {
		t.Errorf("reply after a corrupt state file: %v, want drop", v[0])
	}
	if !strings.Contains(log, "saved connection table refused") {
		t.Errorf("corrupt state file not reported:\n%s", log)
	}
	if _, err := os.Stat(state + ".bad"); err != nil {
		t.Errorf("corrupt state file not moved aside: %v", err)
	}
}

// TestStopBeforeStart: a daemon stopped before Start restored its table
// leaves the saved table alone (it would overwrite it with an empty one).
func TestStopBeforeStart(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "ct.state")
	if err := os.WriteFile(state, []byte("saved"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Ruleset.File = filepath.Join("..", "testdata", "rules-oracle", "strict_host.nft")
	c.State.File = state
	d, err := New(c, Options{LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err == nil {
		t.Fatal("Start without an opener succeeded")
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(state); err != nil || string(b) != "saved" {
		t.Errorf("state file after Stop before a restore: %q, %v", b, err)
	}
}
