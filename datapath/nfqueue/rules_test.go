package nfqueue

import (
	"strings"
	"testing"

	"github.com/hare-fw/hare/datapath"
)

// TestRulesRestore: a namespace with its own iptables and nftables rules,
// and the leftovers of a hare that did not close (installed, never
// removed). Open clears the leftovers and installs; Close leaves the
// ruleset as it was before the crashed run, byte for byte.
func TestRulesRestore(t *testing.T) {
	tp := newTopo(t)
	for _, tool := range tools {
		sh(t, tp.f, tool, "-w", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
	}
	sh(t, tp.f, "nft", "add table inet user { chain in { type filter hook input priority 5; tcp dport 80 accept; }; }")
	before := ruleset(t, tp.f)
	c := Config{Queues: "2-3", FailOpen: true, Hooks: []datapath.Hook{datapath.HookInput}, InstallRules: true, Notrack: true}
	cd, first, n, err := c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	tp.inNS(t, tp.f, func() { _, err = install(cd, first, n) }) // the run that crashed
	if err != nil {
		t.Fatal(err)
	}
	crashed := ruleset(t, tp.f)
	d := tp.openIn(t, tp.f, c)
	installed := ruleset(t, tp.f)
	if installed != crashed {
		t.Errorf("Open over leftovers:\n%s\nwant the same as the first install:\n%s", installed, crashed)
	}
	// What iptables says is in the chain is what Rules says was added.
	rules, _ := Rules(c)
	for _, tool := range tools {
		out := sh(t, tp.f, tool, "-w", "-S", "HARE")
		for _, r := range rules {
			if strings.HasPrefix(r, tool+" -w -A HARE ") {
				want := strings.TrimPrefix(r, tool+" -w ")
				if !strings.Contains(out, want+"\n") {
					t.Errorf("%s -S HARE:\n%s\nlacks %q", tool, out, want)
				}
			}
		}
		if out := sh(t, tp.f, tool, "-w", "-S", "INPUT"); !strings.Contains(out, "-A INPUT -j HARE\n-A INPUT -p tcp") {
			t.Errorf("%s -S INPUT: the jump is not first:\n%s", tool, out)
		}
	}
	var cerr error
	tp.inNS(t, tp.f, func() { cerr = d.Close() })
	if cerr != nil {
		t.Errorf("Close: %v", cerr)
	}
	if after := ruleset(t, tp.f); after != before {
		t.Errorf("ruleset after Close:\n%s\nwant\n%s", after, before)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
