package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// firewall is one implementation of the firewall namespace's job.
type firewall interface {
	// name is the subtest name: kernel-routed, hare-nfqueue, ...
	name() string
	// bridged reports whether the topology is the bridged one.
	bridged() bool
	// missing says why this firewall cannot run here ("" if it can).
	missing(t *testing.T) string
	// start makes the firewall namespace of tp filter with ruleset.
	start(t *testing.T, tp *topo, ruleset string)
	// conntrack runs a conntrack-tools command (-L, -D, ...) against the
	// firewall's connection table and returns its stdout.
	conntrack(t *testing.T, args ...string) (string, error)
	// reload loads the ruleset again while traffic flows; how is
	// "sighup" or "api" (the kernel has one way: nft -f).
	reload(t *testing.T, ruleset, how string)
}

// kernelFW is the baseline: the firewall namespace's own nftables and
// conntrack, routing or bridging (br_netfilter) between the veths.
type kernelFW struct {
	bridge bool
	tp     *topo
	dir    string
}

func (k *kernelFW) name() string {
	if k.bridge {
		return "kernel-bridge"
	}
	return "kernel-routed"
}

func (k *kernelFW) bridged() bool { return k.bridge }

func (k *kernelFW) missing(t *testing.T) string { return "" }

func (k *kernelFW) start(t *testing.T, tp *topo, ruleset string) {
	t.Helper()
	k.tp, k.dir = tp, t.TempDir()
	tp.fw.sysctl(t, "net.netfilter.nf_conntrack_acct", "1")
	if k.bridge {
		tp.fw.must(t, "ip", "link", "add", "br0", "type", "bridge")
		tp.fw.must(t, "ip", "link", "set", tp.fwClient, "master", "br0")
		tp.fw.must(t, "ip", "link", "set", tp.fwServer, "master", "br0")
		tp.fw.must(t, "ip", "link", "set", "br0", "up")
		// The bridge needs addresses only for reject: nf_send_reset and
		// nf_send_unreach route what they make (ip_route_me_harder), and
		// without a route to the client the reject is a silent drop.
		tp.fw.sysctl(t, "net.ipv6.conf.br0.disable_ipv6", "0")
		tp.fw.addr(t, "br0", "10.71.0.1/24")
		tp.fw.addr(t, "br0", "fd71::1/64")
		// br_netfilter: bridged IP packets traverse the inet forward hook.
		tp.fw.sysctl(t, "net.bridge.bridge-nf-call-iptables", "1")
		tp.fw.sysctl(t, "net.bridge.bridge-nf-call-ip6tables", "1")
	}
	k.load(t, ruleset)
}

func (k *kernelFW) load(t *testing.T, ruleset string) {
	t.Helper()
	f := filepath.Join(k.dir, "ruleset.nft")
	if err := os.WriteFile(f, []byte("flush ruleset\n"+ruleset), 0o644); err != nil {
		t.Fatal(err)
	}
	k.tp.fw.must(t, "nft", "-f", f)
}

func (k *kernelFW) reload(t *testing.T, ruleset, how string) { k.load(t, ruleset) }

func (k *kernelFW) conntrack(t *testing.T, args ...string) (string, error) {
	return stdout(exec.Command("ip", append([]string{"netns", "exec", string(k.tp.fw), "conntrack"}, args...)...))
}

// stdout runs cmd and returns its stdout; the error carries stderr.
func stdout(cmd *exec.Cmd) (string, error) {
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return string(out), &cmdError{cmd: strings.Join(cmd.Args, " "), err: err, stderr: errb.String()}
	}
	return string(out), nil
}

type cmdError struct {
	cmd, stderr string
	err         error
}

func (e *cmdError) Error() string { return e.cmd + ": " + e.err.Error() + ": " + e.stderr }

// firewalls lists every firewall the tests run against.
func firewalls() []firewall {
	return []firewall{
		&kernelFW{},
		&kernelFW{bridge: true},
		&hareFW{datapath: "nfqueue"},
		&hareFW{datapath: "afpacket"},
		// The TPACKET_V2 ring: TestProof runs only its core subset
		// (coreOnly), the rest of the bridge being the same code.
		&hareFW{datapath: "afpacket", ring: "v2"},
	}
}

// coreOnly says whether TestProof runs only its core subtests against fw
// (allowed flows, inbound drops, reject, the table's counters, held IPv6
// fragments: what the ring hands over and Forward sends back): a variant
// of another firewall that differs only in how packets reach hare, whose
// full run would add a minute to CI for code paths the other already
// covers.
func coreOnly(fw firewall) bool {
	h, ok := fw.(*hareFW)
	return ok && h.ring == "v2"
}
