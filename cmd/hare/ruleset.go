package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hare-fw/hare/ruleset"
)

func rulesetHelp(w io.Writer) {
	io.WriteString(w, `Usage:
  hare ruleset check FILE       parse and check FILE as nft -c would; print errors as file:line:col
  hare ruleset print [-a] FILE  print FILE as "nft list ruleset" would after "nft -f FILE"
  hare ruleset print -j FILE    print FILE as "nft -j list ruleset" would (libnftables JSON, with handles)

  -a  print handles ("# handle N"), like nft -a
  -j  print JSON, like nft -j; a construct hare cannot render as nft does is an error

Exit status: 0 success, 1 errors in FILE, 2 a usage error.
`)
}

// runRuleset is "hare ruleset check|print".
func runRuleset(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		rulesetHelp(stderr)
		return exitUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("ruleset "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { rulesetHelp(stderr) }
	handles := fs.Bool("a", false, "print handles")
	asJSON := fs.Bool("j", false, "print JSON")
	switch sub {
	case "-h", "-help", "--help", "help":
		rulesetHelp(stdout)
		return exitOK
	case "check", "print":
	default:
		fmt.Fprintf(stderr, "hare ruleset: unknown subcommand %q\n", sub)
		rulesetHelp(stderr)
		return exitUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 1 || sub == "check" && (*handles || *asJSON) {
		rulesetHelp(stderr)
		return exitUsage
	}
	// what nft refuses to load is neither valid nor printable
	rs, err := ruleset.LoadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	if sub == "check" {
		return exitOK
	}
	print := ruleset.Print
	if *asJSON {
		print = ruleset.PrintJSON
	}
	if err := print(stdout, rs, ruleset.PrintOptions{Handles: *handles}); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	return exitOK
}
