package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesetCheckRefuses: hare ruleset check refuses what nft -c
// refuses (here "tcp dport 70000": nft 1.0.6 says "Error: Service out of
// range" at 4:13), with the position and a caret.
func TestRulesetCheckRefuses(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.nft")
	src := "table inet f {\n\tchain in {\n\t\ttype filter hook input priority 0;\n\t\ttcp dport 70000 accept\n\t}\n}\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if rc := runRuleset([]string{"check", p}, &out, &errb); rc != exitError {
		t.Fatalf("exit %d, want %d (stderr %q)", rc, exitError, errb.String())
	}
	want := p + ":4:13: Error: Service out of range\n\t\ttcp dport 70000 accept\n\t\t          ^^^^^\n"
	if errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
	if rc := runRuleset([]string{"print", p}, &out, &errb); rc != exitError {
		t.Errorf("print: exit %d, want %d", rc, exitError)
	}
	if strings.Contains(out.String(), "70000") {
		t.Errorf("printed a ruleset nft refuses: %q", out.String())
	}
}
