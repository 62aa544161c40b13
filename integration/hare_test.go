package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hare-fw/hare/control"
)

// hareFW is `hare run` in the firewall namespace with one of its
// datapaths: nfqueue (the namespace routes, hare installs the iptables
// NFQUEUE rules for the forward hook) or afpacket (hare bridges the
// namespace's two veths, which have no addresses).
type hareFW struct {
	datapath string
	// ring is afpacket's [datapath] ring ("" for the default, "v3").
	ring string
	// failOpen is the config's fail_open (nfqueue).
	failOpen bool
	tp       *topo
	dir      string // config, ruleset, control socket, state file
	proc     *proc
	// owner is the test that started the firewall: the daemon lives until
	// it ends, also when a subtest restarts it.
	owner *testing.T
}

func (h *hareFW) name() string {
	if h.ring != "" {
		return "hare-" + h.datapath + "-" + h.ring
	}
	return "hare-" + h.datapath
}

func (h *hareFW) bridged() bool { return h.datapath == "afpacket" }

// missing says why `hare run` cannot be tested here: only the nfqueue
// datapath's iptables, which scripts/test.sh installs as root.
func (h *hareFW) missing(t *testing.T) string {
	if _, err := exec.LookPath("iptables"); h.datapath == "nfqueue" && err != nil {
		return "the nfqueue datapath installs iptables NFQUEUE rules: apt-get install iptables"
	}
	return ""
}

// config is the hare.toml of the test: the datapath, the ruleset, the
// conntrack settings of the kernel baseline, a control socket and a state
// file in the test's directory, metrics inside the firewall namespace.
func (h *hareFW) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[datapath]\nkind = %q\n", h.datapath)
	if h.datapath == "nfqueue" {
		fmt.Fprintf(&b, "queues = \"0\"\nhooks = [\"forward\"]\ninstall_rules = true\nfail_open = %v\n", h.failOpen)
	} else {
		fmt.Fprintf(&b, "interfaces = [%q, %q]\npass_non_ip = true\n", h.tp.fwClient, h.tp.fwServer)
		if h.ring != "" {
			fmt.Fprintf(&b, "ring = %q\n", h.ring)
		}
	}
	fmt.Fprintf(&b, "[ruleset]\nfile = %q\n", filepath.Join(h.dir, "rules.nft"))
	b.WriteString("[workers]\ncount = 1\n")
	fmt.Fprintf(&b, "[control]\nsocket = %q\n", h.socket())
	fmt.Fprintf(&b, "[state]\nfile = %q\n", h.stateFile())
	b.WriteString("[log]\nformat = \"json\"\nlevel = \"info\"\n")
	// The kernel's settings in the firewall namespace: acct on (set there
	// too), timestamp off (its default), so that hare ct -L and
	// conntrack -L print the same fields (timestamp adds delta-time=).
	b.WriteString("[conntrack]\nacct = 1\ntimestamp = 0\n")
	// The datapath's counters, for the benchmarks and for a failure's log.
	b.WriteString("[metrics]\nlisten = \"127.0.0.1:9108\"\n")
	return b.String()
}

// writeConfig writes hare.toml as config() says; the next run reads it.
func (h *hareFW) writeConfig(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, "hare.toml"), []byte(h.config()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *hareFW) socket() string    { return filepath.Join(h.dir, "hare.sock") }
func (h *hareFW) stateFile() string { return filepath.Join(h.dir, "conntrack.state") }

func (h *hareFW) start(t *testing.T, tp *topo, ruleset string) {
	t.Helper()
	h.tp, h.dir, h.owner = tp, t.TempDir(), t
	if err := os.WriteFile(filepath.Join(h.dir, "rules.nft"), []byte(ruleset), 0o644); err != nil {
		t.Fatal(err)
	}
	h.writeConfig(t)
	h.run(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hare run's log:\n%s", lastLines(h.proc.Stderr(), 40))
		}
	})
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// run starts the daemon and waits for its "started" log line.
func (h *hareFW) run(t *testing.T) {
	t.Helper()
	h.proc = startIn(h.owner, h.tp.fw, nil, hareBinary(t), "run", "-c", filepath.Join(h.dir, "hare.toml"))
	if !h.waitLog(`"msg":"started"`, 1, 10*time.Second) {
		t.Fatalf("hare run did not start:\n%s", h.proc.Stderr())
	}
	// The bridge's name in the "started" line says its ring.
	if ring := map[string]string{"": "TPACKET_V3", "v3": "TPACKET_V3", "v2": "TPACKET_V2"}[h.ring]; h.bridged() && !strings.Contains(h.proc.Stderr(), ring) {
		t.Fatalf("hare run started without a %s ring:\n%s", ring, h.proc.Stderr())
	}
}

// waitLog waits until the daemon's log has n lines containing s.
func (h *hareFW) waitLog(s string, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Count(h.proc.Stderr(), s) >= n {
			return true
		}
		select {
		case <-h.proc.done:
			return strings.Count(h.proc.Stderr(), s) >= n
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

// stop sends SIGTERM and waits for the daemon to exit.
func (h *hareFW) stop(t *testing.T) {
	t.Helper()
	h.proc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.proc.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("hare run did not stop on SIGTERM:\n%s", h.proc.Stderr())
	}
	if code := h.proc.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("hare run exited %d on SIGTERM:\n%s", code, h.proc.Stderr())
	}
}

// ct runs `hare ct ARGS` against the daemon.
func (h *hareFW) conntrack(t *testing.T, args ...string) (string, error) {
	cmd := exec.Command(hareBinary(t), append([]string{"ct", "--socket", h.socket()}, args...)...)
	return stdout(cmd)
}

// reload reloads by SIGHUP, by the control API (POST /v1/reload) or by
// replacing the ruleset with hare nft -f, and waits for the daemon to log
// that it did.
func (h *hareFW) reload(t *testing.T, ruleset string, how string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, "rules.nft"), []byte(ruleset), 0o644); err != nil {
		t.Fatal(err)
	}
	done := strings.Count(h.proc.Stderr(), `"msg":"reloaded"`) + 1
	if how == "sighup" {
		h.proc.cmd.Process.Signal(syscall.SIGHUP)
		if !h.waitLog(`"msg":"reloaded"`, done, 5*time.Second) {
			t.Fatalf("no reload logged after SIGHUP:\n%s", h.proc.Stderr())
		}
		return
	}
	switch how {
	case "api":
		// POST /v1/reload: what SIGHUP does, by the control API.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := control.NewClient(h.socket()).Reload(ctx); err != nil {
			t.Fatalf("reload by the control API: %v", err)
		}
		if !h.waitLog(`"msg":"reloaded"`, done, 5*time.Second) {
			t.Fatalf("no reload logged after POST /v1/reload:\n%s", h.proc.Stderr())
		}
	case "nft":
		// hare nft -f: the ruleset replaced through the control API.
		f := filepath.Join(h.dir, "nft-f.nft")
		if err := os.WriteFile(f, []byte("flush ruleset\n"+ruleset), 0o644); err != nil {
			t.Fatal(err)
		}
		done = strings.Count(h.proc.Stderr(), `"msg":"control: ruleset changed"`) + 1
		out, err := stdout(exec.Command(hareBinary(t), "nft", "--socket", h.socket(), "-f", f))
		if err != nil {
			t.Fatalf("hare nft -f: %v\n%s", err, out)
		}
		if !h.waitLog(`"msg":"control: ruleset changed"`, done, 5*time.Second) {
			t.Fatalf("no ruleset change logged after hare nft -f:\n%s", h.proc.Stderr())
		}
	default:
		t.Fatalf("reload %q?", how)
	}
}
