package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// The oracle for Engine.Apply is a full reload: after each command, a
// second engine gets a fresh Compile of the whole source text (base
// ruleset plus every command so far, parsed and built from scratch), fed
// the same packets through its own conntrack table. Verdicts and deciding
// rules must be the same packet for packet. Counters are the kernel's
// semantics, which a full reload does not have: a rule keeps its counter
// while it exists unreplaced; so the expected value of a counter is the
// reloaded engine's counts of that rule summed over every version since
// the rule was added or last replaced.

// applyText applies one command line through Engine.Apply.
func applyText(eng *engine.Engine, cmd string) error {
	f, err := ruleset.Parse("cmd", []byte(cmd+"\n"), ruleset.Config{})
	if err != nil {
		return err
	}
	_, err = eng.Apply(f)
	return err
}

type updateRun struct {
	t        *testing.T
	frames   [][]byte
	next     int // next frame to send
	text     string
	inc, ref *engine.Engine
	acc      map[engine.CounterKey][2]uint64 // reference counts of earlier versions
	packets  int
}

func newUpdateRun(t *testing.T, base string) *updateRun {
	c, err := compileString(base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := compileString(base)
	if err != nil {
		t.Fatal(err)
	}
	return &updateRun{
		t: t, frames: benchPackets(t), text: base,
		inc: engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c),
		ref: engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), r),
		acc: map[engine.CounterKey][2]uint64{},
	}
}

// step applies cmd to the incremental engine and reloads the reference,
// then sends n packets through both.
func (u *updateRun) step(cmd string, n int) {
	t := u.t
	t.Helper()
	if err := applyText(u.inc, cmd); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	u.text += cmd + "\n"
	for _, cv := range u.ref.Rules().Counters() {
		a := u.acc[cv.CounterKey]
		u.acc[cv.CounterKey] = [2]uint64{a[0] + cv.Packets, a[1] + cv.Bytes}
	}
	if strings.HasPrefix(cmd, "replace rule ") {
		var fam, tab, ch string
		var h uint64
		if _, err := fmt.Sscanf(cmd, "replace rule %s %s %s handle %d", &fam, &tab, &ch, &h); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		for k := range u.acc {
			if k.Table == tab && k.Chain == ch && k.Handle == h {
				delete(u.acc, k)
			}
		}
	}
	full, err := compileString(u.text)
	if err != nil {
		t.Fatalf("reference reload after %s: %v", cmd, err)
	}
	u.ref.Swap(full)
	u.send(n, cmd)
}

func (u *updateRun) send(n int, after string) {
	t := u.t
	t.Helper()
	var (
		p      packet.Parsed
		ri, rr engine.Result
		m      = engine.Meta{Iifname: engine.IfName("eth0")}
	)
	for range n {
		f := u.frames[u.next%len(u.frames)]
		u.next++
		p.DecodeIP(f)
		u.inc.Packet(&p, &m, int64(u.next), &ri)
		p.DecodeIP(f)
		u.ref.Packet(&p, &m, int64(u.next), &rr)
		u.packets++
		if ri.Verdict != rr.Verdict || ri.By != rr.By || ri.Chain != rr.Chain || ri.Rule != rr.Rule {
			t.Fatalf("after %q, packet %d: incremental %v by %v %s/%d, full reload %v by %v %s/%d",
				after, u.next, ri.Verdict, ri.By, ri.Chain, ri.Rule, rr.Verdict, rr.By, rr.Chain, rr.Rule)
		}
	}
}

// checkCounters compares the incremental engine's counters with the
// summed reference.
func (u *updateRun) checkCounters() int {
	t := u.t
	t.Helper()
	want := map[engine.CounterKey][2]uint64{}
	for k, v := range u.acc {
		want[k] = v
	}
	for _, cv := range u.ref.Rules().Counters() {
		a := want[cv.CounterKey]
		want[cv.CounterKey] = [2]uint64{a[0] + cv.Packets, a[1] + cv.Bytes}
	}
	got := u.inc.Rules().Counters()
	for _, cv := range got {
		if w := want[cv.CounterKey]; w != [2]uint64{cv.Packets, cv.Bytes} {
			t.Errorf("counter %+v: %d packets %d bytes, want %v", cv.CounterKey, cv.Packets, cv.Bytes, w)
		}
	}
	return len(got)
}

const updateBase = `table inet filter {
	set ok4 { type ipv4_addr; flags interval; elements = { 10.0.0.0/8 } }
	chain input {
		type filter hook input priority filter; policy drop;
		ct state invalid counter drop
		ct state established,related counter accept
		tcp dport 21 counter accept
		meta l4proto ipv6-icmp counter accept
		ip saddr @ok4 counter jump tcpin
		counter
	}
	chain tcpin {
		tcp dport 22 counter accept
		tcp dport 25 counter drop
	}
}
`

func TestApplyCommands(t *testing.T) {
	u := newUpdateRun(t, updateBase)
	u.send(40, "nothing")
	for _, cmd := range []string{
		"add rule inet filter input udp dport 53 counter accept",           // append (fast path)
		"insert rule inet filter input tcp dport 80 counter accept",        // insert at the head
		"add rule inet filter tcpin position 10 tcp dport 23 counter drop", // after a handle
		"replace rule inet filter input handle 5 tcp dport 20-21 counter accept",
		"delete rule inet filter input handle 6",
		"add chain inet filter udpin", // new chain: full compile
		"add rule inet filter udpin counter accept",
		"insert rule inet filter input meta l4proto udp counter jump udpin",
		"add element inet filter ok4 { 192.168.0.0/16 }", // set change: full compile
		"flush chain inet filter tcpin",
		"add rule inet filter tcpin tcp flags syn counter accept",
	} {
		u.step(cmd, 37)
	}
	n := u.checkCounters()
	t.Logf("%d packets, %d counters agree with the summed full reloads", u.packets, n)
}

// TestApplyRandom runs random rule commands; each must agree with a full
// reload.
func TestApplyRandom(t *testing.T) {
	u := newUpdateRun(t, updateBase)
	rng := rand.New(rand.NewPCG(4, 2))
	matches := []string{"tcp dport %d", "udp dport %d", "tcp sport %d", "ip saddr 10.%d.0.0/16", "meta l4proto tcp th dport %d", "icmpv6 type %d"}
	verdicts := []string{"accept", "drop", "continue", "jump tcpin", "return"}
	for i := 0; i < 150; i++ {
		m := fmt.Sprintf(matches[rng.IntN(len(matches))], rng.IntN(256))
		if strings.HasPrefix(m, "meta l4proto tcp th") {
			m = fmt.Sprintf("tcp dport %d", rng.IntN(1024))
		}
		body := m + " counter " + verdicts[rng.IntN(len(verdicts))]
		ch := "input"
		if rng.IntN(3) == 0 {
			ch = "tcpin"
			body = strings.Replace(body, "jump tcpin", "accept", 1)
		}
		handles := ruleHandles(u.inc, ch)
		var cmd string
		switch k := rng.IntN(5); {
		case k == 0 && len(handles) > 0:
			cmd = fmt.Sprintf("delete rule inet filter %s handle %d", ch, handles[rng.IntN(len(handles))])
		case k == 1 && len(handles) > 0:
			cmd = fmt.Sprintf("replace rule inet filter %s handle %d %s", ch, handles[rng.IntN(len(handles))], body)
		case k == 2:
			cmd = fmt.Sprintf("insert rule inet filter %s %s", ch, body)
		case k == 3 && len(handles) > 0:
			cmd = fmt.Sprintf("add rule inet filter %s position %d %s", ch, handles[rng.IntN(len(handles))], body)
		default:
			cmd = fmt.Sprintf("add rule inet filter %s %s", ch, body)
		}
		u.step(cmd, 1+rng.IntN(20))
	}
	n := u.checkCounters()
	t.Logf("150 random commands, %d packets, %d counters agree with the summed full reloads", u.packets, n)
}

func ruleHandles(eng *engine.Engine, chain string) []uint64 {
	var hs []uint64
	for _, tb := range eng.Rules().Source().Tables {
		for _, ch := range tb.Chains {
			if ch.Name == chain {
				for _, r := range ch.Rules {
					hs = append(hs, r.Handle)
				}
			}
		}
	}
	return hs
}

// TestApplyAtomic: a batch with a failing command changes nothing, and
// the error names the command's position.
func TestApplyAtomic(t *testing.T) {
	c, err := compileString(updateBase)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
	before := printSource(t, eng)
	for _, tc := range []struct{ batch, want string }{
		{"add rule inet filter input tcp dport 1 accept\nadd rule inet filter input jump nosuch\n", "cmd:2:"},
		{"add rule inet filter input tcp dport 1 accept\ndelete rule inet filter input handle 999\n", "cmd:2:"},
		{"add rule inet filter tcpin jump tcpin\n", "loop through chain tcpin"},
		{"add rule inet filter input meta skuid 3 accept\n", "cmd:1:"},
		{"add rule inet nosuch input accept\n", "cmd:1:"},
	} {
		f, err := ruleset.Parse("cmd", []byte(tc.batch), ruleset.Config{})
		if err == nil {
			_, err = eng.Apply(f)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.batch, err, tc.want)
		}
		if eng.Rules() != c {
			t.Fatalf("%q: the ruleset in force changed", tc.batch)
		}
		if got := printSource(t, eng); got != before {
			t.Fatalf("%q changed the source ruleset:\n%s", tc.batch, got)
		}
	}
}

func printSource(t *testing.T, eng *engine.Engine) string {
	t.Helper()
	var b strings.Builder
	if err := ruleset.Print(&b, eng.Rules().Source(), ruleset.PrintOptions{Handles: true}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestApplyNoAllocsAfter: the packet path stays allocation-free on a
// ruleset produced by Apply.
func TestApplyNoAllocsAfter(t *testing.T) {
	u := newUpdateRun(t, updateBase)
	u.step("add rule inet filter input udp dport 53 counter accept", 0)
	var (
		p   packet.Parsed
		res engine.Result
		m   = engine.Meta{Iifname: engine.IfName("eth0")}
	)
	n := testing.AllocsPerRun(20, func() {
		for _, f := range u.frames {
			p.DecodeIP(f)
			u.inc.Packet(&p, &m, 1, &res)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}

// TestApplyKeepsDynamicSets: a change that takes the full-compile path
// (here a new chain) keeps what the packet path added to an unchanged
// dynamic set, as the kernel keeps a set's contents.
func TestApplyKeepsDynamicSets(t *testing.T) {
	c, err := compileString(`table inet f {
	set seen { type ipv4_addr; size 100; flags dynamic; }
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr @seen counter
		ip saddr 0.0.0.0/0 add @seen { ip saddr }
	}
}
`)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
	var (
		p   packet.Parsed
		res engine.Result
		m   = engine.Meta{Iifname: engine.IfName("eth0")}
	)
	var frame []byte
	for _, f := range benchPackets(t) {
		if p.DecodeIP(f); p.IPVersion == 4 {
			frame = f
			break
		}
	}
	send := func() uint64 {
		p.DecodeIP(frame)
		eng.Packet(&p, &m, 1, &res)
		return eng.Rules().Counters()[0].Packets
	}
	if n := send(); n != 0 {
		t.Fatalf("first packet counted %d times before its source was added", n)
	}
	if err := applyText(eng, "add chain inet f other"); err != nil {
		t.Fatal(err)
	}
	if eng.Rules() == c {
		t.Fatal("the ruleset did not change")
	}
	if n := send(); n != 1 {
		t.Errorf("after a full recompile the set lost its element: counter %d, want 1", n)
	}
}
