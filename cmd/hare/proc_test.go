package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hare-fw/hare/internal/ctfmt"
)

// TestProcCommand: `hare proc` prints what ctfmt writes for the daemon's
// table (checked against Linux's files in internal/ctfmt), for both files;
// a bad file name is a usage error and an absent daemon an operation
// failure, with conntrack's exit statuses.
func TestProcCommand(t *testing.T) {
	r := newCtlRig(t, nil, nil)
	r.someFlows()
	for _, c := range []struct {
		args  []string
		write func(*bytes.Buffer) error
	}{
		{nil, func(b *bytes.Buffer) error { return ctfmt.WriteProc(b, r.table, r.now) }},
		{[]string{"nf_conntrack"}, func(b *bytes.Buffer) error { return ctfmt.WriteProc(b, r.table, r.now) }},
		{[]string{"stat/nf_conntrack"}, func(b *bytes.Buffer) error { return ctfmt.WriteProcStat(b, r.table) }},
	} {
		code, out, errOut := hare(t, append([]string{"proc", "--socket", r.sock}, c.args...)...)
		var want bytes.Buffer
		if err := c.write(&want); err != nil {
			t.Fatal(err)
		}
		if code != exitOK || out != want.String() || errOut != "" {
			t.Errorf("hare proc %v: %d\n%s%s\nwant\n%s", c.args, code, out, errOut, want.String())
		}
		if strings.Count(out, "\n") < 2 {
			t.Errorf("hare proc %v: too little output:\n%s", c.args, out)
		}
	}
	if code, _, errOut := hare(t, "proc", "--socket", r.sock, "nf_conntrack_expect"); code != exitUsage || !strings.Contains(errOut, "no file") {
		t.Errorf("unknown file: %d %s", code, errOut)
	}
	if code, _, errOut := hare(t, "proc", "--socket", filepath.Join(t.TempDir(), "none.sock")); code != exitError || !strings.Contains(errOut, "cannot reach the hare daemon") {
		t.Errorf("no daemon: %d %s", code, errOut)
	}
}
