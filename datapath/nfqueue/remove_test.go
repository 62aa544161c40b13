package nfqueue

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/hare-fw/hare/datapath"
)

// TestRemoveRules: a fail-closed hare stops keeping its rules (KeepRules),
// and nothing passes; RemoveRules refuses while a hare is bound to the
// queue, and otherwise leaves the ruleset as it was before the first
// Open, byte for byte: the user's IPv4 INPUT rule and the filter table it
// lives in stay, the IPv6 filter table iptables-nft made for hare goes.
func TestRemoveRules(t *testing.T) {
	tp := newTopo(t)
	sh(t, tp.f, "iptables", "-w", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
	before := ruleset(t, tp.f)
	c := Config{Queues: "4", Hooks: []datapath.Hook{datapath.HookInput, datapath.HookForward}, InstallRules: true, Notrack: true, KeepRules: true}
	d := tp.openIn(t, tp.f, c)
	var err error
	tp.inNS(t, tp.f, func() { err = RemoveRules(c) })
	if err == nil || !strings.Contains(err.Error(), "queue 4 is bound") {
		t.Errorf("RemoveRules with a hare bound: %v, want a refusal", err)
	}
	tp.inNS(t, tp.f, func() { d.Close() })
	ping := func() error {
		return exec.Command("ip", "netns", "exec", tp.c, "ping", "-c1", "-W1", "10.77.1.2").Run()
	}
	if ping() == nil {
		t.Errorf("fail-closed, stopped with the rules kept, a ping passed")
	}
	tp.inNS(t, tp.f, func() { err = RemoveRules(c) })
	if err != nil {
		t.Fatalf("RemoveRules: %v", err)
	}
	if after := ruleset(t, tp.f); after != before {
		t.Errorf("ruleset after RemoveRules:\n%s\nwant\n%s", after, before)
	}
	if err := ping(); err != nil {
		t.Errorf("ping after RemoveRules: %v", err)
	}
	tp.inNS(t, tp.f, func() { err = RemoveRules(c) })
	if err != nil {
		t.Errorf("RemoveRules with nothing to remove: %v", err)
	}
}
