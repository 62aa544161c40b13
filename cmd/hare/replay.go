package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/internal/report"
)

// replayFlags are the flags of `hare replay`.
type replayFlags struct {
	output   string
	checksum bool
	batch    int
	progress string

	// Connection tracking (replay_conntrack.go).
	table        bool
	events       bool
	packets      bool
	summary      bool
	clock        string
	profile      string
	sets         []string // name=value, in command-line order (--set, --max-entries)
	setFlags     []string // the flag that gave each of sets
	ctOutput     string
	helpSettings bool

	// Ruleset (replay_rules.go).
	rules   string
	iifname string
	emit    string // replay_emit.go

	// Tracing and topology (replay_trace*.go, replay_rules.go).
	trace    bool
	traceAll bool
	explain  uint64
	inside   string
	topology string
}

// newReplayFlagSet returns the flag set of `hare replay` writing into f. Its
// Usage does nothing: runReplay prints replayHelp itself, and tests walk the
// set to check that replayHelp documents every flag.
func newReplayFlagSet(f *replayFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.StringVar(&f.output, "o", "text", "output format: text or json")
	fs.BoolVar(&f.checksum, "checksum", false, "verify checksums and count bad ones")
	fs.IntVar(&f.batch, "batch", report.BatchSize, "packets per read")
	fs.StringVar(&f.progress, "progress", "auto", "progress line on stderr: auto, always or never")
	fs.BoolVar(&f.table, "table", false, "print the final conntrack table")
	fs.BoolVar(&f.events, "events", false, "print every conntrack event")
	fs.BoolVar(&f.packets, "packets", false, "print one line per packet")
	fs.BoolVar(&f.summary, "summary", false, "print the summary also with --table, --events or --packets")
	fs.StringVar(&f.clock, "clock", "capture", "clock: capture or frozen")
	fs.StringVar(&f.profile, "profile", "linux", "settings profile: linux or rfc")
	fs.Func("set", "set a conntrack setting: name=value (repeatable)", func(v string) error {
		f.sets, f.setFlags = append(f.sets, v), append(f.setFlags, "--set "+v)
		return nil
	})
	fs.Func("max-entries", "table size limit (--set max=N)", func(v string) error {
		f.sets, f.setFlags = append(f.sets, "max="+v), append(f.setFlags, "--max-entries "+v)
		return nil
	})
	fs.StringVar(&f.ctOutput, "ct-output", "", "extra conntrack -o fields: id, ktimestamp")
	fs.BoolVar(&f.helpSettings, "help-settings", false, "list the conntrack settings")
	fs.StringVar(&f.rules, "rules", "", "nftables ruleset to evaluate")
	fs.StringVar(&f.iifname, "iifname", "kor0", "input interface for meta iifname")
	fs.StringVar(&f.emit, "emit", "", "pcapng file for the packets reject sends")
	fs.BoolVar(&f.trace, "trace", false, "print nft monitor trace lines for packets with nftrace set")
	fs.BoolVar(&f.traceAll, "trace-all", false, "print nft monitor trace lines for every packet")
	fs.Uint64Var(&f.explain, "explain", 0, "explain packet N's path through the ruleset")
	fs.StringVar(&f.inside, "inside", "", "prefixes of the inside network: forward between lan and wan")
	fs.StringVar(&f.topology, "topology", "", "topology file: interfaces, their prefixes, local addresses")
	fs.Usage = func() {}
	return fs
}

func replayHelp(w io.Writer) {
	fmt.Fprintf(w, `Usage: hare replay [flags] CAPTURE...

Replay reads pcap and pcapng captures, decodes every packet, runs it through
the connection tracker (a fresh table per capture, every packet accepted, as
the Linux kernel does with no ruleset) and prints one summary of them all:
packets and bytes by link type, by network protocol (EtherType) and by
transport protocol; IPv6 extension headers and header anomalies; fragments;
tunnels; packets that could not be decoded completely, by reason; and what
the tracker concluded: packets by ct state, invalid and ignored packets by
reason, entries by protocol and state, table and event counters. Flags may
come before or after the captures.

Flags:
  -o FORMAT
        Output format: "text" (default), aligned tables for people, or
        "json", the same data as one JSON object whose keys are stable
        (documented in README.md). Also applies to --table, --events and
        --packets.
          hare replay -o json trace.pcapng | jq .transport
  --checksum
        Also verify the IPv4 header, TCP, UDP, UDP-Lite, ICMP and ICMPv6
        checksums of every packet and count the failures by kind. Off by
        default: captures taken on the sending host often carry checksums
        the NIC had not filled in yet. (The tracker verifies checksums
        anyway unless --set checksum=0.)
          hare replay --checksum trace.pcap
  --batch N
        Packets read and decoded per batch, 1 to %d (default %d). Mostly
        useful for measuring the decoder. Expired entries are reaped once
        per batch.
          hare replay --batch 256 big.pcapng
  --progress WHEN
        Progress line on stderr for captures that take more than a second:
        "auto" (default) shows it only when stderr is a terminal, "always"
        and "never" force it on or off.
          hare replay --progress never *.pcap 2>errors.txt

Connection tracking:
  --table
        Print the table at the end of each capture, one line per entry in
        the format of "conntrack -L -o extended" (seconds left counted from
        the last packet's time), oldest entry first. With -o json, a JSON
        array of entries with the keys of the kernel reference's
        table.jsonl.
          hare replay --table trace.pcap
  --events
        Print every NEW, UPDATE and DESTROY event as it happens, in the
        format of "conntrack -E -o timestamp,extended" (the timestamp is
        the tracker's clock); with -o json one object per line, with the
        keys of the kernel reference's events.jsonl.
          hare replay --events trace.pcap
  --packets
        Print one line per packet: its number (1-based), capture time, ct
        state, direction, entry id, and why it was invalid or ignored;
        with -o json one object per line. With --events too, each packet's
        line follows its events.
          hare replay --packets --events trace.pcap
  --summary
        Print the summary also when --table, --events or --packets is
        given (it comes last).
          hare replay --summary --table trace.pcap
  --clock MODE
        "capture" (default): each packet's capture time drives the
        timeouts, so entries expire as they would have live. "frozen":
        time stands still at the first packet, as when the kernel replays
        a capture at top speed; nothing expires.
          hare replay --clock frozen --table trace.pcap
  --profile NAME
        Starting values of the settings: "linux" (default: Linux 6.18's
        defaults, with accounting and timestamps on) or "rfc" (timeout
        floors of RFC 4787, 5382, 5508 and 6092).
          hare replay --profile rfc --table trace.pcap
  --set NAME=VALUE
        Change one setting (repeatable; later ones win). Names are Linux's
        net.netfilter.nf_conntrack_* sysctls without the prefix
        (tcp_loose, checksum, udp_timeout...); --help-settings lists them.
          hare replay --set tcp_loose=0 --set checksum=0 trace.pcap
  --max-entries N
        The most entries the table holds (--set max=N); beyond it the
        tracker early-drops unassured entries, or refuses the new
        connection, and counts both.
          hare replay --max-entries 1000 big.pcap
  --ct-output LIST
        Add conntrack -o fields to --table and --events lines: "id" (the
        entry id) and "ktimestamp" ([start=...] and [stop=...]);
        "id,ktimestamp" gives the layout of the kernel reference's
        conntrack-ipv4.txt.
          hare replay --ct-output id,ktimestamp --table trace.pcap
  --help-settings
        List every setting with its Linux and RFC-profile values and what
        it does, then exit.
          hare replay --help-settings
%s  -h, --help
        Print this help.

With several captures and --table, --events or --packets, each capture's
lines follow a header: "# CAPTURE" (text) or {"file": "CAPTURE"} (json).

Exit status:
  0  every capture was read to its end
  1  a capture could not be opened or is corrupt or truncated: the summary
     still covers the packets before the damage, and stderr says where it is
     ("hare: FILE: byte N: ...")
  2  usage error (unknown flag or setting, no capture given)

Examples:
  hare replay testdata/sample.pcapng
  hare replay -o json --checksum a.pcap b.pcapng
  hare replay --clock frozen --packets --table trace.pcap
`, report.MaxBatchSize, report.BatchSize, rulesHelp[1:])
}

func runReplay(args []string, stdout, stderr io.Writer) int {
	return runReplayWith(args, stdout, stderr, nil)
}

// runReplayWith is runReplay; skip, when not nil, names packets to leave
// out of tracking (report.Tracker.Skip): the kernel differential test
// uses it to track only what reached the kernel's conntrack.
func runReplayWith(args []string, stdout, stderr io.Writer, skip func(path string, n uint64) bool) int {
	var f replayFlags
	fs := newReplayFlagSet(&f)
	fs.SetOutput(io.Discard) // errors are printed below, in hare's format
	files, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		replayHelp(stdout)
		return exitOK
	}
	if err == nil && f.helpSettings {
		helpSettings(stdout)
		return exitOK
	}
	var tr *report.Tracker
	if err == nil {
		err = f.check(files)
	}
	if err == nil {
		tr, err = f.tracker()
	}
	if err != nil {
		fmt.Fprintf(stderr, "hare replay: %v\nRun \"hare replay --help\" for usage.\n", err)
		return exitUsage
	}
	tr.Skip = skip

	bw := bufio.NewWriterSize(stdout, 64<<10)
	out := newCTOutput(&f, tr, bw, len(files) > 1)
	rules, err := setupRules(&f, tr, bw)
	if err != nil {
		fmt.Fprintf(stderr, "hare replay: --rules: %v\n", err)
		return exitUsage
	}
	s := &report.Summary{Checksums: f.checksum, Track: tr}
	prog := newProgress(stderr, f.progress)
	var errs []string
	for _, path := range files {
		out.begin(path)
		if err := replayFile(s, path, f.batch, prog); err != nil {
			errs = append(errs, fmt.Sprintf("hare: %s: %s", path, report.ErrorText(err)))
		}
	}

	tracing := f.trace || f.traceAll || f.explain != 0
	if !f.table && !f.events && !f.packets && !tracing || f.summary {
		if f.output == "json" {
			err = s.WriteJSON(bw)
		} else {
			err = s.WriteText(bw)
		}
	}
	if rules != nil && err == nil {
		// The counters are left out of a trace or explanation, as the
		// summary is, unless --summary asks for them.
		rules.finish(!tracing || f.summary)
		err = rules.err
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err == nil {
		err = out.err
	}
	if err != nil {
		errs = append(errs, fmt.Sprintf("hare: writing output: %v", err))
	}
	if len(errs) > 0 {
		fmt.Fprintln(stderr, strings.Join(errs, "\n"))
		return exitError
	}
	return exitOK
}

// check validates the flags and the captures named.
func (f *replayFlags) check(files []string) error {
	switch {
	case f.output != "text" && f.output != "json":
		return fmt.Errorf("-o %q: want text or json", f.output)
	case f.batch < 1 || f.batch > report.MaxBatchSize:
		return fmt.Errorf("--batch %d: want 1 to %d", f.batch, report.MaxBatchSize)
	case f.progress != "auto" && f.progress != "always" && f.progress != "never":
		return fmt.Errorf("--progress %q: want auto, always or never", f.progress)
	case f.clock != "capture" && f.clock != "frozen":
		return fmt.Errorf("--clock %q: want capture or frozen", f.clock)
	case f.profile != "linux" && f.profile != "rfc":
		return fmt.Errorf("--profile %q: want linux or rfc", f.profile)
	case len(files) == 0:
		return errors.New("no capture given")
	}
	for _, o := range strings.Split(f.ctOutput, ",") {
		switch o {
		case "", "id", "ktimestamp":
		default:
			return fmt.Errorf("--ct-output %q: want a list of id and ktimestamp", f.ctOutput)
		}
	}
	return nil
}

// replayFile adds one capture to s. A capture that cannot be opened is
// recorded in s.Files too, so the summary lists it.
func replayFile(s *report.Summary, path string, batch int, prog *progress) error {
	r, err := capture.Open(path)
	if err != nil {
		s.Files = append(s.Files, report.File{Path: path, Err: err})
		return err
	}
	defer r.Close()
	prog.start(path, r.Size())
	err = s.Replay(r, path, batch, prog.update)
	prog.done()
	return err
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments (`hare replay a.pcap -o json`), which the flag
// package alone stops at. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// isTerminal reports whether w is a terminal (a character device), without
// a dependency on x/term.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
