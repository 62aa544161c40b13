package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/hare-fw/hare/daemon"
	"github.com/hare-fw/hare/datapath"
)

func runUsage(w io.Writer) {
	io.WriteString(w, `Usage:
  hare run -c FILE          run the firewall as FILE (TOML) configures it
  hare run --check -c FILE  check FILE and its ruleset, then exit
  hare run --print-rules -c FILE
                            print the iptables/ip6tables and nft commands that
                            queue packets to hare (nfqueue): what install_rules
                            installs, or what to install by hand without it
  hare run --remove-rules -c FILE
                            remove the queue rules and the notrack table
                            hare installs (nfqueue), which a fail-closed stop
                            or a crash leaves in place, so that traffic passes
                            unfiltered; refused while hare is bound to the queues

Flags:
  -c, --config FILE  the configuration (default /etc/hare/hare.toml);
                     configs/hare.toml documents every key
  --check            validate the configuration and compile the ruleset
                     as the daemon would, print "FILE: ok" or the first
                     error as file:line[:col]: message, and exit

Signals: SIGHUP reloads the configuration and the ruleset (a bad one is
refused, logged, and the running one stays; connections survive);
SIGTERM and SIGINT stop: the workers drain, the table is saved, the
datapath is closed and the process exits. nfqueue with install_rules: a
stop with fail_open = false keeps the queue rules, so the kernel drops
the queued traffic until hare starts again (fail-closed); with
fail_open = true it removes them and traffic passes unfiltered.

Exit status: 0 success, 1 an invalid configuration or a failure, 2 a
usage error.
`)
}

// datapathOpeners open the datapaths built into this binary, by [datapath]
// kind. Each datapath package adds its entry in a file of its own
// (run_nfqueue.go, run_afpacket.go).
var datapathOpeners = map[string]daemon.Opener{}

// printRules returns the kernel rules an nfqueue configuration needs; nil
// when the nfqueue datapath is not built in.
var printRules func(c *daemon.Config) ([]string, error)

// removeRules removes the kernel rules an nfqueue configuration installs;
// nil when the nfqueue datapath is not built in.
var removeRules func(c *daemon.Config) error

// openDatapath opens the datapath c names.
func openDatapath(c *daemon.Config, log *slog.Logger) (datapath.Datapath, error) {
	open, ok := datapathOpeners[c.Datapath.Kind]
	if !ok {
		return nil, fmt.Errorf("datapath kind %q is not built into this hare", c.Datapath.Kind)
	}
	return open(c, log)
}

// runRun is "hare run".
func runRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { runUsage(stderr) }
	path := "/etc/hare/hare.toml"
	fs.StringVar(&path, "c", path, "configuration file")
	fs.StringVar(&path, "config", path, "configuration file")
	check := fs.Bool("check", false, "check the configuration and exit")
	rules := fs.Bool("print-rules", false, "print the queue rules and exit")
	remove := fs.Bool("remove-rules", false, "remove the queue rules and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "hare run: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *check {
		c, err := daemon.Check(path)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitError
		}
		fmt.Fprintf(stdout, "%s: ok (ruleset %s)\n", path, c.Ruleset.File)
		return exitOK
	}
	c, err := daemon.LoadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	if *rules {
		return runPrintRules(c, stdout, stderr)
	}
	if *remove {
		return runRemoveRules(c, stderr)
	}
	d, err := daemon.New(c, daemon.Options{Open: openDatapath, LogOutput: stderr})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	return serve(d)
}

// runPrintRules is hare run --print-rules.
func runPrintRules(c *daemon.Config, stdout, stderr io.Writer) int {
	if c.Datapath.Kind != "nfqueue" {
		fmt.Fprintf(stderr, "hare run --print-rules: datapath %q installs no rules (only nfqueue does)\n", c.Datapath.Kind)
		return exitError
	}
	if printRules == nil {
		fmt.Fprintln(stderr, "hare run --print-rules: the nfqueue datapath is not built into this hare")
		return exitError
	}
	lines, err := printRules(c)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return exitOK
}

// runRemoveRules is hare run --remove-rules.
func runRemoveRules(c *daemon.Config, stderr io.Writer) int {
	if c.Datapath.Kind != "nfqueue" {
		fmt.Fprintf(stderr, "hare run --remove-rules: datapath %q installs no rules (only nfqueue does)\n", c.Datapath.Kind)
		return exitError
	}
	if !c.Datapath.InstallRules {
		fmt.Fprintln(stderr, "hare run --remove-rules: install_rules is off: hare installs no rules (the queue rules are yours)")
		return exitError
	}
	if removeRules == nil {
		fmt.Fprintln(stderr, "hare run --remove-rules: the nfqueue datapath is not built into this hare")
		return exitError
	}
	if err := removeRules(c); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	return exitOK
}

// serve runs d until SIGTERM or SIGINT, reloading on SIGHUP.
func serve(d *daemon.Daemon) int {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	if err := d.Start(); err != nil {
		d.Log().Error("start failed", "error", err.Error())
		return exitError
	}
	notify("READY=1")
	for s := range sig {
		if s == syscall.SIGHUP {
			notify("RELOADING=1")
			d.Reload() // logs and counts its own failure
			notify("READY=1")
			continue
		}
		d.Log().Info("stopping", "signal", s.String())
		notify("STOPPING=1")
		if err := d.Stop(); err != nil {
			d.Log().Error("stop", "error", err.Error())
			return exitError
		}
		return exitOK
	}
	return exitOK
}
