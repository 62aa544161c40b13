package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/internal/ctfmt"
)

// runCt is `hare ct`.
func runCt(args []string, stdout, stderr io.Writer) int {
	a, err := parseCt(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\nTry `conntrack -h' or 'conntrack --help' for more information.\n", ctVersion, err)
		return exitUsage
	}
	switch a.cmd {
	case 'h':
		ctHelp(stdout)
		return exitOK
	case 'V':
		fmt.Fprintf(stdout, "%s\n", ctVersion)
		return exitOK
	}
	c := control.NewClient(a.socket)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.run(ctx, c, stdout, stderr)
}

// run executes the parsed command against the daemon.
func (a *ctArgs) run(ctx context.Context, c *control.Client, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		var ce *control.Error
		if errors.As(err, &ce) && ce.Status == 400 {
			fmt.Fprintf(stderr, "%s: %s\nTry `conntrack -h' or 'conntrack --help' for more information.\n", ctVersion, ce.Msg)
			return exitUsage
		}
		if !errors.As(err, &ce) {
			err = fmt.Errorf("cannot reach the hare daemon at %s: %w", c.Path(), err)
		}
		fmt.Fprintf(stderr, "%s: %s\n", ctVersion, err)
		return exitError
	}
	n := 0
	line := func(l string) error {
		n++
		_, err := io.WriteString(stdout, l+"\n")
		return err
	}
	switch a.cmd {
	case 'L':
		if err := c.List(ctx, &a.f, a.o, line); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stderr, "%s: %d flow entries have been shown.\n", ctVersion, n)
	case 'G':
		msg := ""
		if _, err := a.f.Tuple(); err != nil {
			msg = err.Error()
		} else if a.f.Zone != nil {
			msg = "Illegal option `--zone' with this command"
		}
		if msg != "" {
			fmt.Fprintf(stderr, "%s: %s\nTry `conntrack -h' or 'conntrack --help' for more information.\n", ctVersion, msg)
			return exitUsage
		}
		l, err := c.Get(ctx, &a.f, a.o)
		var ce *control.Error
		if errors.As(err, &ce) && ce.Status == 404 {
			fmt.Fprintf(stderr, "%s: Operation failed: %s\n", ctVersion, ce.Msg)
			return exitError
		}
		if err != nil {
			return fail(err)
		}
		if l != "" {
			line(l)
		}
		fmt.Fprintf(stderr, "%s: %d flow entries have been shown.\n", ctVersion, n)
		if n == 0 {
			return exitError
		}
	case 'D':
		if err := c.Delete(ctx, &a.f, a.o, line); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stderr, "%s: %d flow entries have been deleted.\n", ctVersion, n)
		if n == 0 {
			return exitError
		}
	case 'F':
		if _, err := c.Flush(ctx); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stderr, "%s: connection tracking table has been emptied.\n", ctVersion)
	case 'S':
		st, err := c.Stats(ctx)
		if err != nil {
			return fail(err)
		}
		stdout.Write(ctfmt.AppendStatsLine(nil, 0, &st.Stats))
	case 'C':
		st, err := c.Stats(ctx)
		if err != nil {
			return fail(err)
		}
		stdout.Write(ctfmt.AppendCount(nil, st.Entries))
	case 'E':
		return a.runEvents(ctx, c, stdout, stderr, nil)
	}
	return exitOK
}

// runEvents is -E: it prints events until ctx ends (SIGINT, SIGTERM), then
// the number shown; ready, if not nil, is called once subscribed.
func (a *ctArgs) runEvents(ctx context.Context, c *control.Client, stdout, stderr io.Writer, ready func()) int {
	n := 0
	err := c.Events(ctx, &a.f, control.EventOptions{TextOptions: a.o, Types: a.events, Ready: ready}, func(rec control.Record) error {
		if rec.Lost > 0 {
			// conntrack's words when the kernel says ENOBUFS
			io.WriteString(stderr, "WARNING: We have hit ENOBUFS! We are losing events.\n"+
				"This message means that the current netlink socket buffer size is too small.\n"+
				"Please, check --buffer-size in conntrack(8) manpage.\n")
			return nil
		}
		l := rec.Line
		if rec.Event != nil {
			l, _ = jsonLine(rec.Event)
		}
		n++
		_, err := io.WriteString(stdout, l+"\n")
		return err
	})
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "%s: %s\n", ctVersion, err)
		return exitError
	}
	fmt.Fprintf(stderr, "%s: %d flow events have been shown.\n", ctVersion, n)
	return exitOK
}

func jsonLine(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
