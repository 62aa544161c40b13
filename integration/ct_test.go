package integration

import (
	"fmt"
	"regexp"
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
