package integration

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// testRestart: a restart of the daemon (SIGTERM: the table is saved;
// start: it is restored) keeps a long-lived TCP connection alive, and
// the same restart without the state file kills one: the server's next
// segment is then a new flow from the server side and the client's next
// ACK a new flow without a SYN, both dropped by the ruleset.
func (e *env) testRestart(t *testing.T, v int) {
	h := e.fw.(*hareFW)
	srv := e.tp.serverIP[v]
	hold := func(lport int) *proc {
		hb := startRole(t, e.tp.client, "client", "hold", hostPort(srv, portHeartbeat), fmt.Sprint(lport))
		if _, ok := hb.next(2 * time.Second); !ok {
			t.Fatalf("no heartbeat before the restart: %s", hb.Stderr())
		}
		return hb
	}

	hb := hold(40300 + v)
	defer hb.kill()
	h.stop(t)
	if _, err := os.Stat(h.stateFile()); err != nil {
		t.Fatalf("no state file after SIGTERM: %v\n%s", err, h.proc.Stderr())
	}
	h.run(t)
	hb.drain()
	// TCP retransmits what was lost while hare was down (RTO 200 ms,
	// doubling): 5 s covers several retransmissions.
	if l, ok := hb.next(5 * time.Second); !ok {
		t.Errorf("the connection died across a restart with the state file:\n%s", h.proc.Stderr())
	} else if r, _ := parseResult(l); !r.OK {
		t.Errorf("the connection failed across a restart with the state file: %s", l)
	}

	hb2 := hold(40400 + v)
	defer hb2.kill()
	h.stop(t)
	if err := os.Remove(h.stateFile()); err != nil {
		t.Fatal(err)
	}
	h.run(t)
	if l, ok := hb2.quiet(time.Second, 5*time.Second); !ok {
		t.Errorf("without the state file the connection still delivers after the restart (lines for 5 s without a 1 s pause; the last: %s)", l)
	}
}

// testCrash: the firewall fails closed when the daemon dies without
// cleaning up (SIGKILL): the nfqueue rules stay installed without
// --queue-bypass (fail_open = false), so the kernel drops what it cannot
// queue; nothing bridges the afpacket veths. An allowed new flow and a new
// inbound one both time out; after a start, allowed traffic flows again.
func (e *env) testCrash(t *testing.T, v int) {
	h := e.fw.(*hareFW)
	cl, srv := e.tp.clientIP[v], e.tp.serverIP[v]
	h.proc.kill()
	if r := roleResult(t, e.tp.client, "client", "udp", hostPort(srv, portEcho)); r.Kind != "timeout" {
		t.Errorf("allowed UDP echo while hare is dead: want a timeout (fail closed), got %+v", r)
	}
	if r := roleResult(t, e.tp.server, "client", "tcp", hostPort(cl, portInbound)); r.Kind != "timeout" {
		t.Errorf("new inbound TCP while hare is dead: want a timeout (fail closed), got %+v", r)
	}
	os.Remove(h.stateFile())
	h.run(t)
	e.forgetOutage(t)
	if r := roleResult(t, e.tp.client, "client", "udp", hostPort(srv, portEcho)); !r.OK {
		t.Errorf("UDP echo after hare started again: %+v", r)
	}
}

// forgetOutage flushes the client's and the server's neighbour tables
// after the firewall was down. While nothing bridges the afpacket veths,
// the probes' ARP requests and neighbour solicitations go unanswered: the
// client's entry for the server stays INCOMPLETE for its 3 probes, 1 s
// apart (mcast_solicit, retrans_time_ms), then turns FAILED and frees
// the packets queued on it (neigh_invalidate). A datagram sent just after
// the restart joins that doomed queue when its last probe went out
// before hare bridged again, and is lost with it although hare never saw
// it. In a full run the entries were REACHABLE from the earlier subtests
// and the datagram left at once, which is why only the subtest run alone
// failed. The outage's unresolved entries are not hare's; the test
// starts the after-restart probe from a clean neighbour state.
func (e *env) forgetOutage(t *testing.T) {
	t.Helper()
	for _, ns := range []netns{e.tp.client, e.tp.server} {
		ns.must(t, "ip", "neigh", "flush", "all")
	}
}
