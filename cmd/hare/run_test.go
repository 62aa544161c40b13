package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunCheck: hare run --check exits 0 for a valid configuration and
// ruleset, and 1 with the first error's file:line[:col] otherwise: a
// configuration mistake, a ruleset nft refuses (nft's message, as hare
// ruleset check), and a ruleset hare cannot compile (engine.Error).
func TestRunCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.nft", "table inet f {\n\tchain in {\n\t\ttype filter hook input priority 0; policy drop;\n\t\ttcp dport 22 accept\n\t}\n}\n")
	nftBad := write("nftbad.nft", "table inet f {\n\tchain in {\n\t\ttype filter hook input priority 0;\n\t\ttcp dport 70000 accept\n\t}\n}\n")
	// nft accepts a queue statement; hare has no queue verdict.
	engineBad := write("enginebad.nft", "table inet f {\n\tchain in {\n\t\ttype filter hook input priority 0;\n\t\tqueue num 3\n\t}\n}\n")
	conf := func(name, rules, extra string) string {
		return write(name, "[ruleset]\nfile = \""+rules+"\"\n"+extra)
	}
	for _, tc := range []struct {
		name, cfg string
		rc        int
		out       string // stdout (rc 0) or the start of stderr
	}{
		{"good", conf("good.toml", good, ""), exitOK, filepath.Join(dir, "good.toml") + ": ok (ruleset " + good + ")\n"},
		{"unknown key", conf("key.toml", good, "[metrics]\nlisten = \"\"\nlistn = \":9\"\n"), exitError,
			filepath.Join(dir, "key.toml") + ":5: unknown key metrics.listn\n"},
		{"bad value", conf("val.toml", good, "[datapath]\nkind = \"pcap\"\n"), exitError,
			filepath.Join(dir, "val.toml") + `:4: datapath.kind: "pcap": not "nfqueue" or "afpacket"` + "\n"},
		{"nft refuses", conf("nft.toml", nftBad, ""), exitError, nftBad + ":4:13: Error: Service out of range\n"},
		{"hare cannot compile", conf("eng.toml", engineBad, ""), exitError, engineBad + ":4:3: "},
		{"no ruleset file", conf("missing.toml", filepath.Join(dir, "nope.nft"), ""), exitError,
			filepath.Join(dir, "missing.toml") + ": ruleset.file: open " + filepath.Join(dir, "nope.nft")},
		{"no config file", filepath.Join(dir, "nope.toml"), exitError, "open " + filepath.Join(dir, "nope.toml")},
		// A relative ruleset.file is found beside its configuration, not
		// in the working directory.
		{"relative ruleset", conf("rel.toml", "good.nft", ""), exitOK, filepath.Join(dir, "rel.toml") + ": ok (ruleset " + good + ")\n"},
		// The shipped example, as README's `hare run --check` runs it.
		{"example config", "../../configs/hare.toml", exitOK, "../../configs/hare.toml: ok (ruleset ../../configs/rules.nft)\n"},
	} {
		var out, errb bytes.Buffer
		rc := run([]string{"run", "--check", "-c", tc.cfg}, &out, &errb)
		if rc != tc.rc {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tc.name, rc, tc.rc, errb.String())
			continue
		}
		if rc == exitOK {
			if out.String() != tc.out || errb.Len() != 0 {
				t.Errorf("%s: stdout %q stderr %q, want stdout %q", tc.name, out.String(), errb.String(), tc.out)
			}
		} else if !strings.HasPrefix(errb.String(), tc.out) {
			t.Errorf("%s: stderr %q, want %q…", tc.name, errb.String(), tc.out)
		}
	}
	var out, errb bytes.Buffer
	if rc := run([]string{"run", "--check", "-c", "x", "extra"}, &out, &errb); rc != exitUsage {
		t.Errorf("extra argument: exit %d, want %d", rc, exitUsage)
	}
}
