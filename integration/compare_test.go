package integration

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestConntrackListMatchesKernel sends the same flows (a TCP handshake, a
// UDP exchange, three pings; IPv4 and IPv6; fixed ports and ICMP ids)
// once through the kernel firewall and once through hare, and compares
// `conntrack -L` in the kernel's firewall namespace with `hare ct -L`:
// the lines must be identical but for the timeout.
func TestConntrackListMatchesKernel(t *testing.T) {
	needNetns(t)
	for _, pair := range [][2]firewall{
		{&kernelFW{}, &hareFW{datapath: "nfqueue"}},
		{&kernelFW{bridge: true}, &hareFW{datapath: "afpacket"}},
	} {
		kernel, hare := pair[0], pair[1]
		t.Run(hare.name(), func(t *testing.T) {
			if why := hare.missing(t); why != "" {
				t.Skip(why)
			}
			for _, opt := range [][]string{nil, {"-o", "extended"}} {
				want := listFlows(t, kernel, opt)
				got := listFlows(t, hare, opt)
				if !slices.Equal(want, got) {
					t.Errorf("conntrack -L %s: kernel and hare differ\nkernel:\n%s\nhare:\n%s",
						strings.Join(opt, " "), strings.Join(want, "\n"), strings.Join(got, "\n"))
				}
			}
		})
	}
}

// ours matches the lines of the flows listFlows makes (not the warm-up's).
var ours = regexp.MustCompile(` (sport=41[01]0[46]|id=440[46]) `)

var timeoutRE = regexp.MustCompile(`^((?:ipv[46]\s+\d+\s+)?\S+\s+\d+\s+)\d+ `)

// listFlows makes the flows through fw and returns its table's lines
// about them, timeouts replaced by "T", sorted.
func listFlows(t *testing.T, fw firewall, opt []string) []string {
	t.Helper()
	e := setup(t, fw)
	var lines []string
	for _, v := range []int{4, 6} {
		cl, srv := e.tp.clientIP[v], e.tp.serverIP[v]
		// The first IPv6 TCP connection of a fresh namespace sometimes
		// sends one more ACK (seen through the kernel firewall, about
		// 1 in 10): a connection first, so that the compared ones are
		// alike in both runs.
		if r := roleResult(t, e.tp.client, "client", "get", fmt.Sprintf("http://%s/bytes?n=1", hostPort(srv, portHTTP))); !r.OK {
			t.Fatalf("%s: warm-up HTTP GET: %+v", fw.name(), r)
		}
		hold := startRole(t, e.tp.client, "client", "hold", hostPort(srv, portHTTP), fmt.Sprint(41000+v))
		defer hold.kill()
		if r := roleResult(t, e.tp.client, "client", "udpfrom", hostPort(srv, portEcho), fmt.Sprint(41100+v)); !r.OK {
			t.Fatalf("%s: UDP echo: %+v", fw.name(), r)
		}
		if out, err := ping(e.tp.client, v, srv, 3, "-e", fmt.Sprint(4400+v)); err != nil {
			t.Fatalf("%s: ping: %v\n%s", fw.name(), err, out)
		}
		// No settling wait: every compared flow's last packet went through
		// the firewall's conntrack before the client saw it (the hold's
		// handshake ACK precedes the echo and the pings on the same path,
		// the echo and the last ping reply were answered), so the table
		// already holds what it will hold.
		out, err := fw.conntrack(t, append([]string{"-L", "-f", family(v)}, opt...)...)
		if err != nil {
			t.Fatalf("%s: %v", fw.name(), err)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "src="+cl.String()+" ") && ours.MatchString(l) {
				lines = append(lines, timeoutRE.ReplaceAllString(l, "${1}T "))
			}
		}
	}
	if len(lines) != 6 {
		t.Errorf("%s: want 6 flows (tcp, udp, icmp; IPv4 and IPv6), got:\n%s", fw.name(), strings.Join(lines, "\n"))
	}
	slices.Sort(lines)
	return lines
}
