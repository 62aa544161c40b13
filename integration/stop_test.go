package integration

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// probe runs, at the same time, an allowed new flow (UDP echo, client ->
// server) and a new inbound one the ruleset drops (TCP, server ->
// client), each failing with kind "timeout" after opTimeout when the
// firewall drops it.
func (e *env) probe(t *testing.T, v int) (allowed, inbound result) {
	t.Helper()
	var wg sync.WaitGroup
	var aErr, iErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		allowed, aErr = roleRun(e.tp.client, "client", "udp", hostPort(e.tp.serverIP[v], portEcho))
	}()
	go func() {
		defer wg.Done()
		inbound, iErr = roleRun(e.tp.server, "client", "tcp", hostPort(e.tp.clientIP[v], portInbound))
	}()
	wg.Wait()
	if aErr != nil || iErr != nil {
		t.Fatal(aErr, iErr)
	}
	return allowed, inbound
}

// testStopFailsClosed: a graceful stop (SIGTERM) with fail_open = false
// leaves the firewall closed until the next start: nfqueue keeps its
// queue rules without --queue-bypass, so the kernel drops what it cannot
// queue; the afpacket bridge has nobody bridging. Both an allowed new
// flow and a new inbound one time out. For nfqueue, hare run
// --remove-rules then lifts the rules on purpose: nothing of hare's stays
// in the namespace (whose ruleset was empty before hare) and traffic
// passes unfiltered, the inbound flow included. After a start the
// ruleset holds again.
func (e *env) testStopFailsClosed(t *testing.T, v int) {
	h := e.fw.(*hareFW)
	h.stop(t)
	allowed, inbound := e.probe(t, v)
	if allowed.Kind != "timeout" {
		t.Errorf("allowed UDP echo while hare is stopped: want a timeout (fail closed), got %+v", allowed)
	}
	if inbound.Kind != "timeout" {
		t.Errorf("new inbound TCP while hare is stopped: want a timeout (fail closed), got %+v", inbound)
	}
	if h.datapath == "nfqueue" {
		out, err := h.tp.fw.run(hareBinary(t), "run", "--remove-rules", "-c", filepath.Join(h.dir, "hare.toml"))
		if err != nil {
			t.Fatalf("hare run --remove-rules: %v\n%s", err, out)
		}
		if rs := h.tp.fw.must(t, "nft", "list", "ruleset"); strings.TrimSpace(rs) != "" {
			t.Errorf("after hare run --remove-rules the firewall namespace still has:\n%s", rs)
		}
		allowed, inbound = e.probe(t, v)
		if !allowed.OK || !inbound.OK {
			t.Errorf("after --remove-rules traffic should pass unfiltered: allowed %+v, inbound %+v", allowed, inbound)
		}
	}
	h.run(t)
	e.forgetOutage(t)
	allowed, inbound = e.probe(t, v)
	if !allowed.OK {
		t.Errorf("allowed UDP echo after hare started again: %+v", allowed)
	}
	if inbound.Kind != "timeout" {
		t.Errorf("new inbound TCP after hare started again: want a timeout (dropped), got %+v", inbound)
	}
}

// testStopFailsOpen: with fail_open = true a graceful stop removes the
// queue rules (and the notrack table), so traffic passes unfiltered while
// hare is down: the allowed flow and the inbound one the ruleset drops
// both succeed. The config is then put back (fail_open = false).
func (e *env) testStopFailsOpen(t *testing.T, v int) {
	h := e.fw.(*hareFW)
	h.stop(t)
	h.failOpen = true
	h.writeConfig(t)
	defer func() {
		h.failOpen = false
		h.writeConfig(t)
		h.run(t)
	}()
	h.run(t)
	h.stop(t)
	if rs := h.tp.fw.must(t, "nft", "list", "ruleset"); strings.Contains(rs, "HARE") || strings.Contains(rs, "hare_raw") {
		t.Errorf("fail_open: rules left after the stop:\n%s", rs)
	}
	allowed, inbound := e.probe(t, v)
	if !allowed.OK || !inbound.OK {
		t.Errorf("fail_open, hare stopped: want both flows to pass unfiltered: allowed %+v, inbound %+v", allowed, inbound)
	}
}
