package daemon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

// The live path and `hare replay --rules` must agree: the oracle for the
// worker loop is the replay of the same capture with the same ruleset,
// run as a separate program. Each capture's packets go through a daemon
// (its workers, over a memPort, one packet per batch so that the clock is
// each packet's capture time, as the replay's) and each verdict is
// compared with the replay's line for that packet; the reject replies the
// worker injects are compared with the replay's --emit file, and the rule
// counters with the replay's.
//
// What differs by design: a fragment the replay reports "held" (its
// datagram incomplete) is held by the worker (the memPort is a
// Forwarder, as both datapaths' ports are) and sent with its datagram if
// the replay's verdict for the packet that completes the datagram is
// accept, never otherwise (fraghold.go): its expected verdict is the
// replay's for the later packet the replay reports "reassembled" with the
// same reassembly key, or drop when there is none.

var (
	hareOnce sync.Once
	hareBin  string
	hareErr  error
)

// hareBinary builds cmd/hare once per test run.
func hareBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: builds and runs hare replay")
	}
	hareOnce.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			hareErr = err
			return
		}
		dir, err := os.MkdirTemp("", "hare-oracle")
		if err != nil {
			hareErr = err
			return
		}
		hareBin = filepath.Join(dir, "hare")
		out, err := exec.Command(goCmd, "build", "-o", hareBin, "../cmd/hare").CombinedOutput()
		if err != nil {
			hareErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if hareErr != nil {
		t.Fatal(hareErr)
	}
	return hareBin
}

// replayLine is the part of a --packets -o json line the test reads.
type replayLine struct {
	N           uint64 `json:"n"`
	Verdict     string `json:"verdict"`
	Reassembled bool   `json:"reassembled"`
}

type replayCounter struct {
	Table   string `json:"table"`
	Chain   string `json:"chain"`
	Handle  uint64 `json:"handle"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// replay runs hare replay on one capture and returns each packet's
// verdict (index n-1), the rule counters, and the emitted rejects.
func replay(t *testing.T, rules, capPath string, extra ...string) (verdicts []string, counters []replayCounter, emitted [][]byte) {
	lines, counters, emitted := replayLines(t, rules, capPath, extra...)
	for _, l := range lines {
		verdicts = append(verdicts, l.Verdict)
	}
	return verdicts, counters, emitted
}

// replayLines is replay with each packet's whole line.
func replayLines(t *testing.T, rules, capPath string, extra ...string) (lines []replayLine, counters []replayCounter, emitted [][]byte) {
	t.Helper()
	emit := filepath.Join(t.TempDir(), "emit.pcapng")
	args := append([]string{"replay", "--packets", "-o", "json", "--iifname", "kor0", "--emit", emit, "--rules", rules}, extra...)
	cmd := exec.Command(hareBinary(t), append(args, capPath)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hare replay: %v\n%s", err, stderr.Bytes())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.HasPrefix(line, []byte(`{"n":`)):
			var l replayLine
			if err := json.Unmarshal(line, &l); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if int(l.N) != len(lines)+1 {
				t.Fatalf("replay line %d out of order", l.N)
			}
			lines = append(lines, l)
		case bytes.HasPrefix(line, []byte(`{"rule_counters":`)):
			var rc struct {
				C []replayCounter `json:"rule_counters"`
			}
			if err := json.Unmarshal(line, &rc); err != nil {
				t.Fatal(err)
			}
			counters = rc.C
		}
	}
	r, err := capture.Open(emit)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]capture.Packet, 16)
	for {
		n, err := r.ReadBatch(buf)
		for _, p := range buf[:n] {
			emitted = append(emitted, append([]byte(nil), p.Data...))
		}
		if err == io.EOF || (err == nil && n == 0) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return lines, counters, emitted
}

// oracleIfindex is the replay's namespace (lo, then the device every
// packet arrives on, named ifname: engine.ReplayIfindex), in which the
// rulesets' `iif "NAME"` resolve, as nft resolved them in the kernel
// oracle's. The oracle's kor0 exists in the forward topology too, as a
// device no packet arrives on (the rules-oracle rulesets name it). A
// ruleset naming another device is refused, and left out.
func oracleIfindex(ifname string) func(string) (int32, bool) {
	return func(name string) (int32, bool) {
		switch name {
		case "lo":
			return 1, true
		case ifname:
			return engine.ReplayIfindex, true
		case "kor0":
			return 99, true
		}
		return 0, false
	}
}

// live runs the capture's packets through a daemon with the ruleset and
// returns the port (verdicts, injections) and the daemon.
func live(t *testing.T, rules string, pkts []datapath.Packet, times []int64, ifname string) (*memPort, *Daemon) {
	t.Helper()
	c := DefaultConfig()
	c.Ruleset.File = rules
	c.Datapath.PassNonIP = false // the replay drops what is not IP
	c.Control.Socket = ""
	port := newMemPort(pkts, times, 1)
	dp := &memDatapath{ports: []*memPort{port}}
	d, err := New(c, Options{Open: dp.opener(), LogOutput: io.Discard,
		IfName: func(int) (string, bool) { return ifname, true }, Ifindex: oracleIfindex(ifname), Now: port.clock.Load})
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
	return port, d
}

// oracleCaptures are the shared captures the oracle test replays: every
// one, unless -short.
func oracleCaptures(t *testing.T) []string {
	dir := filepath.Join("..", "..", "shared", "testdata", "pcaps")
	var out []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Skipf("skipping: no captures in %s", dir)
	}
	return out
}

func TestWorkerMatchesReplay(t *testing.T) {
	t.Run("input", func(t *testing.T) { matchReplay(t, false) })
	t.Run("forward", func(t *testing.T) { matchReplay(t, true) })
}

// matchReplay runs the comparison on the input path (as the replay's
// default: every packet arrives on kor0 and is delivered locally) or on
// the forward path (a router or bridge: the replay's --inside with every
// address inside, so every packet arrives on "lan" and is forwarded out of
// "lan"; multicast and broadcast are delivered locally there, so the live
// side takes them on the input hook).
func matchReplay(t *testing.T, forward bool) {
	caps := oracleCaptures(t)
	var extra []string
	ifname := "kor0"
	if forward {
		extra, ifname = []string{"--inside", "0.0.0.0/0,::/0"}, "lan"
	}
	rulesets, _ := filepath.Glob(filepath.Join("..", "testdata", "rules-oracle", "*.nft"))
	// The forward path also runs the real-world rulesets of the shared
	// corpus, many of which are routers' (forward chains, iifname/oifname
	// matches), over every third capture, to bound the time.
	realWorld := map[string]bool{}
	if forward {
		shared, _ := filepath.Glob(filepath.Join("..", "..", "shared", "testdata", "rulesets", "*.nft"))
		for _, r := range shared {
			realWorld[r] = true
		}
		rulesets = append(rulesets, shared...)
	}
	var packets, held, rejects, rulesetsRun, realRun int
	for _, rules := range rulesets {
		if _, err := New(&Config{Ruleset: RulesetConfig{File: rules}, Log: LogConfig{Level: "info"}, Conntrack: DefaultConfig().Conntrack},
			Options{LogOutput: io.Discard, Ifindex: oracleIfindex(ifname)}); err != nil {
			t.Logf("%s: not compiled, left out: %s", filepath.Base(rules), strings.SplitN(err.Error(), "\n", 2)[0])
			continue
		}
		rulesetsRun++
		if realWorld[rules] {
			realRun++
		}
		for ci, cp := range caps {
			if realWorld[rules] && ci%3 != 0 {
				continue
			}
			name := strings.TrimSuffix(filepath.Base(rules), ".nft") + "/" + filepath.Base(cp)
			lines, wantCounters, emitted := replayLines(t, rules, cp, extra...)
			pkts, times := readCapture(t, cp)
			want := heldVerdicts(pkts, lines)
			if forward {
				toForward(pkts)
			}
			if len(pkts) != len(want) {
				t.Errorf("%s: %d packets read, replay has %d", name, len(pkts), len(want))
				continue
			}
			port, d := live(t, rules, pkts, times, ifname)
			for i, v := range want {
				exp := datapath.Drop
				switch v {
				case "accept":
					exp = datapath.Accept
				case "held-accept":
					exp = datapath.Accept
					held++
				case "held-drop":
					held++
				}
				got := port.verdicts[i]
				if got == datapath.Stolen {
					got = datapath.Drop // held and never sent
				}
				if got != exp {
					t.Errorf("%s packet %d: live %v, replay %s", name, i+1, port.verdicts[i], v)
				}
			}
			packets += len(want)
			if len(port.injected) != len(emitted) {
				t.Errorf("%s: %d rejects injected, replay emitted %d", name, len(port.injected), len(emitted))
			} else {
				for i := range emitted {
					if !bytes.Equal(port.injected[i].ip, emitted[i]) {
						t.Errorf("%s: reject %d (after packet %d) differs from the replay's\nlive   %x\nreplay %x",
							name, i, port.injected[i].after+1, port.injected[i].ip, emitted[i])
					}
				}
				rejects += len(emitted)
			}
			got := d.Engine().Rules().Counters()
			if len(got) != len(wantCounters) {
				t.Errorf("%s: %d rule counters, replay %d", name, len(got), len(wantCounters))
				continue
			}
			for i, w := range wantCounters {
				g := got[i]
				if g.Table != w.Table || g.Chain != w.Chain || g.Handle != w.Handle || g.Packets != w.Packets || g.Bytes != w.Bytes {
					t.Errorf("%s: counter %s %s handle %d: live %d packets %d bytes, replay %d packets %d bytes",
						name, w.Table, w.Chain, w.Handle, g.Packets, g.Bytes, w.Packets, w.Bytes)
				}
			}
		}
	}
	t.Logf("%d rulesets (%d real-world over every third capture) x %d captures: %d packet verdicts (%d held fragments given their datagram's verdict), %d rejects compared with hare replay",
		rulesetsRun, realRun, len(caps), packets, held, rejects)
}

// heldVerdicts returns the replay's verdict of each packet, but for the
// fragments it reports "held": "held-accept" when the later packet with
// the same reassembly key (addresses, identification and, for IPv4, the
// protocol: RFC 791 §3.2, RFC 8200 §4.5) that the replay reports
// reassembled was accepted, "held-drop" otherwise.
func heldVerdicts(pkts []datapath.Packet, lines []replayLine) []string {
	out := make([]string, len(lines))
	keys := make([]fragKey, len(pkts))
	frag := make([]bool, len(pkts))
	var p packet.Parsed
	for i, pk := range pkts {
		if pk.L3 < 0 || i >= len(lines) {
			continue
		}
		p.DecodeIP(pk.Data[pk.L3:])
		if p.IPVersion != 0 && p.Frag.IsFragment() {
			keys[i], frag[i] = fragKeyOf(&p), true
		}
	}
	for i, l := range lines {
		out[i] = l.Verdict
		if l.Verdict != "held" || i >= len(pkts) || !frag[i] {
			continue
		}
		out[i] = "held-drop"
		for j := i + 1; j < len(lines) && j < len(pkts); j++ {
			if frag[j] && keys[j] == keys[i] && lines[j].Reassembled {
				if lines[j].Verdict == "accept" {
					out[i] = "held-accept"
				}
				break
			}
		}
	}
	return out
}

// toForward makes the packets forwarded ones (HookForward, out of the
// replay's output interface, engine.ReplayOifindex), but for those to a multicast or broadcast address, which
// the replay's topology delivers locally.
func toForward(pkts []datapath.Packet) {
	var p packet.Parsed
	for i := range pkts {
		pk := &pkts[i]
		if pk.L3 < 0 {
			continue
		}
		p.DecodeIP(pk.Data[pk.L3:])
		if p.IPVersion != 0 && (p.Dst.IsMulticast() || p.Dst == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
			continue
		}
		pk.Hook, pk.OutIf = datapath.HookForward, engine.ReplayOifindex
	}
}
