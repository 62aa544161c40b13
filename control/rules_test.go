package control

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hare-fw/hare/engine"
	pt "github.com/hare-fw/hare/packet/packettest"
	"github.com/hare-fw/hare/ruleset"
)

const baseRules = `table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		tcp dport 22 counter accept
	}
}
`

func TestRulesListApply(t *testing.T) {
	r := newRig(t, baseRules)
	ctx := context.Background()
	r.flows() // tcp4 to port 22 is accepted and counted: 1 packet (the SYN), 60 bytes? 40: no options
	got, err := r.c.ListRuleset(ctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		tcp dport 22 counter packets 1 bytes 40 accept
	}
}
`
	if got != want {
		t.Fatalf("list ruleset:\n%s\nwant:\n%s", got, want)
	}

	// add, insert, then delete by handle: one transaction each
	for _, cmd := range []string{
		"add rule inet filter input udp dport 53 accept",
		"insert rule inet filter input ip saddr 192.0.2.1 drop",
		"add set inet filter blocked { type ipv4_addr; }",
		"add element inet filter blocked { 198.51.100.7, 198.51.100.8 }",
		"delete element inet filter blocked { 198.51.100.8 }",
	} {
		if err := r.c.Apply(ctx, "", []byte(cmd), false); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	got, _ = r.c.ListRuleset(ctx, ListOptions{Handles: true, Stateless: true})
	if !strings.Contains(got, "\t\tip saddr 192.0.2.1 drop # handle 5\n\t\tct state established,related accept # handle 2\n") ||
		!strings.Contains(got, "\t\tudp dport 53 accept # handle 4\n") ||
		!strings.Contains(got, "elements = { 198.51.100.7 }") ||
		!strings.Contains(got, "tcp dport 22 counter accept # handle 3") {
		t.Fatalf("after changes:\n%s", got)
	}
	if err := r.c.Apply(ctx, "", []byte("delete rule inet filter input handle 4"), false); err != nil {
		t.Fatal(err)
	}
	chain, _ := r.c.ListRuleset(ctx, ListOptions{Family: "inet", Table: "filter", Chain: "input"})
	if strings.Contains(chain, "udp dport 53") || strings.Contains(chain, "set blocked") || !strings.HasPrefix(chain, "table inet filter {\n\tchain input {\n") {
		t.Fatalf("list chain:\n%s", chain)
	}
	set, _ := r.c.ListRuleset(ctx, ListOptions{Family: "inet", Table: "filter", Set: "blocked"})
	if strings.Contains(set, "chain") || !strings.Contains(set, "set blocked {") {
		t.Fatalf("list set:\n%s", set)
	}

	// A failing command changes nothing and says where it failed.
	before, _ := r.c.ListRuleset(ctx, ListOptions{Handles: true})
	var ce *Error
	err = r.c.Apply(ctx, "bad.nft", []byte("add rule inet filter input tcp dport 22 accept\nadd rule inet filter nochain accept\n"), false)
	if !errors.As(err, &ce) || ce.Status != 400 || !strings.HasPrefix(ce.Msg, "bad.nft:2:") {
		t.Fatalf("bad command: %v", err)
	}
	err = r.c.Apply(ctx, "bad.nft", []byte("add rule inet filter input tcp dport 99999 accept\n"), false)
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Msg, "bad.nft:1:") {
		t.Fatalf("bad value: %v", err)
	}
	// -c checks without changing.
	if err := r.c.Apply(ctx, "ok.nft", []byte("add rule inet filter input tcp dport 23 accept\n"), true); err != nil {
		t.Fatal(err)
	}
	after, _ := r.c.ListRuleset(ctx, ListOptions{Handles: true})
	if before != after {
		t.Fatalf("ruleset changed by failed or check-only commands:\n%s\nthen\n%s", before, after)
	}
	if _, err := r.c.ListRuleset(ctx, ListOptions{Family: "inet", Table: "nope"}); !errors.As(err, &ce) || ce.Status != 404 {
		t.Fatalf("list of a missing table: %v", err)
	}

	// The new rules apply to packets: 192.0.2.1 is now dropped.
	res := r.packet(pt.IPv4(netipMust("192.0.2.1"), s4, 17, pt.UDP(netipMust("192.0.2.1"), s4, 1, 53, nil)))
	if res.Verdict != engine.Drop || res.Rule != 5 {
		t.Fatalf("verdict %v by rule %d", res.Verdict, res.Rule)
	}

	cs, err := r.c.Counters(ctx)
	if err != nil || len(cs.Rules) != 1 || cs.Rules[0].Handle != 3 || cs.Rules[0].Packets != 1 || cs.Rules[0].Family != "inet" {
		t.Fatalf("counters %+v %v", cs, err)
	}
}

func TestRulesJSON(t *testing.T) {
	r := newRig(t, baseRules)
	got, err := r.c.ListRuleset(context.Background(), ListOptions{JSON: true})
	if err != nil || !strings.HasPrefix(got, `{"nftables": [{"metainfo"`) {
		t.Fatalf("%q %v", got, err)
	}
}

func TestNotImplemented(t *testing.T) {
	r := newRig(t, "")
	var ce *Error
	if err := r.c.Reload(context.Background()); !errors.As(err, &ce) || ce.Status != 501 {
		t.Fatalf("reload without Backend.Reload: %v", err)
	}
}

// TestRulesObjects: named counters and quotas list with the engine's
// values (nft's layout: "packets N bytes M", "over Q used U"), and
// without them with stateless=1 (nft -s).
func TestRulesObjects(t *testing.T) {
	r := newRig(t, `table inet o {
	counter c1 {
	}
	quota q1 {
		over 100 mbytes
	}
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport 53 counter name "c1" quota name "q1"
		udp dport 53 quota 1 kbytes
	}
}
`)
	for i := 0; i < 2; i++ {
		r.packet(pt.IPv4(c4, s4, 17, pt.UDP(c4, s4, uint16(1000+i), 53, []byte("0123456789ab")))) // 40 bytes
	}
	ctx := context.Background()
	got, err := r.c.ListRuleset(ctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "\tcounter c1 {\n\t\tpackets 2 bytes 80\n\t}\n") || !strings.Contains(got, "\tquota q1 {\n\t\tover 100 mbytes used 80 bytes\n\t}\n") {
		t.Fatalf("objects:\n%s", got)
	}
	if !strings.Contains(got, "\t\tudp dport 53 quota 1 kbytes used 80 bytes\n") {
		t.Fatalf("anonymous quota:\n%s", got)
	}
	got, _ = r.c.ListRuleset(ctx, ListOptions{Stateless: true})
	if !strings.Contains(got, "\tcounter c1 {\n\t}\n") || !strings.Contains(got, "\tquota q1 {\n\t\tover 100 mbytes\n\t}\n") {
		t.Fatalf("objects, stateless:\n%s", got)
	}
	got, _ = r.c.ListRuleset(ctx, ListOptions{JSON: true})
	if !strings.Contains(got, `"packets": 2, "bytes": 80`) || !strings.Contains(got, `"used": 80`) {
		t.Fatalf("objects, JSON:\n%s", got)
	}
}

// TestIncludeConfig: includes are read for root and the daemon's user,
// never for a control-group member (the daemon reads as root, and its
// errors quote what it read).
func TestIncludeConfig(t *testing.T) {
	f := filepath.Join(t.TempDir(), "inc.nft")
	if err := os.WriteFile(f, []byte("define x = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	req := func(p peer) *http.Request {
		r := httptest.NewRequest("POST", "/v1/ruleset", nil)
		return r.WithContext(context.WithValue(r.Context(), peerKey{}, p))
	}
	if _, err := includeConfig(req(peer{ok: true, uid: uint32(os.Geteuid())})).ReadFile(f); err != nil {
		t.Errorf("the daemon's own user: %v", err)
	}
	other := uint32(os.Geteuid() + 1000)
	if _, err := includeConfig(req(peer{ok: true, uid: other, gid: 54321})).ReadFile(f); !errors.Is(err, errIncludeRefused) {
		t.Errorf("a group member: %v, want errIncludeRefused", err)
	}
	if _, err := includeConfig(httptest.NewRequest("POST", "/v1/ruleset", nil)).ReadFile(f); !errors.Is(err, errIncludeRefused) {
		t.Errorf("no peer credentials: %v, want errIncludeRefused", err)
	}
	src := []byte(`include "` + f + `"` + "\n")
	if _, err := ruleset.Parse("<cmdline>", src, includeConfig(req(peer{ok: true, uid: other}))); err == nil || !strings.Contains(err.Error(), errIncludeRefused.Error()) {
		t.Errorf("parse with a group member's include: %v", err)
	}
}
