package nfqueue

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"

	"github.com/hare-fw/hare/datapath"
)

// replace installs c's rules over those a previous run left (a stop with
// KeepRules, a crash) without a moment in which the hooks queue nothing,
// which would let traffic pass unfiltered between two fail-closed hares:
// the queue chain is flushed and refilled in one iptables-restore
// transaction (--noflush: a chain line for an existing chain flushes it),
// the notrack table is deleted and added again in one nft transaction,
// and the jumps that are there stay. Jumps from hooks c no longer queues
// are removed, missing ones inserted first in their hook.
//
// What the first run found is no longer known, so undoing removes, after
// hare's own rules, the hooks' base chains left empty with policy accept
// and the filter tables left empty, as RemoveRules does.
func replace(c Config, first uint16, n int) (*installed, error) {
	in := &installed{}
	if c.Notrack {
		in.undo = append(in.undo, command{"nft", "delete", "table", "inet", rawTable(c)})
		// add (a no-op if there), delete, add: one transaction.
		script := "add table inet " + rawTable(c) + "\ndelete table inet " + rawTable(c) + "\n" + notrackCommand(c)[1] + "\n"
		if err := runInput(command{"nft", "-f", "-"}, script); err != nil {
			in.remove()
			return nil, err
		}
	} else {
		_ = run(command{"nft", "delete", "table", "inet", rawTable(c)})
	}
	queue := queueCommands(c, first, n)
	for i, tool := range tools {
		family := [...]string{"ip", "ip6"}[i]
		for _, h := range c.Hooks {
			in.undo = append(in.undo, command{tool, "-w", "-D", hookChain(h), "-j", c.Chain})
		}
		in.undo = append(in.undo, command{tool, "-w", "-F", c.Chain}, command{tool, "-w", "-X", c.Chain})
		for _, h := range c.Hooks {
			in.undo = append(in.undo, command{deleteIfIdle, family, hookChain(h)})
		}
		in.undo = append(in.undo, command{deleteIfEmpty, family, "filter"})

		var b strings.Builder
		b.WriteString("*filter\n:" + c.Chain + " - [0:0]\n")
		for _, cmd := range queue {
			if cmd[0] == tool && len(cmd) > 4 && cmd[2] == "-A" && cmd[3] == c.Chain {
				b.WriteString(strings.Join(cmd[2:], " ") + "\n")
			}
		}
		b.WriteString("COMMIT\n")
		if err := runInput(command{tool + "-restore", "-w", "--noflush"}, b.String()); err != nil {
			in.remove()
			return nil, err
		}
		for _, h := range []datapath.Hook{datapath.HookInput, datapath.HookForward, datapath.HookOutput} {
			want := 0
			for _, ch := range c.Hooks {
				if ch == h {
					want = 1
				}
			}
			if err := setJumps(tool, hookChain(h), c.Chain, want); err != nil {
				in.remove()
				return nil, err
			}
		}
	}
	return in, nil
}

// setJumps leaves want (0 or 1) jumps from hook to chain: a missing one
// goes first, extra ones are deleted.
func setJumps(tool, hook, chain string, want int) error {
	out, err := exec.Command(tool, "-w", "-S", hook).Output()
	if err != nil {
		out = nil // no such chain yet: no jump
	}
	have := 0
	for _, l := range bytes.Split(out, []byte("\n")) {
		if string(l) == "-A "+hook+" -j "+chain {
			have++
		}
	}
	for ; have > want; have-- {
		if err := run(command{tool, "-w", "-D", hook, "-j", chain}); err != nil {
			return err
		}
	}
	if have < want {
		return run(command{tool, "-w", "-I", hook, "1", "-j", chain})
	}
	return nil
}

// runInput runs c with input on its standard input.
func runInput(c command, input string) error {
	cmd := exec.Command(c[0], c[1:]...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", c, err, bytes.TrimSpace(out))
	}
	return nil
}
