package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// run runs a command and returns its combined output.
func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// must runs a command and fails t if it fails.
func must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// netns is a network namespace made for one test.
type netns string

var nsSeq atomic.Int32

// newNetns creates a namespace named after the test process and role
// (short: interface names are per namespace, but ns names are global) and
// deletes it when t ends.
func newNetns(t *testing.T, role string) netns {
	t.Helper()
	name := fmt.Sprintf("hi%d-%d%s", os.Getpid()%100000, nsSeq.Add(1), role)
	must(t, "ip", "netns", "add", name)
	ns := netns(name)
	t.Cleanup(func() { run("ip", "netns", "del", name) })
	ns.must(t, "ip", "link", "set", "lo", "up")
	// No duplicate address detection on the interfaces to come, link-local
	// addresses included (addr's nodad covers only the global ones): while
	// a router's link-local address is tentative it sends no neighbour
	// solicitation for a forwarded packet (ndisc_send_ns has no source to
	// use), so for the first second or two the firewall could not resolve
	// the server and a test run alone lost its first IPv6 packets
	// (ct-counters: 0 of 5 pings answered, the entry INCOMPLETE).
	ns.sysctl(t, "net.ipv6.conf.all.accept_dad", "0")
	ns.sysctl(t, "net.ipv6.conf.default.accept_dad", "0")
	return ns
}

// exec runs a command inside the namespace.
func (ns netns) run(name string, args ...string) (string, error) {
	return run("ip", append([]string{"netns", "exec", string(ns), name}, args...)...)
}

func (ns netns) must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := ns.run(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sysctl sets key=value inside the namespace.
func (ns netns) sysctl(t *testing.T, key, value string) {
	t.Helper()
	ns.must(t, "sysctl", "-qw", key+"="+value)
}

// veth creates a veth pair with one end in each namespace.
func veth(t *testing.T, a netns, aName string, b netns, bName string) {
	t.Helper()
	must(t, "ip", "link", "add", aName, "netns", string(a), "type", "veth", "peer", "name", bName, "netns", string(b))
	a.must(t, "ip", "link", "set", aName, "up")
	b.must(t, "ip", "link", "set", bName, "up")
}

// addr gives an interface an address without duplicate address detection
// (which would delay IPv6 by a second or two).
func (ns netns) addr(t *testing.T, dev, cidr string) {
	t.Helper()
	args := []string{"addr", "add", cidr, "dev", dev}
	if strings.Contains(cidr, ":") {
		args = []string{"-6", "addr", "add", cidr, "dev", dev, "nodad"}
	}
	ns.must(t, "ip", args...)
}

// route adds a route: dst is a prefix or "default".
func (ns netns) route(t *testing.T, dst, via string) {
	t.Helper()
	fam := "-4"
	if strings.Contains(via, ":") {
		fam = "-6"
	}
	ns.must(t, "ip", fam, "route", "add", dst, "via", via)
}
