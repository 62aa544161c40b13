package main

import (
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
	fs.Usage = func() {}
	return fs
}

func replayHelp(w io.Writer) {
	fmt.Fprintf(w, `Usage: hare replay [flags] CAPTURE...

Replay reads pcap and pcapng captures, decodes every packet and prints one
summary of them all: packets and bytes by link type, by network protocol
(EtherType) and by transport protocol; IPv6 extension headers and header
anomalies; fragments; tunnels; and packets that could not be decoded
completely, by reason. Flags may come before or after the captures.

Flags:
  -o FORMAT
        Output format: "text" (default), aligned tables for people, or
        "json", the same data as one JSON object whose keys are stable
        (documented in README.md).
          hare replay -o json trace.pcapng | jq .transport
  --checksum
        Also verify the IPv4 header, TCP, UDP, UDP-Lite, ICMP and ICMPv6
        checksums of every packet and count the failures by kind. Off by
        default: captures taken on the sending host often carry checksums
        the NIC had not filled in yet.
          hare replay --checksum trace.pcap
  --batch N
        Packets read and decoded per batch, 1 to %d (default %d). Mostly
        useful for measuring the decoder.
          hare replay --batch 256 big.pcapng
  --progress WHEN
        Progress line on stderr for captures that take more than a second:
        "auto" (default) shows it only when stderr is a terminal, "always"
        and "never" force it on or off.
          hare replay --progress never *.pcap 2>errors.txt
  -h, --help
        Print this help.

Exit status:
  0  every capture was read to its end
  1  a capture could not be opened or is corrupt or truncated: the summary
     still covers the packets before the damage, and stderr says where it is
     ("hare: FILE: byte N: ...")
  2  usage error (unknown flag, no capture given)

Examples:
  hare replay testdata/sample.pcapng
  hare replay -o json --checksum a.pcap b.pcapng
`, report.MaxBatchSize, report.BatchSize)
}

func runReplay(args []string, stdout, stderr io.Writer) int {
	var f replayFlags
	fs := newReplayFlagSet(&f)
	fs.SetOutput(io.Discard) // errors are printed below, in hare's format
	files, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		replayHelp(stdout)
		return exitOK
	}
	if err == nil {
		err = f.check(files)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hare replay: %v\nRun \"hare replay --help\" for usage.\n", err)
		return exitUsage
	}

	s := &report.Summary{Checksums: f.checksum}
	prog := newProgress(stderr, f.progress)
	var errs []string
	for _, path := range files {
		if err := replayFile(s, path, f.batch, prog); err != nil {
			errs = append(errs, fmt.Sprintf("hare: %s: %s", path, report.ErrorText(err)))
		}
	}

	if f.output == "json" {
		err = s.WriteJSON(stdout)
	} else {
		err = s.WriteText(stdout)
	}
	if err != nil {
		errs = append(errs, fmt.Sprintf("hare: writing summary: %v", err))
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
	case len(files) == 0:
		return errors.New("no capture given")
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
