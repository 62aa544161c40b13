package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hare-fw/hare/control"
)

// `hare proc` prints the running daemon's connection table in the format
// of the kernel's procfs files, for tools that parse them: `hare proc`
// (or `hare proc nf_conntrack`) is `cat /proc/net/nf_conntrack`, `hare
// proc stat/nf_conntrack` is `cat /proc/net/stat/nf_conntrack`. The names
// are those files' under /proc/net.

func procHelp(w io.Writer) {
	io.WriteString(w, `Usage: hare proc [--socket PATH] [nf_conntrack | stat/nf_conntrack]

Print the running daemon's connection table as the kernel's procfs files show
it: nf_conntrack (the default) as /proc/net/nf_conntrack, one line per
connection; stat/nf_conntrack as /proc/net/stat/nf_conntrack, the statistics
(hare has one line, the totals, where the kernel has one per CPU).

  --socket PATH    the daemon's control socket (default $HARE_SOCKET, else /run/hare/control.sock)

Exit status: 0 success, 1 the daemon could not be asked, 2 bad parameters.
`)
}

// runProc is `hare proc`.
func runProc(args []string, stdout, stderr io.Writer) int {
	socket := os.Getenv("HARE_SOCKET")
	file := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-h" || a == "--help":
			procHelp(stdout)
			return exitOK
		case a == "--socket" && i+1 < len(args):
			i++
			socket = args[i]
		case strings.HasPrefix(a, "--socket="):
			socket = strings.TrimPrefix(a, "--socket=")
		case !strings.HasPrefix(a, "-") && file == "":
			file = a
		default:
			fmt.Fprintf(stderr, "hare proc: bad argument %q\n", a)
			procHelp(stderr)
			return exitUsage
		}
	}
	c := control.NewClient(socket)
	var err error
	switch file {
	case "", "nf_conntrack":
		err = c.Proc(context.Background(), stdout)
	case "stat/nf_conntrack":
		err = c.ProcStat(context.Background(), stdout)
	default:
		fmt.Fprintf(stderr, "hare proc: no file %q (nf_conntrack or stat/nf_conntrack)\n", file)
		return exitUsage
	}
	if err != nil {
		var ce *control.Error
		if !errors.As(err, &ce) {
			err = fmt.Errorf("cannot reach the hare daemon at %s: %w", c.Path(), err)
		}
		fmt.Fprintf(stderr, "hare proc: %v\n", err)
		return exitError
	}
	return exitOK
}
