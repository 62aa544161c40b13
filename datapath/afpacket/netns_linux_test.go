package afpacket

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The test topology, built once by TestMain when run as root:
//
//	client ns: c0 10.71.0.1 fd71::1
//	     | veth
//	bridge ns: b0  ==hare==  b1       (no addresses, no kernel bridge)
//	     | veth
//	server ns: s0 10.71.0.2 fd71::2
type topology struct {
	client, bridge, server string
}

var topo *topology

// topoSkip says why the topology is not there: no root or no ip. topoErr
// is a failure to build it where it could be (as root, in CI), which fails
// the tests that need it rather than skipping them.
var (
	topoSkip string
	topoErr  error
)

const (
	clientIP4 = "10.71.0.1"
	serverIP4 = "10.71.0.2"
	clientIP6 = "fd71::1"
	serverIP6 = "fd71::2"
)

func TestMain(m *testing.M) {
	var cleanup func()
	topo, cleanup, topoSkip, topoErr = setupTopology()
	code := m.Run()
	if cleanup != nil {
		cleanup()
	}
	os.Exit(code)
}

func needTopology(t testing.TB) *topology {
	t.Helper()
	if topoErr != nil {
		t.Fatalf("building the network namespace topology: %v", topoErr)
	}
	if topo == nil {
		t.Skipf("no network namespace topology: %s", topoSkip)
	}
	return topo
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func setupTopology() (*topology, func(), string, error) {
	if os.Geteuid() != 0 {
		return nil, nil, "needs root (network namespaces, AF_PACKET)", nil
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, nil, "needs iproute2's ip", nil
	}
	id := os.Getpid()
	t := &topology{
		client: fmt.Sprintf("afpc%d", id),
		bridge: fmt.Sprintf("afpb%d", id),
		server: fmt.Sprintf("afps%d", id),
	}
	cleanup := func() {
		for _, ns := range []string{t.client, t.bridge, t.server} {
			_ = run("ip", "netns", "del", ns)
		}
	}
	c, b, s := t.client, t.bridge, t.server
	cmds := [][]string{
		{"ip", "netns", "add", c}, {"ip", "netns", "add", b}, {"ip", "netns", "add", s},
		{"ip", "-n", c, "link", "add", "c0", "type", "veth", "peer", "name", "b0", "netns", b},
		{"ip", "-n", s, "link", "add", "s0", "type", "veth", "peer", "name", "b1", "netns", b},
		{"ip", "netns", "exec", b, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
		{"ip", "-n", b, "link", "set", "b0", "up"},
		{"ip", "-n", b, "link", "set", "b1", "up"},
		{"ip", "-n", c, "link", "set", "lo", "up"},
		{"ip", "-n", s, "link", "set", "lo", "up"},
		{"ip", "-n", c, "addr", "add", clientIP4 + "/24", "dev", "c0"},
		{"ip", "-n", s, "addr", "add", serverIP4 + "/24", "dev", "s0"},
		{"ip", "-n", c, "addr", "add", clientIP6 + "/64", "dev", "c0", "nodad"},
		{"ip", "-n", s, "addr", "add", serverIP6 + "/64", "dev", "s0", "nodad"},
		{"ip", "-n", c, "link", "set", "c0", "up"},
		{"ip", "-n", s, "link", "set", "s0", "up"},
		// t0 is for transmit benchmarks: its peer is down, so the veth
		// drops what it is given at once (is_skb_forwardable).
		{"ip", "-n", c, "link", "add", "t0", "type", "veth", "peer", "name", "t1"},
		{"ip", "-n", c, "link", "set", "t0", "up"},
	}
	for _, cmd := range cmds {
		if err := run(cmd...); err != nil {
			cleanup()
			return nil, nil, "", err
		}
	}
	return t, cleanup, "", nil
}

// inNetns runs f on an OS thread that is in network namespace ns; sockets
// f opens stay in ns.
func inNetns(t testing.TB, ns string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer unix.Close(orig)
	target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer func() {
		// A thread that cannot go back stays locked and dies with its
		// goroutine.
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	f()
}

// nsRun runs a command in ns.
func nsRun(ns string, args ...string) error {
	return run(append([]string{"ip", "netns", "exec", ns}, args...)...)
}
