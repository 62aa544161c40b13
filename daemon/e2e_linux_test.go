package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	needRoot(t)
	n := newNetns(t, false)
	runScenario(t, n, `[datapath]
kind = "afpacket"
interfaces = ["c-side", "s-side"]
`)
}

// TestDaemonNFQueue is TestDaemonBridge's scenario on a router: the fw
// namespace forwards between two subnets and hare judges the forward hook
// through NFQUEUE (iptables -j NFQUEUE, installed by hare, with the
// notrack table keeping the kernel's conntrack out). Failing closed (the
// default), the stop keeps the rules: nothing is forwarded until
// `hare run --remove-rules` lifts them, after which the router forwards
// unfiltered.
func TestDaemonNFQueue(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("skipping: no iptables")
	}
	n := newNetns(t, true)
	cfg := runScenario(t, n, `[datapath]
kind = "nfqueue"
queues = "0-1"
hooks = ["forward", "output"]
`)
	if out, err := n.output(n.fw, "iptables", "-S", "FORWARD"); err != nil || !strings.Contains(out, "-j HARE") {
		t.Errorf("fail-closed: the queue rules are gone after the stop: %v\n%s", err, out)
	}
	if err := n.run(n.client, "ping", "-c1", "-W1", n.server4); err == nil {
		t.Error("fail-closed: a ping was forwarded while hare is stopped")
	}
	if out, err := n.output(n.fw, hareBinary(t), "run", "--remove-rules", "-c", cfg); err != nil {
		t.Fatalf("hare run --remove-rules: %v\n%s", err, out)
	}
	if out, err := n.output(n.fw, "iptables", "-S", "FORWARD"); err != nil || strings.Contains(out, "HARE") {
		t.Errorf("queue rules left behind after --remove-rules: %v\n%s", err, out)
	}
	n.mustRun(t, n.client, "ping", "-c1", "-W3", n.server4)
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (network namespaces, AF_PACKET, NFQUEUE)")
	}
	for _, tool := range []string{"ip", "ping", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: no %s", tool)
		}
	}
}

// runScenario runs hare in n.fw with the [datapath] section given and
// checks, with real programs, what the firewall must do. It returns the
// configuration file's path.
func runScenario(t *testing.T, n *netns, datapathSection string) string {
	bin := hareBinary(t)
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.nft")
	state := filepath.Join(dir, "ct.state")
	sock := filepath.Join(dir, "control.sock")
	writeFile(t, rules, fwRules(""))
	cfg := filepath.Join(dir, "hare.toml")
	writeFile(t, cfg, datapathSection+fmt.Sprintf(`[ruleset]
file = %q
[log]
format = "json"
level = "debug"
[state]
file = %q
[control]
socket = %q
`, rules, state, sock))

	// systemd's side of Type=notify: a datagram socket in $NOTIFY_SOCKET.
	notes := listenNotify(t, filepath.Join(dir, "notify.sock"))
	h := startHare(t, n.fw, bin, cfg, "NOTIFY_SOCKET="+notes.path)
	h.waitLog(t, `"msg":"started"`)

	// Allowed: client to server, ping and ping6.
	n.mustRun(t, n.client, "ping", "-c1", "-W3", n.server4)
	n.mustRun(t, n.client, "ping", "-6", "-c1", "-W3", n.server6)
	// Blocked: the server may not open anything toward the client.
	if err := n.run(n.server, "ping", "-c1", "-W1", n.client4); err == nil {
		t.Error("ping from the server passed a forward policy of drop")
	}
	// Reject: a TCP reset comes back at once (connection refused).
	if out, _ := n.output(n.client, "python3", "-c", pyConnect, n.server4, "5001"); out != "refused\n" {
		t.Errorf("connect to a rejected port: %q, want refused (a TCP RST from hare)", out)
	}

	if n.router {
		// The router's own packets take the output path (NFQUEUE from
		// OUTPUT): allowed by the output policy, rejected by a rule
		// (the RST hare injects reaches the router's own socket).
		n.mustRun(t, n.fw, "ping", "-c1", "-W3", n.server4)
		if out, _ := n.output(n.fw, "python3", "-c", pyConnect, n.server4, "5003"); out != "refused\n" {
			t.Errorf("connect from the router to a port its output chain rejects: %q, want refused", out)
		}
	}

	n.start(t, n.server, "listening\n", "python3", "-c", pyEchoServer, "::", "5000")
	cl := newPyClient(t, n, n.server6, "5000")
	defer cl.close()
	cl.echo(t, "before")

	// hare ct (conntrack -L) over the control socket lists the flow.
	out, err := exec.Command(bin, "ct", "-L", "-p", "tcp", "--dport", "5000", "--socket", sock).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ESTABLISHED src="+n.client6+" dst="+n.server6+" ") ||
		!strings.Contains(string(out), " dport=5000 ") || !strings.Contains(string(out), "[ASSURED]") {
		t.Errorf("hare ct -L: %v\n%s", err, out)
	}

	// Reload: a new ruleset comes into force, the connection goes on.
	writeFile(t, rules, fwRules("iifname \"c-side\" tcp dport 5002 accept"))
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
	var seen uint64
	for _, w := range ds.Workers {
		seen += w.Packets
	}
	if err != nil || ds.Generation != 2 || ds.ReloadFailures != 1 || seen == 0 {
		t.Errorf("daemon stats by API: %v %s", err, raw)
	}
	// The same refusal by API (hare's control reload) is an error too.
	if err := control.NewClient(sock).Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "rules.nft:3:") {
		t.Errorf("reload by API of a bad ruleset: %v, want an error at rules.nft:3", err)
	}

	// Restart: the table is saved on stop and restored on start; the
	// connection's packets other than its SYN pass only as established.
	writeFile(t, rules, fwRules(""))
	h.stop(t)
	if !strings.Contains(h.log(), `"msg":"connection table saved"`) {
		t.Fatalf("no state saved:\n%s", h.log())
	}
	// sd_notify: ready, each SIGHUP as reloading then ready again (the
	// API reload is not systemd's), stopping.
	want := "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 STOPPING=1"
	if got := notes.wait(6); got != want {
		t.Errorf("sd_notify messages %q, want %q", got, want)
	}
	h = startHare(t, n.fw, bin, cfg)
	h.waitLog(t, `"msg":"connection table restored"`)
	h.waitLog(t, `"msg":"started"`)
	cl.echo(t, "after restart")
	h.stop(t)
	return cfg
}

// fwRules is the test's forward ruleset; extra is one more rule. The
// client's side is interface c-side (b0 on the bridge, r0 on the router:
// newNetns names them so).
func fwRules(extra string) string {
	return `table inet fw {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
		iifname "c-side" icmp type echo-request accept
		iifname "c-side" icmpv6 type echo-request accept
		iifname "c-side" tcp dport 5000 tcp flags syn accept
		tcp dport 5001 reject with tcp reset
		` + extra + `
	}
	chain output {
		type filter hook output priority filter; policy accept;
		tcp dport 5003 reject with tcp reset
	}
}
`
}

const pyConnect = `
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]) if len(sys.argv) > 3 else 5)
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

func startHare(t *testing.T, ns, bin, cfg string, env ...string) *hareProc {
	t.Helper()
	h := &hareProc{done: make(chan error, 1)}
	h.cmd = exec.Command("ip", "netns", "exec", ns, bin, "run", "-c", cfg)
	h.cmd.Env = append(os.Environ(), env...)
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

// netns is the test topology, a bridge:
//
//	client ns: c0 10.72.0.1 fd72::1
//	     | veth
//	fw ns:     c-side  ==hare run (afpacket)==  s-side
//	     | veth
//	server ns: s0 10.72.0.2 fd72::2
//
// or a router:
//
//	client ns: c0 10.73.1.1 fd73:1::1, default via the router
//	     | veth
//	fw ns:     c-side 10.73.1.254 fd73:1::fe, s-side 10.73.2.254 fd73:2::fe, forwarding
//	     | veth
//	server ns: s0 10.73.2.1 fd73:2::1, default via the router
type netns struct {
	router             bool
	client, fw, server string
	client4, client6   string
	server4, server6   string
}

func newNetns(t *testing.T, router bool) *netns {
	t.Helper()
	id := os.Getpid()
	n := &netns{client: fmt.Sprintf("hdc%d", id), fw: fmt.Sprintf("hdf%d", id), server: fmt.Sprintf("hds%d", id),
		client4: "10.72.0.1", client6: "fd72::1", server4: "10.72.0.2", server6: "fd72::2", router: router}
	if router {
		n.client4, n.client6, n.server4, n.server6 = "10.73.1.1", "fd73:1::1", "10.73.2.1", "fd73:2::1"
	}
	t.Cleanup(func() {
		for _, ns := range []string{n.client, n.fw, n.server} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	c, b, s := n.client, n.fw, n.server
	cmds := [][]string{
		{"ip", "netns", "add", c}, {"ip", "netns", "add", b}, {"ip", "netns", "add", s},
		{"ip", "-n", c, "link", "add", "c0", "type", "veth", "peer", "name", "c-side", "netns", b},
		{"ip", "-n", s, "link", "add", "s0", "type", "veth", "peer", "name", "s-side", "netns", b},
		{"ip", "-n", c, "link", "set", "lo", "up"},
		{"ip", "-n", s, "link", "set", "lo", "up"},
		{"ip", "-n", b, "link", "set", "lo", "up"},
	}
	if router {
		cmds = append(cmds, [][]string{
			{"ip", "netns", "exec", b, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
			{"ip", "netns", "exec", b, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"},
			{"ip", "-n", b, "addr", "add", "10.73.1.254/24", "dev", "c-side"},
			{"ip", "-n", b, "addr", "add", "10.73.2.254/24", "dev", "s-side"},
			{"ip", "-n", b, "addr", "add", "fd73:1::fe/64", "dev", "c-side", "nodad"},
			{"ip", "-n", b, "addr", "add", "fd73:2::fe/64", "dev", "s-side", "nodad"},
		}...)
	} else {
		cmds = append(cmds, []string{"ip", "netns", "exec", b, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"})
	}
	prefix := "/24"
	cmds = append(cmds, [][]string{
		{"ip", "-n", b, "link", "set", "c-side", "up"},
		{"ip", "-n", b, "link", "set", "s-side", "up"},
		{"ip", "-n", c, "addr", "add", n.client4 + prefix, "dev", "c0"},
		{"ip", "-n", s, "addr", "add", n.server4 + prefix, "dev", "s0"},
		{"ip", "-n", c, "addr", "add", n.client6 + "/64", "dev", "c0", "nodad"},
		{"ip", "-n", s, "addr", "add", n.server6 + "/64", "dev", "s0", "nodad"},
		{"ip", "-n", c, "link", "set", "c0", "up"},
		{"ip", "-n", s, "link", "set", "s0", "up"},
	}...)
	if router {
		cmds = append(cmds, [][]string{
			{"ip", "-n", c, "route", "add", "default", "via", "10.73.1.254"},
			{"ip", "-n", s, "route", "add", "default", "via", "10.73.2.254"},
			{"ip", "-n", c, "-6", "route", "add", "default", "via", "fd73:1::fe"},
			{"ip", "-n", s, "-6", "route", "add", "default", "via", "fd73:2::fe"},
		}...)
	}
	for _, cmd := range cmds {
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

// notifySocket receives sd_notify datagrams, as systemd does for a
// Type=notify unit.
type notifySocket struct {
	path string
	mu   sync.Mutex
	msgs []string
}

func listenNotify(t *testing.T, path string) *notifySocket {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ns := &notifySocket{path: path}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			ns.mu.Lock()
			ns.msgs = append(ns.msgs, string(buf[:n]))
			ns.mu.Unlock()
		}
	}()
	return ns
}

// wait returns the messages, space-separated, once n have come (or after
// a deadline for a hung test).
func (ns *notifySocket) wait(n int) string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ns.mu.Lock()
		got := strings.Join(ns.msgs, " ")
		enough := len(ns.msgs) >= n
		ns.mu.Unlock()
		if enough || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}
