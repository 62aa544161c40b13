package integration

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ct runs a conntrack command against the firewall's table.
func (e *env) ct(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return e.fw.conntrack(t, args...)
}

func family(v int) string { return fmt.Sprintf("ipv%d", v) }

func icmpName(v int) string {
	if v == 6 {
		return "icmpv6"
	}
	return "icmp"
}

var countersRE = regexp.MustCompile(`packets=(\d+) bytes=(\d+)`)

// testCounters: after ping -c 5 the firewall's table shows the echo flow
// with 5 packets each way and their byte count: an echo request or reply
// with ping's default 56 bytes of data is 20+8+56 = 84 bytes over IPv4,
// 40+8+56 = 104 over IPv6 (conntrack counts the IP packet's length,
// nf_ct_acct_update with skb->len at the IP layer).
func (e *env) testCounters(t *testing.T, v int) {
	cl, srv := e.tp.clientIP[v], e.tp.serverIP[v]
	id := fmt.Sprint(4200 + v)
	if out, err := ping(e.tp.client, v, srv, 5, "-e", id); err != nil || !strings.Contains(out, " 5 received") {
		t.Fatalf("ping -c 5: %v\n%s", err, out)
	}
	out, err := e.ct(t, "-L", "-f", family(v), "-p", icmpName(v), "-s", cl.String())
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " id="+id+" ") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no flow with id=%s in the connection table:\n%s", id, out)
	}
	size := 84
	if v == 6 {
		size = 104
	}
	m := countersRE.FindAllStringSubmatch(line, -1)
	if len(m) != 2 {
		t.Fatalf("want packets= and bytes= for both directions: %s", line)
	}
	for i, dir := range []string{"original", "reply"} {
		p, _ := strconv.Atoi(m[i][1])
		b, _ := strconv.Atoi(m[i][2])
		if p != 5 || b != 5*size {
			t.Errorf("%s direction: packets=%d bytes=%d, want packets=5 bytes=%d\n%s", dir, p, b, 5*size, line)
		}
	}
}

// testDelete: deleting the heartbeat flow from the table kills it. The
// server's next segment is then a new flow from the server side (and the
// client's next ACK a new flow that does not start with a SYN), which the
// ruleset drops: the client receives nothing more.
func (e *env) testDelete(t *testing.T, v int) {
	cl, srv := e.tp.clientIP[v], e.tp.serverIP[v]
	lport := 40100 + v
	hb := startRole(t, e.tp.client, "client", "hold", hostPort(srv, portHeartbeat), fmt.Sprint(lport))
	defer hb.kill()
	if _, ok := hb.next(2 * time.Second); !ok {
		t.Fatalf("no heartbeat before the delete: %s", hb.Stderr())
	}
	sel := []string{"-f", family(v), "-p", "tcp", "-s", cl.String(), "--sport", fmt.Sprint(lport)}
	if _, err := e.ct(t, append([]string{"-D"}, sel...)...); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if l, ok := hb.quiet(time.Second, 5*time.Second); !ok {
		t.Errorf("the deleted flow still delivers (lines for 5 s without a 1 s pause; the last: %s)", l)
	}
	out, _ := e.ct(t, append([]string{"-L"}, sel...)...)
	if strings.Contains(out, fmt.Sprintf("sport=%d ", lport)) {
		t.Errorf("the deleted flow is back in the table:\n%s", out)
	}
}

// testReload: a stream of 600 numbered UDP datagrams (200/s) echoed by
// the server loses none while the firewall reloads its ruleset three
// times (how: by SIGHUP or by the API).
//
// The rate is low on purpose: on this shared 2-core machine (load 5 to 10
// while other builds run) hare's worker is sometimes not scheduled for
// tens of milliseconds, and the afpacket receive ring retires a block per
// packet at low rates (tp_retire_blk_tov 1 ms, 16 blocks): it holds 16
// packets, 16 ms at 1000/s, after which the kernel drops (tp_drops). At
// 200/s it covers 80 ms. A failure prints hare's drop counters, which say
// whether hare dropped (a reason) or the kernel did (kernel_drops).
func (e *env) testReload(t *testing.T, v int, how string) {
	srv := e.tp.serverIP[v]
	const n, pps = 600, 200
	h, isHare := e.fw.(*hareFW)
	var before map[string]float64
	if isHare {
		before = h.metrics()
	}
	done := make(chan struct{})
	var r result
	var err error
	go func() {
		defer close(done)
		r, err = roleRun(e.tp.client, "client", "udpstream", hostPort(srv, portEcho), fmt.Sprint(n), fmt.Sprint(pps))
	}()
	rules := rulesetText(e.tp)
	for i := 0; i < 3; i++ {
		time.Sleep(700 * time.Millisecond)
		e.fw.reload(t, rules, how)
	}
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != n || r.Recv != n {
		t.Errorf("UDP stream across reloads: sent %d, echoed %d of %d; first missing: %v", r.Sent, r.Recv, n, r.Lost)
		if isHare {
			t.Logf("hare's counters during the stream: %s", dropDeltas(before, h.metrics()))
			for _, ns := range []netns{e.tp.client, e.tp.fw, e.tp.server} {
				out, _ := ns.run("ip", "-s", "-s", "link")
				t.Logf("ip -s -s link in %s:\n%s", ns, out)
			}
		}
	}
}

// dropDeltas lists the hare metrics about lost packets that grew between
// two reads, with the packets received and decided.
func dropDeltas(before, after map[string]float64) string {
	var parts []string
	for k, v := range after {
		if strings.Contains(k, "drop") || strings.Contains(k, "invalid") || strings.Contains(k, "error") ||
			strings.HasPrefix(k, "hare_packets_total") || strings.HasPrefix(k, "hare_datapath_received") {
			if d := v - before[k]; d > 0 {
				parts = append(parts, fmt.Sprintf("%s +%.0f", k, d))
			}
		}
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "none grew (the loss was not hare's)"
	}
	return strings.Join(parts, ", ")
}
