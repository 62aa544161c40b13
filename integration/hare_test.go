package integration

import (
	"os/exec"
	"strings"
	"testing"
)

// hareFW is `hare run` in the firewall namespace with one of its
// datapaths: nfqueue (the namespace routes, iptables queues FORWARD to
// hare) or afpacket (hare bridges the namespace's two veths).
type hareFW struct {
	datapath string
}

func (h *hareFW) name() string  { return "hare-" + h.datapath }
func (h *hareFW) bridged() bool { return h.datapath == "afpacket" }

// missing says which piece of hare these tests need is not there yet.
func (h *hareFW) missing(t *testing.T) string {
	bin := hareBinary(t)
	out, _ := exec.Command(bin, "help").CombinedOutput()
	have := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(l, "  ") {
			have[f[0]] = true
		}
	}
	var lack []string
	for _, c := range []string{"run", "ct"} {
		if !have[c] {
			lack = append(lack, "hare "+c)
		}
	}
	if len(lack) > 0 {
		return "hare run not available yet: `hare help` lists no " + strings.Join(lack, ", no ")
	}
	return ""
}

func (h *hareFW) start(t *testing.T, tp *topo, ruleset string) {
	t.Fatal("hareFW.start: not written yet")
}

func (h *hareFW) conntrack(t *testing.T, args ...string) (string, error) {
	t.Fatal("hareFW.conntrack: not written yet")
	return "", nil
}

func (h *hareFW) reload(t *testing.T, ruleset string) {
	t.Fatal("hareFW.reload: not written yet")
}
