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

// TestRemoveRulesRefused: --remove-rules removes only what hare
// installs, so it is refused for a bridge (which installs no rules) and
// for an nfqueue configuration without install_rules (the rules are the
// user's).
func TestRemoveRulesRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ datapath, want string }{
		{"kind = \"afpacket\"\ninterfaces = [\"a\", \"b\"]\n", `datapath "afpacket" installs no rules`},
		{"kind = \"nfqueue\"\ninstall_rules = false\n", "install_rules is off"},
	} {
		cfg := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(cfg, []byte("[datapath]\n"+tc.datapath+"[ruleset]\nfile = \"r.nft\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if rc := run([]string{"run", "--remove-rules", "-c", cfg}, &out, &errb); rc != exitError ||
			!strings.Contains(errb.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.datapath, rc, errb.String(), tc.want)
		}
	}
}
