//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hare-fw/hare/daemon"
)

// TestNFQueueFailMode: fail_open decides what a stop does with the queue
// rules. Failing closed they are kept (no listener and no --queue-bypass:
// the kernel drops while hare is down); failing open they are removed
// (traffic passes unfiltered).
func TestNFQueueFailMode(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		src := "[datapath]\nkind = \"nfqueue\"\ninstall_rules = true\nfail_open = false\n[ruleset]\nfile = \"r.nft\"\n"
		if failOpen {
			src = strings.Replace(src, "fail_open = false", "fail_open = true", 1)
		}
		c, err := daemon.ParseConfig("c.toml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nfqueueConfig(c)
		if err != nil {
			t.Fatal(err)
		}
		if nc.FailOpen != failOpen || nc.KeepRules == failOpen || !nc.InstallRules {
			t.Errorf("fail_open = %v: FailOpen %v KeepRules %v InstallRules %v", failOpen, nc.FailOpen, nc.KeepRules, nc.InstallRules)
		}
	}
}

// TestRemoveRulesNotNFQueue: --remove-rules on a bridge configuration is
// refused: the bridge installs no rules.
func TestRemoveRulesNotNFQueue(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	src := "[datapath]\nkind = \"afpacket\"\ninterfaces = [\"a\", \"b\"]\n[ruleset]\nfile = \"r.nft\"\n"
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if rc := run([]string{"run", "--remove-rules", "-c", cfg}, &out, &errb); rc != exitError ||
		!strings.Contains(errb.String(), `datapath "afpacket" installs no rules`) {
		t.Errorf("exit %d, stderr %q", rc, errb.String())
	}
}
