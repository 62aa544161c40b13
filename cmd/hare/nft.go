package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hare-fw/hare/control"
)

// `hare nft` is nft(8) (nftables 1.0.6) for the running daemon's ruleset:
// the options and commands an operator uses on a live firewall, the same
// listing (ruleset.Print, with the daemon's live counters) and nft's way of
// showing an error (the message, the source line, carets under the fault).
// Everything other than list and monitor is nft source: the command line's
// words joined by blanks, as nft joins them, or the file of -f, applied by
// the daemon as one transaction.

func nftHelp(w io.Writer) {
	io.WriteString(w, `Usage: hare nft [ options ] [ cmds... ]    (nft, for the running hare daemon)

Options:
  -f, --file FILE    read commands from FILE (nft -f), applied as one transaction
  -c, --check        check the commands without applying them
  -a, --handle       list rule handles
  -s, --stateless    list without counter values
  -j, --json         list as JSON (libnftables' schema)
  --socket PATH      the daemon's control socket (default $HARE_SOCKET, else /run/hare/control.sock)

Commands:
  list ruleset [FAMILY]
  list table [FAMILY] TABLE
  list chain [FAMILY] TABLE CHAIN
  list set|map [FAMILY] TABLE SET
  monitor trace      print the trace of packets with nftrace set (meta nftrace set 1), until interrupted
  add|insert|replace|delete rule …, add|delete element …, flush ruleset, add|delete table|chain|set …
                     any other nft command, applied by the daemon

Exit status: 0 success, 1 failure (as nft).
`)
}

// runNft is `hare nft`.
func runNft(args []string, stdout, stderr io.Writer) int {
	var file string
	var check bool
	o := control.ListOptions{}
	socket := os.Getenv("HARE_SOCKET")
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		val := func() (string, bool) {
			if k := strings.IndexByte(a, '='); k > 0 && strings.HasPrefix(a, "--") {
				return a[k+1:], true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		name := a
		if k := strings.IndexByte(a, '='); k > 0 && strings.HasPrefix(a, "--") {
			name = a[:k]
		}
		switch name {
		case "-h", "--help":
			nftHelp(stdout)
			return exitOK
		case "-f", "--file":
			v, ok := val()
			if !ok {
				fmt.Fprintf(stderr, "Error: option %s requires an argument\n", a)
				return exitError
			}
			file = v
		case "-c", "--check":
			check = true
		case "-a", "--handle":
			o.Handles = true
		case "-s", "--stateless":
			o.Stateless = true
		case "-j", "--json":
			o.JSON = true
		case "--socket":
			v, ok := val()
			if !ok {
				fmt.Fprintf(stderr, "Error: option %s requires an argument\n", a)
				return exitError
			}
			socket = v
		default:
			fmt.Fprintf(stderr, "Error: unsupported option %s (hare nft: see hare nft --help)\n", a)
			return exitError
		}
	}
	words := args[i:]
	c := control.NewClient(socket)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n := &nftRun{c: c, stdout: stdout, stderr: stderr, o: o}
	switch {
	case file != "" && len(words) > 0:
		fmt.Fprintln(stderr, "Error: -f takes no commands on the command line")
		return exitError
	case file != "":
		src, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "internal:0:0-0: Error: Could not open file \"%s\": %s\n", file, errnoText(err))
			return exitError
		}
		// The daemon resolves the file's relative includes from the
		// name's directory, and its working directory is not ours: it
		// gets the absolute name, and errors show the name as given.
		name := file
		if abs, err := filepath.Abs(file); err == nil && abs != file {
			name, n.given = abs, map[string]string{abs: file}
		}
		return n.apply(ctx, name, src, check)
	case len(words) == 0:
		nftHelp(stderr)
		return exitError
	case words[0] == "list":
		return n.list(ctx, words)
	case words[0] == "monitor":
		return n.monitor(ctx, words)
	}
	return n.apply(ctx, "", []byte(strings.Join(words, " ")), check)
}

type nftRun struct {
	c              *control.Client
	stdout, stderr io.Writer
	o              control.ListOptions
	given          map[string]string // absolute file name -> as given on the command line
}

// apply sends nft source to the daemon.
func (n *nftRun) apply(ctx context.Context, name string, src []byte, check bool) int {
	if err := n.c.Apply(ctx, name, src, check); err != nil {
		return n.fail(err, name, string(src))
	}
	return exitOK
}

// fail prints err as nft prints errors: "Error: MSG", the source line and
// carets under the fault, prefixed with FILE:LINE:COL-COL: for a file.
func (n *nftRun) fail(err error, name, src string) int {
	var ce *control.Error
	if !errors.As(err, &ce) {
		fmt.Fprintf(n.stderr, "Error: cannot reach the hare daemon at %s: %v\n", n.c.Path(), err)
		return exitError
	}
	p := ce.Pos
	if p == nil {
		fmt.Fprintf(n.stderr, "Error: %s\n", ce.Msg)
		if name == "" && src != "" {
			fmt.Fprintf(n.stderr, "%s\n", src)
		}
		return exitError
	}
	width := p.Len
	if width < 1 {
		// the token at the position, as nft underlines the expression
		width = 1
		if i := p.Col - 1; i >= 0 && i < len(p.Src) {
			j := i
			for j < len(p.Src) && p.Src[j] != ' ' && p.Src[j] != '\t' && p.Src[j] != ';' {
				j++
			}
			width = max(j-i, 1)
		}
	}
	if p.File != "<cmdline>" {
		file := p.File
		if g, ok := n.given[file]; ok {
			file = g
		}
		fmt.Fprintf(n.stderr, "%s:%d:%d-%d: ", file, p.Line, p.Col, p.Col+width-1)
	}
	fmt.Fprintf(n.stderr, "Error: %s\n", strings.TrimPrefix(p.Msg, "Error: "))
	if p.Src != "" {
		var caret strings.Builder
		for i := 0; i < p.Col-1 && i < len(p.Src); i++ {
			if p.Src[i] == '\t' {
				caret.WriteByte('\t')
			} else {
				caret.WriteByte(' ')
			}
		}
		caret.WriteString(strings.Repeat("^", width))
		fmt.Fprintf(n.stderr, "%s\n%s\n", p.Src, caret.String())
	}
	return exitError
}

// list is `list ruleset|table|chain|set|map`.
func (n *nftRun) list(ctx context.Context, words []string) int {
	o := n.o
	usage := func() int {
		fmt.Fprintf(n.stderr, "Error: syntax error: %s\n", strings.Join(words, " "))
		return exitError
	}
	if len(words) < 2 {
		return usage()
	}
	rest := words[2:]
	// An optional family comes first; nft's default is ip.
	family := ""
	if len(rest) > 0 && isFamily(rest[0]) {
		family, rest = rest[0], rest[1:]
	}
	switch words[1] {
	case "ruleset":
		if len(rest) != 0 {
			return usage()
		}
		o.Family = family
	case "table":
		if len(rest) != 1 {
			return usage()
		}
		o.Family, o.Table = orIP(family), rest[0]
	case "chain":
		if len(rest) != 2 {
			return usage()
		}
		o.Family, o.Table, o.Chain = orIP(family), rest[0], rest[1]
	case "set", "map":
		if len(rest) != 2 {
			return usage()
		}
		o.Family, o.Table, o.Set = orIP(family), rest[0], rest[1]
	default:
		return usage()
	}
	out, err := n.c.ListRuleset(ctx, o)
	if err != nil {
		var ce *control.Error
		if errors.As(err, &ce) && ce.Status == 404 {
			// nft underlines the missing object's name
			line := strings.Join(words, " ")
			last := words[len(words)-1]
			fmt.Fprintf(n.stderr, "Error: %s\n%s\n%s%s\n", ce.Msg, line, strings.Repeat(" ", len(line)-len(last)), strings.Repeat("^", len(last)))
			return exitError
		}
		return n.fail(err, "", "")
	}
	io.WriteString(n.stdout, out)
	return exitOK
}

func isFamily(s string) bool {
	switch s {
	case "ip", "ip6", "inet", "arp", "bridge", "netdev":
		return true
	}
	return false
}

func orIP(f string) string {
	if f == "" {
		return "ip"
	}
	return f
}

// monitor is `monitor trace`: the trace lines of packets with nftrace set,
// until interrupted.
func (n *nftRun) monitor(ctx context.Context, words []string) int {
	if len(words) != 2 || words[1] != "trace" {
		fmt.Fprintf(n.stderr, "Error: hare nft monitors packet traces only: monitor trace\n")
		return exitError
	}
	err := n.c.Trace(ctx, nil, func(rec control.Record) error {
		if rec.Lost > 0 {
			fmt.Fprintf(n.stderr, "hare nft: %d trace messages lost (the monitor did not keep up)\n", rec.Lost)
			return nil
		}
		_, err := io.WriteString(n.stdout, rec.Line)
		return err
	})
	if err != nil && ctx.Err() == nil {
		return n.fail(err, "", "")
	}
	return exitOK
}

// errnoText is the strerror text of a file error ("No such file or
// directory").
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return strings.ToUpper(errno.Error()[:1]) + errno.Error()[1:]
	}
	return err.Error()
}
