package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/engine"
	pt "github.com/hare-fw/hare/packet/packettest"
)

// devRules counts, on every hook a packet from the client takes, which
// device matches hold. The raw chain marks the client's echo requests
// only, so neighbour discovery and the host's own traffic count nowhere.
const devRules = `table inet t {
	chain raw {
		type filter hook prerouting priority raw; policy accept;
		ip saddr 10.1.0.2 icmp type echo-request meta mark set 0x42
		ip6 saddr fd01::2 icmpv6 type echo-request meta mark set 0x42
		meta mark 0x42 meta nftrace set 1
		udp dport 9 meta nftrace set 1
	}
	chain in {
		type filter hook input priority filter; policy accept;
		meta mark != 0x42 accept
		meta iif "v0" counter
		iif { "d0", "v0" } counter
		iif != "v0" counter
		meta iif V0INDEX counter
		meta iiftype ether counter
		meta iiftype 65534 counter
		meta oif 0 counter
		meta oiftype ether counter
		meta l4proto icmp iif "v0" counter
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		meta mark != 0x42 accept
		iif "v0" oif "d0" counter
		oif "v0" counter
		oif { "lo", "t0" } counter
		oif != "d0" counter
		meta oiftype ether counter
		meta oiftype 65534 counter
		iiftype ether oiftype 65534 counter
		meta l4proto ipv6-icmp oif "t0" counter
	}
	chain post {
		type filter hook postrouting priority filter; policy accept;
		meta mark != 0x42 accept
		iif "v0" counter
		iif 0 counter
		iifname "v0" counter
		meta nfproto ipv4 iif "v0" counter
		meta nfproto ipv4 iiftype ether counter
		oif "d0" counter
		oif "t0" counter
		meta iiftype ether counter
		meta oiftype 65534 counter
	}
}
`

// TestDevicesMatchKernel: meta iif, oif, iiftype and oiftype on real
// devices, against the kernel. A firewall namespace has two veths to a
// client namespace (v0; d0, whose peer has no address, so what leaves by
// it goes nowhere; both Ethernet) and a TUN device (t0, ARPHRD_NONE); the
// client pings the firewall (input) and addresses routed out of d0 and t0
// (forward, postrouting), in both families, through the kernel's
// nftables with devRules. The same echo requests then go through a
// daemon worker as NFQUEUE would hand them over (input or forward hook,
// the real ifindexes), with the devices and the rules' interface names
// resolved by the daemon's own kernel lookups (kernelDev, kernelIfindex)
// run in the firewall namespace. Every counter must agree. A rule naming
// an interface the namespace lacks is refused by both.
func TestDevicesMatchKernel(t *testing.T) {
	needRoot(t)
	fw, cl := fmt.Sprintf("hgf%d", os.Getpid()), fmt.Sprintf("hgc%d", os.Getpid())
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	in := func(ns string, args ...string) string {
		t.Helper()
		return run(append([]string{"ip", "netns", "exec", ns}, args...)...)
	}
	run("ip", "netns", "add", fw)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", fw).Run() })
	run("ip", "netns", "add", cl)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", cl).Run() })
	for _, c := range []string{
		"link add v0 netns " + fw + " type veth peer name v1 netns " + cl,
		"link add d0 netns " + fw + " type veth peer name d1 netns " + cl,
		"-n " + fw + " tuntap add dev t0 mode tun",
		"-n " + fw + " addr add 10.1.0.1/24 dev v0",
		"-n " + fw + " addr add fd01::1/64 dev v0 nodad",
		"-n " + fw + " addr add 10.9.0.1/24 dev d0",
		"-n " + fw + " addr add fd09::1/64 dev d0 nodad",
		"-n " + fw + " addr add 10.8.0.1/24 dev t0",
		"-n " + fw + " addr add fd08::1/64 dev t0 nodad",
		"-n " + cl + " addr add 10.1.0.2/24 dev v1",
		"-n " + cl + " addr add fd01::2/64 dev v1 nodad",
		"-n " + fw + " link set lo up", "-n " + fw + " link set v0 up",
		"-n " + fw + " link set d0 up", "-n " + fw + " link set t0 up",
		"-n " + cl + " link set lo up", "-n " + cl + " link set v1 up", "-n " + cl + " link set d1 up",
		"-n " + cl + " route add default via 10.1.0.1",
		"-n " + cl + " -6 route add default via fd01::1",
	} {
		run(append([]string{"ip"}, strings.Fields(c)...)...)
	}
	in(fw, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")

	// The daemon's view of the namespace, by its own lookups.
	devs := map[int]ifDev{}
	names := map[string]int32{}
	inNetns(t, fw, func() {
		for i := 1; i < 64; i++ {
			if d, ok := kernelDev(i); ok {
				devs[i] = d
			}
		}
		for _, n := range []string{"lo", "v0", "d0", "t0", "nope0"} {
			if i, ok := kernelIfindex(n); ok {
				names[n] = i
			}
		}
	})
	for n, want := range map[string]uint16{"lo": 772, "v0": 1, "d0": 1, "t0": 65534} {
		i, ok := names[n]
		if !ok || devs[int(i)].name != engine.IfName(n) || devs[int(i)].typ != want {
			t.Fatalf("%s: index %d %v, device %+v, want type %d", n, i, ok, devs[int(i)], want)
		}
	}
	if _, ok := names["nope0"]; ok {
		t.Fatal("kernelIfindex found nope0")
	}
	opt := Options{LogOutput: io.Discard,
		IfName:  func(i int) (string, bool) { d, ok := devs[i]; return strings.TrimRight(string(d.name[:]), "\x00"), ok },
		IfType:  func(i int) (uint16, bool) { d, ok := devs[i]; return d.typ, ok },
		Ifindex: func(n string) (int32, bool) { i, ok := names[n]; return i, ok }}

	dir := t.TempDir()
	rules := filepath.Join(dir, "dev.nft")
	writeFile(t, rules, strings.ReplaceAll(devRules, "V0INDEX", fmt.Sprint(names["v0"])))
	in(fw, "nft", "-f", rules)

	// The kernel's trace of the traffic (the devices of each hook),
	// once the monitor is seen to be subscribed: a traced datagram to
	// port 9 (not counted) shows up in it.
	mon := exec.Command("ip", "netns", "exec", fw, "nft", "monitor", "trace")
	var monOut syncBuffer
	mon.Stdout = &monOut
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mon.Process.Kill(); mon.Wait() })
	waitFor(t, "the trace monitor", func() bool {
		exec.Command("ip", "netns", "exec", cl, "bash", "-c", "echo x > /dev/udp/10.1.0.1/9").Run()
		return strings.Contains(monOut.String(), "udp dport 9")
	})

	// The traffic: echo requests to the firewall and through it.
	const nIn, nFwd = 3, 2
	in(cl, "ping", "-q", "-c", fmt.Sprint(nIn), "-i", "0.2", "-W", "1", "10.1.0.1")
	in(cl, "ping", "-6", "-q", "-c", fmt.Sprint(nIn), "-i", "0.2", "-W", "1", "fd01::1")
	for _, dst := range []string{"10.9.0.5", "fd09::5", "10.8.0.5", "fd08::5"} {
		// No replies: d1 and the unread TUN device drop them.
		exec.Command("ip", "netns", "exec", cl, "ping", "-q", "-c", fmt.Sprint(nFwd), "-i", "0.2", "-W", "0.3", dst).Run()
	}
	kernel := kernelCounters(t, in(fw, "nft", "-j", "list", "table", "inet", "t"))
	// One packet line per base chain: raw (traced from the rule after
	// the one that sets nftrace) and input for the echo requests to the
	// firewall, raw, forward and postrouting for the others.
	const traced = 2*nIn*2 + 4*nFwd*3
	waitFor(t, "the kernel's trace", func() bool { return len(traceDevices(monOut.String())) >= traced })
	kernelTrace := traceDevices(monOut.String())

	// The same echo requests through a daemon worker.
	cl4, cl6 := netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("fd01::2")
	var pkts []datapath.Packet
	add := func(dst string, hook datapath.Hook, out string, n int) {
		for seq := range n {
			a := netip.MustParseAddr(dst)
			var ip []byte
			if a.Is4() {
				ip = pt.IPv4(cl4, a, 1, pt.ICMPv4Echo(true, 7, uint16(seq+1), make([]byte, 56)), pt.TTL(64))
			} else {
				ip = pt.IPv6(cl6, a, 58, pt.ICMPv6Echo(cl6, a, true, 7, uint16(seq+1), make([]byte, 56)))
			}
			pk := datapath.Packet{Data: ip, Link: datapath.LinkIP, Hook: hook, InIf: int(names["v0"])}
			if out != "" {
				pk.OutIf = int(names[out])
			}
			pkts = append(pkts, pk)
		}
	}
	add("10.1.0.1", datapath.HookInput, "", nIn)
	add("fd01::1", datapath.HookInput, "", nIn)
	add("10.9.0.5", datapath.HookForward, "d0", nFwd)
	add("fd09::5", datapath.HookForward, "d0", nFwd)
	add("10.8.0.5", datapath.HookForward, "t0", nFwd)
	add("fd08::5", datapath.HookForward, "t0", nFwd)
	times := make([]int64, len(pkts))
	for i := range times {
		times[i] = int64(i+1) * 1e8
	}
	c := DefaultConfig()
	c.Ruleset.File = rules
	c.Control.Socket = filepath.Join(dir, "control.sock")
	port := newMemPort(pkts, times, 1)
	port.gate = make(chan struct{})
	dp := &memDatapath{ports: []*memPort{port}}
	opt.Open, opt.Now = dp.opener(), port.clock.Load
	d, err := New(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var hareOut syncBuffer
	go control.NewClient(c.Control.Socket).Trace(ctx, func() { close(port.gate) }, func(r control.Record) error {
		hareOut.Write([]byte(r.Line + "\n"))
		return nil
	})
	<-port.drained
	waitFor(t, "hare's trace", func() bool { return len(traceDevices(hareOut.String())) >= traced })
	cancel()
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if len(kernelTrace) != traced {
		t.Errorf("the kernel traced %d hooks, want %d:\n%s", len(kernelTrace), traced, strings.Join(kernelTrace, "\n"))
	}
	if hareTrace := traceDevices(hareOut.String()); !slices.Equal(hareTrace, kernelTrace) {
		t.Errorf("trace devices differ\nhare   %q\nkernel %q", hareTrace, kernelTrace)
	}
	var got []chainCounter
	cs := d.Engine().Rules().Counters()
	slices.SortFunc(cs, func(a, b engine.CounterValue) int { return int(a.Handle) - int(b.Handle) })
	for _, cv := range cs {
		got = append(got, chainCounter{cv.Chain, cv.Packets})
	}
	if !slices.Equal(got, kernel) {
		t.Fatalf("counters differ\nhare   %v\nkernel %v", got, kernel)
	}
	nonzero := map[string]bool{}
	for _, k := range kernel {
		nonzero[k.chain] = nonzero[k.chain] || k.packets > 0
	}
	if !nonzero["in"] || !nonzero["forward"] || !nonzero["post"] {
		t.Fatalf("the kernel counted nothing on a hook: %v", kernel)
	}
	t.Logf("%d device-match counters and %d traced hooks' devices agree with the kernel (%v; %q)", len(kernel), len(kernelTrace), kernel, slices.Compact(kernelTrace))

	// An interface the namespace lacks: nft and hare refuse the rule.
	bad := filepath.Join(dir, "bad.nft")
	writeFile(t, bad, "table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0\n\t\tiif \"nope0\" accept\n\t}\n}\n")
	kout, kerr := exec.Command("ip", "netns", "exec", fw, "nft", "-c", "-f", bad).CombinedOutput()
	c.Ruleset.File = bad
	_, herr := New(c, opt)
	if kerr == nil || herr == nil || !strings.Contains(string(kout), "4:7-13: Error: Interface does not exist") ||
		herr.Error() != bad+":4:7: Interface does not exist" {
		t.Fatalf("unknown interface: nft %v %s; hare %v", kerr, kout, herr)
	}
}

type chainCounter struct {
	chain   string
	packets uint64
}

// kernelCounters reads the rule counters of `nft -j list table`, in rule
// order.
func kernelCounters(t *testing.T, js string) []chainCounter {
	var doc struct {
		Nftables []struct {
			Rule *struct {
				Chain string                       `json:"chain"`
				Expr  []map[string]json.RawMessage `json:"expr"`
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	var out []chainCounter
	for _, x := range doc.Nftables {
		if x.Rule == nil {
			continue
		}
		for _, e := range x.Rule.Expr {
			if raw, ok := e["counter"]; ok {
				var c struct{ Packets uint64 }
				if err := json.Unmarshal(raw, &c); err != nil {
					t.Fatal(err)
				}
				out = append(out, chainCounter{x.Rule.Chain, c.Packets})
			}
		}
	}
	return out
}

// inNetns runs f on a thread moved into network namespace name (sockets
// f opens belong to it), then moves the thread back.
func inNetns(t *testing.T, name string, f func()) {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, and ends with the goroutine.
		t.Fatal(err)
	}
	runtime.UnlockOSThread()
}

// traceDevices are the devices of the trace's packet lines for the echo
// requests, per chain, sorted: "post ip iif "v0" oif "d0"". The kernel's
// lines also show the Ethernet header, which hare's do not have.
func traceDevices(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		_, rest, ok := strings.Cut(l, " inet t ")
		if !ok || !strings.Contains(rest, " packet: ") || !strings.Contains(rest, "type echo-request") {
			continue
		}
		chain, pk, _ := strings.Cut(rest, " packet: ")
		dev := []string{chain}
		f := strings.Fields(pk)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "iif" || f[i] == "oif" {
				dev = append(dev, f[i], f[i+1])
			}
			if f[i] == "ip" || f[i] == "ip6" {
				dev = append(dev, f[i])
				break
			}
		}
		out = append(out, strings.Join(dev, " "))
	}
	slices.Sort(out)
	return out
}

// waitFor polls cond until it holds, failing after a deadline (a bound
// for what never comes, not a measurement).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
