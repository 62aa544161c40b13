package integration

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// env is one firewall under test between a client, a server and a far
// host, each running the serve role.
type env struct {
	fw firewall
	tp *topo
}

func setup(t *testing.T, fw firewall) *env {
	t.Helper()
	if why := fw.missing(t); why != "" {
		t.Skip(why)
	}
	tp := newTopo(t, fw.bridged())
	fw.start(t, tp, rulesetText(tp))
	startRole(t, tp.server, "serve")
	startRole(t, tp.far, "serve")
	startRole(t, tp.client, "serve")
	return &env{fw: fw, tp: tp}
}

// TestProof runs issue 5's proof list against every firewall, IPv4 and
// IPv6.
func TestProof(t *testing.T) {
	needNetns(t)
	for _, fw := range firewalls() {
		t.Run(fw.name(), func(t *testing.T) {
			e := setup(t, fw)
			for _, v := range []int{4, 6} {
				t.Run(fmt.Sprintf("ipv%d", v), func(t *testing.T) {
					t.Run("allowed", func(t *testing.T) { e.testAllowed(t, v) })
					t.Run("inbound-blocked", func(t *testing.T) { e.testInboundBlocked(t, v) })
					t.Run("reject", func(t *testing.T) { e.testReject(t, v) })
					if coreOnly(fw) {
						t.Run("ct-counters", func(t *testing.T) { e.testCounters(t, v) })
						t.Run("frag", func(t *testing.T) { e.testFrag(t, v) })
						return
					}
					t.Run("pmtu", func(t *testing.T) { e.testPMTU(t, v) })
					t.Run("ptb", func(t *testing.T) { e.testPTB(t, v) })
					t.Run("ct-counters", func(t *testing.T) { e.testCounters(t, v) })
					t.Run("ct-delete", func(t *testing.T) { e.testDelete(t, v) })
					t.Run("frag", func(t *testing.T) { e.testFrag(t, v) })
					if _, ok := fw.(*hareFW); ok {
						t.Run("reload-sighup", func(t *testing.T) { e.testReload(t, v, "sighup") })
						t.Run("reload-api", func(t *testing.T) { e.testReload(t, v, "api") })
						t.Run("reload-nft-f", func(t *testing.T) { e.testReload(t, v, "nft") })
						t.Run("restart", func(t *testing.T) { e.testRestart(t, v) })
						t.Run("crash-fails-closed", func(t *testing.T) { e.testCrash(t, v) })
						t.Run("stop-fails-closed", func(t *testing.T) { e.testStopFailsClosed(t, v) })
						if fw.name() == "hare-nfqueue" {
							t.Run("stop-fails-open", func(t *testing.T) { e.testStopFailsOpen(t, v) })
						}
					} else {
						t.Run("reload", func(t *testing.T) { e.testReload(t, v, "nft -f") })
					}
				})
			}
		})
	}
}

// pingArgs runs ping from ns: count echo requests to dst, 0.2 s apart.
func ping(ns netns, v int, dst netip.Addr, count int, extra ...string) (string, error) {
	args := append([]string{fmt.Sprintf("-%d", v), "-c", fmt.Sprint(count), "-i", "0.2", "-W", "1"}, extra...)
	return ns.run("ping", append(args, dst.String())...)
}

// testAllowed: allowed flows work and their return traffic passes (a 1 MB
// HTTP answer, UDP echoes, ping replies).
func (e *env) testAllowed(t *testing.T, v int) {
	srv := e.tp.serverIP[v]
	const size = 1 << 20
	r := roleResult(t, e.tp.client, "client", "get", fmt.Sprintf("http://%s/bytes?n=%d", hostPort(srv, portHTTP), size))
	if !r.OK || r.Bytes != size {
		t.Errorf("HTTP GET of %d bytes from the server: %+v", size, r)
	}
	if r := roleResult(t, e.tp.client, "client", "udp", hostPort(srv, portEcho)); !r.OK {
		t.Errorf("UDP echo from the server: %+v", r)
	}
	out, err := ping(e.tp.client, v, srv, 3)
	if err != nil || !strings.Contains(out, " 3 received") {
		t.Errorf("ping client -> server: %v\n%s", err, out)
	}
}

// testInboundBlocked: the server cannot open anything towards the client
// (which listens on tcp and udp 9000 and answers ping): default drop.
func (e *env) testInboundBlocked(t *testing.T, v int) {
	cl := e.tp.clientIP[v]
	var wg sync.WaitGroup
	var tcp, udp result
	var tcpErr, udpErr, pingErr error
	var pingOut string
	wg.Add(3)
	go func() {
		defer wg.Done()
		tcp, tcpErr = roleRun(e.tp.server, "client", "tcp", hostPort(cl, portInbound))
	}()
	go func() {
		defer wg.Done()
		udp, udpErr = roleRun(e.tp.server, "client", "udp", hostPort(cl, portInbound))
	}()
	go func() { defer wg.Done(); pingOut, pingErr = ping(e.tp.server, v, cl, 2) }()
	wg.Wait()
	if tcpErr != nil || udpErr != nil {
		t.Fatal(tcpErr, udpErr)
	}
	if tcp.OK || tcp.Kind != "timeout" {
		t.Errorf("TCP server -> client:%d: want a timeout (dropped), got %+v", portInbound, tcp)
	}
	if udp.OK || udp.Kind != "timeout" {
		t.Errorf("UDP server -> client:%d: want a timeout (dropped), got %+v", portInbound, udp)
	}
	if pingErr == nil || !strings.Contains(pingOut, " 0 received") {
		t.Errorf("ping server -> client: want no reply, got %v\n%s", pingErr, pingOut)
	}
}

// testReject: tcp and udp to port 8081, on which the server listens, are
// refused by the firewall: a TCP RST, an ICMP port unreachable.
func (e *env) testReject(t *testing.T, v int) {
	srv := e.tp.serverIP[v]
	if r := roleResult(t, e.tp.client, "client", "tcp", hostPort(srv, portReject)); r.Kind != "refused" {
		t.Errorf("TCP client -> server:%d: want connection refused (RST from the firewall), got %+v", portReject, r)
	}
	if r := roleResult(t, e.tp.client, "client", "udp", hostPort(srv, portReject)); r.Kind != "refused" {
		t.Errorf("UDP client -> server:%d: want connection refused (ICMP port unreachable), got %+v", portReject, r)
	}
}

// testPMTU: a 200 kB POST to the far host crosses the server's 1280-byte
// link only if the server's Packet Too Big (fragmentation needed) about
// the flow reaches the client (Linux TCP does no MTU probing by default:
// without it the connection stalls).
func (e *env) testPMTU(t *testing.T, v int) {
	far := e.tp.farIP[v]
	const size = 200000
	r := roleResult(t, e.tp.client, "client", "post", fmt.Sprintf("http://%s/sink", hostPort(far, portHTTP)), fmt.Sprint(size))
	if !r.OK || r.Bytes != size {
		t.Errorf("HTTP POST of %d bytes to the far host: %+v", size, r)
	}
	out := e.tp.client.must(t, "ip", fmt.Sprintf("-%d", v), "route", "get", far.String())
	if !strings.Contains(out, "mtu "+farMTU) {
		t.Errorf("client's route to the far host has no learnt MTU %s:\n%s", farMTU, out)
	}
}

// testPTB: a Packet Too Big sent by the server about a flow that exists
// (the client's heartbeat connection) reaches the client; the same
// message about a flow that does not exist is dropped (RFC 6092 REC-10,
// requirement K-12).
func (e *env) testPTB(t *testing.T, v int) {
	cl, srv := e.tp.clientIP[v], e.tp.serverIP[v]
	lport := 40000 + v
	listener := startRole(t, e.tp.client, "ptblisten")
	hb := startRole(t, e.tp.client, "client", "hold", hostPort(srv, portHeartbeat), fmt.Sprint(lport))
	defer hb.kill()
	if _, ok := hb.next(2 * time.Second); !ok {
		t.Fatalf("no heartbeat on the flow to quote: %s", hb.Stderr())
	}
	send := func(sport int) {
		roleResult(t, e.tp.server, "ptbsend", cl.String(), cl.String(), fmt.Sprint(sport), srv.String(), fmt.Sprint(portHeartbeat), "1280")
	}
	want := fmt.Sprintf("%s %d -> %s %d", cl, lport, srv, portHeartbeat)
	send(lport)
	if got := waitPTB(listener, want, 2*time.Second); got == "" {
		t.Errorf("PTB quoting the existing flow %s did not reach the client", want)
	}
	spoof := fmt.Sprintf("%s %d -> %s %d", cl, lport+100, srv, portHeartbeat)
	send(lport + 100)
	if got := waitPTB(listener, spoof, 1500*time.Millisecond); got != "" {
		t.Errorf("spoofed PTB quoting no flow (%s) reached the client: %s", spoof, got)
	}
}

// waitPTB waits for the listener to report a PTB quoting inner.
func waitPTB(listener *proc, inner string, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		l, ok := listener.next(time.Until(deadline))
		if !ok {
			return ""
		}
		if r, ok := parseResult(l); ok && r.Inner == inner {
			return l
		}
	}
}
