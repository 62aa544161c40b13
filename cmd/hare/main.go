// Command hare is the hare firewall and connection tracker.
//
// Usage:
//
//	hare replay [flags] CAPTURE...   summarise pcap / pcapng captures
//	hare run -c FILE                 run the firewall
//	hare ct COMMAND [options]        the running firewall's connections, as conntrack(8)
//	hare nft [options] [cmds...]     the running firewall's ruleset, as nft(8)
//	hare proc [FILE]                 the running firewall's connections, as /proc/net/nf_conntrack
//	hare version                     print the version
//	hare help [COMMAND]              print help
//
// Exit status: 0 success, 1 failure (such as an unreadable capture), 2 a
// usage error.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one subcommand.
type command struct {
	name    string
	summary string // one line for `hare help`
	run     func(args []string, stdout, stderr io.Writer) int
	help    func(w io.Writer) // full help; nil for commands without flags
}

// commands is set in init: its entries refer to usage, which prints it.
var commands []command

func init() {
	commands = []command{
		{name: "replay", summary: "read pcap / pcapng captures and summarise what they contain", run: runReplay, help: replayHelp},
		{name: "run", summary: "run the firewall (hare run -c hare.toml)", run: runRun, help: runUsage},
		{name: "ct", summary: "list, delete and follow the running daemon's connections, as conntrack does", run: runCt, help: ctHelp},
		{name: "nft", summary: "list and change the running daemon's ruleset, as nft does", run: runNft, help: nftHelp},
		{name: "proc", summary: "print the running daemon's connections as /proc/net/nf_conntrack shows them", run: runProc, help: procHelp},
		{name: "ruleset", summary: "check or print an nftables ruleset file", run: runRuleset, help: rulesetHelp},
		{name: "version", summary: "print the version of this binary", run: runVersion},
		{name: "help", summary: "print help about hare or a command", run: runHelp},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program minus os.Exit, so tests run it in-process. It
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	if c := lookup(name); c != nil {
		return c.run(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "hare: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`hare is a userspace stateful firewall and connection tracker for IPv4 and IPv6.

Usage:
  hare COMMAND [flags] [arguments]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Run "hare help COMMAND" or "hare COMMAND --help" for a command's flags.

Example:
  hare replay testdata/sample.pcapng
`)
	io.WriteString(w, b.String())
}

func runHelp(args []string, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		usage(stdout)
		return exitOK
	case 1:
		c := lookup(args[0])
		if c == nil {
			fmt.Fprintf(stderr, "hare help: unknown command %q\n", args[0])
			return exitUsage
		}
		if c.help == nil {
			fmt.Fprintf(stdout, "Usage: hare %s\n\n%s.\n", c.name, upperFirst(c.summary))
			return exitOK
		}
		c.help(stdout)
		return exitOK
	}
	fmt.Fprintln(stderr, "usage: hare help [COMMAND]")
	return exitUsage
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
