package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hare-fw/hare/control"
)

// TestDaemonBridge runs `hare run` as a process in a network namespace,
// bridging a client and a server namespace with the AF_PACKET datapath,
// and checks with real programs (ping, a Python TCP client and server):
// allowed flows pass in both families, a new inbound flow is blocked, a
// reject sends a TCP reset, a SIGHUP reload keeps an open connection and
// refuses a bad ruleset, and a restart (SIGTERM, state saved, start,
// state restored) keeps that connection going. The full issue-5 proof is
// the integration package's; this is the daemon's own smoke test.
func TestDaemonBridge(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (network namespaces, AF_PACKET)")
	}
	for _, tool := range []string{"ip", "ping", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: no %s", tool)
		}
	}
	bin := hareBinary(t)
	n := newNetns(t)
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.nft")
	state := filepath.Join(dir, "ct.state")
	sock := filepath.Join(dir, "control.sock")
	writeFile(t, rules, bridgeRules(""))
	cfg := filepath.Join(dir, "hare.toml")
	writeFile(t, cfg, fmt.Sprintf(`[datapath]
kind = "afpacket"
interfaces = ["b0", "b1"]
[ruleset]
file = %q
[log]
format = "json"
level = "debug"
[state]
file = %q
[control]
socket = %q
`, rules, state, sock))

	h := startHare(t, n.fw, bin, cfg)
	h.waitLog(t, `"msg":"started"`)

	// Allowed: client to server, ping and ping6.
	n.mustRun(t, n.client, "ping", "-c1", "-W3", "10.72.0.2")
	n.mustRun(t, n.client, "ping", "-6", "-c1", "-W3", "fd72::2")
	// Blocked: the server may not open anything toward the client.
	if err := n.run(n.server, "ping", "-c1", "-W1", "10.72.0.1"); err == nil {
		t.Error("ping from the server passed a forward policy of drop")
	}
	// Reject: a TCP reset comes back at once (connection refused).
	if out, _ := n.output(n.client, "python3", "-c", pyConnect, "10.72.0.2", "5001"); out != "refused\n" {
		t.Errorf("connect to a rejected port: %q, want refused (a TCP RST from hare)", out)
	}

	n.start(t, n.server, "listening\n", "python3", "-c", pyEchoServer, "::", "5000")
	cl := newPyClient(t, n, "fd72::2", "5000")
	defer cl.close()
	cl.echo(t, "before")

	// hare ct (conntrack -L) over the control socket lists the flow.
	out, err := exec.Command(bin, "ct", "-L", "-p", "tcp", "--dport", "5000", "--socket", sock).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ESTABLISHED src=fd72::1 dst=fd72::2 ") ||
		!strings.Contains(string(out), " dport=5000 ") || !strings.Contains(string(out), "[ASSURED]") {
		t.Errorf("hare ct -L: %v\n%s", err, out)
	}

	// Reload: a new ruleset comes into force, the connection goes on.
	writeFile(t, rules, bridgeRules("iifname \"b0\" tcp dport 5002 accept"))
	h.signal(t, syscall.SIGHUP)
	h.waitLog(t, `"msg":"reloaded"`)
	cl.echo(t, "after reload")
	// A bad ruleset is refused with its line; the running one stays.
	writeFile(t, rules, "table inet fw {\n\tchain forward {\n\t\tbogus\n\t}\n}\n")
	h.signal(t, syscall.SIGHUP)
	h.waitLog(t, `"msg":"reload refused; the running configuration stays"`)
	if !strings.Contains(h.log(), "rules.nft:3:") {
		t.Errorf("the refused reload's error does not name rules.nft:3:\n%s", h.log())
	}
	cl.echo(t, "after refused reload")
	// The daemon's own counters by API: the workers saw the packets.
	raw, err := control.NewClient(sock).DaemonStats(context.Background())
	var ds Stats
	if err == nil {
		err = json.Unmarshal(raw, &ds)
	}
	if err != nil || ds.Generation != 2 || ds.ReloadFailures != 1 || len(ds.Workers) == 0 || ds.Workers[0].Packets+ds.Workers[len(ds.Workers)-1].Packets == 0 {
		t.Errorf("daemon stats by API: %v %s", err, raw)
	}
	// The same refusal by API (hare's control reload) is an error too.
	if err := control.NewClient(sock).Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "rules.nft:3:") {
		t.Errorf("reload by API of a bad ruleset: %v, want an error at rules.nft:3", err)
	}

	// Restart: the table is saved on stop and restored on start; the
	// server's replies are let in only as established (reply) traffic.
	writeFile(t, rules, bridgeRules(""))
	h.stop(t)
	if !strings.Contains(h.log(), `"msg":"connection table saved"`) {
		t.Fatalf("no state saved:\n%s", h.log())
	}
	h = startHare(t, n.fw, bin, cfg)
	h.waitLog(t, `"msg":"connection table restored"`)
	h.waitLog(t, `"msg":"started"`)
	cl.echo(t, "after restart")
	h.stop(t)
}

// bridgeRules is the test's forward ruleset; extra is one more rule.
func bridgeRules(extra string) string {
	return `table inet fw {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
		iifname "b0" icmp type echo-request accept
		iifname "b0" icmpv6 type echo-request accept
		iifname "b0" tcp dport 5000 tcp flags syn accept
		tcp dport 5001 reject with tcp reset
		` + extra + `
	}
}
`
}

const pyConnect = `
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    print("connected")
except ConnectionRefusedError:
    print("refused")
except Exception as e:
    print("error", e)
`

const pyEchoServer = `
import socket, sys, threading
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
print("listening", flush=True)
def serve(c):
    while True:
        b = c.recv(4096)
        if not b:
            return
        c.sendall(b)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`

// pyClientScript connects, then echoes each stdin line through the
// connection and prints what came back.
const pyClientScript = `
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
print("connected", flush=True)
for line in sys.stdin:
    c.sendall(line.encode())
    got = b""
    while not got.endswith(b"\n"):
        b = c.recv(4096)
        if not b:
            print("closed", flush=True)
            sys.exit(1)
        got += b
    print(got.decode(), end="", flush=True)
`

type pyClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func newPyClient(t *testing.T, n *netns, host, port string) *pyClient {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", n.client, "python3", "-c", pyClientScript, host, port)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &pyClient{cmd: cmd, in: in, out: bufio.NewReader(out)}
	if l, err := c.out.ReadString('\n'); err != nil || l != "connected\n" {
		t.Fatalf("client: %q %v", l, err)
	}
	return c
}

// echo sends a line through the connection and expects it back.
func (c *pyClient) echo(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(c.in, s+"\n"); err != nil {
		t.Fatalf("echo %q: %v", s, err)
	}
	l, err := c.out.ReadString('\n')
	if err != nil || l != s+"\n" {
		t.Fatalf("echo %q: got %q, %v", s, l, err)
	}
}

func (c *pyClient) close() {
	c.in.Close()
	c.cmd.Process.Kill()
	c.cmd.Wait()
}

// hareProc is a running `hare run`.
type hareProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan error
}

func (h *hareProc) Write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.Write(b)
}

func (h *hareProc) log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.String()
}

func startHare(t *testing.T, ns, bin, cfg string) *hareProc {
	t.Helper()
	h := &hareProc{done: make(chan error, 1)}
	h.cmd = exec.Command("ip", "netns", "exec", ns, bin, "run", "-c", cfg)
	h.cmd.Stdout, h.cmd.Stderr = h, h
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.done <- h.cmd.Wait() }()
	t.Cleanup(func() {
		if h.cmd.ProcessState == nil {
			h.cmd.Process.Kill()
		}
	})
	return h
}

// waitLog waits until the log has a line containing s, or hare exits, or
// 20 s pass (a deadline for a hung test, not a measurement).
func (h *hareProc) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(h.log(), s) {
		select {
		case err := <-h.done:
			h.done <- err
			t.Fatalf("hare exited (%v) before logging %s:\n%s", err, s, h.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("hare did not log %s:\n%s", s, h.log())
		}
	}
}

func (h *hareProc) signal(t *testing.T, s os.Signal) {
	t.Helper()
	// ip netns exec execs hare: the process is hare itself.
	if err := h.cmd.Process.Signal(s); err != nil {
		t.Fatal(err)
	}
}

// stop sends SIGTERM and expects a clean exit.
func (h *hareProc) stop(t *testing.T) {
	t.Helper()
	h.signal(t, syscall.SIGTERM)
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("hare exited with %v:\n%s", err, h.log())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("hare did not stop:\n%s", h.log())
	}
}

// netns is the test topology:
//
//	client ns: c0 10.72.0.1 fd72::1
//	     | veth
//	fw ns:     b0  ==hare run (afpacket)==  b1
//	     | veth
//	server ns: s0 10.72.0.2 fd72::2
type netns struct {
	client, fw, server string
}

func newNetns(t *testing.T) *netns {
	t.Helper()
	id := os.Getpid()
	n := &netns{client: fmt.Sprintf("hdc%d", id), fw: fmt.Sprintf("hdf%d", id), server: fmt.Sprintf("hds%d", id)}
	t.Cleanup(func() {
		for _, ns := range []string{n.client, n.fw, n.server} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	c, b, s := n.client, n.fw, n.server
	for _, cmd := range [][]string{
		{"ip", "netns", "add", c}, {"ip", "netns", "add", b}, {"ip", "netns", "add", s},
		{"ip", "-n", c, "link", "add", "c0", "type", "veth", "peer", "name", "b0", "netns", b},
		{"ip", "-n", s, "link", "add", "s0", "type", "veth", "peer", "name", "b1", "netns", b},
		{"ip", "netns", "exec", b, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
		{"ip", "-n", b, "link", "set", "b0", "up"},
		{"ip", "-n", b, "link", "set", "b1", "up"},
		{"ip", "-n", c, "link", "set", "lo", "up"},
		{"ip", "-n", s, "link", "set", "lo", "up"},
		{"ip", "-n", c, "addr", "add", "10.72.0.1/24", "dev", "c0"},
		{"ip", "-n", s, "addr", "add", "10.72.0.2/24", "dev", "s0"},
		{"ip", "-n", c, "addr", "add", "fd72::1/64", "dev", "c0", "nodad"},
		{"ip", "-n", s, "addr", "add", "fd72::2/64", "dev", "s0", "nodad"},
		{"ip", "-n", c, "link", "set", "c0", "up"},
		{"ip", "-n", s, "link", "set", "s0", "up"},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(cmd, " "), err, out)
		}
	}
	return n
}

func (n *netns) run(ns string, args ...string) error {
	return exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).Run()
}

func (n *netns) output(ns string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).Output()
	return string(out), err
}

func (n *netns) mustRun(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput(); err != nil {
		t.Errorf("%s in %s: %v\n%s", strings.Join(args, " "), ns, err, out)
	}
}

// start starts a program in ns and waits for its first line, ready.
func (n *netns) start(t *testing.T, ns, ready string, args ...string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if l, err := bufio.NewReader(out).ReadString('\n'); err != nil || l != ready {
		t.Fatalf("%s: %q %v, want %q", strings.Join(args, " "), l, err, ready)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
