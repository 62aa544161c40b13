package nfqueue

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"github.com/hare-fw/hare/datapath"
)

// RemoveRules takes out of the calling thread's network namespace the
// rules Open installs for c (whatever c.InstallRules and c.Notrack say):
// the jumps to the queue chain from every hook, the chain, the notrack
// table and then the filter table's base chains and the table itself when
// they are left empty with policy accept, as iptables-nft creates them
// (an empty base chain whose policy accepts decides nothing). It is how
// an operator lifts a fail-closed hare's rules on purpose, after a stop
// that kept them (KeepRules) or a crash; what is not there is no error.
// It refuses while a program is bound to one of the queues (a hare still
// running would be left without packets).
func RemoveRules(c Config) error {
	c, first, n, err := c.withDefaults()
	if err != nil {
		return err
	}
	if q, ok := boundQueue(first, n); ok {
		return fmt.Errorf("nfqueue: queue %d is bound (is hare running?): stop it before removing its rules", q)
	}
	c.InstallRules, c.Notrack = true, true
	cleanup(c)
	var firstErr error
	for _, family := range [...]string{"ip", "ip6"} {
		for _, h := range []datapath.Hook{datapath.HookInput, datapath.HookForward, datapath.HookOutput} {
			if err := deleteChainIfIdle(family, hookChain(h)); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if err := deleteTableIfEmpty(family, "filter"); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// deleteChainIfIdle deletes a base chain of family's filter table that
// holds no rule and accepts by policy, as iptables-nft leaves a hook's
// chain once hare's jump is gone.
func deleteChainIfIdle(family, chain string) error {
	out, err := exec.Command("nft", "list", "chain", family, "filter", chain).Output()
	if err != nil {
		return nil // not there
	}
	var lines [][]byte
	for _, l := range bytes.Split(out, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	// table, chain, its type line, two closing braces: nothing else.
	if len(lines) != 5 || !bytes.HasSuffix(lines[2], []byte("policy accept;")) {
		return nil
	}
	return run(command{"nft", "delete", "chain", family, "filter", chain})
}

// boundQueue reports a queue of first..first+n-1 that a program is bound
// to, from /proc/net/netfilter/nfnetlink_queue of the calling thread's
// namespace (one line per bound queue, its number first: seq_show).
func boundQueue(first uint16, n int) (int, bool) {
	b, err := os.ReadFile("/proc/thread-self/net/netfilter/nfnetlink_queue")
	if err != nil {
		return 0, false
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		f := bytes.Fields(l)
		if len(f) == 0 {
			continue
		}
		q, err := strconv.Atoi(string(f[0]))
		if err == nil && q >= int(first) && q < int(first)+n {
			return q, true
		}
	}
	return 0, false
}
