package daemon

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hare-fw/hare/internal/ctfmt"
)

// TestProcFile: with [conntrack] proc_file the daemon leaves the
// /proc/net/nf_conntrack view of its table there (ctfmt.WriteProc, checked
// against Linux's file in internal/ctfmt): written at start (empty table),
// then at stop the drained table's, one line per connection, and no
// temporary file left beside it. Bad values are refused with the line.
func TestProcFile(t *testing.T) {
	dir := t.TempDir()
	view := filepath.Join(dir, "nf_conntrack")
	rules := filepath.Join(dir, "rules.nft")
	writeFile(t, rules, "table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t}\n}\n")
	cfg := filepath.Join(dir, "hare.toml")
	writeFile(t, cfg, "[ruleset]\nfile = \""+rules+"\"\n[control]\nsocket = \"\"\n[conntrack]\nproc_file = \""+view+"\"\nproc_interval = 3600\n")
	c, err := LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProcFile != view || c.ProcInterval.Seconds() != 3600 {
		t.Fatalf("proc_file %q every %v", c.ProcFile, c.ProcInterval)
	}
	cp := filepath.Join("..", "..", "shared", "testdata", "pcaps", "mixed_wikipedia_http-dns-mdns_ipv4-ipv6.pcap")
	if !fileExists(cp) {
		t.Skipf("skipping: %s not found", cp)
	}
	pkts, times := readCapture(t, cp)
	port := newMemPort(pkts, times, 8)
	port.gate = make(chan struct{})
	dp := &memDatapath{ports: []*memPort{port}}
	d, err := New(c, Options{Open: dp.opener(), LogOutput: io.Discard,
		IfName: func(int) (string, bool) { return "kor0", true }, Ifindex: oracleIfindex("kor0"), Now: port.clock.Load})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first view", func() bool { return fileExists(view) })
	if b, err := os.ReadFile(view); err != nil || len(b) != 0 {
		t.Errorf("first view (empty table): %q %v", b, err)
	}
	close(port.gate)
	<-port.drained
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(view)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := ctfmt.WriteProc(&want, d.table, port.clock.Load()); err != nil {
		t.Fatal(err)
	}
	if n := d.table.Len(); n == 0 || strings.Count(string(got), "\n") != n || string(got) != want.String() {
		t.Errorf("view at stop (%d connections):\n%s\nwant\n%s", n, got, want.String())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".nf_conntrack.*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	for _, bad := range []string{"proc_file = 3", "proc_file = \"\"", "proc_interval = 0", "proc_interval = \"10\""} {
		_, err := ParseConfig("bad.toml", []byte("[conntrack]\n"+bad+"\n"))
		if err == nil || !strings.HasPrefix(err.Error(), "bad.toml:2: conntrack proc_") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
