package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestReplayLogLines: `hare replay --rules` prints each log statement's
// line before the packet's line, and the kernel printed the same lines
// (testdata/log-oracle: the kernel's nf_log_syslog output for log.nft).
func TestReplayLogLines(t *testing.T) {
	capPath := "../../../shared/testdata/pcaps/icmp_echo_5-pings.pcap"
	if _, err := os.Stat(capPath); err != nil {
		t.Skipf("skipping: shared capture corpus not found at %s (it lives in ../shared beside the repository)", capPath)
	}
	var stdout, stderr bytes.Buffer
	if rc := runReplay([]string{"--rules", "../../testdata/log-oracle/log.nft", "--packets", capPath}, &stdout, &stderr); rc != exitOK {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	want, err := os.ReadFile("../../testdata/log-oracle/icmp_echo_5-pings/kernel-log.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if rest, ok := strings.CutPrefix(l, "log warn: "); ok {
			got = append(got, rest)
		}
	}
	if strings.Join(got, "\n")+"\n" != string(want) {
		t.Errorf("log lines:\n%s\nkernel:\n%s", strings.Join(got, "\n"), want)
	}
	// The first packet's lines come before its own line.
	out := stdout.String()
	if i, j := strings.Index(out, "log warn: hlz1: "), strings.Index(out, "\n1 "); i < 0 || j < i {
		t.Errorf("the first log line does not precede packet 1's line:\n%s", out)
	}
}

// TestReplayNamedObjects: the named counters and quotas after the run are
// the kernel's, printed as nft lists them (the oracle's nft-ruleset.txt
// for testdata/rules-oracle/limits.nft on the same capture).
func TestReplayNamedObjects(t *testing.T) {
	const name = "mixed_wikipedia_http-dns-mdns_ipv4-ipv6"
	capPath := "../../../shared/testdata/pcaps/" + name + ".pcap"
	if _, err := os.Stat(capPath); err != nil {
		t.Skipf("skipping: shared capture corpus not found at %s (it lives in ../shared beside the repository)", capPath)
	}
	var stdout, stderr bytes.Buffer
	// The kernel oracle replays at top speed; a frozen clock is the
	// same for these per-minute and per-day rates (see limits.nft).
	if rc := runReplay([]string{"--clock", "frozen", "--rules", "../../testdata/rules-oracle/limits.nft", capPath}, &stdout, &stderr); rc != exitOK {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	kernel, err := os.ReadFile("../../testdata/rules-oracle/limits/" + name + "/nft-ruleset.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, objs, ok := strings.Cut(stdout.String(), "named counters and quotas:\n")
	if !ok {
		t.Fatalf("no named objects in:\n%s", stdout.String())
	}
	blocks := strings.Split(objs, "\t}\n")
	n := 0
	for _, b := range blocks {
		i := strings.Index(b, "\t")
		if i < 0 {
			continue
		}
		b = b[i:] + "\t}\n"
		if !strings.Contains(string(kernel), b) {
			t.Errorf("object %q is not in the kernel's listing", b)
		}
		n++
	}
	if n != 3 {
		t.Errorf("%d objects, want c_new, c_all, q_all:\n%s", n, objs)
	}
}
