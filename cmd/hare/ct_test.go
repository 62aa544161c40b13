package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hare-fw/hare/control"
)

// lockedBuffer is a bytes.Buffer written by one goroutine and read by
// another.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const ctSummary = "conntrack v1.4.7 (conntrack-tools): "

// TestCtCommands: summary lines, exit statuses and messages as conntrack
// 1.4.7 prints them (recorded from /usr/sbin/conntrack on this machine;
// TestCtKernelOracle compares the entries themselves).
func TestCtCommands(t *testing.T) {
	r := newCtlRig(t, nil, nil)
	r.someFlows()
	for _, c := range []struct {
		args           []string
		code           int
		lines          int // entries on stdout, -1: don't count
		stdout, stderr string
	}{
		{[]string{"-L"}, 0, 3, "", ctSummary + "3 flow entries have been shown.\n"},
		{[]string{"-L", "conntrack", "-p", "udp"}, 0, 1, "udp      17 ", ctSummary + "1 flow entries have been shown.\n"},
		{[]string{"--dump", "--proto", "tcp", "--dport=22"}, 0, 1, "tcp      6 ", ctSummary + "1 flow entries have been shown.\n"},
		{[]string{"-L", "-p", "tcp", "--state", "SYN_SENT", "-o", "extended,id"}, 0, 1, "ipv4     2 tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=22 packets=1 bytes=40 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=22 dport=40000 packets=0 bytes=0 mark=0 ", ctSummary + "1 flow entries have been shown.\n"},
		{[]string{"-L", "-f", "ipv6"}, 0, 1, "", ""},
		{[]string{"-L", "-s", "10.0.0.0/8", "-m", "0/0xffff"}, 0, 2, "", ""},
		{[]string{"-L", "-p", "tcp", "--state", "FOO"}, 2, 0, "", ctSummary + "unknown TCP state `FOO'\n"},
		{[]string{"-L", "-p", "icmp", "--dport", "5"}, 2, 0, "", ctSummary + "unknown option `--dport'\n"},
		{[]string{"-L", "--dport", "5"}, 2, 0, "", ctSummary + "unknown option `--dport'\n"},
		{[]string{"-L", "-p", "tcp", "--sport"}, 2, 0, "", ctSummary + "option `--sport' requires an argument\n"},
		{[]string{"-L", "-f", "inet"}, 2, 0, "", ctSummary + "`inet' unsupported protocol\n"},
		{[]string{"-L", "-p", "foo"}, 2, 0, "", ctSummary + "`foo' unsupported protocol\n"},
		{[]string{"-L", "-u", "FOO"}, 2, 0, "", ctSummary + "Bad parameter `FOO'\n"},
		{[]string{"-L", "-o", "extended,foo"}, 2, 0, "", ctSummary + "Bad parameter `foo'\n"},
		{[]string{"-L", "-s", "10.0.0.1", "-f", "ipv6"}, 2, 0, "", ctSummary + "mismatched address family\n"},
		{[]string{"-L", "-L"}, 2, 0, "", ctSummary + "Invalid commands combination\n"},
		{[]string{"-L", "-x"}, 2, 0, "", ctSummary + "unknown option `-x'\n"},
		{[]string{"-G", "-p", "icmp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--icmp-type", "8", "--icmp-code", "0", "--icmp-id", "7"}, 0, 1, "icmp     1 ", ctSummary + "1 flow entries have been shown.\n"},
		{[]string{"-G", "-p", "icmp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--icmp-type", "8", "--icmp-code", "0", "--icmp-id", "8"}, 1, 0, "", ctSummary + "Operation failed: such conntrack doesn't exist\n"},
		{[]string{"-G", "-p", "icmp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--icmp-type", "8"}, 2, 0, "", ctSummary + "You need to supply the `--icmp-code' option for this command\n"},
		{[]string{"-G", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2"}, 2, 0, "", ctSummary + "you have to specify `--sport' and `--dport'\n"},
		{[]string{"-G", "-s", "10.0.0.1", "-d", "10.0.0.2"}, 2, 0, "", ctSummary + "You need to supply the `--protonum' option for this command\n"},
		{[]string{"-G", "-p", "tcp", "--sport", "1", "--dport", "2", "-s", "10.0.0.1"}, 2, 0, "", ctSummary + "you have to specify `--src' and `--dst'\n"},
		{[]string{"-C"}, 0, -1, "3\n", ""},
		{[]string{"-S"}, 0, -1, "cpu=0   \tfound=", ""},
		{[]string{"-D", "-p", "sctp"}, 1, 0, "", ctSummary + "0 flow entries have been deleted.\n"},
		{[]string{"-D", "-f", "ipv6"}, 0, 1, "udp      17 ", ctSummary + "1 flow entries have been deleted.\n"},
		{[]string{"-C"}, 0, -1, "2\n", ""},
		{[]string{"-F"}, 0, 0, "", ctSummary + "connection tracking table has been emptied.\n"},
		{[]string{"-L"}, 0, 0, "", ctSummary + "0 flow entries have been shown.\n"},
	} {
		code, out, errOut := r.ct(c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, code, c.code, errOut)
		}
		if n := strings.Count(out, "\n"); c.lines >= 0 && n != c.lines {
			t.Errorf("%v: %d lines, want %d:\n%s", c.args, n, c.lines, out)
		}
		if !strings.HasPrefix(out, c.stdout) {
			t.Errorf("%v: stdout %q, want it to begin with %q", c.args, out, c.stdout)
		}
		if c.stderr != "" && !strings.HasPrefix(errOut, c.stderr) {
			t.Errorf("%v: stderr %q, want %q", c.args, errOut, c.stderr)
		}
	}
	if code, _, errOut := hare(t, "ct", "--socket", r.sock+".nope", "-L"); code != 1 || !strings.Contains(errOut, "cannot reach the hare daemon") {
		t.Errorf("no daemon: %d %q", code, errOut)
	}
}

// TestCtEvents: -E prints the events that pass its mask and filters, and
// the summary when interrupted.
func TestCtEvents(t *testing.T) {
	r := newCtlRig(t, nil, nil)
	a, err := parseCt([]string{"--socket", r.sock, "-E", "-e", "NEW", "-p", "udp"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut lockedBuffer
	done := make(chan int)
	go func() { done <- a.run(ctx, control.NewClient(a.socket), &out, &errOut) }()
	// Until the stream has subscribed, events go unseen: make the flows
	// again until one shows up.
	for i := 0; i < 2000 && !strings.Contains(out.String(), "[NEW] udp"); i++ {
		r.someFlows()
		r.now += int64(time.Second)
		r.table.Flush(r.now)
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.HasPrefix(l, "    [NEW] udp      17 30 src=fd00::1 dst=fd00::2 sport=5353 dport=53 [UNREPLIED] src=fd00::2 dst=fd00::1 sport=53 dport=5353") {
			t.Errorf("event line %q", l)
		}
	}
	n := strings.Count(out.String(), "\n")
	if want := ctSummary + strconv.Itoa(n) + " flow events have been shown.\n"; errOut.String() != want || n == 0 {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
}
