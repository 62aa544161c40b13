package control

import (
	"bytes"
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/hare-fw/hare/internal/ctfmt"
)

// TestProcViews: GET /v1/conntrack/proc and proc-stat, through a real
// server over a real table, are what ctfmt writes for the table (itself
// checked byte for byte against Linux's files in internal/ctfmt), and
// they parse back: one /proc line per connection, each with the tuples
// `conntrack -L` (checked against conntrack-tools) shows for it, and the
// stat line's entries field is the table's size.
func TestProcViews(t *testing.T) {
	r := newRig(t, "")
	r.flows()
	ctx := context.Background()
	var got, want bytes.Buffer
	if err := r.c.Proc(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if err := ctfmt.WriteProc(&want, r.table, r.now); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("proc view\n%s\nwant\n%s", got.String(), want.String())
	}
	list := map[string]string{}
	for _, l := range r.list(Filter{}, TextOptions{}) {
		list[flowName(l)] = l
	}
	lines := strings.Split(strings.TrimSuffix(got.String(), "\n"), "\n")
	if len(lines) != 4 || len(list) != 4 {
		t.Fatalf("%d proc lines, %d listed, want 4:\n%s", len(lines), len(list), got.String())
	}
	for _, l := range lines {
		f := strings.Fields(l)
		// "ipv4     2 tcp      6 TIMEOUT [STATE] src=…": family name and
		// number, protocol name and number, seconds left.
		fam := map[string]string{"ipv4": "2", "ipv6": "10"}[f[0]]
		if fam == "" || f[1] != fam {
			t.Errorf("bad family in %q", l)
		}
		if n, err := strconv.Atoi(f[4]); err != nil || n < 0 {
			t.Errorf("bad timeout in %q", l)
		}
		ls, ok := list[flowName(l)]
		if !ok {
			t.Errorf("proc line %q is no listed connection", l)
			continue
		}
		if a, b := tupleWords(l), tupleWords(ls); a != b {
			t.Errorf("proc tuples %q, conntrack -L %q", a, b)
		}
		if lf := strings.Fields(ls); lf[0] != f[2] || lf[1] != f[3] {
			t.Errorf("protocol %s %s in proc, %s %s listed", f[2], f[3], lf[0], lf[1])
		}
	}

	got.Reset()
	want.Reset()
	if err := r.c.ProcStat(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if err := ctfmt.WriteProcStat(&want, r.table); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("proc-stat view\n%s\nwant\n%s", got.String(), want.String())
	}
	sl := strings.Split(strings.TrimSuffix(got.String(), "\n"), "\n")
	if len(sl) != 2 || !strings.HasPrefix(sl[0], "entries ") {
		t.Fatalf("proc-stat view:\n%s", got.String())
	}
	if n, err := strconv.ParseUint(strings.Fields(sl[1])[0], 16, 32); err != nil || int(n) != r.table.Len() {
		t.Errorf("entries %q, table has %d", strings.Fields(sl[1])[0], r.table.Len())
	}
}

// tupleWords are a line's tuple fields (src, dst, ports, ICMP fields),
// addresses parsed: /proc writes IPv6 ones in full (%pI6), conntrack
// compressed.
func tupleWords(l string) string {
	var out []string
	for _, w := range strings.Fields(l) {
		k, v, ok := strings.Cut(w, "=")
		switch {
		case !ok:
		case k == "src", k == "dst":
			a, err := netip.ParseAddr(v)
			if err != nil {
				return "bad address in " + l
			}
			out = append(out, k+"="+a.String())
		case k == "sport", k == "dport", k == "type", k == "code", k == "id":
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}
