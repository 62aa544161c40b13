package nfqueue

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/hare-fw/hare/datapath"
)

// The queue rules go through iptables/ip6tables (the nf_tables backend's
// xtables compatibility, xt_NFQUEUE), because nft's own queue statement
// needs nft_queue (CONFIG_NFT_QUEUE), which kernels are built without;
// the notrack table is plain nftables (nft_ct's notrack, always there with
// NFT_CT).

// command is one argv.
type command []string

func (c command) String() string {
	var b strings.Builder
	for i, a := range c {
		if i > 0 {
			b.WriteByte(' ')
		}
		if strings.ContainsAny(a, " ;{}\"'$") {
			b.WriteString("'" + a + "'")
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}

var tools = [...]string{"iptables", "ip6tables"}

func hookChain(h datapath.Hook) string {
	switch h {
	case datapath.HookInput:
		return "INPUT"
	case datapath.HookForward:
		return "FORWARD"
	case datapath.HookOutput:
		return "OUTPUT"
	}
	return ""
}

// queueTarget is the NFQUEUE target's arguments for the configured queues.
func queueTarget(c Config, first uint16, n int) []string {
	t := []string{"-j", "NFQUEUE"}
	if n == 1 {
		t = append(t, "--queue-num", strconv.Itoa(int(first)))
	} else {
		t = append(t, "--queue-balance", fmt.Sprintf("%d:%d", first, int(first)+n-1))
	}
	if c.FailOpen {
		// xt_NFQUEUE's NFQ_FLAG_BYPASS: nf_queue accepts when no
		// program is bound to the queue (instance_lookup fails).
		t = append(t, "--queue-bypass")
	}
	return t
}

// queueCommands install the queue chain and the jumps to it, for both
// families.
func queueCommands(c Config, first uint16, n int) []command {
	var cmds []command
	for _, tool := range tools {
		cmds = append(cmds,
			command{tool, "-w", "-N", c.Chain},
			// hare's own injected packets come back through output:
			// let them by.
			command{tool, "-w", "-A", c.Chain, "-m", "mark", "--mark", fmt.Sprintf("0x%x", c.InjectMark), "-j", "RETURN"},
			append(command{tool, "-w", "-A", c.Chain}, queueTarget(c, first, n)...),
		)
		for _, h := range c.Hooks {
			cmds = append(cmds, command{tool, "-w", "-I", hookChain(h), "1", "-j", c.Chain})
		}
	}
	return cmds
}

func rawTable(c Config) string { return strings.ToLower(c.Chain) + "_raw" }

// notrackCommand installs the table that keeps the kernel's conntrack
// away from every packet (nft_notrack_eval sets IP_CT_UNTRACKED before
// nf_conntrack_in at priority 0 would look the packet up).
func notrackCommand(c Config) command {
	return command{"nft", "add table inet " + rawTable(c) + " { " +
		"chain prerouting { type filter hook prerouting priority raw; policy accept; notrack; }; " +
		"chain output { type filter hook output priority raw; policy accept; notrack; }; }"}
}

// Rules returns the commands that set up what c asks for, as a user who
// installs them by hand would type them: the notrack table and, for IPv4
// and IPv6, the queue chain with the jumps to it from each hook. With
// InstallRules and Notrack Open runs exactly these.
func Rules(c Config) ([]string, error) {
	c, first, n, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	var out []string
	out = append(out, notrackCommand(c).String())
	for _, cmd := range queueCommands(c, first, n) {
		out = append(out, cmd.String())
	}
	return out, nil
}

func run(c command) error {
	out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", c, err, bytes.TrimSpace(out))
	}
	return nil
}

// installed is what Open put in the kernel; undo takes it out again, in
// the order given.
type installed struct {
	undo []command
}

// existed says whether iptables-nft's filter table (chain "") or one of
// its base chains exists: iptables-nft creates the table and a hook's
// base chain on first use, and removing only hare's rules would leave
// them behind.
func existed(family, chain string) bool {
	args := []string{"list", "chain", family, "filter", chain}
	if chain == "" {
		args = []string{"list", "table", family, "filter"}
	}
	return exec.Command("nft", args...).Run() == nil
}

// install runs the commands for c after clearing what a previous run
// that did not close may have left, and returns how to undo them. On
// error it has undone what it did. Over the queue rules of a previous
// run (a fail-closed stop that kept them, a crash) it replaces them in
// place instead (replace), so that the hooks never stop queueing.
func install(c Config, first uint16, n int) (*installed, error) {
	if c.InstallRules && exec.Command(tools[0], "-w", "-S", c.Chain).Run() == nil {
		return replace(c, first, n)
	}
	cleanup(c)
	in := &installed{}
	if c.InstallRules {
		for i, tool := range tools {
			family := [...]string{"ip", "ip6"}[i]
			hadTable := existed(family, "")
			for _, h := range c.Hooks {
				in.undo = append(in.undo, command{tool, "-w", "-D", hookChain(h), "-j", c.Chain})
			}
			in.undo = append(in.undo, command{tool, "-w", "-F", c.Chain}, command{tool, "-w", "-X", c.Chain})
			for _, h := range c.Hooks {
				if !hadTable || !existed(family, hookChain(h)) {
					// nft refuses to delete a chain that still has rules
					// (EBUSY): someone else's rules survive this.
					in.undo = append(in.undo, command{"nft", "delete", "chain", family, "filter", hookChain(h)})
				}
			}
			if !hadTable {
				in.undo = append(in.undo, command{deleteIfEmpty, family, "filter"})
			}
		}
	}
	if c.Notrack {
		in.undo = append(in.undo, command{"nft", "delete", "table", "inet", rawTable(c)})
		if err := run(notrackCommand(c)); err != nil {
			in.remove()
			return nil, err
		}
	}
	if c.InstallRules {
		for _, cmd := range queueCommands(c, first, n) {
			if err := run(cmd); err != nil {
				in.remove()
				return nil, err
			}
		}
	}
	return in, nil
}

const (
	deleteIfEmpty = "delete-table-if-empty"
	deleteIfIdle  = "delete-chain-if-idle"
)

// remove undoes everything and reports the first error other than
// "not there": undoing what was never done (after a failed install) is
// harmless.
func (in *installed) remove() error {
	var first error
	for _, cmd := range in.undo {
		var err error
		switch cmd[0] {
		case deleteIfEmpty:
			err = deleteTableIfEmpty(cmd[1], cmd[2])
		case deleteIfIdle:
			err = deleteChainIfIdle(cmd[1], cmd[2])
		default:
			err = run(cmd)
		}
		if err != nil && first == nil && !notThere(err) {
			first = err
		}
	}
	in.undo = nil
	return first
}

func notThere(err error) bool {
	s := err.Error()
	return strings.Contains(s, "No such file or directory") || strings.Contains(s, "does not exist") ||
		strings.Contains(s, "No chain/target/match by that name") || strings.Contains(s, "Device or resource busy") ||
		strings.Contains(s, "Bad rule")
}

func deleteTableIfEmpty(family, table string) error {
	out, err := exec.Command("nft", "list", "table", family, table).Output()
	if err != nil || bytes.Contains(out, []byte("chain ")) {
		return nil
	}
	return run(command{"nft", "delete", "table", family, table})
}

// cleanup removes what a hare that did not close left: the jumps to the
// chain, the chain, the notrack table. Errors mean there was nothing.
func cleanup(c Config) {
	if c.Notrack {
		_ = run(command{"nft", "delete", "table", "inet", rawTable(c)})
	}
	if !c.InstallRules {
		return
	}
	for _, tool := range tools {
		for _, h := range []datapath.Hook{datapath.HookInput, datapath.HookForward, datapath.HookOutput} {
			for i := 0; i < 16 && run(command{tool, "-w", "-D", hookChain(h), "-j", c.Chain}) == nil; i++ {
			}
		}
		_ = run(command{tool, "-w", "-F", c.Chain})
		_ = run(command{tool, "-w", "-X", c.Chain})
	}
}
